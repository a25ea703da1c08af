using PikaIngest.Node.Tests.Support;

namespace PikaIngest.Node.Tests.Replication;

/// <summary>
/// The string and bitmap writes (SETRANGE, INCRBYFLOAT, SETBIT, BITOP…) replayed by a slave process: their logged
/// effects must leave it with the master's values and absolute expiries, which DEBUG DIGEST covers.
/// </summary>
[Collection(ReplicationProcesses.Name)]
public sealed class StringReplicationTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "pika-node-repl-strings-" + Guid.NewGuid().ToString("N"));

    private static readonly string[][] Writes =
    [
        ["SET", "ttl-float", "1.5", "EX", "100000"], ["INCRBYFLOAT", "ttl-float", "0.1"], ["INCRBYFLOAT", "ttl-float", "1e-18"],
        ["INCRBYFLOAT", "float", "0.1"], ["INCRBYFLOAT", "float", "0.2"], ["INCRBYFLOAT", "float", "1e308"], ["INCRBYFLOAT", "float", "-3.5e-4000"],
        ["SET", "ttl-bits", "abc", "PX", "90000000"], ["SETBIT", "ttl-bits", "100", "1"], ["SETBIT", "ttl-bits", "0", "1"],
        ["SETBIT", "bits", "7", "1"], ["SETBIT", "bits", "7", "1"], ["SETBIT", "bits", "65535", "1"],
        ["SET", "ttl-range", "hello", "EX", "100000"], ["SETRANGE", "ttl-range", "3", "p me"], ["SETRANGE", "range", "10", "\u0000\u00ff"],
        ["SET", "dest", "x", "EX", "100000"], ["BITOP", "NOT", "dest", "ttl-bits"], ["BITOP", "XOR", "dest2", "bits", "range", "float"],
        ["SET", "emptied", "x"], ["BITOP", "AND", "emptied", "missing"], ["BITOP", "OR", "never", "missing"],
    ];

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    [Fact]
    public async Task A_slave_replaying_string_and_bitmap_writes_ends_with_the_masters_values_and_expiries()
    {
        string[] storeArgs = ["--object-store", "file://" + Path.Combine(_root, "store")];
        await using var master = await NodeProcess.StartAsync(Path.Combine(_root, "master"), storeArgs);
        await using var slave = await NodeProcess.StartAsync(Path.Combine(_root, "slave"), [.. storeArgs, "--slaveof", "127.0.0.1", Repl.Text(master.Port)]);

        await Repl.WaitForAsync(
            "the master lists the slave as online",
            async () => Repl.ParseList((await Repl.InfoAsync(master)).GetValueOrDefault("slave0") ?? "").GetValueOrDefault("state") == "online",
            master,
            slave);

        using (var client = await RawClient.ConnectAsync(master.Port))
        {
            foreach (var command in Writes.Concat(StringDifferentialTests.RandomWorkload(7, 2000)))
            {
                await client.CallAsync(command);
            }
        }

        await Repl.WaitCaughtUpAsync(master, slave);

        using var onMaster = await RawClient.ConnectAsync(master.Port);
        using var onSlave = await RawClient.ConnectAsync(slave.Port);
        onMaster.BulkAsHex = true;
        onSlave.BulkAsHex = true;
        string[] keys = ["ttl-float", "float", "ttl-bits", "bits", "ttl-range", "range", "dest", "dest2", "emptied", "never", "w0", "w1", "w2", "w3", "w4"];
        foreach (var key in keys)
        {
            Assert.Equal(await onMaster.CallAsync("GET", key), await onSlave.CallAsync("GET", key));
        }

        // 1.5 + 0.1 + 1e-18 as redis-server 7.0.15 answers it.
        Assert.Equal("$x:" + Convert.ToHexString("1.6"u8), await onSlave.CallAsync("GET", "ttl-float"));
        Assert.Equal(":-1", await onSlave.CallAsync("TTL", "dest"));
        Assert.Equal(":0", await onSlave.CallAsync("EXISTS", "emptied"));
        foreach (var key in (string[])["ttl-float", "ttl-bits", "ttl-range"])
        {
            Assert.InRange(long.Parse((await onSlave.CallAsync("TTL", key))[1..], System.Globalization.CultureInfo.InvariantCulture), 80_000, 100_000);
        }
    }
}

using PikaIngest.Node.Tests.Support;

namespace PikaIngest.Node.Tests.Replication;

/// <summary>
/// Every write command, valid and invalid, mixed at random on a master with a connected slave: the slave replays the
/// master's binlog incrementally and ends with the same keys, values and expiries (DEBUG DIGEST) and the same replies
/// to reads, and refuses every write itself.
/// </summary>
[Collection(ReplicationProcesses.Name)]
public sealed class WriteCommandReplicationTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "pika-node-writes-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task A_random_mix_of_every_write_command_replays_identically_on_a_slave()
    {
        await using var master = await NodeProcess.StartAsync(Path.Combine(_root, "master"), []);
        await using var slave = await NodeProcess.StartAsync(Path.Combine(_root, "slave"), ["--slaveof", "127.0.0.1", Repl.Text(master.Port)]);
        await ReplicationTests.WaitSlaveOnlineAsync(master, slave);

        using var client = await RawClient.ConnectAsync(master.Port);
        var replies = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var seed in (int[])[11, 12])
        {
            foreach (var command in new RandomCommands(seed).Take(2500))
            {
                var reply = await client.CallAsync(command);
                replies[reply[..1]] = replies.GetValueOrDefault(reply[..1]) + 1;
            }

            // The named writes at least once each on a non-empty keyspace, whatever the random mix did.
            string[][] named =
            [
                ["SET", "r1", "v", "EX", "1000"], ["RENAME", "r1", "r2"], ["COPY", "r2", "r3"], ["RENAMENX", "r3", "r4"],
                ["SET", "n", "1"], ["INCRBYFLOAT", "n", "0.1"], ["GETEX", "n", "PX", "5000000"], ["GETEX", "n", "PERSIST"], ["GETEX", "r4", "EXAT", "1"], ["GETDEL", "r2"],
                ["MSETNX", "m1", "x", "m2", "y"], ["GETSET", "m1", "z"],
            ];
            foreach (var command in named)
            {
                Assert.DoesNotContain("-", (await client.CallAsync(command))[..1], StringComparison.Ordinal);
            }

            if (seed == 11)
            {
                Assert.Equal("+OK", await client.CallAsync("FLUSHDB"));
            }
        }

        // Both kinds of reply were produced: the mix exercised writes that succeed and inputs that are refused.
        Assert.True(replies.GetValueOrDefault("-") > 100 && replies.GetValueOrDefault("+") > 100, string.Join(", ", replies));
        Assert.NotEqual(":0", await client.CallAsync("DBSIZE"));

        await Repl.WaitCaughtUpAsync(master, slave);
        foreach (var key in (string[])["a", "b", "c", "{tag}d", "e\u0000x", "", "n", "m1", "m2", "r3"])
        {
            Assert.Equal(await Repl.CallAsync(master, "GET", key), await Repl.CallAsync(slave, "GET", key));
            Assert.Equal(await Repl.CallAsync(master, "PEXPIRETIME", key), await Repl.CallAsync(slave, "PEXPIRETIME", key));
        }

        Assert.Equal(await Repl.CallAsync(master, "DBSIZE"), await Repl.CallAsync(slave, "DBSIZE"));
        const string ReadOnly = "-READONLY You can't write against a read only replica.";
        foreach (var write in (string[][])[["FLUSHALL"], ["FLUSHDB"], ["RENAME", "m1", "x"], ["GETEX", "m1", "PERSIST"], ["GETDEL", "m1"], ["COPY", "m1", "y"], ["MSETNX", "q", "1"]])
        {
            Assert.Equal(ReadOnly, await Repl.CallAsync(slave, write));
        }

        Assert.Equal(await Repl.DigestAsync(master), await Repl.DigestAsync(slave));
    }

    [Fact]
    public async Task Replicaof_makes_a_running_node_a_slave_and_replicaof_no_one_makes_it_writable_again()
    {
        await using var master = await NodeProcess.StartAsync(Path.Combine(_root, "master"), []);
        await using var node = await NodeProcess.StartAsync(Path.Combine(_root, "node"), []);
        Assert.Equal("+OK", await Repl.CallAsync(master, "SET", "from-master", "1"));
        Assert.Equal("+OK", await Repl.CallAsync(node, "SET", "own", "replaced by the full sync"));

        Assert.Equal("+OK", await Repl.CallAsync(node, "REPLICAOF", "127.0.0.1", Repl.Text(master.Port)));
        await ReplicationTests.WaitSlaveOnlineAsync(master, node);
        Assert.Equal("+OK", await Repl.CallAsync(master, "RENAME", "from-master", "renamed"));
        await Repl.WaitCaughtUpAsync(master, node);
        Assert.Equal("$1", await Repl.CallAsync(node, "GET", "renamed"));
        Assert.Equal("$nil", await Repl.CallAsync(node, "GET", "own"));
        Assert.StartsWith("-READONLY", await Repl.CallAsync(node, "SET", "x", "1"), StringComparison.Ordinal);
        Assert.StartsWith($"*5[$slave,$127.0.0.1,:{master.Port},", await Repl.CallAsync(node, "ROLE"), StringComparison.Ordinal);

        Assert.Equal("+OK", await Repl.CallAsync(node, "REPLICAOF", "NO", "ONE"));
        Assert.Equal("+OK", await Repl.CallAsync(node, "SET", "x", "1"));
        Assert.StartsWith("*3[$master,", await Repl.CallAsync(node, "ROLE"), StringComparison.Ordinal);
        Assert.Equal("-ERR Invalid master port", await Repl.CallAsync(node, "REPLICAOF", "127.0.0.1", "port"));
    }

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }
}

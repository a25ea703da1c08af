using System.Buffers.Binary;
using System.Text;
using PikaIngest.Node.Binlog;
using PikaIngest.Node.Tests.Support;

namespace PikaIngest.Node.Tests.Replication;

/// <summary>
/// Garbage on the replication protocol, in both directions: a peer claiming a position the master never wrote,
/// bytes that are not RESP, and a master sending an item the slave cannot decode. Each gets a clear error, a
/// closed connection, and no change to either node's data.
/// </summary>
[Collection(ReplicationProcesses.Name)]
public sealed class ReplicationBadInputTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "pika-node-repl-bad-" + Guid.NewGuid().ToString("N"));

    private string Data => Path.Combine(_root, "data");

    /// <summary>
    /// A SET command as the item's content, so a slave that ignored the corruption would change its digest;
    /// then the corruption: a content_len promising 1000 bytes where 10 follow, or the unknown type 77.
    /// </summary>
    internal static byte[] CorruptItem(string fault)
    {
        var content = Encoding.ASCII.GetBytes("*3\r\n$3\r\nSET\r\n$7\r\ncorrupt\r\n$7\r\napplied\r\n");
        switch (fault)
        {
            case "content_len 1000, 10 bytes":
                var item = new BinlogItem(BinlogItemType.Command, 1_700_000_000, 0, 1, 0, 0, content.AsMemory(0, 10)).Encode();
                BinaryPrimitives.WriteUInt32LittleEndian(item.AsSpan(30), 1000);
                return item;
            case "type 77":
                return new BinlogItem((BinlogItemType)77, 1_700_000_000, 0, 1, 0, 0, content).Encode();
            default:
                throw new ArgumentOutOfRangeException(nameof(fault), fault, null);
        }
    }

    private static async Task<string> RunIdAsync(NodeProcess master)
    {
        var runId = Repl.Field(await Repl.InfoAsync(master), "master_run_id");
        Assert.Matches("^[0-9a-f]{40}$", runId);
        return runId;
    }

    private static async Task<string> SeedAsync(NodeProcess node)
    {
        for (var i = 0; i < 50; i++)
        {
            Assert.Equal("+OK", await Repl.CallAsync(node, "SET", $"kept:{i}", $"value {i}"));
        }

        return await Repl.DigestAsync(node);
    }

    private static async Task AssertNodeIntactAsync(NodeProcess node, string digest)
    {
        Assert.False(node.HasExited, "the node must survive bad input\n" + node.Log);
        Assert.Equal("+PONG", await Repl.CallAsync(node, "PING"));
        Assert.Equal(digest, await Repl.DigestAsync(node));
        Assert.Equal("$value 7", await Repl.CallAsync(node, "GET", "kept:7"));
    }

    [Fact]
    public async Task A_sync_request_beyond_the_masters_binlog_gets_an_error_and_a_closed_connection()
    {
        await using var master = await NodeProcess.StartAsync(Data);
        var digest = await SeedAsync(master);
        var runId = await RunIdAsync(master);

        using (var peer = await RawClient.ConnectAsync(master.Port))
        {
            Assert.Equal("+OK", await peer.CallAsync("REPLCONF", "listening-port", "1"));
            var reply = await peer.CallAsync("PIKA_SYNC", runId, "99", "123456789");
            Assert.StartsWith("-ERR", reply, StringComparison.Ordinal);
            Assert.Contains("beyond", reply, StringComparison.Ordinal);
            Assert.True(await peer.IsClosedAsync(TimeSpan.FromSeconds(10)), "the master must close the connection after refusing the position");
        }

        await AssertNodeIntactAsync(master, digest);
        await Repl.WaitForAsync("the refused peer is not listed as a slave", async () => Repl.Field(await Repl.InfoAsync(master), "connected_slaves") == "0", master);
    }

    [Fact]
    public async Task Garbage_after_replconf_closes_the_connection_and_the_master_carries_on()
    {
        await using var master = await NodeProcess.StartAsync(Data);
        var digest = await SeedAsync(master);

        using (var peer = await RawClient.ConnectAsync(master.Port))
        {
            Assert.Equal("+OK", await peer.CallAsync("REPLCONF", "listening-port", "1"));
            // A multibulk header that is not a number, then binary noise: no way to resynchronise.
            await peer.SendAsync([.. "*x7\r\n$-9\r\n"u8, .. Enumerable.Range(0, 512).Select(i => (byte)(i * 37)), .. "\r\n"u8]);
            Assert.True(await peer.IsClosedAsync(TimeSpan.FromSeconds(10)), "garbage must close the connection");
        }

        await AssertNodeIntactAsync(master, digest);
    }

    [Fact]
    public async Task Garbage_instead_of_an_ack_closes_a_replication_stream_and_the_master_drops_the_slave()
    {
        await using var master = await NodeProcess.StartAsync(Data);
        var digest = await SeedAsync(master);
        var runId = await RunIdAsync(master);
        var position = Repl.Field(await Repl.InfoAsync(master), "binlog_position").Split(':');

        using (var peer = await RawClient.ConnectAsync(master.Port))
        {
            Assert.Equal("+OK", await peer.CallAsync("REPLCONF", "listening-port", "1"));
            // The master's own run-id and its end position: a valid resume with nothing to send yet.
            Assert.Equal($"*2[$CONTINUE,${runId}]", await peer.CallAsync("PIKA_SYNC", runId, position[0], position[1]));
            await Repl.WaitForAsync("the peer is listed as a slave", async () => Repl.Field(await Repl.InfoAsync(master), "connected_slaves") == "1", master);

            await peer.SendAsync([.. "*2\r\n$8\r\nREPLCONF\r\n$999999999999\r\n"u8, .. Enumerable.Range(0, 256).Select(i => (byte)(255 - i))]);
            Assert.True(await peer.IsClosedAsync(TimeSpan.FromSeconds(10)), "garbage on a replication stream must close it");
        }

        await Repl.WaitForAsync("the slave is dropped", async () => Repl.Field(await Repl.InfoAsync(master), "connected_slaves") == "0", master);
        await AssertNodeIntactAsync(master, digest);
        Assert.Equal("+OK", await Repl.CallAsync(master, "SET", "after", "garbage"));
    }

    [Theory]
    [InlineData("content_len 1000, 10 bytes", "1000")]
    [InlineData("type 77", "77")]
    public async Task A_corrupt_item_from_the_master_is_reported_and_the_slave_keeps_its_data(string fault, string detail)
    {
        await using var fake = FakeMaster.Start(CorruptItem(fault));
        await using var node = await NodeProcess.StartAsync(Data);
        var digest = await SeedAsync(node);

        Assert.Equal("+OK", await Repl.CallAsync(node, "SLAVEOF", "127.0.0.1", Repl.Text(fake.Port)));
        await Repl.WithinDeadlineAsync(fake.ClosedAfterItem, "the slave closes the connection after the corrupt item", node);

        var error = "";
        await Repl.WaitForAsync(
            "master_last_error names the bad item",
            async () =>
            {
                var info = await Repl.InfoAsync(node);
                error = Repl.Field(info, "master_last_error");
                return Repl.Field(info, "role") == "slave" && error.Length > 0;
            },
            node);
        Assert.True(
            error.Contains("item", StringComparison.OrdinalIgnoreCase) || error.Contains(detail, StringComparison.Ordinal),
            $"master_last_error should say what was wrong with the item: '{error}'");
        Assert.Equal(digest, await Repl.DigestAsync(node));
        Assert.Equal("$nil", await Repl.CallAsync(node, "GET", "corrupt"));
        Assert.Equal("$value 7", await Repl.CallAsync(node, "GET", "kept:7"));
        Assert.Contains(fake.Commands, c => c.StartsWith("PIKA_SYNC ", StringComparison.Ordinal));
        Assert.False(node.HasExited, node.Log);
    }

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }
}

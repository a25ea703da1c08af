using System.Text;
using PikaIngest.Node.Binlog;
using PikaIngest.Node.Tests.Support;

namespace PikaIngest.Node.Tests.Replication;

/// <summary>The hostile master used by the bad-input tests, driven by a raw client playing the slave.</summary>
public sealed class FakeMasterTests
{
    [Fact]
    public async Task The_fake_master_answers_the_handshake_then_sends_continue_and_its_item()
    {
        var item = ReplicationBadInputTests.CorruptItem("type 77");
        await using var fake = FakeMaster.Start(item);
        Assert.Matches("^[0-9a-f]{40}$", fake.RunId);
        Assert.False(BinlogItem.TryDecode(item, out _, out var error));
        Assert.Contains("77", error, StringComparison.Ordinal);

        using (var slave = await RawClient.ConnectAsync(fake.Port))
        {
            Assert.Equal("+OK", await slave.CallAsync("AUTH", "secret"));
            Assert.Equal("+OK", await slave.CallAsync("REPLCONF", "listening-port", "7000"));
            Assert.Equal($"*2[$CONTINUE,${fake.RunId}]", await slave.CallAsync("PIKA_SYNC", "?", "0", "0"));
            var frame = await slave.ReadReplyAsync();
            Assert.StartsWith("*3[$ITEM,", frame, StringComparison.Ordinal);
            Assert.EndsWith(",$0:1000]", frame, StringComparison.Ordinal);
            Assert.False(fake.ClosedAfterItem.IsCompleted);
        }

        await fake.ClosedAfterItem.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(["AUTH secret", "REPLCONF listening-port 7000", "PIKA_SYNC ? 0 0"], fake.Commands);
        Assert.Equal(1, fake.ItemsSent);
    }

    [Fact]
    public void The_corrupt_items_are_rejected_by_the_binlog_decoder()
    {
        Assert.False(BinlogItem.TryDecode(ReplicationBadInputTests.CorruptItem("content_len 1000, 10 bytes"), out _, out var length));
        Assert.Contains("1000", length, StringComparison.Ordinal);
        Assert.False(BinlogItem.TryDecode(ReplicationBadInputTests.CorruptItem("type 77"), out _, out var type));
        Assert.Contains("77", type, StringComparison.Ordinal);

        var good = new BinlogItem(BinlogItemType.Command, 0, 0, 1, 0, 0, Encoding.ASCII.GetBytes("*1\r\n$4\r\nPING\r\n")).Encode();
        Assert.True(BinlogItem.TryDecode(good, out _, out _));
    }
}

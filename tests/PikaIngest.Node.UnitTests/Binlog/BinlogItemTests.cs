using PikaIngest.Node.Binlog;

namespace PikaIngest.Node.UnitTests.Binlog;

public sealed class BinlogItemTests
{
    [Fact]
    public void An_encoded_item_decodes_to_the_same_fields()
    {
        var item = new BinlogItem(BinlogItemType.IngestSst, 1_700_000_000, 3, ulong.MaxValue - 1, 12, 1UL << 40, new byte[] { 1, 2, 3 });
        var encoded = item.Encode();
        Assert.Equal(37, encoded.Length);

        Assert.True(BinlogItem.TryDecode(encoded, out var decoded, out var error), error);
        Assert.Equal(
            (item.Type, item.ExecTime, item.TermId, item.LogicId, item.Position),
            (decoded.Type, decoded.ExecTime, decoded.TermId, decoded.LogicId, decoded.Position));
        Assert.Equal([1, 2, 3], decoded.Content.ToArray());
    }

    [Theory]
    [InlineData("0100", "item of 2 bytes is shorter than the 34-byte header")]
    [InlineData("0000" + "0000000000000000000000000000000000000000000000000000000000000000", "unknown item type 0")]
    [InlineData("0300" + "0000000000000000000000000000000000000000000000000000000000000000", "unknown item type 3")]
    [InlineData("0100" + "00000000000000000000000000000000000000000000000000000000" + "02000000" + "41", "content_len 2 does not match the 1 bytes after the header")]
    public void TryDecode_says_why_it_fails(string hex, string reason)
    {
        Assert.False(BinlogItem.TryDecode(Convert.FromHexString(hex), out _, out var error));
        Assert.Equal(reason, error);
    }

    [Fact]
    public void Positions_order_by_file_then_offset_and_print_as_Pika_does()
    {
        Assert.True(new BinlogPosition(1, 5) < new BinlogPosition(2, 0));
        Assert.True(new BinlogPosition(2, 5) > new BinlogPosition(2, 4));
        Assert.True(new BinlogPosition(2, 5) >= new BinlogPosition(2, 5));
        Assert.Equal("3:1048576", new BinlogPosition(3, 1048576).ToString());
    }
}

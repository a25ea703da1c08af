using PikaIngest.Node.Binlog;
using static PikaIngest.Node.UnitTests.Binlog.BinlogTestSupport;

namespace PikaIngest.Node.UnitTests.Binlog;

/// <summary>
/// An item larger than the pending buffer keeps (a SET of a huge value) is written on its own, after the items
/// appended before it: the file reads back every item in order, with the positions Append returned, under either sync
/// policy.
/// </summary>
public sealed class BinlogLargeItemTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_large_item_between_small_ones_reads_back_in_order(bool syncAlways)
    {
        var sync = syncAlways ? BinlogSyncPolicy.Always : BinlogSyncPolicy.EverySecond;
        using var dir = new TempBinlogDirectory();
        int[] sizes = [100, 70_000, 9 << 20, 5, 5 << 20, 300];
        var positions = new List<BinlogPosition>();
        using (var writer = BinlogWriter.Open(dir.Path, Options(sync)))
        {
            for (var i = 0; i < sizes.Length; i++)
            {
                var content = Content(sizes[i], i);
                // The large ones as a SET logs them: a head, the value, a tail.
                positions.Add(sizes[i] > 1 << 20
                    ? writer.Append(BinlogItemType.Command, content.AsSpan(0, 10), content.AsSpan(10, sizes[i] - 12), content.AsSpan(sizes[i] - 2))
                    : writer.Append(BinlogItemType.Command, content));
            }

            writer.Publish();
        }

        var items = ReadAll(dir.Path);
        Assert.Equal(sizes.Length, items.Count);
        for (var i = 0; i < sizes.Length; i++)
        {
            Assert.True(items[i].Content.Span.SequenceEqual(Content(sizes[i], i)), $"item {i}");
            Assert.Equal((ulong)(i + 1), items[i].LogicId);
            Assert.Equal(positions[i], new BinlogPosition(items[i].FileNum, items[i].Offset));
        }
    }
}

using CsCheck;
using PikaIngest.Node.Binlog;
using static PikaIngest.Node.UnitTests.Binlog.BinlogTestSupport;

namespace PikaIngest.Node.UnitTests.Binlog;

public sealed class BinlogFragmentationTests
{
    private const int Block = 64 * 1024;

    // Content that makes an item (34-byte header) plus one fragment header fill the first block exactly.
    private const int FillsBlock = Block - 8 - 34;

    [Theory]
    [InlineData(0, 42)]
    [InlineData(1, 43)]
    [InlineData(FillsBlock, Block)]
    [InlineData(FillsBlock + 1, Block + 8 + 1)]
    [InlineData(FillsBlock + Block - 8, 2 * Block)]
    [InlineData(300 * 1024, 307200 + 34 + (5 * 8))]
    public void A_single_item_takes_its_content_and_one_header_per_block_it_touches(int contentLength, long fileLength)
    {
        using var dir = new TempBinlogDirectory();
        var content = Content(contentLength, contentLength);
        using (var writer = BinlogWriter.Open(dir.Path, Options()))
        {
            writer.Append(BinlogItemType.Command, content);
            Assert.Equal(new BinlogPosition(0, (ulong)fileLength), writer.Position);
        }

        Assert.Equal(fileLength, new FileInfo(dir.DataFile(0)).Length);
        var item = Assert.Single(ReadAll(dir.Path));
        Assert.Equal(content, item.Content.ToArray());
    }

    [Theory]
    [InlineData(3)]
    [InlineData(7)]
    [InlineData(1)]
    public void A_block_tail_shorter_than_a_header_is_zero_filled_before_the_next_item(int tail)
    {
        using var dir = new TempBinlogDirectory();
        var first = Content(FillsBlock - tail, 1);
        var second = Content(10, 2);
        using (var writer = BinlogWriter.Open(dir.Path, Options()))
        {
            writer.Append(BinlogItemType.Command, first);
            var position = writer.Append(BinlogItemType.Command, second);

            // The item header keeps the position before the padding, as Pika's pro_offset does.
            Assert.Equal(new BinlogPosition(0, (ulong)(Block - tail)), position);
        }

        var bytes = File.ReadAllBytes(dir.DataFile(0));
        Assert.Equal(new byte[tail], bytes[(Block - tail)..Block]);
        Assert.Equal([44, 0, 0], bytes[Block..(Block + 3)]);
        Assert.Equal(1, bytes[Block + 7]);
        Assert.Equal(Block + 8 + 44, bytes.Length);

        var items = ReadAll(dir.Path);
        Assert.Equal(2, items.Count);
        Assert.Equal(second, items[1].Content.ToArray());
        Assert.Equal(new BinlogPosition(0, (ulong)(Block - tail)), items[1].Position);
    }

    [Fact]
    public void An_item_starting_a_header_before_the_block_end_gets_an_empty_first_fragment_as_in_Pika()
    {
        using var dir = new TempBinlogDirectory();
        var second = Content(10, 2);
        using (var writer = BinlogWriter.Open(dir.Path, Options()))
        {
            writer.Append(BinlogItemType.Command, Content(FillsBlock - 8, 1));
            writer.Append(BinlogItemType.Command, second);
        }

        var bytes = File.ReadAllBytes(dir.DataFile(0));

        // Pika pads only tails shorter than a header, so this one holds a First fragment of length 0 ...
        Assert.Equal(Convert.FromHexString("000000" + "00105E5F" + "02"), bytes[(Block - 8)..Block]);

        // ... and the whole item follows as the Last fragment of the next block.
        Assert.Equal(Convert.FromHexString("2C0000" + "00105E5F" + "04"), bytes[Block..(Block + 8)]);

        var items = ReadAll(dir.Path);
        Assert.Equal(second, items[1].Content.ToArray());
    }

    [Fact]
    public void Random_item_sequences_read_back_with_the_positions_Append_returned()
    {
        // Mostly small items, with sizes near a block and beyond it often enough to hit every fragment type.
        var size = Gen.Frequency(
            (4, Gen.Int[0, 300]),
            (2, Gen.Int[FillsBlock - 300, FillsBlock + 20]),
            (1, Gen.Int[0, 3 * Block]));
        var items = Gen.Select(size, Gen.Int, Gen.Bool).Array[1, 12];

        Sample(items, sequence =>
        {
            using var dir = new TempBinlogDirectory();
            var written = new List<(BinlogPosition Position, BinlogItemType Type, byte[] Content)>();
            BinlogPosition end;
            using (var writer = BinlogWriter.Open(dir.Path, Options(BinlogSyncPolicy.EverySecond)))
            {
                foreach (var (length, seed, ingest) in sequence)
                {
                    var type = ingest ? BinlogItemType.IngestSst : BinlogItemType.Command;
                    var content = Content(length, seed);
                    written.Add((writer.Append(type, content), type, content));
                }

                end = writer.Position;
            }

            using var reader = BinlogReader.Open(dir.Path, default);
            for (var i = 0; i < written.Count; i++)
            {
                var before = reader.Position;
                Assert.Equal(BinlogReadStatus.Item, reader.TryRead(out var item));
                Assert.Equal(written[i].Position, item.Position);
                Assert.Equal(before, item.Position);
                Assert.Equal((ulong)(i + 1), item.LogicId);
                Assert.Equal(written[i].Type, item.Type);
                Assert.Equal(GoldenTime, item.ExecTime);
                Assert.True(written[i].Content.AsSpan().SequenceEqual(item.Content.Span));
            }

            Assert.Equal(BinlogReadStatus.End, reader.TryRead(out _));
            Assert.Equal(end, reader.Position);
        }, iterations: 40);
    }
}

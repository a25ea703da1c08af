using PikaIngest.Node.Binlog;
using static PikaIngest.Node.UnitTests.Binlog.BinlogTestSupport;

namespace PikaIngest.Node.UnitTests.Binlog;

public sealed class BinlogReaderTests
{
    [Fact]
    public void A_reader_at_the_end_sees_what_the_writer_appends_next()
    {
        using var dir = new TempBinlogDirectory();
        using var writer = BinlogWriter.Open(dir.Path, Options(BinlogSyncPolicy.EverySecond));
        using var reader = BinlogReader.Open(dir.Path, writer.Position);
        Assert.Equal(BinlogReadStatus.End, reader.TryRead(out _));

        for (var i = 0; i < 3; i++)
        {
            // Large enough that the block the reader cached is short, and the item spans blocks.
            var content = Content(50_000 * i, i);
            var position = writer.Append(BinlogItemType.Command, content);
            writer.Publish();
            Assert.Equal(BinlogReadStatus.Item, reader.TryRead(out var item));
            Assert.Equal(position, item.Position);
            Assert.Equal(content, item.Content.ToArray());
            Assert.Equal(writer.Position, reader.Position);
            Assert.Equal(BinlogReadStatus.End, reader.TryRead(out _));
        }
    }

    [Fact]
    public void A_reader_at_the_end_of_a_file_follows_the_writer_into_the_next()
    {
        using var dir = new TempBinlogDirectory();
        using var writer = BinlogWriter.Open(dir.Path, Options(fileSizeLimit: 100));
        writer.Append(BinlogItemType.Command, Content(100, 1));
        using var reader = BinlogReader.Open(dir.Path, default);
        Assert.Equal(BinlogReadStatus.Item, reader.TryRead(out _));
        Assert.Equal(BinlogReadStatus.End, reader.TryRead(out _));

        var position = writer.Append(BinlogItemType.Command, Content(10, 2));
        Assert.Equal(new BinlogPosition(1, 0), position);
        Assert.Equal(BinlogReadStatus.Item, reader.TryRead(out var item));
        Assert.Equal(position, item.Position);
        Assert.Equal(new BinlogPosition(1, 52), reader.Position);
    }

    [Fact]
    public async Task A_reader_on_another_thread_gets_every_item_while_the_writer_appends_and_rotates()
    {
        const int Count = 1500;
        using var dir = new TempBinlogDirectory();
        using var writer = BinlogWriter.Open(dir.Path, Options(BinlogSyncPolicy.EverySecond, fileSizeLimit: 256 * 1024));
        using var reader = BinlogReader.Open(dir.Path, default);
        var sizes = Enumerable.Range(0, Count).Select(i => i % 100 == 0 ? 70_000 + i : i % 300).ToArray();

        var appending = Task.Run(() =>
        {
            for (var i = 0; i < Count; i++)
            {
                writer.Append(BinlogItemType.Command, Content(sizes[i], i));
                writer.Publish();
            }
        });

        var deadline = DateTime.UtcNow.AddSeconds(60);
        var read = 0;
        while (read < Count)
        {
            Assert.True(DateTime.UtcNow < deadline, $"only {read} of {Count} items read");
            var status = reader.TryRead(out var item);
            Assert.True(status != BinlogReadStatus.Corrupt, reader.Error);
            if (status == BinlogReadStatus.End)
            {
                Thread.Yield();
                continue;
            }

            Assert.Equal((ulong)read + 1, item.LogicId);
            Assert.Equal(Content(sizes[read], read), item.Content.ToArray());
            read++;
        }

        await appending;
        Assert.Equal(BinlogReadStatus.End, reader.TryRead(out _));
        Assert.Equal(writer.Position, reader.Position);
        Assert.True(writer.Position.FileNum > 0);
    }

    public static TheoryData<string, string, string> CorruptFiles() => new()
    {
        { "bad fragment type", "0A000000105E5F09" + new string('0', 20), "bad fragment type 9 at 0:0" },
        { "length beyond the block", "F9FF0000105E5F01", "fragment length 65529 at 0:0 runs past its 64 KiB block" },
        {
            "content_len larger than the content",
            "27000000105E5F01" + "0100" + new string('0', 56) + "0A000000" + "4142434445",
            "item at 0:0: content_len 10 does not match the 5 bytes after the header"
        },
        {
            "content_len smaller than the content",
            "27000000105E5F01" + "0100" + new string('0', 56) + "01000000" + "4142434445",
            "item at 0:0: content_len 1 does not match the 5 bytes after the header"
        },
        { "unknown item type", "22000000105E5F01" + "0700" + new string('0', 64), "item at 0:0: unknown item type 7" },
        { "item shorter than its header", "03000000105E5F01" + "010000", "shorter than the 34-byte header" },
        { "last fragment first", "03000000105E5F04" + "010000", "0:0 is not at an item boundary (Last fragment)" },
        { "first fragment twice", "01000000105E5F02" + "01" + "01000000105E5F02" + "00", "First fragment at 0:9 inside the item that starts at 0:0" },
        { "zero-filled", new string('0', 64), "bad fragment type 0 at 0:0" },
    };

    [Theory]
    [MemberData(nameof(CorruptFiles))]
    public void Corrupt_input_is_reported_with_a_reason_and_stays_put(string what, string hex, string reason)
    {
        using var dir = new TempBinlogDirectory();
        Directory.CreateDirectory(dir.Path);
        File.WriteAllBytes(dir.DataFile(0), Convert.FromHexString(hex));

        using var reader = BinlogReader.Open(dir.Path, default);
        for (var attempt = 0; attempt < 2; attempt++)
        {
            Assert.True(reader.TryRead(out _) == BinlogReadStatus.Corrupt, what);
            Assert.Contains(reason, reader.Error, StringComparison.Ordinal);
            Assert.Equal(default, reader.Position);
        }
    }

    [Fact]
    public void A_position_inside_an_item_is_not_an_item_boundary()
    {
        using var dir = new TempBinlogDirectory();
        using (var writer = BinlogWriter.Open(dir.Path, Options()))
        {
            writer.Append(BinlogItemType.Command, Content(300 * 1024, 1));
        }

        using var reader = BinlogReader.Open(dir.Path, new BinlogPosition(0, 64 * 1024));
        Assert.Equal(BinlogReadStatus.Corrupt, reader.TryRead(out _));
        Assert.Equal("0:65536 is not at an item boundary (Middle fragment)", reader.Error);
    }

    [Fact]
    public void A_finished_file_that_ends_inside_an_item_is_corrupt_not_the_end()
    {
        using var dir = new TempBinlogDirectory();
        using (var writer = BinlogWriter.Open(dir.Path, Options(fileSizeLimit: 10)))
        {
            writer.Append(BinlogItemType.Command, Content(100, 1));
            writer.Append(BinlogItemType.Command, Content(100, 2));
        }

        using (var file = new FileStream(dir.DataFile(0), FileMode.Open))
        {
            file.SetLength(file.Length - 1);
        }

        using var reader = BinlogReader.Open(dir.Path, default);
        Assert.Equal(BinlogReadStatus.Corrupt, reader.TryRead(out _));
        Assert.Equal("write2file0 ends with an incomplete item at 0:0 although write2file1 exists", reader.Error);

        using var beyond = BinlogReader.Open(dir.Path, new BinlogPosition(0, 5000));
        Assert.Equal(BinlogReadStatus.Corrupt, beyond.TryRead(out _));
        Assert.Contains("is beyond the end of write2file0", beyond.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Opening_a_file_that_does_not_exist_throws()
    {
        using var dir = new TempBinlogDirectory();
        Directory.CreateDirectory(dir.Path);
        Assert.Throws<FileNotFoundException>(() => BinlogReader.Open(dir.Path, new BinlogPosition(3, 0)));
    }
}

using PikaIngest.Node.Binlog;
using static PikaIngest.Node.UnitTests.Binlog.BinlogTestSupport;

namespace PikaIngest.Node.UnitTests.Binlog;

public sealed class BinlogRotationTests
{
    private const long Limit = 1000;

    [Fact]
    public void Items_go_to_a_new_file_once_the_current_one_exceeds_the_limit_and_are_never_split()
    {
        using var dir = new TempBinlogDirectory();
        var positions = new List<BinlogPosition>();
        using (var writer = BinlogWriter.Open(dir.Path, Options(fileSizeLimit: Limit)))
        {
            for (var i = 0; i < 30; i++)
            {
                positions.Add(writer.Append(BinlogItemType.Command, Content(100 + (i * 7), i)));
            }

            Assert.Equal(Enumerable.Range(0, (int)writer.Position.FileNum + 1).Select(n => (uint)n), writer.FileNumbers);
        }

        // Each item starts while its file is still within the limit, and a new file starts with an item.
        Assert.All(positions, p => Assert.True(p.Offset <= Limit, p.ToString()));
        var firstOfEachFile = positions.GroupBy(p => p.FileNum).Select(g => g.Min()).ToList();
        Assert.True(firstOfEachFile.Count >= 4);
        Assert.All(firstOfEachFile, p => Assert.Equal(0UL, p.Offset));
        foreach (var fileNum in firstOfEachFile.Select(p => p.FileNum).SkipLast(1))
        {
            Assert.True(new FileInfo(dir.DataFile(fileNum)).Length > Limit);
        }

        var items = ReadAll(dir.Path);
        Assert.Equal(positions, items.Select(item => item.Position));
        Assert.Equal(Enumerable.Range(1, 30).Select(i => (ulong)i), items.Select(item => item.LogicId));
        for (var i = 0; i < 30; i++)
        {
            Assert.Equal(Content(100 + (i * 7), i), items[i].Content.ToArray());
        }
    }

    [Fact]
    public void A_reopened_binlog_continues_in_its_last_file()
    {
        using var dir = new TempBinlogDirectory();
        BinlogPosition end;
        using (var writer = BinlogWriter.Open(dir.Path, Options(fileSizeLimit: Limit)))
        {
            // 10 items of 142 bytes: eight start within the limit of file 0 (the last at 994), two go to file 1.
            for (var i = 0; i < 10; i++)
            {
                writer.Append(BinlogItemType.Command, Content(100, i));
            }

            end = writer.Position;
        }

        Assert.Equal(new BinlogPosition(1, 2 * 142), end);
        using (var writer = BinlogWriter.Open(dir.Path, Options(fileSizeLimit: Limit)))
        {
            Assert.Equal(end, writer.Position);
            Assert.Equal(10UL, writer.LastLogicId);
            Assert.Equal(end, writer.Append(BinlogItemType.Command, Content(100, 10)));
        }

        Assert.Equal(Enumerable.Range(1, 11).Select(i => (ulong)i), ReadAll(dir.Path).Select(item => item.LogicId));
    }

    [Fact]
    public void PurgeBefore_deletes_whole_older_files_and_never_the_current_one()
    {
        using var dir = new TempBinlogDirectory();
        using var writer = BinlogWriter.Open(dir.Path, Options(fileSizeLimit: Limit));
        for (var i = 0; i < 40; i++)
        {
            writer.Append(BinlogItemType.Command, Content(100, i));
        }

        var current = writer.Position.FileNum;
        Assert.True(current >= 4);

        Assert.Equal(2, writer.PurgeBefore(2));
        Assert.Equal(2U, writer.FileNumbers[0]);
        Assert.Throws<FileNotFoundException>(() => BinlogReader.Open(dir.Path, new BinlogPosition(1, 0)));

        Assert.Equal((int)current - 2, writer.PurgeBefore(uint.MaxValue));
        Assert.Equal([current], writer.FileNumbers);
        Assert.Equal(0, writer.PurgeBefore(uint.MaxValue));

        var last = writer.Append(BinlogItemType.Command, Content(5, 99));
        Assert.Equal(41UL, ReadAll(dir.Path, new BinlogPosition(current, 0))[^1].LogicId);
        Assert.Equal(last, ReadAll(dir.Path, new BinlogPosition(current, 0))[^1].Position);
    }
}

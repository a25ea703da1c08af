using System.Text;
using PikaIngest.Node.Binlog;
using static PikaIngest.Node.UnitTests.Binlog.BinlogTestSupport;

namespace PikaIngest.Node.UnitTests.Binlog;

public sealed class BinlogRecoveryTests
{
    private static readonly byte[] NewItem = Encoding.ASCII.GetBytes("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");

    [Fact]
    public void A_reopened_binlog_continues_where_it_stopped()
    {
        using var dir = new TempBinlogDirectory();
        BinlogPosition end;
        using (var writer = BinlogWriter.Open(dir.Path, Options(BinlogSyncPolicy.EverySecond)))
        {
            writer.Term = 3;
            for (var i = 0; i < 5; i++)
            {
                writer.Append(BinlogItemType.Command, Content(100 * i, i));
            }

            end = writer.Position;
        }

        var log = new List<string>();
        using (var writer = BinlogWriter.Open(dir.Path, Options(BinlogSyncPolicy.EverySecond), log.Add))
        {
            Assert.Equal(end, writer.Position);
            Assert.Equal(5UL, writer.LastLogicId);
            Assert.Equal(3U, writer.Term);
            Assert.Equal(0, writer.RecoveredTruncatedBytes);
            Assert.Empty(log);
            for (var i = 5; i < 8; i++)
            {
                Assert.Equal(writer.Position, writer.Append(BinlogItemType.Command, Content(100 * i, i)));
            }
        }

        var items = ReadAll(dir.Path);
        Assert.Equal(Enumerable.Range(1, 8).Select(i => (ulong)i), items.Select(item => item.LogicId));
        for (var i = 0; i < 8; i++)
        {
            Assert.Equal(Content(100 * i, i), items[i].Content.ToArray());
        }
    }

    [Theory]
    [InlineData(new[] { 10, 20, 30 }, false)] // all in one block
    [InlineData(new[] { 10, 20, 30 }, true)]
    [InlineData(new[] { 65400, 20, 100 }, false)] // the last item crosses into the next block
    [InlineData(new[] { 65400, 20, 100 }, true)]
    [InlineData(new[] { 65489, 30 }, false)] // the last item starts with 5 bytes of block-tail padding
    [InlineData(new[] { 65489, 30 }, true)]
    [InlineData(new[] { 65486, 10 }, false)] // the last item starts with an empty First fragment
    [InlineData(new[] { 65486, 10 }, true)]
    public void A_last_item_cut_at_any_byte_is_dropped_and_appending_resumes_after_the_one_before(int[] contentSizes, bool manifestLags)
    {
        var (bytes, positions, end) = Build(contentSizes);
        var n = contentSizes.Length;
        var lastStart = (long)positions[^1].Offset;

        // A lagging manifest (EverySecond) points at the last item; an up-to-date one points past the cut, beyond
        // the end of the file. Recovery keeps the larger logic id so none is handed out twice.
        var manifest = manifestLags ? new BinlogManifest(0, (ulong)lastStart, (ulong)n - 1, 0) : new BinlogManifest(0, end.Offset, (ulong)n, 0);
        var expectedLogicId = manifest.LogicId;

        for (var cut = lastStart; cut < bytes.Length; cut++)
        {
            using var dir = new TempBinlogDirectory();
            Directory.CreateDirectory(dir.Path);
            File.WriteAllBytes(dir.DataFile(0), bytes[..(int)cut]);
            WriteManifest(dir.Manifest, manifest);

            var log = new List<string>();
            using (var writer = BinlogWriter.Open(dir.Path, Options(), log.Add))
            {
                Assert.Equal(new BinlogPosition(0, (ulong)lastStart), writer.Position);
                Assert.Equal(expectedLogicId, writer.LastLogicId);
                Assert.Equal(cut - lastStart, writer.RecoveredTruncatedBytes);
                if (cut > lastStart)
                {
                    Assert.Contains(log, line => line.StartsWith($"binlog: truncated {cut - lastStart} bytes of torn tail at 0:{lastStart}", StringComparison.Ordinal));
                }

                writer.Append(BinlogItemType.Command, NewItem);
            }

            var items = ReadAll(dir.Path);
            Assert.Equal(n, items.Count);
            for (var i = 0; i < n - 1; i++)
            {
                Assert.Equal(Content(contentSizes[i], i), items[i].Content.ToArray());
            }

            Assert.Equal(NewItem, items[^1].Content.ToArray());
            Assert.Equal(expectedLogicId + 1, items[^1].LogicId);
            Assert.Equal(positions[^1], items[^1].Position);
        }
    }

    public static TheoryData<string, byte[]> Tails()
    {
        var data = new TheoryData<string, byte[]>
        {
            { "zeros", new byte[4096] },
            { "a few zeros", new byte[5] },
            { "bad fragment type", Convert.FromHexString("0A000000105E5F09") },
            { "length beyond the block", Convert.FromHexString("FFFF0000105E5F01") },
            { "length beyond the end of file", Convert.FromHexString("64000000105E5F01" + "0100") },
            { "middle fragment without a first", Convert.FromHexString("02000000105E5F03" + "0000") },
            { "item header that does not decode", Convert.FromHexString("24000000105E5F01" + "0900" + new string('0', 68)) },
            { "content_len too large", Convert.FromHexString("23000000105E5F01" + "0100" + new string('0', 56) + "05000000" + "41") },
        };
        for (var seed = 1; seed <= 8; seed++)
        {
            data.Add($"garbage {seed}", Content(seed * 300, seed));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Tails))]
    public void Bytes_after_the_last_complete_item_are_cut(string what, byte[] tail)
    {
        var (bytes, _, end) = Build([10, 20, 30]);
        using var dir = new TempBinlogDirectory();
        Directory.CreateDirectory(dir.Path);
        File.WriteAllBytes(dir.DataFile(0), [.. bytes, .. tail]);
        WriteManifest(dir.Manifest, new BinlogManifest(0, end.Offset, 3, 0));

        var log = new List<string>();
        using (var writer = BinlogWriter.Open(dir.Path, Options(), log.Add))
        {
            Assert.Equal(end, writer.Position);
            Assert.Equal(tail.Length, writer.RecoveredTruncatedBytes);
            Assert.True(log.Count == 1, what);
            Assert.StartsWith($"binlog: truncated {tail.Length} bytes of torn tail at {end}", log[0], StringComparison.Ordinal);
            writer.Append(BinlogItemType.Command, NewItem);
        }

        var items = ReadAll(dir.Path);
        Assert.Equal([1UL, 2, 3, 4], items.Select(item => item.LogicId));
    }

    [Theory]
    [InlineData("missing")]
    [InlineData("torn")]
    public void Without_a_readable_manifest_the_newest_file_is_scanned_from_its_start(string damage)
    {
        var (bytes, _, end) = Build([10, 20, 30], term: 4);
        using var dir = new TempBinlogDirectory();
        Directory.CreateDirectory(dir.Path);
        File.WriteAllBytes(dir.DataFile(0), [.. bytes, 1, 2, 3]);
        if (damage == "torn")
        {
            File.WriteAllBytes(dir.Manifest, new byte[10]);
        }

        var log = new List<string>();
        using (var writer = BinlogWriter.Open(dir.Path, Options(), log.Add))
        {
            Assert.Equal(end, writer.Position);
            Assert.Equal(3UL, writer.LastLogicId);
            Assert.Equal(4U, writer.Term);
            Assert.Equal(3, writer.RecoveredTruncatedBytes);
            Assert.Contains(log, line => line.Contains("manifest missing or torn", StringComparison.Ordinal));
        }

        Assert.Equal(new BinlogManifest(0, end.Offset, 3, 4), ReadManifest(dir.Manifest));
    }

    [Fact]
    public void Without_a_manifest_and_with_an_empty_newest_file_the_logic_id_comes_from_the_file_before()
    {
        var (bytes, _, _) = Build([10, 20, 30]);
        using var dir = new TempBinlogDirectory();
        Directory.CreateDirectory(dir.Path);
        File.WriteAllBytes(dir.DataFile(0), bytes);
        File.WriteAllBytes(dir.DataFile(1), []);

        using var writer = BinlogWriter.Open(dir.Path, Options());
        Assert.Equal(new BinlogPosition(1, 0), writer.Position);
        Assert.Equal(3UL, writer.LastLogicId);
    }

    [Theory]
    [InlineData(1_000_000UL, "beyond the end")]
    [InlineData(60UL, "inside the second item")]
    public void A_manifest_position_that_is_not_an_item_boundary_of_the_file_is_not_trusted(ulong offset, string where)
    {
        var (bytes, _, end) = Build([10, 20, 30]);
        using var dir = new TempBinlogDirectory();
        Directory.CreateDirectory(dir.Path);
        File.WriteAllBytes(dir.DataFile(0), bytes);
        WriteManifest(dir.Manifest, new BinlogManifest(0, offset, 2, 0));

        var log = new List<string>();
        using var writer = BinlogWriter.Open(dir.Path, Options(), log.Add);
        Assert.Equal(end, writer.Position);
        Assert.Equal(3UL, writer.LastLogicId);
        Assert.Equal(0, writer.RecoveredTruncatedBytes);
        Assert.True(log.Count == 1 && log[0].StartsWith($"binlog: manifest position 0:{offset} disagrees", StringComparison.Ordinal), where);
    }

    [Fact]
    public void A_manifest_without_files_starts_its_file_afresh_and_keeps_logic_id_and_term()
    {
        using var dir = new TempBinlogDirectory();
        Directory.CreateDirectory(dir.Path);
        WriteManifest(dir.Manifest, new BinlogManifest(5, 100, 42, 3));

        var log = new List<string>();
        using (var writer = BinlogWriter.Open(dir.Path, Options(), log.Add))
        {
            Assert.Equal(new BinlogPosition(5, 0), writer.Position);
            Assert.Equal(42UL, writer.LastLogicId);
            Assert.Equal(3U, writer.Term);
            Assert.Single(log);
            writer.Append(BinlogItemType.Command, NewItem);
        }

        var item = Assert.Single(ReadAll(dir.Path, new BinlogPosition(5, 0)));
        Assert.Equal(43UL, item.LogicId);
        Assert.Equal(3U, item.TermId);
    }

    [Fact]
    public void A_manifest_naming_a_missing_file_falls_back_to_the_newest_file()
    {
        var (bytes, _, end) = Build([10, 20, 30]);
        using var dir = new TempBinlogDirectory();
        Directory.CreateDirectory(dir.Path);
        File.WriteAllBytes(dir.DataFile(0), bytes);
        WriteManifest(dir.Manifest, new BinlogManifest(7, 0, 1, 0));

        var log = new List<string>();
        using var writer = BinlogWriter.Open(dir.Path, Options(), log.Add);
        Assert.Equal(end, writer.Position);
        Assert.Equal(3UL, writer.LastLogicId);
        Assert.Contains(log, line => line.Contains("write2file7, which does not exist", StringComparison.Ordinal));
    }

    /// <summary>A pristine one-file binlog: its bytes, the positions Append returned, and the end.</summary>
    private static (byte[] Bytes, List<BinlogPosition> Positions, BinlogPosition End) Build(int[] contentSizes, uint term = 0)
    {
        using var dir = new TempBinlogDirectory();
        var positions = new List<BinlogPosition>();
        BinlogPosition end;
        using (var writer = BinlogWriter.Open(dir.Path, Options()))
        {
            writer.Term = term;
            for (var i = 0; i < contentSizes.Length; i++)
            {
                positions.Add(writer.Append(BinlogItemType.Command, Content(contentSizes[i], i)));
            }

            end = writer.Position;
        }

        return (File.ReadAllBytes(dir.DataFile(0)), positions, end);
    }
}

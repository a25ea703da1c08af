using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using CsCheck;
using PikaIngest.Core.Sst;

namespace PikaIngest.Core.UnitTests;

public sealed class RunFormatTests
{
    private sealed record Entry(byte[] Key, byte[] Value, long Expire);

    private static RunSummary Write(string path, IEnumerable<Entry> entries, int blockBytes = RunFormat.DefaultBlockBytes)
    {
        using var writer = new RunWriter(path, blockBytes);
        foreach (var entry in entries)
        {
            writer.Add(entry.Key, entry.Value, entry.Expire);
        }

        var summary = writer.Finish();
        writer.Commit();
        return summary;
    }

    private static RunIndex Index(byte[] file, RunSummary summary, string name = "run") =>
        RunIndex.Parse(file.AsSpan((int)summary.IndexOffset, summary.IndexLength), summary.IndexChecksum, summary.IndexOffset, name);

    private static List<Entry> Read(byte[] file, RunIndex index, byte[]? lower, byte[]? upper)
    {
        var (first, count) = index.BlocksFor(lower, upper);
        var slice = count == 0 ? [] : file[(int)index.Blocks[first].Offset..(int)(index.Blocks[first + count - 1].Offset + index.Blocks[first + count - 1].StoredLength)];
        using var reader = new RunSliceReader("run", slice, index.Blocks, first, count, lower, upper, order: 1);
        var read = new List<Entry>();
        while (reader.MoveNext())
        {
            read.Add(new Entry(reader.Key.ToArray(), reader.Value.ToArray(), reader.Expire));
        }

        Assert.Equal(read.Count, reader.RecordsInRange);
        return read;
    }

    [Fact]
    public void A_small_run_has_the_documented_bytes()
    {
        using var temp = new TempFolder();
        var summary = Write(temp["a.run"], [new("a"u8.ToArray(), "x"u8.ToArray(), 0), new("b"u8.ToArray(), [], 5)]);

        var block = Bytes.Hex("01 61 · 01 78 · 00 · 01 62 · 00 · 05"); // too small for LZ4 to shrink: stored as is
        var blockSum = XxHash3.HashToUInt64(block);
        var index = Bytes.Hex("01000000" + "1000000000000000 09000000 09000000 02000000 00" + Hex64(blockSum) + "01 61" + "01 62");
        var expected = Bytes.Hex(
            "50 49 4B 41 52 55 4E 00 · 01000000 · 00000000" // "PIKARUN\0", version 1, reserved
            + Convert.ToHexString(block)
            + Convert.ToHexString(index)
            + "1900000000000000" + Hex32(index.Length) + "0200000000000000" + Hex64(XxHash3.HashToUInt64(index)) + "01000000" + "50 49 4B 41 52 55 4E 00");

        Assert.Equal(Convert.ToHexString(expected), Convert.ToHexString(File.ReadAllBytes(temp["a.run"])));
        Assert.Equal(25, summary.IndexOffset);
        Assert.Equal(expected.Length, summary.Size);
        Assert.Equal(2, summary.Records);
        Assert.Equal("a"u8.ToArray(), summary.Smallest);
        Assert.Equal("b"u8.ToArray(), summary.Largest);
    }

    private static string Hex64(ulong value)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, value);
        return Convert.ToHexString(bytes);
    }

    private static string Hex32(int value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, value);
        return Convert.ToHexString(bytes);
    }

    private static readonly Gen<(List<Entry> Entries, int BlockBytes, byte[]? Lower, byte[]? Upper)> Runs =
        from keys in Gen.Byte[0, 6].Array[1, 6].HashSet[1, 400]
        from values in Gen.Byte.Array[0, 300].Array[keys.Count]
        from expires in Gen.Long[0, 1L << 40].Array[keys.Count]
        from blockBytes in Gen.Int[64, 4096]
        from lower in Gen.Byte[0, 6].Array[0, 6].Null()
        from upper in Gen.Byte[0, 6].Array[0, 6].Null()
        select (keys.Distinct(BytewiseComparer.Instance).Order(BytewiseComparer.Instance).Select((k, i) => new Entry(k, values[i], expires[i])).ToList(), blockBytes, lower, upper);

    [Fact]
    public void Any_key_range_of_a_run_reads_back_exactly_the_records_written_in_it()
    {
        Deterministic.Sample(Runs, run =>
        {
            using var temp = new TempFolder();
            var summary = Write(temp["r.run"], run.Entries, run.BlockBytes);
            var file = File.ReadAllBytes(temp["r.run"]);
            var index = Index(file, summary);

            var expected = run.Entries.Where(e =>
                (run.Lower is null || e.Key.AsSpan().SequenceCompareTo(run.Lower) >= 0) && (run.Upper is null || e.Key.AsSpan().SequenceCompareTo(run.Upper) < 0)).ToList();
            var read = Read(file, index, run.Lower, run.Upper);

            Assert.Equal(expected.Select(e => Convert.ToHexString(e.Key)), read.Select(e => Convert.ToHexString(e.Key)));
            Assert.Equal(expected.Select(e => Convert.ToHexString(e.Value)), read.Select(e => Convert.ToHexString(e.Value)));
            Assert.Equal(expected.Select(e => e.Expire), read.Select(e => e.Expire));
            Assert.Equal(summary.Blocks.Count, index.Blocks.Count);
        }, iterations: 200);
    }

    [Fact]
    public void Values_larger_than_a_block_and_compressible_blocks_round_trip()
    {
        using var temp = new TempFolder();
        var big = Encoding.ASCII.GetBytes(new string('v', 200_000));
        var entries = Enumerable.Range(0, 2000).Select(i => new Entry(Encoding.ASCII.GetBytes($"key_{i:D8}"), i == 700 ? big : Encoding.ASCII.GetBytes($"value_{i % 10}"), i)).ToList();
        var summary = Write(temp["big.run"], entries);
        var file = File.ReadAllBytes(temp["big.run"]);

        Assert.Contains(summary.Blocks, b => b.Codec == RunFormat.CodecLz4);
        Assert.True(summary.Size < 200_000, $"the repetitive data should compress ({summary.Size} bytes)");
        var read = Read(file, Index(file, summary), null, null);
        Assert.Equal(entries.Select(e => Convert.ToHexString(e.Value)), read.Select(e => Convert.ToHexString(e.Value)));
    }

    [Fact]
    public void Keys_out_of_order_are_refused_by_the_writer()
    {
        using var temp = new TempFolder();
        using var writer = new RunWriter(temp["bad.run"]);
        writer.Add("b"u8, "1"u8, 0);

        Assert.Throws<InvalidOperationException>(() => writer.Add("a"u8, "2"u8, 0));
        Assert.Throws<InvalidOperationException>(() => writer.Add("b"u8, "3"u8, 0));
    }

    private static (byte[] File, RunSummary Summary) SampleRun(TempFolder temp)
    {
        var entries = Enumerable.Range(0, 3000).Select(i => new Entry(Encoding.ASCII.GetBytes($"key_{i:D8}"), Encoding.ASCII.GetBytes($"value {i} {i * 7919 % 1000}"), 0)).ToList();
        var summary = Write(temp["s.run"], entries, blockBytes: 2048);
        return (File.ReadAllBytes(temp["s.run"]), summary);
    }

    [Fact]
    public void A_damaged_block_is_reported_with_the_run_and_block_and_never_read_as_data()
    {
        using var temp = new TempFolder();
        var (file, summary) = SampleRun(temp);
        var index = Index(file, summary);
        var victim = index.Blocks[3];
        file[victim.Offset + (victim.StoredLength / 2)] ^= 0x40;

        var error = Assert.Throws<InvalidDataException>(() => Read(file, index, null, null));

        Assert.Contains("run: corrupt run block 3: checksum mismatch", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_damaged_or_foreign_index_is_refused()
    {
        using var temp = new TempFolder();
        var (file, summary) = SampleRun(temp);
        var indexBytes = file.AsSpan((int)summary.IndexOffset, summary.IndexLength).ToArray();

        indexBytes[10] ^= 1;
        var damaged = Assert.Throws<InvalidDataException>(() => RunIndex.Parse(indexBytes, summary.IndexChecksum, summary.IndexOffset, "runs/b/000001-0.run"));
        Assert.Contains("runs/b/000001-0.run: run index checksum mismatch", damaged.Message, StringComparison.Ordinal);

        // Bytes that pass their own checksum but whose blocks do not end where the index starts (a run of another size).
        indexBytes[10] ^= 1;
        var elsewhere = Assert.Throws<InvalidDataException>(() => RunIndex.Parse(indexBytes, XxHash3.HashToUInt64(indexBytes), summary.IndexOffset + 1, "r"));
        Assert.Contains("corrupt run index", elsewhere.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_truncated_slice_is_refused_before_any_record_is_read()
    {
        using var temp = new TempFolder();
        var (file, summary) = SampleRun(temp);
        var index = Index(file, summary);
        var (first, count) = index.BlocksFor(null, null);
        var end = (int)(index.Blocks[^1].Offset + index.Blocks[^1].StoredLength);

        var error = Assert.Throws<InvalidDataException>(() => new RunSliceReader("r", file.AsMemory((int)index.Blocks[0].Offset..(end - 100)), index.Blocks, first, count, null, null, 1));

        Assert.Contains("truncated", error.Message, StringComparison.Ordinal);
    }
}

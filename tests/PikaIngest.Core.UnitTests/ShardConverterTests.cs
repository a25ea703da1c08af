using System.Text;
using System.Text.Json;
using PikaIngest.Core.Formats;
using PikaIngest.Core.Layout;
using PikaIngest.Core.Shards;
using PikaIngest.Core.Sst;

namespace PikaIngest.Core.UnitTests;

/// <summary>Shard → SST conversion end to end in-process, read back through RocksDB.</summary>
public sealed class ShardConverterTests : IDisposable
{
    private const long CreatedUnixMs = 1_700_000_000_000;
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    private sealed record Line(byte[] Key, byte[] Value, long Expire);

    /// <summary>Keys that stress ordering and routing: hash tags, 0x00/0xFF bytes, long shared prefixes, prefixes of each other.</summary>
    private static List<Line> TrickyLines(int count, int seed)
    {
        var random = new Random(seed);
        var longPrefix = new string('p', 300);
        var pool = new List<byte[]>();
        for (var i = 0; i < count / 4; i++)
        {
            pool.Add((i % 6) switch
            {
                0 => Encoding.UTF8.GetBytes($"{{user{i % 50}}}:item:{i}"),
                1 => [0x00, (byte)i, 0xFF, (byte)(i >> 8), 0x00],
                2 => Encoding.UTF8.GetBytes($"{longPrefix}{i:D6}"),
                3 => Encoding.UTF8.GetBytes($"k{i}"),
                4 => Encoding.UTF8.GetBytes($"k{i}\0tail"),
                _ => Encoding.UTF8.GetBytes($"ключ-{i}-\"quoted\"\\"),
            });
        }

        return Enumerable.Range(0, count).Select(i =>
        {
            var value = new byte[random.Next(0, 40)];
            random.NextBytes(value);
            return new Line(pool[random.Next(pool.Count)], value, random.Next(5) == 0 ? 1_800_000_000 + i : 0);
        }).ToList();
    }

    private string WriteShard(List<Line> lines)
    {
        var path = _temp["shard/000001.jsonl"];
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var writer = new StreamWriter(path, false, new UTF8Encoding(false));
        foreach (var line in lines)
        {
            var isText = System.Text.Unicode.Utf8.IsValid(line.Key) && !line.Key.Any(b => b < 0x20);
            var record = new Dictionary<string, object>
            {
                [isText ? "key" : "key64"] = isText ? Encoding.UTF8.GetString(line.Key) : System.Convert.ToBase64String(line.Key),
                ["value64"] = System.Convert.ToBase64String(line.Value),
            };
            if (line.Expire != 0)
            {
                record["expire"] = line.Expire;
            }

            writer.WriteLine(JsonSerializer.Serialize(record));
        }

        return path;
    }

    private ConvertResult ConvertShard(string shard, string output, TargetFormat format, int instances, long memory, int parallelism = 2) =>
        ShardConverter.Convert(new ConvertRequest
        {
            ShardPath = shard,
            SourceName = shard,
            BatchId = "b",
            Seq = 1,
            Format = format,
            Instances = instances,
            CreatedUnixMs = CreatedUnixMs,
            OutputRoot = _temp[output],
            MemoryBudget = memory,
            Parallelism = parallelism,
            TempDirectory = _temp.Path,
        });

    private static List<(byte[] Key, byte[] Value)> ReadBack(string path)
    {
        using var reader = SstReader.Open(path);
        return reader.Scan().ToList();
    }

    [Theory]
    [InlineData(TargetFormat.PikaV4, 3)]
    [InlineData(TargetFormat.PikaV35, 2)]
    [InlineData(TargetFormat.Raw, 1)]
    public void Every_instance_file_holds_exactly_the_last_write_of_its_keys_in_key_order(TargetFormat format, int instances)
    {
        var lines = TrickyLines(20_000, seed: 3);
        var shard = WriteShard(lines);

        var result = ConvertShard(shard, "out", format, instances, memory: 1L << 30);

        var latest = new Dictionary<string, Line>();
        foreach (var line in lines)
        {
            latest[System.Convert.ToHexString(line.Key)] = line;
        }

        Assert.False(result.ExternalSort);
        Assert.Equal(lines.Count, result.RecordsRead);
        Assert.Equal(latest.Count, result.UniqueKeys);
        Assert.Equal(latest.Count, result.Files.Sum(f => f.Entries));
        var encoding = format.Encoding();
        foreach (var file in result.Files)
        {
            var expected = latest.Values
                .Where(l => InstanceRouter.Instance(l.Key, instances) == file.Instance)
                .Select(l => (Key: encoding.EncodeKey(l.Key), Value: encoding.EncodeValue(l.Value, l.Expire, CreatedUnixMs)))
                .OrderBy(p => p.Key, Comparer<byte[]>.Create((a, b) => a.AsSpan().SequenceCompareTo(b)))
                .ToList();
            var stored = ReadBack(_temp[Path.Combine("out", file.Key)]);
            Assert.Equal(expected.Select(p => System.Convert.ToHexString(p.Key)), stored.Select(p => System.Convert.ToHexString(p.Key)));
            Assert.Equal(expected.Select(p => System.Convert.ToHexString(p.Value)), stored.Select(p => System.Convert.ToHexString(p.Value)));
            Assert.Equal(ObjectLayout.SstFile("b", 1, file.Instance), file.Key);
            Assert.Equal(encoding.Decode(stored[0].Key, stored[0].Value).Key, System.Convert.FromBase64String(file.SmallestKey));
            Assert.Equal(encoding.Decode(stored[^1].Key, stored[^1].Value).Key, System.Convert.FromBase64String(file.LargestKey));
            Assert.Equal(new FileInfo(_temp[Path.Combine("out", file.Key)]).Length, file.Size);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void External_sort_writes_byte_for_byte_the_same_records_as_the_in_memory_path(int parallelism)
    {
        var shard = WriteShard(TrickyLines(60_000, seed: 11));
        var inMemory = ConvertShard(shard, "memory", TargetFormat.PikaV4, 3, memory: 1L << 30, parallelism);
        var external = ConvertShard(shard, "external", TargetFormat.PikaV4, 3, memory: 64 * 1024, parallelism);

        Assert.False(inMemory.ExternalSort);
        Assert.True(external.ExternalSort);
        Assert.Equal(inMemory.UniqueKeys, external.UniqueKeys);
        Assert.Equal(inMemory.Files.Select(f => (f.Key, f.Entries, f.SmallestKey, f.LargestKey)), external.Files.Select(f => (f.Key, f.Entries, f.SmallestKey, f.LargestKey)));
        foreach (var file in inMemory.Files)
        {
            var a = ReadBack(_temp[Path.Combine("memory", file.Key)]);
            var b = ReadBack(_temp[Path.Combine("external", file.Key)]);
            Assert.Equal(a.Select(p => System.Convert.ToHexString(p.Key) + System.Convert.ToHexString(p.Value)), b.Select(p => System.Convert.ToHexString(p.Key) + System.Convert.ToHexString(p.Value)));
        }

        Assert.Empty(Directory.EnumerateDirectories(_temp.Path, "pika-ingest-runs-*"));
    }

    [Fact]
    public void A_record_the_format_cannot_hold_fails_the_shard_naming_the_key_and_leaves_no_file()
    {
        var lines = TrickyLines(5_000, seed: 5);
        lines.Add(new Line(Encoding.ASCII.GetBytes("too-late"), [1], 4_102_444_800));
        var shard = WriteShard(lines);

        var error = Assert.Throws<ShardFormatException>(() => ConvertShard(shard, "out", TargetFormat.PikaV35, 3, memory: 1L << 30));

        Assert.Contains("'too-late'", error.Message, StringComparison.Ordinal);
        Assert.Contains("later than pika-v3.5 can store (2038-01-19", error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_temp["out/sst/b"]) && Directory.EnumerateFileSystemEntries(_temp["out/sst/b"]).Any());
    }

    [Fact]
    public void A_bad_line_fails_before_anything_is_written()
    {
        var path = WriteShard(TrickyLines(1_000, seed: 9));
        File.AppendAllText(path, "{\"key\":\"x\",\"value\":12}\n");

        var error = Assert.Throws<ShardFormatException>(() => ConvertShard(path, "out", TargetFormat.PikaV4, 3, memory: 1L << 30));

        Assert.Equal(1_001, error.Line);
        Assert.False(Directory.Exists(_temp["out/sst"]));
    }
}

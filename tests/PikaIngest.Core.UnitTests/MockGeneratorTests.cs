using System.Text;
using PikaIngest.Core.Layout;
using PikaIngest.Core.Mock;
using PikaIngest.Core.Shards;

namespace PikaIngest.Core.UnitTests;

/// <summary>Mock batches generated into a temp folder and read back with the shard reader.</summary>
public sealed class MockGeneratorTests : IDisposable
{
    private const long TotalBytes = 2L << 20;
    private const long MaxFileSize = 256L << 10;
    private static readonly DateTimeOffset CreatedAt = new(2026, 11, 23, 19, 0, 0, TimeSpan.Zero);

    private readonly TempFolder _temp = new();
    private int _runs;

    public void Dispose() => _temp.Dispose();

    private MockOptions Options(string? batch = null) => new()
    {
        TotalBytes = TotalBytes,
        MaxFileSize = MaxFileSize,
        OutputRoot = _temp[$"store-{++_runs}"],
        BatchId = batch ?? "batch-1",
        Threads = 2,
        Seed = 42,
        CreatedAt = CreatedAt,
    };

    private sealed record ShardRecord(int Shard, string Key, string Value, long Expire);

    private static List<string> ShardFiles(string folder) =>
        Directory.GetFiles(folder, "*.jsonl").Order(StringComparer.Ordinal).ToList();

    private static List<ShardRecord> ReadBatch(string folder)
    {
        var records = new List<ShardRecord>();
        foreach (var (path, shard) in ShardFiles(folder).Select((path, index) => (path, index + 1)))
        {
            using var store = ShardReader.ReadAll(path, Path.GetFileName(path));
            for (var i = 0; i < store.Count; i++)
            {
                records.Add(new ShardRecord(shard, Encoding.UTF8.GetString(store.Key(i)), Encoding.UTF8.GetString(store.Value(i)), store.Expire(i)));
            }
        }

        return records;
    }

    /// <summary>A record whose key already appeared earlier in the batch, and the shard where it first did.</summary>
    private readonly record struct Repeat(int FirstShard, int Shard);

    /// <summary>Records whose key already appeared earlier in the batch, in shard order.</summary>
    private static List<Repeat> Repeats(List<ShardRecord> records)
    {
        var firstShard = new Dictionary<string, int>(StringComparer.Ordinal);
        var repeats = new List<Repeat>();
        foreach (var record in records)
        {
            if (!firstShard.TryAdd(record.Key, record.Shard))
            {
                repeats.Add(new Repeat(firstShard[record.Key], record.Shard));
            }
        }

        return repeats;
    }

    [Fact]
    public void Batch_has_a_descriptor_and_gap_free_shards_within_the_size_limits()
    {
        var options = Options() with { Instances = 5, Compression = "zstd" };

        var result = new MockGenerator(options).Run();

        var folder = Path.Combine(options.OutputRoot, "incoming", "batch-1");
        Assert.Equal(folder, result.BatchFolder);
        var descriptor = LayoutJson.Deserialize<BatchDescriptor>(File.ReadAllBytes(Path.Combine(folder, "_batch.json")), "_batch.json");
        Assert.Equal("batch-1", descriptor.BatchId);
        Assert.Equal("pika-v4", descriptor.Format);
        Assert.Equal(5, descriptor.Instances);
        Assert.Equal("zstd", descriptor.Compression);
        Assert.Equal(CreatedAt, descriptor.CreatedAt);

        var shards = ShardFiles(folder);
        Assert.Equal(descriptor.Shards, shards.Count);
        Assert.Equal(result.Shards, shards.Count);
        Assert.Equal(Enumerable.Range(1, shards.Count).Select(n => $"{n:D6}.jsonl"), shards.Select(Path.GetFileName));
        Assert.Equal(shards.Count + 1, Directory.GetFileSystemEntries(folder).Length);
        Assert.True(shards.Count >= TotalBytes / MaxFileSize, $"{shards.Count} shards cannot hold {TotalBytes} bytes at {MaxFileSize} each");

        var sizes = shards.Select(s => new FileInfo(s).Length).ToList();
        Assert.All(sizes, size => Assert.InRange(size, 1, MaxFileSize));
        Assert.InRange(sizes.Sum(), TotalBytes * 0.98, TotalBytes * 1.02);
        Assert.Equal(sizes.Sum(), result.Bytes);
    }

    [Fact]
    public void Keys_have_the_requested_size_and_values_the_prefix()
    {
        var options = Options() with { KeyPrefix = "user:", KeySize = 14, ValuePrefix = "v=", ValueSize = 30 };

        var folder = new MockGenerator(options).Run().BatchFolder;

        var records = ReadBatch(folder);
        Assert.All(records, r =>
        {
            Assert.Equal(14, r.Key.Length);
            Assert.StartsWith("user:", r.Key, StringComparison.Ordinal);
            Assert.All(r.Key[5..], c => Assert.InRange(c, '0', '9'));
            Assert.Equal(30, r.Value.Length);
            Assert.StartsWith("v=", r.Value, StringComparison.Ordinal);
        });
    }

    [Theory]
    [InlineData(0.0, DuplicateDistribution.Uniform)]
    [InlineData(0.1, DuplicateDistribution.Uniform)]
    [InlineData(0.1, DuplicateDistribution.Normal)]
    [InlineData(0.1, DuplicateDistribution.Zipf)]
    [InlineData(0.5, DuplicateDistribution.Uniform)]
    [InlineData(0.5, DuplicateDistribution.Normal)]
    [InlineData(0.5, DuplicateDistribution.Zipf)]
    public void Measured_duplicate_fraction_matches_the_requested_ratio(double dupRatio, DuplicateDistribution distribution)
    {
        var options = Options() with { DupRatio = dupRatio, Distribution = distribution };

        var result = new MockGenerator(options).Run();

        var records = ReadBatch(result.BatchFolder);
        var repeats = Repeats(records);
        Assert.Equal(result.Records, records.Count);
        Assert.Equal(result.Duplicates, repeats.Count);
        Assert.InRange((double)repeats.Count / records.Count, dupRatio - 0.01, dupRatio + 0.01);
        if (dupRatio > 0)
        {
            Assert.Contains(repeats, r => r.FirstShard < r.Shard);
        }
    }

    /// <summary>For each repeat, where its key first appeared among the distinct keys emitted so far: 0 = oldest, 1 = newest.</summary>
    private static List<double> RepeatPositions(List<ShardRecord> records)
    {
        var firstIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        var positions = new List<double>();
        foreach (var record in records)
        {
            if (firstIndex.TryGetValue(record.Key, out var index))
            {
                positions.Add((double)index / firstIndex.Count);
            }
            else
            {
                firstIndex.Add(record.Key, firstIndex.Count);
            }
        }

        return positions;
    }

    [Fact]
    public void Uniform_repeats_any_earlier_key_alike()
    {
        var positions = RepeatPositions(ReadBatch(new MockGenerator(Options() with { DupRatio = 0.5 }).Run().BatchFolder));

        Assert.InRange(positions.Average(), 0.45, 0.55);
        Assert.InRange(positions.Count(p => p is > 1 / 3.0 and < 2 / 3.0) / (double)positions.Count, 0.28, 0.39);
    }

    [Fact]
    public void Normal_repeats_keys_from_the_middle_of_the_emitted_sequence()
    {
        var options = Options() with { DupRatio = 0.5, Distribution = DuplicateDistribution.Normal };

        var positions = RepeatPositions(ReadBatch(new MockGenerator(options).Run().BatchFolder));

        // σ is a sixth of the sequence: about 68 % fall within one σ of the middle.
        Assert.InRange(positions.Average(), 0.45, 0.55);
        Assert.InRange(positions.Count(p => Math.Abs(p - 0.5) < 1 / 6.0) / (double)positions.Count, 0.6, 0.76);
    }

    [Fact]
    public void Zipf_repeats_mostly_recent_keys()
    {
        var options = Options() with { DupRatio = 0.5, Distribution = DuplicateDistribution.Zipf };

        var positions = RepeatPositions(ReadBatch(new MockGenerator(options).Run().BatchFolder)).Order().ToList();

        Assert.True(positions[positions.Count / 2] > 0.9, $"median position {positions[positions.Count / 2]:F3}");
    }

    [Fact]
    public void Same_seed_and_options_give_the_same_bytes_whatever_the_thread_count()
    {
        var oneThread = Options() with { Threads = 1, DupRatio = 0.3, ExpireRatio = 0.2, ValueSizeMax = 40 };
        var twoThreads = Options() with { Threads = 2, DupRatio = 0.3, ExpireRatio = 0.2, ValueSizeMax = 40 };

        var first = new MockGenerator(oneThread).Run().BatchFolder;
        var second = new MockGenerator(twoThreads).Run().BatchFolder;

        var firstFiles = Directory.GetFiles(first).Order(StringComparer.Ordinal).ToList();
        var secondFiles = Directory.GetFiles(second).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(firstFiles.Select(Path.GetFileName), secondFiles.Select(Path.GetFileName));
        Assert.All(firstFiles.Zip(secondFiles), pair => Assert.Equal(File.ReadAllBytes(pair.First), File.ReadAllBytes(pair.Second)));
    }

    [Fact]
    public void Different_seed_gives_different_bytes()
    {
        var first = new MockGenerator(Options() with { Seed = 1 }).Run().BatchFolder;
        var second = new MockGenerator(Options() with { Seed = 2 }).Run().BatchFolder;

        var firstShards = ShardFiles(first);
        var secondShards = ShardFiles(second);
        Assert.All(firstShards.Zip(secondShards), pair => Assert.NotEqual(File.ReadAllBytes(pair.First), File.ReadAllBytes(pair.Second)));
    }

    [Fact]
    public void Expire_ratio_gives_that_fraction_of_records_an_expiry_after_the_batch_time()
    {
        var options = Options() with { ExpireRatio = 0.3, ExpireAfterSeconds = 7200 };

        var result = new MockGenerator(options).Run();

        var records = ReadBatch(result.BatchFolder);
        var expiring = records.Where(r => r.Expire != 0).ToList();
        Assert.InRange((double)expiring.Count / records.Count, 0.28, 0.32);
        Assert.All(expiring, r => Assert.Equal(CreatedAt.ToUnixTimeSeconds() + 7200, r.Expire));
        Assert.Equal(result.WithExpire, expiring.Count);
    }

    [Fact]
    public void No_expire_ratio_means_no_expiry()
    {
        var records = ReadBatch(new MockGenerator(Options()).Run().BatchFolder);

        Assert.All(records, r => Assert.Equal(0, r.Expire));
    }

    [Fact]
    public void Value_size_max_spreads_value_lengths_within_bounds()
    {
        var options = Options() with { ValueSize = 24, ValueSizeMax = 40 };

        var records = ReadBatch(new MockGenerator(options).Run().BatchFolder);

        // Uniform over [2·24 − 40, 40] = [8, 40].
        var lengths = records.Select(r => r.Value.Length).ToList();
        Assert.All(lengths, length => Assert.InRange(length, 8, 40));
        Assert.Equal(8, lengths.Min());
        Assert.Equal(40, lengths.Max());
        Assert.InRange(lengths.Average(), 23, 25);
    }

    [Fact]
    public void Key_timestamp_appends_the_batch_time_to_every_key()
    {
        var options = Options() with { Timestamp = TimestampTarget.Key, DupRatio = 0.2 };

        var records = ReadBatch(new MockGenerator(options).Run().BatchFolder);

        Assert.All(records, r => Assert.EndsWith($"_{CreatedAt.ToUnixTimeMilliseconds()}", r.Key, StringComparison.Ordinal));
        Assert.InRange((double)Repeats(records).Count / records.Count, 0.19, 0.21);
    }

    [Theory]
    [InlineData(12)]
    [InlineData(19)]
    public void New_keys_are_spread_over_the_whole_key_space(int digits)
    {
        var options = Options() with { KeySize = "key_".Length + digits, DupRatio = 0 };

        var keys = ReadBatch(new MockGenerator(options).Run().BatchFolder).Select(r => r.Key).ToList();

        // Key numbers are a permutation of [0, 10^digits): each leading digit takes about a tenth.
        Assert.All(keys, key => Assert.Equal(4 + digits, key.Length));
        var leadingDigits = keys.GroupBy(key => key[4]).ToDictionary(g => g.Key, g => (double)g.Count() / keys.Count);
        Assert.All("0123456789", digit => Assert.InRange(leadingDigits.GetValueOrDefault(digit), 0.07, 0.13));
        Assert.Equal(keys.Count, keys.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void Key_space_too_small_for_the_batch_is_rejected()
    {
        // "key_" leaves one digit: ten keys, far fewer than 2 MiB of records needs.
        Assert.Throws<ArgumentException>(() => new MockGenerator(Options() with { KeySize = 5 }));
    }

    [Fact]
    public void Existing_non_empty_batch_folder_is_refused_and_left_alone()
    {
        var options = Options();
        var folder = Path.Combine(options.OutputRoot, "incoming", options.BatchId);
        Directory.CreateDirectory(folder);
        var existing = Path.Combine(folder, "000001.jsonl");
        File.WriteAllText(existing, "{\"key\":\"mine\",\"value\":\"keep\"}\n");

        Assert.Throws<IOException>(() => new MockGenerator(options).Run());

        Assert.Equal("{\"key\":\"mine\",\"value\":\"keep\"}\n", File.ReadAllText(existing));
        Assert.Single(Directory.GetFileSystemEntries(folder));
    }

    [Fact]
    public void Existing_empty_batch_folder_is_used()
    {
        var options = Options();
        Directory.CreateDirectory(Path.Combine(options.OutputRoot, "incoming", options.BatchId));

        Assert.True(new MockGenerator(options).Run().Records > 0);
    }
}

using System.Diagnostics;
using System.Globalization;
using PikaIngest.Core.Formats;
using PikaIngest.Core.Layout;

namespace PikaIngest.Core.Mock;

/// <summary>
/// Generates a batch of JSON Lines shards: many threads, one shard each at a time, every shard a
/// pure function of (seed, options, shard number) so the same options give the same bytes
/// whatever the thread count. A fixed fraction of records reuses a key already emitted in the
/// batch — within the shard or in an earlier one — so duplicates and last-write-wins are
/// exercised; new keys come from a permutation of per-shard counter ranges, so they never
/// collide by accident and the measured duplicate fraction is exactly the planned one.
/// </summary>
public sealed class MockGenerator
{
    private const int WriteBufferBytes = 1 << 20;

    private readonly MockOptions _options;
    private readonly byte[] _keyPrefix;
    private readonly byte[] _valuePrefix;
    private readonly int _keyDigits;
    private readonly KeyPermutation _permutation;
    private readonly ShardPlan[] _plan;
    private readonly long[] _guaranteedBefore;
    private readonly byte[] _keySuffix;
    private readonly int _maxLineLength;

    public MockGenerator(MockOptions options)
    {
        Validate(options);
        _options = options;
        _keyPrefix = System.Text.Encoding.ASCII.GetBytes(options.KeyPrefix);
        _valuePrefix = System.Text.Encoding.ASCII.GetBytes(options.ValuePrefix);
        _keyDigits = options.KeySize - _keyPrefix.Length;
        _keySuffix = options.Timestamp == TimestampTarget.Key
            ? System.Text.Encoding.ASCII.GetBytes("_" + options.CreatedAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture))
            : [];
        _maxLineLength = MaxLineLength(options, _keySuffix.Length);
        _plan = Plan(options, _maxLineLength, MinLineLength(options, _keySuffix.Length), _keyDigits, out var keySpace);
        _permutation = new KeyPermutation(keySpace, options.Seed);
        _guaranteedBefore = new long[_plan.Length + 1];
        for (var s = 0; s < _plan.Length; s++)
        {
            _guaranteedBefore[s + 1] = _guaranteedBefore[s] + _plan[s].GuaranteedNewKeys;
        }
    }

    public int ShardCount => _plan.Length;

    public string BatchFolder => Path.Combine(_options.OutputRoot, "incoming", _options.BatchId);

    /// <summary>The descriptor written before any shard.</summary>
    public BatchDescriptor Descriptor => new()
    {
        BatchId = _options.BatchId,
        Shards = _plan.Length,
        Format = _options.Format.Name(),
        Instances = _options.Instances,
        Compression = _options.Compression,
        CreatedAt = _options.CreatedAt,
        TargetFileBytes = _options.TargetFileBytes,
        KeepRuns = _options.KeepRuns,
        Options = new Dictionary<string, string>
        {
            ["source"] = "mock",
            ["seed"] = _options.Seed.ToString(CultureInfo.InvariantCulture),
            ["size"] = _options.TotalBytes.ToString(CultureInfo.InvariantCulture),
            ["dupRatio"] = _options.DupRatio.ToString(CultureInfo.InvariantCulture),
            ["distribution"] = _options.Distribution.ToString().ToLowerInvariant(),
            ["expireRatio"] = _options.ExpireRatio.ToString(CultureInfo.InvariantCulture),
        },
    };

    /// <summary>Writes the descriptor, then every shard; on failure removes what this run wrote.</summary>
    public MockResult Run(Action<long>? progress = null, CancellationToken cancellation = default)
    {
        var folder = BatchFolder;
        if (Directory.Exists(folder) && Directory.EnumerateFileSystemEntries(folder).Any())
        {
            throw new IOException($"{folder}: batch '{_options.BatchId}' already exists; choose another --batch or remove it");
        }

        var stopwatch = Stopwatch.StartNew();
        Directory.CreateDirectory(folder);
        var descriptorPath = Path.Combine(folder, ObjectLayout.DescriptorName);
        var results = new ShardResult[_plan.Length];
        try
        {
            AtomicFile.Write(descriptorPath, LayoutJson.Serialize(Descriptor));
            var next = -1;
            var workers = Enumerable.Range(0, Math.Min(_options.Threads, _plan.Length)).Select(_ => Task.Factory.StartNew(
                () =>
                {
                    int shard;
                    while ((shard = Interlocked.Increment(ref next)) < _plan.Length)
                    {
                        cancellation.ThrowIfCancellationRequested();
                        results[shard] = WriteShard(shard, folder, progress, cancellation);
                    }
                },
                cancellation,
                TaskCreationOptions.LongRunning,
                TaskScheduler.Default)).ToArray();
            Task.WaitAll(workers, cancellation);
        }
        catch
        {
            Directory.Delete(folder, recursive: true);
            throw;
        }

        return new MockResult(folder, _plan.Length, results.Sum(r => r.Bytes), results.Sum(r => r.Records), results.Sum(r => r.Duplicates), results.Sum(r => r.WithExpire), stopwatch.Elapsed);
    }

    /// <summary>Generates one shard's bytes (0-based index) into a stream; exposed for tests and benchmarks.</summary>
    public ShardResult Generate(int shard, Stream output, Action<long>? progress = null, CancellationToken cancellation = default)
    {
        var plan = _plan[shard];
        var random = new FastRandom(KeyPermutation.SplitMix(_options.Seed ^ KeyPermutation.SplitMix((ulong)shard + 1)));
        var buffer = new byte[WriteBufferBytes + _maxLineLength];
        var used = 0;
        long written = 0, records = 0, duplicates = 0, newKeys = 0, withExpire = 0;
        var expireBase = _options.CreatedAt.ToUnixTimeSeconds();
        var line = new byte[_maxLineLength];
        while (true)
        {
            var isDuplicate = IsDuplicateSlot(records) && PoolSize(shard, newKeys) > 0;
            var counter = isDuplicate ? PickEarlier(shard, newKeys, ref random) : plan.FirstCounter + (ulong)newKeys;
            var expire = _options.ExpireRatio > 0 && random.NextDouble() < _options.ExpireRatio ? expireBase + _options.ExpireAfterSeconds : 0;
            var length = WriteLine(line, _permutation[counter], expire, ref random);
            if (written + length > plan.TargetBytes)
            {
                break;
            }

            if (used + length > WriteBufferBytes)
            {
                output.Write(buffer, 0, used);
                progress?.Invoke(used);
                cancellation.ThrowIfCancellationRequested();
                used = 0;
            }

            line.AsSpan(0, length).CopyTo(buffer.AsSpan(used));
            used += length;
            written += length;
            records++;
            duplicates += isDuplicate ? 1 : 0;
            newKeys += isDuplicate ? 0 : 1;
            withExpire += expire != 0 ? 1 : 0;
        }

        output.Write(buffer, 0, used);
        progress?.Invoke(used);
        return new ShardResult(written, records, duplicates, withExpire);
    }

    public readonly record struct ShardResult(long Bytes, long Records, long Duplicates, long WithExpire);

    private ShardResult WriteShard(int shard, string folder, Action<long>? progress, CancellationToken cancellation)
    {
        var path = Path.Combine(folder, $"{ObjectLayout.Seq(shard + 1)}{ObjectLayout.ShardSuffix}");
        var temporary = path + ".tmp";
        try
        {
            ShardResult result;
            using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.None))
            {
                file.SetLength(_plan[shard].TargetBytes);
                result = Generate(shard, file, progress, cancellation);
                file.SetLength(result.Bytes);
            }

            File.Move(temporary, path);
            return result;
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    /// <summary>Duplicates sit at evenly spread positions, so each shard has exactly its share.</summary>
    private bool IsDuplicateSlot(long index) =>
        (long)Math.Floor((index + 1) * _options.DupRatio) > (long)Math.Floor(index * _options.DupRatio);

    /// <summary>Keys a duplicate may reuse: the guaranteed keys of earlier shards plus this shard's new keys so far.</summary>
    private long PoolSize(int shard, long newKeys) => _guaranteedBefore[shard] + newKeys;

    private ulong PickEarlier(int shard, long newKeys, ref FastRandom random)
    {
        var pool = PoolSize(shard, newKeys);
        long index = _options.Distribution switch
        {
            DuplicateDistribution.Uniform => (long)random.Below((ulong)pool),
            DuplicateDistribution.Normal => (long)Math.Clamp((pool / 2.0) + (Gaussian(ref random) * pool / 6.0), 0, pool - 1),
            _ => pool - (long)Math.Min(pool, Math.Floor(Math.Pow(pool + 1, random.NextDouble()))),
        };
        index = Math.Clamp(index, 0, pool - 1);
        if (index >= _guaranteedBefore[shard])
        {
            return _plan[shard].FirstCounter + (ulong)(index - _guaranteedBefore[shard]);
        }

        // An earlier shard's j-th new key: its counters run from its FirstCounter in emission order.
        var earlier = Array.BinarySearch(_guaranteedBefore, 0, shard + 1, index);
        earlier = earlier >= 0 ? earlier : ~earlier - 1;
        while (earlier + 1 <= shard && _guaranteedBefore[earlier + 1] <= index)
        {
            earlier++;
        }

        return _plan[earlier].FirstCounter + (ulong)(index - _guaranteedBefore[earlier]);
    }

    private static double Gaussian(ref FastRandom random)
    {
        var u1 = 1.0 - random.NextDouble();
        var u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    private static ReadOnlySpan<byte> TwoDigits => "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"u8;

    /// <summary>Writes one JSON line; returns its length.</summary>
    private int WriteLine(Span<byte> line, ulong keyNumber, long expire, ref FastRandom random)
    {
        var at = 0;
        Append(line, ref at, "{\"key\":\""u8);
        Append(line, ref at, _keyPrefix);
        WriteDigits(line.Slice(at, _keyDigits), keyNumber);
        at += _keyDigits;
        Append(line, ref at, _keySuffix);
        Append(line, ref at, "\",\"value\":\""u8);
        Append(line, ref at, _valuePrefix);
        var valueLength = _options.ValueSizeMax is { } max
            ? (int)(Math.Max(_valuePrefix.Length, (2 * _options.ValueSize) - max) + (long)random.Below((ulong)(max - Math.Max(_valuePrefix.Length, (2 * _options.ValueSize) - max) + 1)))
            : _options.ValueSize;
        var digits = Math.Max(0, valueLength - _valuePrefix.Length);
        RandomDigits(line.Slice(at, digits), ref random);
        at += digits;
        if (_options.Timestamp == TimestampTarget.Value)
        {
            line[at++] = (byte)'_';
            at += WriteNumber(line[at..], DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        }

        line[at++] = (byte)'"';
        if (expire != 0)
        {
            Append(line, ref at, ",\"expire\":"u8);
            at += WriteNumber(line[at..], expire);
        }

        Append(line, ref at, "}\n"u8);
        return at;
    }

    private static void Append(Span<byte> line, ref int at, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(line[at..]);
        at += bytes.Length;
    }

    /// <summary>Zero-padded decimal of <paramref name="value"/> filling <paramref name="target"/>.</summary>
    private static void WriteDigits(Span<byte> target, ulong value)
    {
        var i = target.Length;
        while (i >= 2)
        {
            var pair = (int)(value % 100) * 2;
            value /= 100;
            target[--i] = TwoDigits[pair + 1];
            target[--i] = TwoDigits[pair];
        }

        if (i == 1)
        {
            target[0] = (byte)('0' + (int)(value % 10));
        }
    }

    private static int WriteNumber(Span<byte> target, long value)
    {
        value.TryFormat(target, out var written, default, CultureInfo.InvariantCulture);
        return written;
    }

    /// <summary>Eight digits per random word: each byte scaled to 0–9.</summary>
    private static void RandomDigits(Span<byte> target, ref FastRandom random)
    {
        var i = 0;
        while (i < target.Length)
        {
            var word = random.Next();
            for (var k = 0; k < 8 && i < target.Length; k++, i++)
            {
                target[i] = (byte)('0' + (((word & 0xFF) * 10) >> 8));
                word >>= 8;
            }
        }
    }

    private readonly record struct ShardPlan(long TargetBytes, ulong FirstCounter, long GuaranteedNewKeys);

    private static int MaxLineLength(MockOptions options, int keySuffixLength)
    {
        var value = Math.Max(options.ValueSizeMax ?? options.ValueSize, options.ValuePrefix.Length);
        var timestamp = options.Timestamp == TimestampTarget.Value ? 14 : 0;
        var expire = options.ExpireRatio > 0 ? ",\"expire\":".Length + 20 : 0;
        return "{\"key\":\"\",\"value\":\"\"}\n".Length + options.KeySize + keySuffixLength + value + timestamp + expire;
    }

    private static int MinLineLength(MockOptions options, int keySuffixLength)
    {
        var value = options.ValueSizeMax is { } max ? Math.Max(options.ValuePrefix.Length, (2 * options.ValueSize) - max) : Math.Max(options.ValueSize, options.ValuePrefix.Length);
        return "{\"key\":\"\",\"value\":\"\"}\n".Length + options.KeySize + keySuffixLength + value;
    }

    private static ShardPlan[] Plan(MockOptions options, int maxLine, int minLine, int keyDigits, out ulong keySpace)
    {
        var shards = (int)Math.Max(1, (options.TotalBytes + options.MaxFileSize - 1) / options.MaxFileSize);
        var plan = new ShardPlan[shards];
        ulong counter = 0;
        for (var s = 0; s < shards; s++)
        {
            var target = (options.TotalBytes / shards) + (s < options.TotalBytes % shards ? 1 : 0);
            if (target < maxLine)
            {
                throw new ArgumentException($"each shard would hold {target} bytes, less than one record ({maxLine} bytes): raise --size or --max-file-size");
            }

            var guaranteedRecords = Math.Max(0, (target / maxLine) - 1);
            var guaranteedNew = guaranteedRecords - (long)Math.Floor(guaranteedRecords * options.DupRatio);
            plan[s] = new ShardPlan(target, counter, guaranteedNew);
            counter += (ulong)(target / minLine) + 1;
        }

        // 10^19 still fits a ulong (and powers of ten are exact doubles up to 10^22); a larger space
        // would hand out numbers with more digits than the key has room for.
        keySpace = (ulong)Math.Pow(10, keyDigits);
        if (counter > keySpace)
        {
            throw new ArgumentException($"--key-size {options.KeySize} leaves {keyDigits} digits ({keySpace:N0} keys) after the prefix, but the batch may need up to {counter:N0} distinct keys: raise --key-size");
        }

        return plan;
    }

    private static void Validate(MockOptions options)
    {
        ObjectLayout.RequireBatchId(options.BatchId);
        static void Require(bool condition, string message)
        {
            if (!condition)
            {
                throw new ArgumentException(message);
            }
        }

        Require(options.TotalBytes > 0, "--size must be positive");
        Require(options.MaxFileSize > 0, "--max-file-size must be positive");
        Require(options.Threads > 0, "--threads must be positive");
        Require(options.DupRatio is >= 0 and < 1, "--dup-ratio must be in [0, 1)");
        Require(options.ExpireRatio is >= 0 and <= 1, "--expire-ratio must be in [0, 1]");
        Require(options.ExpireAfterSeconds > 0, "--expire-after must be positive");
        Require(IsPlainAscii(options.KeyPrefix) && IsPlainAscii(options.ValuePrefix), "prefixes must be printable ASCII without '\"' or '\\'");
        var digits = options.KeySize - options.KeyPrefix.Length;
        Require(digits is >= 1 and <= 19, $"--key-size {options.KeySize} must leave 1 to 19 digits after the {options.KeyPrefix.Length}-character prefix");
        Require(options.ValueSize >= 0 && options.ValueSize <= 64 << 20, "--value-size must be between 0 and 64M");
        Require(options.ValueSizeMax is null || (options.ValueSizeMax >= options.ValueSize && options.ValueSizeMax <= 64 << 20), "--value-size-max must be at least --value-size and at most 64M");
        Require(options.Instances is >= 1 and <= 1024, "--instances must be between 1 and 1024");
    }

    private static bool IsPlainAscii(string text) => text.All(c => c is >= ' ' and <= '~' and not '"' and not '\\');
}

using System.IO.Hashing;
using System.Runtime.InteropServices;
using PikaIngest.Core.Layout;
using PikaIngest.Core.Shards;

namespace PikaIngest.Core.Formats;

/// <summary>One key a node must hold as given (or, once <see cref="ExpireUnixMs"/> has passed, must not hold).</summary>
public sealed record ExpectedKey(byte[] Key, byte[] Value, long ExpireUnixMs)
{
    public bool IsLiveAt(long nowMs) => ExpireUnixMs == 0 || ExpireUnixMs >= nowMs;
}

/// <summary>
/// What a node must hold after ingesting batches, worked out from the shards alone: last write wins by
/// generation order (batches in the order given, shards by sequence, lines in order), keys past their
/// expiry absent. Gives the live key count, the <see cref="LogicalDigest"/> and a uniform random sample of
/// the final keys with their values.
/// </summary>
/// <remarks>
/// Built for batches of tens of millions of keys: a key is remembered by its 128-bit XXH3 hash (about 56
/// bytes per distinct key, no copy of keys or values), the hashing runs on every core, and the keys are
/// split by hash into partitions that apply the records of each chunk in parallel, each in input order.
/// The sample is a bottom-k sketch: the keys with the smallest seeded hashes, whose values are the only
/// ones copied.
/// </remarks>
public sealed class ExpectedContents
{
    private const long ChunkBytes = 256L << 20;

    private ExpectedContents(long count, string digest, IReadOnlyList<ExpectedKey> sample, long records)
    {
        Count = count;
        Digest = digest;
        Sample = sample;
        Records = records;
    }

    /// <summary>Live keys.</summary>
    public long Count { get; }

    public string Digest { get; }

    /// <summary>Up to the requested number of final keys (live or expired), in random order.</summary>
    public IReadOnlyList<ExpectedKey> Sample { get; }

    /// <summary>Records read, duplicates included.</summary>
    public long Records { get; }

    /// <summary>
    /// Reads <paramref name="shards"/> in the given order (the caller orders batches, then shards by sequence). With
    /// <paramref name="slices"/> above 1 the keys are split by hash into that many slices, one pass over the shards
    /// each: memory is divided by the slice count, reading multiplied by it. The digest is a sum, so the slices' digests add up.
    /// </summary>
    public static ExpectedContents FromShards(IReadOnlyList<LocalShard> shards, int sampleSize, int seed, long nowMs, int parallelism, int slices = 1)
    {
        ArgumentNullException.ThrowIfNull(shards);
        ArgumentOutOfRangeException.ThrowIfLessThan(parallelism, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(slices, 1);
        var partitions = new Partition[parallelism];
        for (var p = 0; p < partitions.Length; p++)
        {
            partitions[p] = new Partition(sampleSize);
        }

        var sampleSeed = (ulong)seed * 0x9E3779B97F4A7C15UL;
        var digest = new LogicalDigest();
        long records = 0;
        long live = 0;
        for (var slice = 0; slice < slices; slice++)
        {
            foreach (var shard in shards)
            {
                foreach (var chunk in ShardReader.ReadChunks(shard.Path, shard.SourceKey, ChunkBytes, parallelism))
                {
                    records += slice == 0 ? chunk.Count : 0;
                    Apply(chunk, partitions, slice, slices, sampleSeed, parallelism);
                }
            }

            foreach (var partition in partitions)
            {
                foreach (var entry in partition.Keys.Values)
                {
                    if (entry.ExpireUnixMs == 0 || entry.ExpireUnixMs >= nowMs)
                    {
                        digest.AddHash(entry.RecordHash);
                        live++;
                    }
                }

                // The next slice holds other keys; the sample (small) carries over.
                partition.Keys.Clear();
                partition.Keys.TrimExcess();
            }
        }

        var sample = partitions.SelectMany(p => p.SampledKeys).OrderBy(s => s.Rank).Take(sampleSize).Select(s => s.Key).ToList();
        return new ExpectedContents(live, digest.ToHex(), sample, records);
    }

    /// <summary>
    /// Slices that keep the key table within half of <paramref name="availableBytes"/>: about 110 bytes per key (table
    /// entry, buckets and the slack of growth), and at most one key per 48 bytes of shard data (a short JSON line).
    /// </summary>
    public static int SlicesFor(long shardBytes, long availableBytes)
    {
        var tableBytes = shardBytes / 48 * 110;
        return (int)Math.Clamp((tableBytes + (availableBytes / 2) - 1) / Math.Max(1, availableBytes / 2), 1, 1024);
    }

    /// <summary>Hashes the chunk's records of this slice on every core, then lets each partition apply its keys in input order.</summary>
    private static void Apply(RecordStore chunk, Partition[] partitions, int slice, int slices, ulong sampleSeed, int parallelism)
    {
        var hashes = new RecordHashes[chunk.Count];
        var ranges = Math.Max(1, Math.Min(parallelism * 4, chunk.Count / 4096));
        Parallel.For(0, ranges, new ParallelOptions { MaxDegreeOfParallelism = parallelism }, range =>
        {
            var scratch = new byte[256];
            for (var i = chunk.Count * range / ranges; i < chunk.Count * (range + 1) / ranges; i++)
            {
                var key = chunk.Key(i);
                var keyHash = XxHash128.HashToUInt128(key);
                if (SliceOf(keyHash, slices) != slice)
                {
                    hashes[i] = new RecordHashes(keyHash, 0, 0, 0, InSlice: false);
                    continue;
                }

                var expire = chunk.Expire(i) * 1000;
                hashes[i] = new RecordHashes(keyHash, LogicalDigest.Hash(key, chunk.Value(i), expire, ref scratch), XxHash3.HashToUInt64(key, (long)sampleSeed), expire, InSlice: true);
            }
        });

        // Each partition owns the keys whose hash says so and applies them in input order: last write wins.
        Parallel.For(0, partitions.Length, new ParallelOptions { MaxDegreeOfParallelism = parallelism }, p =>
        {
            var partition = partitions[p];
            for (var i = 0; i < hashes.Length; i++)
            {
                if (hashes[i].InSlice && (int)((ulong)hashes[i].Key % (ulong)partitions.Length) == p)
                {
                    partition.Apply(in hashes[i], chunk, i);
                }
            }
        });
    }

    /// <summary>Slices take the hash's high half, partitions its low half, so the two splits are independent.</summary>
    private static int SliceOf(UInt128 keyHash, int slices) => (int)((ulong)(keyHash >> 64) % (ulong)slices);

    [StructLayout(LayoutKind.Auto)]
    private readonly record struct RecordHashes(UInt128 Key, UInt128 Record, ulong SampleRank, long ExpireUnixMs, bool InSlice);

    [StructLayout(LayoutKind.Auto)]
    private readonly record struct FinalRecord(UInt128 RecordHash, long ExpireUnixMs);

    private sealed class Partition(int sampleSize)
    {
        private readonly Dictionary<UInt128, (ulong Rank, ExpectedKey Key)> _sampled = [];

        /// <summary>The largest sample rank on top, so a smaller one can replace it.</summary>
        private readonly PriorityQueue<UInt128, ulong> _sampleRanks = new(Comparer<ulong>.Create((a, b) => b.CompareTo(a)));

        public Dictionary<UInt128, FinalRecord> Keys { get; } = [];

        public IEnumerable<(ulong Rank, ExpectedKey Key)> SampledKeys => _sampled.Values;

        public void Apply(in RecordHashes record, RecordStore chunk, int index)
        {
            Keys[record.Key] = new FinalRecord(record.Record, record.ExpireUnixMs);
            if (sampleSize == 0)
            {
                return;
            }

            if (_sampled.ContainsKey(record.Key))
            {
                _sampled[record.Key] = (record.SampleRank, Copy(chunk, index, record.ExpireUnixMs));
            }
            else if (_sampled.Count < sampleSize || (_sampleRanks.TryPeek(out _, out var largest) && record.SampleRank < largest))
            {
                if (_sampled.Count == sampleSize)
                {
                    var evicted = _sampleRanks.Dequeue();
                    _sampled.Remove(evicted);
                }

                _sampled[record.Key] = (record.SampleRank, Copy(chunk, index, record.ExpireUnixMs));
                _sampleRanks.Enqueue(record.Key, record.SampleRank);
            }
        }

        private static ExpectedKey Copy(RecordStore chunk, int index, long expireUnixMs) =>
            new(chunk.Key(index).ToArray(), chunk.Value(index).ToArray(), expireUnixMs);
    }
}

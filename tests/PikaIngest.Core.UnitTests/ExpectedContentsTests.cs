using System.Text;
using System.Text.Json;
using CsCheck;
using PikaIngest.Core.Formats;
using PikaIngest.Core.Layout;

namespace PikaIngest.Core.UnitTests;

public sealed class ExpectedContentsTests
{
    private const long Now = 1_800_000_000_000;

    [Fact]
    public void The_digest_has_golden_values_for_known_records()
    {
        Assert.Equal(new string('0', 32), new LogicalDigest().ToHex());

        var one = new LogicalDigest();
        one.Add("k"u8, "v"u8, 0);
        // XXH3-128 (seed 0) of 01000000 6b 01000000 76 0000000000000000, as a 128-bit number.
        Assert.Equal(XxHashOf(Bytes.Hex("01000000 6b 01000000 76 0000000000000000")), one.ToHex());

        var two = new LogicalDigest();
        two.Add("k"u8, "v"u8, 0);
        two.Add("key"u8, "value"u8, 1_700_000_000_123);
        var sum = Hash(Bytes.Hex("01000000 6b 01000000 76 0000000000000000")) + Hash(Bytes.Hex("03000000 6b6579 05000000 76616c7565 7b68e5cf8b010000"));
        Assert.Equal(sum.ToString("x32", System.Globalization.CultureInfo.InvariantCulture), two.ToHex());
        Assert.Equal("4a487bf25f161476b69bf03b2d7fc80e", two.ToHex());
    }

    [Fact]
    public void The_digest_is_a_sum_so_order_and_partitions_do_not_matter_and_a_repeat_does_not_cancel()
    {
        var forward = new LogicalDigest();
        var backward = new LogicalDigest();
        var split = new[] { new LogicalDigest(), new LogicalDigest() };
        for (var i = 0; i < 100; i++)
        {
            forward.Add(Encoding.ASCII.GetBytes($"k{i}"), Encoding.ASCII.GetBytes($"v{i}"), i);
            backward.Add(Encoding.ASCII.GetBytes($"k{99 - i}"), Encoding.ASCII.GetBytes($"v{99 - i}"), 99 - i);
            split[i % 2].Add(Encoding.ASCII.GetBytes($"k{i}"), Encoding.ASCII.GetBytes($"v{i}"), i);
        }

        split[0].Merge(split[1]);
        Assert.Equal(forward.ToHex(), backward.ToHex());
        Assert.Equal(forward.ToHex(), split[0].ToHex());

        var twice = new LogicalDigest();
        twice.Add("k"u8, "v"u8, 0);
        twice.Add("k"u8, "v"u8, 0);
        Assert.NotEqual(new LogicalDigest().ToHex(), twice.ToHex());
    }

    [Fact]
    public void Contents_match_a_plain_dictionary_oracle_whatever_the_parallelism()
    {
        var gen = Gen.Select(
            Gen.Int[1, 4],
            Gen.Select(Gen.Int[0, 40], Gen.String[Gen.Char.AlphaNumeric, 0, 12], Gen.Int[0, 3]).Array[1, 120].Array[1, 4]);
        Deterministic.Sample(gen, testCase =>
        {
            var (parallelism, shardLines) = testCase;
            using var temp = new TempFolder();
            var shards = new List<LocalShard>();
            var oracle = new Dictionary<string, (byte[] Value, long Expire)>(StringComparer.Ordinal);
            for (var s = 0; s < shardLines.Length; s++)
            {
                var path = temp[$"{s + 1:D6}.jsonl"];
                var text = new StringBuilder();
                foreach (var (keyNumber, value, expiry) in shardLines[s])
                {
                    var key = $"key{keyNumber}";
                    // 0: no expiry, 1: expired, 2: expires later, 3: expires exactly now (still live)
                    var expireSeconds = expiry switch { 0 => 0L, 1 => (Now / 1000) - 100, 2 => (Now / 1000) + 100, _ => Now / 1000 };
                    text.Append(JsonSerializer.Serialize(new { key, value, expire = expireSeconds })).Append('\n');
                    oracle[key] = (Encoding.UTF8.GetBytes(value), expireSeconds * 1000);
                }

                File.WriteAllText(path, text.ToString());
                shards.Add(new LocalShard(path, "b", s + 1, null));
            }

            var contents = ExpectedContents.FromShards(shards, sampleSize: 1000, seed: 7, Now, parallelism, slices: 1 + (shardLines.Length % 3));
            var live = oracle.Where(o => o.Value.Expire == 0 || o.Value.Expire >= Now).ToList();
            var digest = new LogicalDigest();
            foreach (var (key, (value, expire)) in live)
            {
                digest.Add(Encoding.UTF8.GetBytes(key), value, expire);
            }

            Assert.Equal(live.Count, contents.Count);
            Assert.Equal(digest.ToHex(), contents.Digest);
            Assert.Equal(shardLines.Sum(l => l.Length), contents.Records);

            // A sample larger than the keyspace is the whole keyspace, each key with its final value and expiry.
            Assert.Equal(oracle.Count, contents.Sample.Count);
            foreach (var sampled in contents.Sample)
            {
                var (value, expire) = oracle[Encoding.UTF8.GetString(sampled.Key)];
                Assert.Equal(value, sampled.Value);
                Assert.Equal(expire, sampled.ExpireUnixMs);
                Assert.Equal(expire == 0 || expire >= Now, sampled.IsLiveAt(Now));
            }
        }, iterations: 60);
    }

    [Fact]
    public void A_small_sample_is_distinct_final_keys_chosen_by_the_seed()
    {
        using var temp = new TempFolder();
        var path = temp["000001.jsonl"];
        File.WriteAllLines(path, Enumerable.Range(0, 5000).Select(i => $"{{\"key\":\"k{i % 2000}\",\"value\":\"v{i}\"}}"));
        LocalShard[] shards = [new LocalShard(path, "b", 1, null)];

        var first = ExpectedContents.FromShards(shards, sampleSize: 50, seed: 1, Now, parallelism: 2);
        var again = ExpectedContents.FromShards(shards, sampleSize: 50, seed: 1, Now, parallelism: 1);
        var other = ExpectedContents.FromShards(shards, sampleSize: 50, seed: 2, Now, parallelism: 2);
        var sliced = ExpectedContents.FromShards(shards, sampleSize: 50, seed: 1, Now, parallelism: 2, slices: 4);

        Assert.Equal(50, first.Sample.Count);
        Assert.Equal(50, first.Sample.Select(s => Encoding.ASCII.GetString(s.Key)).Distinct().Count());
        Assert.Equal(first.Sample.Select(s => s.Key), again.Sample.Select(s => s.Key));
        Assert.Equal(first.Sample.Select(s => s.Key), sliced.Sample.Select(s => s.Key));
        Assert.Equal((first.Count, first.Digest, first.Records), (sliced.Count, sliced.Digest, sliced.Records));
        Assert.NotEqual(first.Sample.Select(s => Encoding.ASCII.GetString(s.Key)).Order(), other.Sample.Select(s => Encoding.ASCII.GetString(s.Key)).Order());
        foreach (var sampled in first.Sample)
        {
            // Key k{n} was last written by line 4000 + n when n < 1000, else by line 2000 + n.
            var n = int.Parse(Encoding.ASCII.GetString(sampled.Key)[1..], System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal($"v{(n < 1000 ? 4000 + n : 2000 + n)}", Encoding.ASCII.GetString(sampled.Value));
        }
    }

    [Theory]
    [InlineData(1L << 30, 24L << 30, 1)]
    [InlineData(10L << 30, 24L << 30, 2)]
    [InlineData(100L << 30, 24L << 30, 20)]
    [InlineData(1L << 30, 1L << 30, 5)]
    public void Large_batches_are_read_in_enough_slices_to_fit_half_the_memory(long shardBytes, long available, int slices) =>
        Assert.Equal(slices, ExpectedContents.SlicesFor(shardBytes, available));

    private static UInt128 Hash(byte[] bytes) => System.IO.Hashing.XxHash128.HashToUInt128(bytes);

    private static string XxHashOf(byte[] bytes) => Hash(bytes).ToString("x32", System.Globalization.CultureInfo.InvariantCulture);
}

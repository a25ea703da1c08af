using CsCheck;
using PikaIngest.Core.Shards;
using PikaIngest.Core.Sst;

namespace PikaIngest.Core.UnitTests;

/// <summary><see cref="RecordSorter.SortUnique"/> against a naive LINQ reference.</summary>
public sealed class RecordSorterTests
{
    /// <summary>Longer than the sorter's 48 seven-byte digits, so ties on it reach the comparison fallback.</summary>
    private static readonly byte[] LongPrefix = Enumerable.Range(0, 7 * 48 + 60).Select(i => (byte)(i % 3 == 0 ? 0xFF : i % 251)).ToArray();

    private static RecordStore StoreOf(List<byte[]> keys)
    {
        var buffer = RecordStore.AllocateBuffer(Math.Max(1, keys.Sum(k => k.Length)));
        var store = new RecordStore();
        var bufferIndex = store.AddBuffer(buffer);
        var records = new RecordRef[keys.Count];
        var at = 0;
        for (var i = 0; i < keys.Count; i++)
        {
            keys[i].CopyTo(buffer, at);
            records[i] = new RecordRef { KeyBuffer = bufferIndex, KeyOffset = at, KeyLength = keys[i].Length, ValueBuffer = bufferIndex };
            at += keys[i].Length;
        }

        store.SetRecords(records, keys.Count);
        return store;
    }

    /// <summary>Per distinct key the highest ordinal, in ascending bytewise key order.</summary>
    private static uint[] Reference(List<byte[]> keys, IEnumerable<uint> ordinals) =>
        ordinals
            .GroupBy(o => keys[(int)o], BytewiseComparer.Instance)
            .Select(group => group.Max())
            .OrderBy(o => keys[(int)o], BytewiseComparer.Instance)
            .ToArray();

    private static void AssertSortsLikeReference(List<byte[]> keys, uint[] ordinals)
    {
        var expected = Reference(keys, ordinals);
        using var store = StoreOf(keys);

        var unique = RecordSorter.SortUnique(store, ordinals, ordinals.Length);

        Assert.Equal(expected, ordinals[..unique]);
        for (var i = 1; i < unique; i++)
        {
            Assert.True(keys[(int)ordinals[i - 1]].AsSpan().SequenceCompareTo(keys[(int)ordinals[i]]) < 0, $"not strictly ascending at {i}");
        }
    }

    private static uint[] Shuffled(int count, int seed)
    {
        var ordinals = Enumerable.Range(0, count).Select(i => (uint)i).ToArray();
        new Random(seed).Shuffle(ordinals);
        return ordinals;
    }

    private static readonly Gen<byte[]> ShortKey = Gen.OneOfConst<byte>(0x00, 0x01, 0x61, 0x7F, 0x80, 0xFE, 0xFF).Array[0, 20];

    private static readonly Gen<byte[]> Key = Gen.Frequency(
        (4, ShortKey),
        (2, ShortKey.Select(suffix => (byte[])[.. LongPrefix, .. suffix])),
        (1, Gen.Int[0, LongPrefix.Length].Select(length => LongPrefix[..length])));

    /// <summary>A small pool of keys (plus every prefix of one of them) drawn many times, in a random ordinal order, maybe a subset.</summary>
    private static readonly Gen<(List<byte[]> Keys, uint[] Ordinals)> Input =
        Gen.Select(Key.Array[1, 25], Gen.Int[0, int.MaxValue].Array[0, 400], Gen.Int[0, int.MaxValue], Gen.Double[0.3, 1])
            .Select((pool, picks, seed, fraction) =>
            {
                var candidates = pool.Concat(Enumerable.Range(0, pool[0].Length + 1).Select(length => pool[0][..length])).ToArray();
                var keys = picks.Select(pick => candidates[pick % candidates.Length]).ToList();
                var ordinals = Shuffled(keys.Count, seed);
                return (keys, ordinals[..(int)(ordinals.Length * fraction)]);
            });

    [Fact]
    public void Random_inputs_sort_like_the_reference()
    {
        Deterministic.Sample(Input, input => AssertSortsLikeReference(input.Keys, input.Ordinals), iterations: 400);
    }

    [Fact]
    public void Random_inputs_sharing_a_long_common_prefix_sort_like_the_reference()
    {
        var prefixed = Input.Select(input => (input.Keys.Select(k => (byte[])[.. LongPrefix, .. k]).ToList(), input.Ordinals));

        Deterministic.Sample(prefixed, input => AssertSortsLikeReference(input.Item1, input.Ordinals), iterations: 100);
    }

    [Theory]
    [InlineData(5_000, 50, 1)]
    [InlineData(20_000, 3_000, 2)]
    [InlineData(20_000, 20_000, 3)]
    public void Large_inputs_sort_like_the_reference(int count, int distinct, int seed)
    {
        var random = new Random(seed);
        var pool = Enumerable.Range(0, distinct).Select(i => (i % 4) switch
        {
            0 => random.GetItems<byte>([0x00, 0x01, 0x80, 0xFF], random.Next(0, 12)),
            1 => [.. LongPrefix, .. random.GetItems<byte>([0x00, 0xFF], random.Next(0, 4))],
            2 => BitConverter.GetBytes(random.NextInt64()),
            _ => LongPrefix[..random.Next(0, LongPrefix.Length + 1)],
        }).ToArray();
        var keys = Enumerable.Range(0, count).Select(_ => pool[random.Next(pool.Length)]).ToList();

        AssertSortsLikeReference(keys, Shuffled(count, seed));
    }

    [Fact]
    public void Equal_keys_keep_the_highest_ordinal_whatever_their_order()
    {
        List<byte[]> keys = [[0x01], [0x00], [0x01], [], [0x00], [], [0x01]];

        using var store = StoreOf(keys);
        uint[] ordinals = [6, 0, 3, 4, 2, 1, 5];

        var unique = RecordSorter.SortUnique(store, ordinals, ordinals.Length);

        Assert.Equal([5u, 4u, 6u], ordinals[..unique]);
    }

    [Fact]
    public void Single_record_and_empty_input_are_returned_as_they_are()
    {
        using var store = StoreOf([[0x61]]);

        Assert.Equal(0, RecordSorter.SortUnique(store, [], 0));
        Assert.Equal(1, RecordSorter.SortUnique(store, [0], 1));
    }
}

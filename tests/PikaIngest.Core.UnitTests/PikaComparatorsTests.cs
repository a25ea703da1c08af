using System.Buffers.Binary;
using PikaIngest.Core.Formats;
using PikaIngest.Core.StockPika;

namespace PikaIngest.Core.UnitTests;

/// <summary>
/// Pika 4's list-data and zset-score key orders (<c>custom_comparator.h</c>), as <c>apply</c> must reproduce them
/// for RocksDB to replay a stopped Pika's WAL: random keys, compared field by field as Pika's comparators
/// define them, including user keys with NUL bytes (escaped as Pika escapes them) and negative scores.
/// </summary>
public sealed class PikaComparatorsTests
{
    [Fact]
    public void List_data_keys_order_by_user_key_then_version_then_index()
    {
        var random = new Random(7);
        var keys = Enumerable.Range(0, 400).Select(_ => (User: UserKey(random), Version: (ulong)random.Next(3), Index: (ulong)random.Next(3) << random.Next(60))).ToList();
        foreach (var a in keys.Take(60))
        {
            foreach (var b in keys)
            {
                var expected = Compare(a.User, b.User) is var byKey and not 0 ? byKey : a.Version != b.Version ? a.Version.CompareTo(b.Version) : a.Index.CompareTo(b.Index);
                Assert.Equal(Math.Sign(expected), PikaComparators.CompareListsDataKeys(DataKey(a.User, a.Version, a.Index, []), DataKey(b.User, b.Version, b.Index, [])));
            }
        }
    }

    [Fact]
    public void Zset_score_keys_order_by_user_key_then_version_then_score_as_a_number_then_member()
    {
        var random = new Random(8);
        double[] scores = [-2.5, -0.0, 0, 1e-300, 3, double.MaxValue, -double.MaxValue];
        var keys = Enumerable.Range(0, 400).Select(_ => (User: UserKey(random), Version: (ulong)random.Next(2), Score: scores[random.Next(scores.Length)], Member: new[] { (byte)random.Next(3) })).ToList();
        foreach (var a in keys.Take(60))
        {
            foreach (var b in keys)
            {
                var expected = Compare(a.User, b.User) is var byKey and not 0 ? byKey
                    : a.Version != b.Version ? a.Version.CompareTo(b.Version)
                    : a.Score != b.Score ? (a.Score < b.Score ? -1 : 1)
                    : a.Member.AsSpan().SequenceCompareTo(b.Member);
                Assert.Equal(Math.Sign(expected), PikaComparators.CompareZSetsScoreKeys(
                    DataKey(a.User, a.Version, BitConverter.DoubleToUInt64Bits(a.Score), a.Member), DataKey(b.User, b.Version, BitConverter.DoubleToUInt64Bits(b.Score), b.Member)));
            }
        }
    }

    [Fact]
    public void A_key_cut_short_is_ordered_by_its_bytes_instead_of_being_read_past_its_end()
    {
        var whole = DataKey([1], 1, 1, []);
        var cut = whole[..(8 + 1 + 2 + 4)];

        Assert.Equal(1, PikaComparators.CompareZSetsScoreKeys(whole, cut));
        Assert.Equal(-1, PikaComparators.CompareZSetsScoreKeys(cut, whole));
        Assert.Equal(1, PikaComparators.CompareListsDataKeys(whole, cut));
    }

    /// <summary>Bytewise, as Pika compares the encoded user keys (the escaping keeps their order).</summary>
    private static int Compare(byte[] a, byte[] b) => Math.Sign(a.AsSpan().SequenceCompareTo(b));

    private static byte[] UserKey(Random random)
    {
        var key = new byte[random.Next(0, 4)];
        for (var i = 0; i < key.Length; i++)
        {
            key[i] = (byte)random.Next(3);
        }

        return key;
    }

    /// <summary>reserve 8 | escaped user key | \0\0 | version | field | member | reserve 16, as Pika's BaseDataKey encodes it.</summary>
    private static byte[] DataKey(byte[] user, ulong version, ulong field, byte[] member)
    {
        var prefix = PikaV4Encoding.Instance.EncodeKey(user)[..^16];
        var key = new byte[prefix.Length + 16 + member.Length + 16];
        prefix.CopyTo(key, 0);
        BinaryPrimitives.WriteUInt64LittleEndian(key.AsSpan(prefix.Length), version);
        BinaryPrimitives.WriteUInt64LittleEndian(key.AsSpan(prefix.Length + 8), field);
        member.CopyTo(key, prefix.Length + 16);
        return key;
    }
}

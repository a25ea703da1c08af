using System.Buffers.Binary;
using RocksDbSharp;

namespace PikaIngest.Core.StockPika;

/// <summary>
/// Pika 4's two custom comparators (<c>src/storage/src/custom_comparator.h</c>), under the names its RocksDB
/// instances record. RocksDB opens a database only with every column family and each one's comparator of the
/// recorded name, and it orders the WAL it replays on open with them, so these must order keys exactly as
/// Pika's do. Only ordering is needed: <c>apply</c> writes nothing into these column families (no flush, no
/// compaction), so the separator shortening Pika also defines is left at RocksDB's "change nothing".
/// </summary>
internal static class PikaComparators
{
    private const int PrefixReserveLength = 8;
    private const int VersionLength = 8;
    private const int ScoreLength = 8;

    public static Comparator ListsDataKey { get; } = new ListsDataKeyComparator();

    public static Comparator ZSetsScoreKey { get; } = new ZSetsScoreKeyComparator();

    /// <summary><paramref name="family"/> with the comparator Pika 4 opens column family <paramref name="name"/> with (<c>Redis::Open</c>), if it is not bytewise.</summary>
    public static ColumnFamilyOptions WithPikaComparator(this ColumnFamilyOptions family, string name) => name switch
    {
        "list_data_cf" => family.SetComparator(ListsDataKey),
        "zset_score_cf" => family.SetComparator(ZSetsScoreKey),
        _ => family,
    };

    /// <summary>Where the user key's <c>\0\0</c> delimiter ends (<c>SeekUserkeyDelim</c>), or <paramref name="from"/> if there is none.</summary>
    private static int SeekUserKeyDelimiter(ReadOnlySpan<byte> key, int from)
    {
        var zeroAhead = false;
        for (var i = from; i < key.Length; i++)
        {
            if (key[i] == 0 && zeroAhead)
            {
                return i + 1;
            }

            zeroAhead = key[i] == 0;
        }

        return from;
    }

    private static unsafe int Compare(IntPtr a, UIntPtr aLength, IntPtr b, UIntPtr bLength, Func<ReadOnlySpan<byte>, ReadOnlySpan<byte>, int> compare) =>
        compare(new ReadOnlySpan<byte>((void*)a, (int)aLength), new ReadOnlySpan<byte>((void*)b, (int)bLength));

    /// <summary>List data key: reserve 8 | key | \0\0 | version u64 | index u64 | reserve 16.</summary>
    private sealed class ListsDataKeyComparator : Comparator
    {
        public string Name => "floyd.ListsDataKeyComparator";

        public int Compare(IntPtr a, UIntPtr aLength, IntPtr b, UIntPtr bLength) => PikaComparators.Compare(a, aLength, b, bLength, CompareKeys);

        internal static int CompareKeys(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
        {
            var atA = SeekUserKeyDelimiter(a, PrefixReserveLength);
            var atB = SeekUserKeyDelimiter(b, PrefixReserveLength);
            var prefix = a[..atA].SequenceCompareTo(b[..atB]);
            if (prefix != 0)
            {
                return Math.Sign(prefix);
            }

            for (var field = 0; field < 2; field++)
            {
                if (atA == a.Length && atB == b.Length)
                {
                    return 0;
                }

                if (atA == a.Length)
                {
                    return -1;
                }

                if (atB == b.Length)
                {
                    return 1;
                }

                // As above: a field cut short (never written by Pika) is ordered by its bytes.
                if (a.Length - atA < 8 || b.Length - atB < 8)
                {
                    return Math.Sign(a[atA..].SequenceCompareTo(b[atB..]));
                }

                var fieldA = BinaryPrimitives.ReadUInt64LittleEndian(a[atA..]);
                var fieldB = BinaryPrimitives.ReadUInt64LittleEndian(b[atB..]);
                if (fieldA != fieldB)
                {
                    return fieldA < fieldB ? -1 : 1;
                }

                atA += 8;
                atB += 8;
            }

            return 0;
        }
    }

    /// <summary>ZSet score key: reserve 8 | key | \0\0 | version u64 | score f64 | member | reserve 16.</summary>
    private sealed class ZSetsScoreKeyComparator : Comparator
    {
        public string Name => "floyd.ZSetsScoreKeyComparator";

        public int Compare(IntPtr a, UIntPtr aLength, IntPtr b, UIntPtr bLength) => PikaComparators.Compare(a, aLength, b, bLength, CompareKeys);

        internal static int CompareKeys(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
        {
            var atA = SeekUserKeyDelimiter(a, PrefixReserveLength);
            var atB = SeekUserKeyDelimiter(b, PrefixReserveLength);
            var prefix = a[PrefixReserveLength..atA].SequenceCompareTo(b[PrefixReserveLength..atB]);
            if (prefix != 0)
            {
                return Math.Sign(prefix);
            }

            // Pika's keys always hold version and score; a short one (never written by Pika) is ordered by its bytes
            // rather than read past its end, since an exception cannot leave RocksDB's callback.
            if (a.Length - atA < VersionLength + ScoreLength || b.Length - atB < VersionLength + ScoreLength)
            {
                return Math.Sign(a[atA..].SequenceCompareTo(b[atB..]));
            }

            var versionA = BinaryPrimitives.ReadUInt64LittleEndian(a[atA..]);
            var versionB = BinaryPrimitives.ReadUInt64LittleEndian(b[atB..]);
            if (versionA != versionB)
            {
                return versionA < versionB ? -1 : 1;
            }

            atA += VersionLength;
            atB += VersionLength;
            var scoreA = BinaryPrimitives.ReadDoubleLittleEndian(a[atA..]);
            var scoreB = BinaryPrimitives.ReadDoubleLittleEndian(b[atB..]);
            if (scoreA != scoreB)
            {
                return scoreA < scoreB ? -1 : 1;
            }

            return Math.Sign(a[(atA + ScoreLength)..].SequenceCompareTo(b[(atB + ScoreLength)..]));
        }
    }

    internal static int CompareListsDataKeys(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b) => ListsDataKeyComparator.CompareKeys(a, b);

    internal static int CompareZSetsScoreKeys(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b) => ZSetsScoreKeyComparator.CompareKeys(a, b);
}

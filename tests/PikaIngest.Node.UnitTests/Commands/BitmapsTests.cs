using CsCheck;
using PikaIngest.Node.Commands;
using PikaIngest.Node.UnitTests.Resp;

namespace PikaIngest.Node.UnitTests.Commands;

/// <summary>
/// The bit-range arithmetic of BITCOUNT, BITPOS and GETRANGE against a bit-by-bit reference. Index normalisation
/// (negative indexes, clamping) is Redis's own and checked differentially against redis-server; here the masks,
/// word-at-a-time scans and edge bytes are checked over every range of random values.
/// </summary>
public sealed class BitmapsTests
{
    private static readonly Gen<byte[]> Values = Gen.Frequency(
        (3, Gen.Byte.Array[0, 40]),
        (1, Gen.OneOfConst((byte)0, (byte)0xFF, (byte)0x80, (byte)0x01).Array[0, 40]));

    private static readonly Gen<(byte[] Value, long Start, long End)> Ranges =
        Gen.Select(Values, Gen.Long[-400, 400], Gen.Long[-400, 400]).Select(t => (t.Item1, t.Item2, t.Item3));

    private static int BitAt(byte[] value, long index) => (value[index >> 3] >> (7 - (int)(index & 7))) & 1;

    /// <summary>Redis's normalisation of an index pair over <paramref name="total"/> units: from the end when negative, then clamped.</summary>
    private static (long From, long To) Normalise(long total, long start, long end)
    {
        start = start < 0 ? Math.Max(0, total + start) : start;
        end = end < 0 ? Math.Max(0, total + end) : end;
        return (start, Math.Min(end, total - 1));
    }

    [Fact]
    public void Bitcount_of_a_bit_range_counts_exactly_the_bits_in_it()
    {
        Deterministic.Sample(Ranges, r =>
        {
            var (value, start, end) = r;
            var (from, to) = Normalise((long)value.Length << 3, start, end);
            long expected = 0;
            if (!(start < 0 && end < 0 && start > end))
            {
                for (var i = from; i <= to; i++)
                {
                    expected += BitAt(value, i);
                }
            }

            Assert.Equal(expected, Bitmaps.Count(value, start, end, isBit: true));
        }, iterations: 3000);
    }

    [Fact]
    public void Bitcount_of_a_byte_range_counts_the_bits_of_those_bytes()
    {
        Deterministic.Sample(Ranges, r =>
        {
            var (value, start, end) = r;
            var (from, to) = Normalise(value.Length, start, end);
            long expected = 0;
            if (!(start < 0 && end < 0 && start > end))
            {
                for (var i = from * 8; i <= (to * 8) + 7; i++)
                {
                    expected += BitAt(value, i);
                }
            }

            Assert.Equal(expected, Bitmaps.Count(value, start, end, isBit: false));
            Assert.Equal(Bitmaps.Count(value, 0, -1, isBit: false), Bitmaps.PopCount(value));
        }, iterations: 3000);
    }

    [Fact]
    public void Bitpos_in_a_bit_range_finds_the_first_matching_bit_in_it()
    {
        Deterministic.Sample(Gen.Select(Ranges, Gen.Int[0, 1]), t =>
        {
            var ((value, start, end), bit) = t;
            var (from, to) = Normalise((long)value.Length << 3, start, end);
            var expected = -1L;
            for (var i = from; i <= to; i++)
            {
                if (BitAt(value, i) == bit)
                {
                    expected = i;
                    break;
                }
            }

            Assert.Equal(expected, Bitmaps.Position(value, bit, start, end, isBit: true));
        }, iterations: 3000);
    }

    [Fact]
    public void Bitpos_in_bytes_finds_the_first_matching_bit_and_without_an_end_reads_zeros_past_the_value()
    {
        Deterministic.Sample(Gen.Select(Ranges, Gen.Int[0, 1], Gen.Bool), t =>
        {
            var ((value, start, end), bit, endGiven) = t;
            var (from, to) = Normalise(value.Length, start, endGiven ? end : -1);
            var expected = -1L;
            for (var i = from * 8; i <= (to * 8) + 7; i++)
            {
                if (BitAt(value, i) == bit)
                {
                    expected = i;
                    break;
                }
            }

            // With no end, the search runs on into the zeros that follow the value.
            if (expected == -1 && bit == 0 && !endGiven && from <= to)
            {
                expected = (to + 1) * 8;
            }

            Assert.Equal(expected, Bitmaps.Position(value, bit, start, endGiven ? end : null, isBit: false));
        }, iterations: 3000);
    }

    [Fact]
    public void Bitpos_over_the_whole_value_is_the_first_matching_bit_or_for_0_the_first_past_the_end()
    {
        Deterministic.Sample(Gen.Select(Values, Gen.Int[0, 1]), t =>
        {
            var (value, bit) = t;
            var expected = Enumerable.Range(0, value.Length * 8).Where(i => BitAt(value, i) == bit).Select(i => (long)i).DefaultIfEmpty(-1).First();
            if (expected == -1 && bit == 0 && value.Length > 0)
            {
                expected = value.Length * 8L;
            }

            Assert.Equal(expected, Bitmaps.Position(value, bit, null, null, isBit: false));
        }, iterations: 3000);
    }

    [Fact]
    public void Getrange_slices_stay_inside_the_value_for_any_indexes()
    {
        var indexes = Gen.Select(Gen.Int[0, 100], Gen.Long, Gen.Long);
        Deterministic.Sample(indexes, t =>
        {
            var (length, start, end) = t;
            var (offset, count) = Bitmaps.Substring(length, start, end);
            Assert.InRange(offset, 0, Math.Max(0, length - 1));
            Assert.InRange(count, 0, length - offset);
        }, iterations: 3000);
    }
}

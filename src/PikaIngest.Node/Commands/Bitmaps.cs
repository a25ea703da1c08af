using System.Numerics;
using System.Runtime.InteropServices;

namespace PikaIngest.Node.Commands;

/// <summary>
/// The range arithmetic of GETRANGE, BITCOUNT and BITPOS, ported from redis-server 7.0.15 (t_string.c, bitops.c)
/// statement by statement, quirks included, so that every index combination answers as Redis does. Bit 0 is the
/// most significant bit of byte 0.
/// </summary>
internal static class Bitmaps
{
    /// <summary>GETRANGE's slice of a value of <paramref name="length"/> bytes: negative indexes count from the end.</summary>
    public static (int Offset, int Count) Substring(int length, long start, long end)
    {
        if (start < 0 && end < 0 && start > end)
        {
            return (0, 0);
        }

        if (start < 0)
        {
            start += length;
        }

        if (end < 0)
        {
            end += length;
        }

        start = Math.Max(start, 0);
        end = Math.Max(end, 0);
        if (end >= length)
        {
            end = length - 1;
        }

        return start > end || length == 0 ? (0, 0) : ((int)start, (int)(end - start + 1));
    }

    /// <summary>BITCOUNT key start end [BYTE|BIT]: the set bits between two byte or bit indexes, both included.</summary>
    public static long Count(ReadOnlySpan<byte> value, long start, long end, bool isBit)
    {
        if (start < 0 && end < 0 && start > end)
        {
            return 0;
        }

        var total = isBit ? (long)value.Length << 3 : value.Length;
        byte firstMask = 0;
        byte lastMask = 0;
        Clamp(total, ref start, ref end);
        if (isBit && start <= end)
        {
            (firstMask, lastMask) = EdgeMasks(ref start, ref end);
        }

        if (start > end)
        {
            return 0;
        }

        var count = PopCount(value.Slice((int)start, (int)(end - start + 1)));
        // Bits of the edge bytes outside the range were counted: the masks select exactly them.
        count -= BitOperations.PopCount((uint)(value[(int)start] & firstMask));
        count -= BitOperations.PopCount((uint)(value[(int)end] & lastMask));
        return count;
    }

    /// <summary>BITCOUNT key: every set bit.</summary>
    public static long PopCount(ReadOnlySpan<byte> value)
    {
        var words = MemoryMarshal.Cast<byte, ulong>(value);
        long count = 0;
        foreach (var word in words)
        {
            count += BitOperations.PopCount(word);
        }

        foreach (var b in value[(words.Length * sizeof(ulong))..])
        {
            count += BitOperations.PopCount(b);
        }

        return count;
    }

    /// <summary>
    /// BITPOS key bit [start [end [BYTE|BIT]]]: <paramref name="start"/> null is the whole value. Without an end, a
    /// value of all ones answers the first bit past it when looking for 0 (the value is zero-padded on the right);
    /// with an end given it answers -1.
    /// </summary>
    public static long Position(ReadOnlySpan<byte> value, int bit, long? start, long? end, bool isBit)
    {
        long total = value.Length;
        long from;
        long to;
        byte firstMask = 0;
        byte lastMask = 0;
        if (start is null)
        {
            from = 0;
            to = total - 1;
        }
        else
        {
            from = start.Value;
            to = end ?? (isBit ? (total << 3) + 7 : total - 1);
            if (isBit)
            {
                total <<= 3;
            }

            Clamp(total, ref from, ref to);
            if (isBit && from <= to)
            {
                (firstMask, lastMask) = EdgeMasks(ref from, ref to);
            }
        }

        if (from > to)
        {
            return -1;
        }

        var bytes = to - from + 1;
        var position = Search(value, bit, ref from, ref bytes, to, firstMask, lastMask);
        if (end is not null && bit == 0 && position == bytes << 3)
        {
            return -1;
        }

        return position == -1 ? -1 : position + (from << 3);
    }

    /// <summary>bitposCommand's search: the first byte alone when masked, then whole bytes, then the masked last byte.</summary>
    private static long Search(ReadOnlySpan<byte> value, int bit, ref long from, ref long bytes, long to, byte firstMask, byte lastMask)
    {
        long position;
        if (firstMask != 0)
        {
            var first = Masked(value[(int)from], bit, firstMask);
            if (lastMask != 0 && bytes == 1)
            {
                first = Masked(first, bit, lastMask);
            }

            position = FirstBit([first], bit);
            if (bytes == 1 || (position != -1 && position != 8))
            {
                return position;
            }

            from++;
            bytes--;
        }

        var whole = bytes - (lastMask != 0 ? 1 : 0);
        if (whole > 0)
        {
            position = FirstBit(value.Slice((int)from, (int)whole), bit);
            if (bytes == whole || (position != -1 && position != whole << 3))
            {
                return position;
            }

            from += whole;
            bytes -= whole;
        }

        return FirstBit([Masked(value[(int)to], bit, lastMask)], bit);
    }

    /// <summary>Sets the masked bits to what is not searched for, so they are never found.</summary>
    private static byte Masked(byte b, int bit, byte mask) => (byte)(bit == 1 ? b & ~mask : b | mask);

    /// <summary>
    /// Redis's redisBitpos: the index of the first bit equal to <paramref name="bit"/>; when there is none, -1 for
    /// a 1 and the bit count for a 0 (the bits past the end read as zeros).
    /// </summary>
    public static long FirstBit(ReadOnlySpan<byte> bytes, int bit)
    {
        var index = bytes.IndexOfAnyExcept(bit == 1 ? (byte)0 : (byte)0xFF);
        if (index < 0)
        {
            return bit == 1 ? -1 : (long)bytes.Length << 3;
        }

        var b = bit == 1 ? bytes[index] : (byte)~bytes[index];
        return ((long)index << 3) + BitOperations.LeadingZeroCount((uint)b) - 24;
    }

    /// <summary>Negative indexes count from the end; both are then clamped into the value.</summary>
    private static void Clamp(long total, ref long start, ref long end)
    {
        if (start < 0)
        {
            start += total;
        }

        if (end < 0)
        {
            end += total;
        }

        start = Math.Max(start, 0);
        end = Math.Max(end, 0);
        if (end >= total)
        {
            end = total - 1;
        }
    }

    /// <summary>Turns bit indexes into byte indexes, returning masks of the edge bytes' bits that are outside the range.</summary>
    private static (byte First, byte Last) EdgeMasks(ref long start, ref long end)
    {
        var first = (byte)(~((1 << (8 - (int)(start & 7))) - 1) & 0xFF);
        var last = (byte)((1 << (7 - (int)(end & 7))) - 1);
        start >>= 3;
        end >>= 3;
        return (first, last);
    }
}

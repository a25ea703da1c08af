namespace PikaIngest.Node.Commands;

/// <summary>How BITFIELD's SET and INCRBY treat a result that does not fit the field (OVERFLOW WRAP|SAT|FAIL).</summary>
internal enum BitfieldOverflow
{
    Wrap,
    Saturate,
    Fail,
}

/// <summary>
/// BITFIELD's integer fields, ported from redis-server 7.0.15's bitops.c (getUnsignedBitfield, getSignedBitfield,
/// setUnsignedBitfield, checkUnsignedBitfieldOverflow, checkSignedBitfieldOverflow) statement by statement, so the
/// values, wraps and saturations are Redis's. A field is <c>bits</c> bits (1-64 signed, 1-63 unsigned) from bit
/// <c>offset</c>, bit 0 being the most significant bit of byte 0; the bytes must reach the field's last bit.
/// </summary>
internal static class Bitfields
{
    public static ulong GetUnsigned(ReadOnlySpan<byte> bytes, long offset, int bits)
    {
        ulong value = 0;
        for (var j = 0; j < bits; j++, offset++)
        {
            var bit = (bytes[(int)(offset >> 3)] >> (7 - (int)(offset & 7))) & 1;
            value = (value << 1) | (uint)bit;
        }

        return value;
    }

    public static long GetSigned(ReadOnlySpan<byte> bytes, long offset, int bits)
    {
        var value = (long)GetUnsigned(bytes, offset, bits);
        // The field's top bit is its sign: propagate it through the higher bits (two's complement).
        if (bits < 64 && (value & (1L << (bits - 1))) != 0)
        {
            value |= -1L << bits;
        }

        return value;
    }

    /// <summary>Writes the low <paramref name="bits"/> bits of <paramref name="value"/> (a signed value as its two's complement).</summary>
    public static void Set(Span<byte> bytes, long offset, int bits, ulong value)
    {
        for (var j = 0; j < bits; j++, offset++)
        {
            var bitValue = (value & (1UL << (bits - 1 - j))) != 0 ? 1 : 0;
            var index = (int)(offset >> 3);
            var shift = 7 - (int)(offset & 7);
            bytes[index] = (byte)((bytes[index] & ~(1 << shift)) | (bitValue << shift));
        }
    }

    /// <summary>
    /// Whether <paramref name="value"/> + <paramref name="increment"/> leaves an unsigned field of
    /// <paramref name="bits"/> bits; if so, <paramref name="limit"/> is what WRAP or SAT stores (untouched for FAIL).
    /// </summary>
    public static bool UnsignedOverflows(ulong value, long increment, int bits, BitfieldOverflow overflow, ref ulong limit)
    {
        var max = bits == 64 ? ulong.MaxValue : (1UL << bits) - 1;
        var maxIncrement = unchecked((long)(max - value));
        var minIncrement = unchecked(-(long)value);
        bool above;
        if (value > max || (increment > 0 && increment > maxIncrement))
        {
            above = true;
        }
        else if (increment < 0 && increment < minIncrement)
        {
            above = false;
        }
        else
        {
            return false;
        }

        if (overflow == BitfieldOverflow.Wrap)
        {
            limit = unchecked(value + (ulong)increment) & ~(ulong.MaxValue << bits);
        }
        else if (overflow == BitfieldOverflow.Saturate)
        {
            limit = above ? max : 0;
        }

        return true;
    }

    /// <summary>The signed counterpart of <see cref="UnsignedOverflows"/>.</summary>
    public static bool SignedOverflows(long value, long increment, int bits, BitfieldOverflow overflow, ref long limit)
    {
        var max = bits == 64 ? long.MaxValue : (1L << (bits - 1)) - 1;
        var min = -max - 1;
        // These may wrap, as in Redis; they are only used once value is known to be in range, when they do not.
        var maxIncrement = unchecked((long)((ulong)max - (ulong)value));
        var minIncrement = unchecked(min - value);
        bool above;
        if (value > max || (bits != 64 && increment > maxIncrement) || (value >= 0 && increment > 0 && increment > maxIncrement))
        {
            above = true;
        }
        else if (value < min || (bits != 64 && increment < minIncrement) || (value < 0 && increment < 0 && increment < minIncrement))
        {
            above = false;
        }
        else
        {
            return false;
        }

        if (overflow == BitfieldOverflow.Wrap)
        {
            var sum = unchecked((ulong)value + (ulong)increment);
            // Sign-extend from the field's top bit, or mask to its width.
            if (bits < 64)
            {
                var mask = ulong.MaxValue << bits;
                sum = (sum & (1UL << (bits - 1))) != 0 ? sum | mask : sum & ~mask;
            }

            limit = (long)sum;
        }
        else if (overflow == BitfieldOverflow.Saturate)
        {
            limit = above ? max : min;
        }

        return true;
    }
}

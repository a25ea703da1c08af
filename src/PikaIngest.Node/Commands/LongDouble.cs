using System.Numerics;
using System.Text;

namespace PikaIngest.Node.Commands;

/// <summary>
/// The C <c>long double</c> of redis-server on x86-64 Linux: the x87 80-bit extended format (64-bit significand,
/// 15-bit exponent, denormals), emulated exactly. INCRBYFLOAT's replies are bytes of that arithmetic, and no .NET
/// type has it, so a value is held as <c>±Significand·2^Exponent</c> and every step is computed exactly with
/// <see cref="BigInteger"/> and rounded to nearest, ties to even, as the FPU and glibc do.
/// </summary>
internal readonly record struct LongDouble
{
    /// <summary>Exponent of a denormal's (and the smallest normal's) lowest significand bit: the smallest value is 2^-16445.</summary>
    internal const int MinExponent = -16445;

    /// <summary>Exponent of the largest value's lowest bit: the largest is (2^64-1)·2^16320, about 1.19e4932.</summary>
    internal const int MaxExponent = 16320;

    private const int SignificandBits = 64;

    private LongDouble(bool negative, ulong significand, int exponent, bool infinite)
    {
        Negative = negative;
        Significand = significand;
        Exponent = exponent;
        IsInfinity = infinite;
    }

    public bool Negative { get; }

    public ulong Significand { get; }

    public int Exponent { get; }

    public bool IsInfinity { get; }

    public static LongDouble Zero => default;

    public static LongDouble Infinity(bool negative) => new(negative, 0, 0, infinite: true);

    /// <summary>
    /// The sum as the FPU rounds it. Null when it is NaN (∞ + -∞), which Redis refuses like an infinite sum.
    /// </summary>
    public static LongDouble? Add(LongDouble a, LongDouble b)
    {
        if (a.IsInfinity || b.IsInfinity)
        {
            if (a.IsInfinity && b.IsInfinity && a.Negative != b.Negative)
            {
                return null;
            }

            return a.IsInfinity ? a : b;
        }

        if (a.Significand == 0 && b.Significand == 0)
        {
            return a.Negative && b.Negative ? new LongDouble(true, 0, 0, infinite: false) : Zero;
        }

        var exponent = Math.Min(a.Exponent, b.Exponent);
        var sum = Signed(a) << (a.Exponent - exponent);
        sum += Signed(b) << (b.Exponent - exponent);
        // An exact zero sum of opposite values is +0 when rounding to nearest.
        return sum.IsZero ? Zero : Round(sum.Sign < 0, BigInteger.Abs(sum), BigInteger.One, exponent);
    }

    private static BigInteger Signed(LongDouble value) => value.Negative ? -(BigInteger)value.Significand : value.Significand;

    /// <summary>
    /// Redis's string2ld: glibc's strtold on the whole text, refusing leading space, trailing bytes, NaN, texts of
    /// 5120 bytes or more (MAX_LONG_DOUBLE_CHARS), and results that overflowed or underflowed to zero. "inf" and
    /// "infinity" are accepted (any sum with them is then refused), and so are hexadecimal floats.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> text, out LongDouble value)
    {
        value = Zero;
        if (text.IsEmpty || text.Length >= 5 * 1024)
        {
            return false;
        }

        var negative = text[0] == '-';
        var body = text[0] is (byte)'-' or (byte)'+' ? text[1..] : text;
        if (Ascii.EqualsIgnoreCase(body, "inf"u8) || Ascii.EqualsIgnoreCase(body, "infinity"u8))
        {
            value = Infinity(negative);
            return true;
        }

        var hex = body.Length > 2 && body[0] == '0' && (body[1] | 0x20) == 'x';
        return hex ? TryParseHex(body[2..], negative, out value) : TryParseDecimal(body, negative, out value);
    }

    private static bool TryParseDecimal(ReadOnlySpan<byte> body, bool negative, out LongDouble value)
    {
        value = Zero;
        if (!TrySplit(body, (byte)'e', isHex: false, out var integer, out var fraction, out var exponent))
        {
            return false;
        }

        var digits = TrimLeadingZeros(integer, fraction, out var fractionDigits);
        if (digits.Length == 0)
        {
            value = negative ? new LongDouble(true, 0, 0, infinite: false) : Zero;
            return true;
        }

        // The value is digits·10^scale, at least 10^(digits-1+scale) and below 10^(digits+scale). Far outside
        // the range, decide without building huge powers: 10^4934 overflows, under 10^-4952 rounds to zero.
        var scale = exponent - fractionDigits;
        if (digits.Length - 1 + scale > 4933 || digits.Length + scale < -4952)
        {
            return false;
        }

        var significand = BigInteger.Parse(Encoding.ASCII.GetString(digits), System.Globalization.CultureInfo.InvariantCulture);
        var rounded = scale >= 0
            ? Round(negative, significand * BigInteger.Pow(10, (int)scale), BigInteger.One, 0)
            : Round(negative, significand, BigInteger.Pow(10, (int)-scale), 0);
        return Accept(rounded, out value);
    }

    private static bool TryParseHex(ReadOnlySpan<byte> body, bool negative, out LongDouble value)
    {
        value = Zero;
        if (!TrySplit(body, (byte)'p', isHex: true, out var integer, out var fraction, out var exponent))
        {
            return false;
        }

        var digits = TrimLeadingZeros(integer, fraction, out var fractionDigits);
        if (digits.Length == 0)
        {
            value = negative ? new LongDouble(true, 0, 0, infinite: false) : Zero;
            return true;
        }

        var scale = exponent - (4 * fractionDigits);
        var bits = 4L * digits.Length;
        if (bits - 4 + scale > 16384 || bits + scale < -16446)
        {
            return false;
        }

        var significand = BigInteger.Parse("0" + Encoding.ASCII.GetString(digits), System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture);
        return Accept(Round(negative, significand, BigInteger.One, (int)scale), out value);
    }

    /// <summary>strtold's ERANGE cases Redis refuses: an overflow to infinity and an underflow to zero.</summary>
    private static bool Accept(LongDouble rounded, out LongDouble value)
    {
        value = rounded;
        return !rounded.IsInfinity && rounded.Significand != 0;
    }

    /// <summary>
    /// Splits <c>digits[.digits][marker[+-]digits]</c> (at least one digit before the marker). The exponent saturates
    /// far beyond any value's range, so a thousand-digit exponent is still read as the huge number it is.
    /// </summary>
    private static bool TrySplit(ReadOnlySpan<byte> body, byte marker, bool isHex, out ReadOnlySpan<byte> integer, out ReadOnlySpan<byte> fraction, out long exponent)
    {
        integer = fraction = default;
        exponent = 0;
        var at = 0;
        while (at < body.Length && IsDigit(body[at], isHex))
        {
            at++;
        }

        integer = body[..at];
        if (at < body.Length && body[at] == '.')
        {
            var start = ++at;
            while (at < body.Length && IsDigit(body[at], isHex))
            {
                at++;
            }

            fraction = body[start..at];
        }

        if (integer.IsEmpty && fraction.IsEmpty)
        {
            return false;
        }

        if (at == body.Length)
        {
            return true;
        }

        if ((body[at] | 0x20) != marker)
        {
            return false;
        }

        var sign = 1;
        if (++at < body.Length && body[at] is (byte)'+' or (byte)'-')
        {
            sign = body[at++] == '-' ? -1 : 1;
        }

        if (at == body.Length)
        {
            return false;
        }

        for (; at < body.Length; at++)
        {
            if (!IsDigit(body[at], isHex: false))
            {
                return false;
            }

            exponent = Math.Min((exponent * 10) + (body[at] - '0'), 100_000_000);
        }

        exponent *= sign;
        return true;
    }

    private static bool IsDigit(byte c, bool isHex) => isHex ? char.IsAsciiHexDigit((char)c) : char.IsAsciiDigit((char)c);

    /// <summary>The significant digits of integer·fraction (leading zeros dropped), and how many of them are fraction digits.</summary>
    private static ReadOnlySpan<byte> TrimLeadingZeros(ReadOnlySpan<byte> integer, ReadOnlySpan<byte> fraction, out long fractionDigits)
    {
        var all = new byte[integer.Length + fraction.Length];
        integer.CopyTo(all);
        fraction.CopyTo(all.AsSpan(integer.Length));
        fractionDigits = fraction.Length;
        var first = all.AsSpan().IndexOfAnyExcept((byte)'0');
        return first < 0 ? [] : all.AsSpan(first);
    }

    /// <summary>
    /// numerator/denominator·2^exponent (numerator &gt; 0) rounded to nearest, ties to even, to 64 significant bits
    /// or the denormal grid; infinite past the largest value, zero below half the smallest.
    /// </summary>
    private static LongDouble Round(bool negative, BigInteger numerator, BigInteger denominator, int exponent)
    {
        // The value's leading bit is 2^(e+63) with e estimated from bit lengths, off by at most one.
        var e = (long)numerator.GetBitLength() - (long)denominator.GetBitLength() + exponent - (SignificandBits - 1);
        var (quotient, remainder, divisor) = Divide(numerator, denominator, exponent, e);
        if (quotient.GetBitLength() < SignificandBits)
        {
            e--;
        }
        else if (quotient.GetBitLength() > SignificandBits)
        {
            e++;
        }

        if (e < MinExponent)
        {
            e = MinExponent;
        }

        (quotient, remainder, divisor) = Divide(numerator, denominator, exponent, e);
        var twice = remainder << 1;
        if (twice > divisor || (twice == divisor && !quotient.IsEven))
        {
            quotient += 1;
            if (quotient.GetBitLength() > SignificandBits)
            {
                quotient >>= 1;
                e++;
            }
        }

        if (e > MaxExponent)
        {
            return Infinity(negative);
        }

        return new LongDouble(negative, (ulong)quotient, (int)e, infinite: false);
    }

    /// <summary>floor(numerator/denominator·2^(exponent-e)), its remainder, and the divisor the remainder is of.</summary>
    private static (BigInteger Quotient, BigInteger Remainder, BigInteger Divisor) Divide(BigInteger numerator, BigInteger denominator, int exponent, long e)
    {
        var shift = exponent - e;
        var scaled = shift >= 0 ? numerator << (int)shift : numerator;
        var divisor = shift >= 0 ? denominator : denominator << (int)-shift;
        var quotient = BigInteger.DivRem(scaled, divisor, out var remainder);
        return (quotient, remainder, divisor);
    }

    /// <summary>
    /// Redis's ld2string in LD_STR_HUMAN mode, as INCRBYFLOAT replies and stores: glibc's <c>%.17Lf</c> (exact
    /// decimal expansion rounded to 17 places, ties to even), trailing zeros and a bare point removed, "-0" as "0".
    /// Finite values only.
    /// </summary>
    public byte[] FormatHuman()
    {
        var tenTo17 = BigInteger.Pow(10, 17);
        BigInteger scaled;
        if (Exponent >= 0)
        {
            scaled = ((BigInteger)Significand << Exponent) * tenTo17;
        }
        else
        {
            var divisor = BigInteger.One << -Exponent;
            scaled = BigInteger.DivRem(Significand * tenTo17, divisor, out var remainder);
            var twice = remainder << 1;
            if (twice > divisor || (twice == divisor && !scaled.IsEven))
            {
                scaled += 1;
            }
        }

        var digits = scaled.ToString(System.Globalization.CultureInfo.InvariantCulture).PadLeft(18, '0');
        var integer = digits[..^17];
        var fraction = digits[^17..].TrimEnd('0');
        var text = (Negative ? "-" : "") + integer + (fraction.Length > 0 ? "." + fraction : "");
        return Encoding.ASCII.GetBytes(text == "-0" ? "0" : text);
    }
}

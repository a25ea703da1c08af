using System.Globalization;
using System.Numerics;
using System.Text;
using CsCheck;
using PikaIngest.Node.Commands;
using PikaIngest.Node.UnitTests.Resp;

namespace PikaIngest.Node.UnitTests.Commands;

/// <summary>
/// INCRBYFLOAT's arithmetic. The expected texts were observed with <c>redis-cli INCRBYFLOAT</c> against
/// <c>redis-server --port 6390 --save ''</c> (7.0.15, x86-64), each on a fresh key with the texts in order; the
/// properties check the emulation against exact arithmetic worked out independently.
/// </summary>
public sealed class LongDoubleTests
{
    private static LongDouble Parse(string text)
    {
        Assert.True(LongDouble.TryParse(Encoding.ASCII.GetBytes(text), out var value), $"'{text}' should parse");
        return value;
    }

    private static string Sum(params string[] texts)
    {
        var sum = LongDouble.Zero;
        foreach (var text in texts)
        {
            sum = LongDouble.Add(sum, Parse(text)) ?? throw new Xunit.Sdk.XunitException("NaN");
        }

        return Encoding.ASCII.GetString(sum.FormatHuman());
    }

    [Theory]
    [InlineData("10.5", "10.5")]
    [InlineData("0.1 0.2", "0.3")]
    [InlineData("5.0e3", "5000")]
    [InlineData("3.0", "3")]
    [InlineData("-0", "0")]
    [InlineData("-1e-20", "0")]
    [InlineData("0x1p3", "8")]
    [InlineData("1.", "1")]
    // 2^-18 and 3·2^-18 have 18 decimals ending in 5: glibc rounds the tie to even.
    [InlineData("0.000003814697265625", "0.00000381469726562")]
    [InlineData("0.000011444091796875", "0.00001144409179688")]
    [InlineData("0.000000000000000015", "0.00000000000000002")]
    [InlineData("0.000000000000000005", "0")]
    // Denormals are accepted (strtold's ERANGE only refuses zero and infinity); half the smallest one is not.
    [InlineData("1e-4940", "0")]
    [InlineData("0x1.8p-16446", "0")]
    public void Sums_print_as_redis_server_prints_them(string texts, string expected) =>
        Assert.Equal(expected, Sum(texts.Split(' ')));

    [Fact]
    public void A_long_double_prints_every_integer_digit_of_1e308()
    {
        // 1e308 rounded to 64 bits, not to double's 53: the digits differ from (double)1e308's from the 20th on.
        Assert.Equal(
            "99999999999999999996685879655845645660560099847415567207797047994921734868838061872100126921888539320446747225054013223152134749593960583597420814430196418767959100019603190778663109604507106667939153395788938914560543563061268364901618630217086589253444881623791300855757318142424510452728255046343928578048",
            Sum("1e308"));
    }

    [Theory]
    [InlineData("1e5000")]
    [InlineData("1e-5000")]
    [InlineData("0x1p-16446")]
    [InlineData("nan")]
    [InlineData(" 1")]
    [InlineData("1 ")]
    [InlineData("")]
    [InlineData("0x")]
    [InlineData("1e")]
    [InlineData("abc")]
    [InlineData("1\0")]
    [InlineData("infinit")]
    public void Texts_redis_refuses_as_not_a_valid_float(string text) =>
        Assert.False(LongDouble.TryParse(Encoding.ASCII.GetBytes(text), out _));

    [Fact]
    public void Texts_of_5120_bytes_or_more_are_refused_whatever_they_hold()
    {
        // "1." and 5117 zeros is 1; one more zero and Redis refuses it (MAX_LONG_DOUBLE_CHARS).
        Assert.Equal("1", Sum("1." + new string('0', 5117)));
        Assert.False(LongDouble.TryParse(Encoding.ASCII.GetBytes("1." + new string('0', 5118)), out _));
    }

    [Fact]
    public void Infinity_parses_but_every_sum_with_it_is_refused()
    {
        Assert.True(LongDouble.Add(LongDouble.Zero, Parse("inf"))!.Value.IsInfinity);
        Assert.True(LongDouble.Add(Parse("1"), Parse("-Infinity"))!.Value.IsInfinity);
        Assert.Null(LongDouble.Add(Parse("inf"), Parse("-inf")));
        var max = Parse("1.18973149535723176502e4932");
        Assert.False(max.IsInfinity);
        Assert.True(LongDouble.Add(max, max)!.Value.IsInfinity);
    }

    private static BigInteger Exact(LongDouble value, int scale) =>
        (value.Negative ? -1 : 1) * ((BigInteger)value.Significand << (value.Exponent + scale));

    [Fact]
    public void Hex_texts_with_more_than_64_significant_bits_round_to_nearest_ties_to_even()
    {
        var bits = Gen.Select(Gen.ULong, Gen.ULong, Gen.Int[0, 3]);
        Deterministic.Sample(bits, case_ =>
        {
            var (high, low, tie) = case_;
            high |= 1UL << 63;
            // Force a tie (the bits below the 64 kept are exactly 100…0) in some cases.
            if (tie == 0)
            {
                low = 1UL << 63;
            }

            var text = "0x" + high.ToString("x16", CultureInfo.InvariantCulture) + low.ToString("x16", CultureInfo.InvariantCulture) + "p-64";
            var value = Parse(text);
            var roundUp = low > (1UL << 63) || (low == 1UL << 63 && (high & 1) == 1);
            var expected = (BigInteger)high + (roundUp ? 1 : 0);
            Assert.Equal(expected, Exact(value, 0));
        }, iterations: 2000);
    }

    [Fact]
    public void Sums_of_integers_below_2_to_the_63_are_exact()
    {
        var pair = Gen.Select(Gen.Long[-(1L << 62), 1L << 62], Gen.Long[-(1L << 62), 1L << 62]);
        Deterministic.Sample(pair, p =>
        {
            var expected = ((BigInteger)p.Item1 + p.Item2).ToString(CultureInfo.InvariantCulture);
            Assert.Equal(expected, Sum(p.Item1.ToString(CultureInfo.InvariantCulture), p.Item2.ToString(CultureInfo.InvariantCulture)));
        }, iterations: 2000);
    }

    [Fact]
    public void Decimals_below_90_with_at_most_17_places_print_back_as_typed()
    {
        // Rounding to 64 bits moves such a value by under 90·2^-64 < 0.5e-17, so %.17Lf restores every digit.
        var text = Gen.Select(Gen.Int[0, 89], Gen.Char['0', '9'].Array[1, 17], Gen.Bool);
        Deterministic.Sample(text, t =>
        {
            var (integer, fraction, negative) = t;
            var typed = (negative ? "-" : "") + integer.ToString(CultureInfo.InvariantCulture) + "." + new string(fraction);
            var canonical = typed.TrimEnd('0').TrimEnd('.');
            Assert.Equal(canonical is "-0" or "" ? "0" : canonical, Sum(typed));
        }, iterations: 2000);
    }

    [Fact]
    public void Binary_fractions_print_their_exact_decimal_rounded_half_even_at_17_places()
    {
        var fraction = Gen.Select(Gen.Long[0, long.MaxValue], Gen.Int[0, 40]);
        Deterministic.Sample(fraction, f =>
        {
            var (m, k) = f;
            // m/2^k = m·5^k/10^k: its exact decimal digits, then rounded at the 17th place by looking at the rest.
            var digits = ((BigInteger)m * BigInteger.Pow(5, k)).ToString(CultureInfo.InvariantCulture).PadLeft(k + 1, '0');
            var integer = digits[..^k];
            var decimals = digits[^k..].PadRight(17, '0');
            var kept = BigInteger.Parse(integer + decimals[..17], CultureInfo.InvariantCulture);
            var rest = decimals[17..];
            var half = "5" + new string('0', Math.Max(0, rest.Length - 1));
            var comparison = string.CompareOrdinal(rest, half);
            if (rest.Length > 0 && (comparison > 0 || (comparison == 0 && !kept.IsEven)))
            {
                kept += 1;
            }

            var text = kept.ToString(CultureInfo.InvariantCulture).PadLeft(18, '0');
            var expected = (text[..^17] + "." + text[^17..]).TrimEnd('0').TrimEnd('.');
            Assert.Equal(expected, Sum("0x" + m.ToString("x", CultureInfo.InvariantCulture) + "p-" + k.ToString(CultureInfo.InvariantCulture)));
        }, iterations: 2000);
    }
}

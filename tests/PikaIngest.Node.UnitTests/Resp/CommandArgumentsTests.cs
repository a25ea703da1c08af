using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using CsCheck;
using PikaIngest.Node.Resp;
using static PikaIngest.Node.UnitTests.Resp.Resp;

namespace PikaIngest.Node.UnitTests.Resp;

public sealed partial class CommandArgumentsTests
{
    [Theory]
    [InlineData("0", 0L)]
    [InlineData("1", 1L)]
    [InlineData("-1", -1L)]
    [InlineData("10", 10L)]
    [InlineData("9223372036854775807", long.MaxValue)]
    [InlineData("-9223372036854775808", long.MinValue)]
    public void Parses_what_string2ll_accepts(string text, long expected)
    {
        Assert.True(CommandArguments.TryParseInt64(Latin1(text), out var value));
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("")]
    [InlineData("-")]
    [InlineData("-0")]
    [InlineData("+1")]
    [InlineData("01")]
    [InlineData("00")]
    [InlineData("-01")]
    [InlineData(" 1")]
    [InlineData("1 ")]
    [InlineData("1\0")]
    [InlineData("1.0")]
    [InlineData("1e3")]
    [InlineData("0x10")]
    [InlineData("9223372036854775808")]
    [InlineData("-9223372036854775809")]
    [InlineData("18446744073709551615")]
    [InlineData("18446744073709551616")]
    [InlineData("99999999999999999999")]
    [InlineData("-99999999999999999999")]
    [InlineData("000000000000000000001")]
    public void Refuses_what_string2ll_refuses(string text) =>
        Assert.False(CommandArguments.TryParseInt64(Latin1(text), out _));

    [Fact]
    public void Agrees_with_long_TryParse_under_redis_rules()
    {
        var digits = Gen.OneOf(Gen.Char['0', '9'], Gen.Char["0123456789-+ x"]);
        var text = Gen.OneOf(
            digits.Array[0, 22].Select(c => new string(c)),
            Gen.Long.Select(v => v.ToString(CultureInfo.InvariantCulture)),
            Gen.Long.Select(v => "0" + v.ToString(CultureInfo.InvariantCulture)),
            Gen.ULong.Select(v => v.ToString(CultureInfo.InvariantCulture)),
            Gen.ULong.Select(v => "-" + v.ToString(CultureInfo.InvariantCulture)));

        Deterministic.Sample(text, t =>
        {
            var expected = RedisInteger().IsMatch(t) && long.TryParse(t, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var parsed)
                ? parsed
                : (long?)null;

            var ok = CommandArguments.TryParseInt64(Encoding.ASCII.GetBytes(t), out var value);

            Assert.Equal(expected, ok ? value : null);
        }, iterations: 5000);
    }

    [Fact]
    public void Arguments_are_read_from_the_buffer_and_compared_ignoring_ascii_case()
    {
        var buffer = Multibulk("get", "Key", "-42", "x");
        var args = new CommandArguments();
        new RespRequestParser(RespLimits.Redis).TryParse(buffer, args, true, out _, out _, out _);

        Assert.Equal(4, args.Count);
        Assert.True(args.EqualsIgnoreCase(0, buffer, "GET"u8));
        Assert.True(args.EqualsIgnoreCase(0, buffer, "get"u8));
        Assert.False(args.EqualsIgnoreCase(0, buffer, "GETS"u8));
        Assert.False(args.EqualsIgnoreCase(1, buffer, "GET"u8));
        Assert.True(args.TryParseInt64(2, buffer, out var value));
        Assert.Equal(-42, value);
        Assert.False(args.TryParseInt64(3, buffer, out _));
        Assert.Equal("Key"u8.ToArray(), args.Span(1, buffer).ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => args.Span(4, buffer));
        Assert.Throws<ArgumentOutOfRangeException>(() => args.Span(-1, buffer));
    }

    [Fact]
    public void Non_ascii_bytes_do_not_fold()
    {
        var buffer = Multibulk(Latin1("\xc9"), Latin1("\xe9"));
        var args = new CommandArguments();
        new RespRequestParser(RespLimits.Redis).TryParse(buffer, args, true, out _, out _, out _);

        Assert.False(args.EqualsIgnoreCase(0, buffer, args.Span(1, buffer)));
    }

    [Fact]
    public void Reused_arguments_do_not_allocate_per_command()
    {
        var parser = new RespRequestParser(RespLimits.Redis);
        var args = new CommandArguments();
        var buffer = Multibulk("MSET", "a", "1", "b", "2", "c", "3", "d", "4", "e", "5", "f", "6", "g", "7", "h", "8", "i", "9");
        parser.TryParse(buffer, args, true, out _, out _, out _);

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            parser.TryParse(buffer, args, true, out _, out _, out _);
        }

        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
    }

    [GeneratedRegex(@"^(0|-?[1-9][0-9]*)\z")]
    private static partial Regex RedisInteger();
}

using PikaIngest.Node.Resp;
using static PikaIngest.Node.UnitTests.Resp.Resp;

namespace PikaIngest.Node.UnitTests.Resp;

/// <summary>
/// The parser against redis-server 7.0.15. Every case was observed by writing the bytes to
/// <c>redis-server --port 6390 --save ''</c> (and a <c>--requirepass pw</c> server for the unauthenticated
/// cases) over a raw socket from Python and reading the reply and whether the connection closed; the
/// bytes below are what was sent. Redis's reply is "-" + the error, then it closes the connection.
/// </summary>
public sealed class RespRequestParserTests
{
    private const int K64 = 64 * 1024;

    [Theory]
    [InlineData("*2147483648\r\n", RespErrors.ProtocolInvalidMultibulkLength)]
    [InlineData("*3000000000\r\n", RespErrors.ProtocolInvalidMultibulkLength)]
    [InlineData("*-9223372036854775809\r\nPING\r\n", RespErrors.ProtocolInvalidMultibulkLength)]
    [InlineData("*-0\r\n", RespErrors.ProtocolInvalidMultibulkLength)]
    [InlineData("*+1\r\n", RespErrors.ProtocolInvalidMultibulkLength)]
    [InlineData("*01\r\n", RespErrors.ProtocolInvalidMultibulkLength)]
    [InlineData("*\r\n", RespErrors.ProtocolInvalidMultibulkLength)]
    [InlineData("* 1\r\n", RespErrors.ProtocolInvalidMultibulkLength)]
    [InlineData("*1 \r\n", RespErrors.ProtocolInvalidMultibulkLength)]
    // The count ends at the first CR: here "1\n$4".
    [InlineData("*1\n$4\r\nPING\r\n", RespErrors.ProtocolInvalidMultibulkLength)]
    [InlineData("*1\r\nfoo\r\n", "ERR Protocol error: expected '$', got 'f'")]
    [InlineData("*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n", "ERR Protocol error: expected '$', got 'f'")]
    [InlineData("*1\r\n*1\r\n", "ERR Protocol error: expected '$', got '*'")]
    // CR and LF where '$' belongs: Redis's error formatting turns them into spaces.
    [InlineData("*1\r\n\r\n", "ERR Protocol error: expected '$', got ' '")]
    [InlineData("*1\r\n\n\r\n", "ERR Protocol error: expected '$', got ' '")]
    [InlineData("*1\r\n$-1\r\n", RespErrors.ProtocolInvalidBulkLength)]
    [InlineData("*1\r\n$-0\r\n", RespErrors.ProtocolInvalidBulkLength)]
    [InlineData("*1\r\n$\r\n", RespErrors.ProtocolInvalidBulkLength)]
    [InlineData("*1\r\n$+4\r\nPING\r\n", RespErrors.ProtocolInvalidBulkLength)]
    [InlineData("*1\r\n$04\r\nPING\r\n", RespErrors.ProtocolInvalidBulkLength)]
    [InlineData("*1\r\n$4 \r\nPING\r\n", RespErrors.ProtocolInvalidBulkLength)]
    [InlineData("*1\r\n$4\nPING\r\n", RespErrors.ProtocolInvalidBulkLength)]
    [InlineData("*1\r\n$536870913\r\n", RespErrors.ProtocolInvalidBulkLength)]
    [InlineData("*1\r\n$9223372036854775807\r\n", RespErrors.ProtocolInvalidBulkLength)]
    [InlineData("*1\r\n$-9223372036854775808\r\n", RespErrors.ProtocolInvalidBulkLength)]
    [InlineData("*1\r\n$99999999999999999999\r\n", RespErrors.ProtocolInvalidBulkLength)]
    [InlineData("ECHO \"abc\r\n", RespErrors.ProtocolUnbalancedQuotes)]
    [InlineData("ECHO 'abc\r\n", RespErrors.ProtocolUnbalancedQuotes)]
    [InlineData("ECHO \"ab\"c\r\n", RespErrors.ProtocolUnbalancedQuotes)]
    [InlineData("ECHO 'ab'c\r\n", RespErrors.ProtocolUnbalancedQuotes)]
    [InlineData("ECHO 'a'b'\r\n", RespErrors.ProtocolUnbalancedQuotes)]
    [InlineData("ECHO \"\"\"\"\r\n", RespErrors.ProtocolUnbalancedQuotes)]
    [InlineData("ECHO \"a\\\r\n", RespErrors.ProtocolUnbalancedQuotes)]
    // The line ends at the LF, inside the quotes.
    [InlineData("ECHO \"a\nb\"\r\n", RespErrors.ProtocolUnbalancedQuotes)]
    public void Malformed_requests_get_redis_errors(string request, string expected)
    {
        var result = ParseOne(Latin1(request));

        Assert.Equal(ParseStatus.ProtocolError, result.Status);
        Assert.Equal(expected, result.Error);
        Assert.Equal(0, result.Consumed);
    }

    [Fact]
    public void The_byte_where_a_dollar_belongs_is_quoted()
    {
        // Redis sends the byte 0xE9 raw; a .NET string carries it as U+00E9.
        Assert.Equal("ERR Protocol error: expected '$', got '\u00e9'", ParseOne(Latin1("*1\r\n\xe9\r\n")).Error);
    }

    [Theory]
    [InlineData("*1\r\n$4\r\nPING\r\n", "PING", 14)]
    [InlineData("*2\r\n$4\r\nECHO\r\n$0\r\n\r\n", "ECHO|", 20)]
    [InlineData("*1\r\n$0\r\n\r\n", "", 10)]
    [InlineData("*2\r\n$3\r\nGET\r\n$4\r\na\r\nb\r\n", "GET|a\r\nb", 23)]
    // Redis reads one byte past a header's CR and two past a bulk without looking at them.
    [InlineData("*1\rX$4\r\nPING\r\n", "PING", 14)]
    [InlineData("*1\r\n$4\rXPINGxy", "PING", 14)]
    [InlineData("*1\r\n$4\r\nPINGxy*1\r\n$4\r\nPING\r\n", "PING", 14)]
    public void Multibulk_commands_are_read(string request, string expected, int consumed)
    {
        var result = ParseOne(Latin1(request));

        Assert.Equal(ParseStatus.Complete, result.Status);
        Assert.Equal(expected.Split('|'), result.Args);
        Assert.Equal(consumed, result.Consumed);
    }

    [Theory]
    [InlineData("*0\r\n", 4)]
    [InlineData("*-1\r\n", 5)]
    [InlineData("*-10\r\nPING\r\n", 6)]
    [InlineData("*-9223372036854775808\r\nPING\r\n", 23)]
    [InlineData("\r\n", 2)]
    [InlineData("\n", 1)]
    [InlineData("\r\r\n", 3)]
    [InlineData("   \r\nPING\r\n", 5)]
    public void Empty_and_negative_counts_and_blank_lines_are_commands_without_arguments(string request, int consumed)
    {
        var result = ParseOne(Latin1(request));

        Assert.Equal(ParseStatus.Complete, result.Status);
        Assert.Empty(result.Args);
        Assert.Equal(consumed, result.Consumed);
    }

    [Theory]
    [InlineData("", 0)]
    [InlineData("*", 0)]
    [InlineData("*1", 0)]
    [InlineData("*1\r", 0)]
    [InlineData("*1\r\n", 0)]
    [InlineData("*1\r\n$", 0)]
    [InlineData("*1\r\n$4", 0)]
    [InlineData("*1\r\n$4\r", 0)]
    // No CR yet, so Redis does not look at the '$' and waits.
    [InlineData("*1\r\nfoo", 0)]
    [InlineData("*1\r\n$4\r\n", 14)]
    [InlineData("*1\r\n$4\r\nPING", 14)]
    [InlineData("*1\r\n$4\r\nPING\r", 14)]
    [InlineData("*2\r\n$4\r\nECHO\r\n$3\r\nab", 23)]
    [InlineData("*1\r\n$536870912\r\n", 4 + 12 + 536870912 + 2)]
    [InlineData("*2147483647\r\n", 0)]
    [InlineData("PING", 0)]
    [InlineData("PING\r", 0)]
    [InlineData("ECHO \"a", 0)]
    public void Incomplete_requests_need_more_with_the_length_of_the_bulk_being_read(string request, int hint)
    {
        var result = ParseOne(Latin1(request));

        Assert.Equal(ParseStatus.NeedMore, result.Status);
        Assert.Equal(hint, result.Hint);
        Assert.Equal(0, result.Consumed);
        Assert.Null(result.Error);
    }

    [Fact]
    public void Huge_declared_lengths_allocate_nothing_of_their_size()
    {
        var parser = new RespRequestParser(RespLimits.Redis);
        var before = GC.GetAllocatedBytesForCurrentThread();

        Assert.Equal(ParseStatus.NeedMore, parser.TryParse("*2147483647\r\n"u8, new CommandArguments(), true, out _, out _, out _));
        Assert.Equal(ParseStatus.NeedMore, parser.TryParse("*2\r\n$536870912\r\n"u8, new CommandArguments(), true, out _, out var hint, out _));
        Assert.Equal(ParseStatus.ProtocolError, parser.TryParse("*2147483648\r\n"u8, new CommandArguments(), true, out _, out _, out _));
        Assert.Equal(ParseStatus.ProtocolError, parser.TryParse("*1\r\n$9999999999999\r\n"u8, new CommandArguments(), true, out _, out _, out _));

        Assert.Equal(4 + 12 + 536870912 + 2, hint);
        Assert.InRange(GC.GetAllocatedBytesForCurrentThread() - before, 0, 4096);
    }

    [Fact]
    public void A_hint_beyond_int_range_is_capped()
    {
        var limits = RespLimits.Redis with { MaxBulkLength = int.MaxValue };

        var result = ParseOne(Latin1("*1\r\n$2147483647\r\n"), limits: limits);

        Assert.Equal(ParseStatus.NeedMore, result.Status);
        Assert.Equal(int.MaxValue, result.Hint);
    }

    [Theory]
    // On a requirepass server before AUTH.
    [InlineData("*11\r\n", RespErrors.ProtocolUnauthenticatedMultibulkLength)]
    [InlineData("*2147483648\r\n", RespErrors.ProtocolInvalidMultibulkLength)]
    [InlineData("*2\r\n$4\r\nAUTH\r\n$16385\r\n", RespErrors.ProtocolUnauthenticatedBulkLength)]
    [InlineData("*2\r\n$4\r\nAUTH\r\n$536870913\r\n", RespErrors.ProtocolInvalidBulkLength)]
    public void Before_authentication_requests_are_limited(string request, string expected)
    {
        Assert.Equal(expected, ParseOne(Latin1(request), authenticated: false).Error);
        Assert.Equal(
            expected.Contains("unauthenticated", StringComparison.Ordinal) ? ParseStatus.NeedMore : ParseStatus.ProtocolError,
            ParseOne(Latin1(request), authenticated: true).Status);
    }

    [Fact]
    public void Before_authentication_the_limits_themselves_are_allowed_and_inline_is_not_limited()
    {
        Assert.Equal(ParseStatus.NeedMore, ParseOne(Latin1("*10\r\n"), authenticated: false).Status);
        Assert.Equal(ParseStatus.NeedMore, ParseOne(Latin1("*2\r\n$4\r\nAUTH\r\n$16384\r\n"), authenticated: false).Status);
        // Redis answers these with "unknown command 'a'" and NOAUTH: they were read.
        Assert.Equal(12, ParseOne(Latin1("a b c d e f g h i j k l\r\n"), authenticated: false).Args.Length);
        Assert.Equal(3, ParseOne(Latin1("SET " + new string('x', 20000) + " v\r\n"), authenticated: false).Args.Length);
    }

    [Fact]
    public void Inline_requests_wait_for_their_line_up_to_64_KiB()
    {
        Assert.Equal(ParseStatus.NeedMore, ParseOne(Latin1(new string('A', K64))).Status);
        Assert.Equal(RespErrors.ProtocolTooBigInline, ParseOne(Latin1(new string('A', K64 + 1))).Error);
        Assert.Equal([new string('A', K64 - 2)], ParseOne(Latin1(new string('A', K64 - 2) + "\r\n")).Args);
        // A line end already received is found however far it is: Redis echoed this one.
        Assert.Equal(["ECHO", new string('A', K64 + 10)], ParseOne(Latin1("ECHO " + new string('A', K64 + 10) + "\r\n")).Args);
    }

    [Fact]
    public void Headers_wait_for_their_CR_up_to_64_KiB_from_where_they_start()
    {
        Assert.Equal(ParseStatus.NeedMore, ParseOne(Latin1("*" + new string('1', K64 - 1))).Status);
        Assert.Equal(RespErrors.ProtocolTooBigMultibulkCount, ParseOne(Latin1("*" + new string('1', K64))).Error);
        Assert.Equal(ParseStatus.NeedMore, ParseOne(Latin1("*1\r\n" + new string('$', K64))).Status);
        Assert.Equal(RespErrors.ProtocolTooBigBulkCount, ParseOne(Latin1("*1\r\n" + new string('$', K64 + 1))).Error);
        Assert.Equal(RespErrors.ProtocolTooBigBulkCount, ParseOne(Latin1("*2\r\n$4\r\nECHO\r\n" + new string('$', K64 + 1))).Error);

        // Redis answered PONG, then the error.
        var session = new ParsingSession();
        session.Receive(Latin1("*1\r\n$4\r\nPING\r\n*1\r\n" + new string('$', K64 + 1)));
        Assert.Equal([["PING"]], session.Commands);
        Assert.Equal(RespErrors.ProtocolTooBigBulkCount, session.Error);
    }

    [Theory]
    [InlineData("PING\r\n", "PING")]
    [InlineData("PING\n", "PING")]
    [InlineData("ECHO \"\"\r\n", "ECHO|")]
    [InlineData("ECHO ''\r\n", "ECHO|")]
    [InlineData("ECHO \"\" \"\"\r\n", "ECHO||")]
    [InlineData("ECHO \"a b\"\r\n", "ECHO|a b")]
    [InlineData("ECHO 'a b'\r\n", "ECHO|a b")]
    [InlineData("ECHO \"a\\nb\"\r\n", "ECHO|a\nb")]
    [InlineData("ECHO \"\\t\\r\\b\\a\\\"\\\\\"\r\n", "ECHO|\t\r\b\a\"\\")]
    [InlineData("ECHO \"\\xff\\x00\\xAb\"\r\n", "ECHO|\u00ff\0\u00ab")]
    [InlineData("ECHO \"\\x41\\x4g\"\r\n", "ECHO|Ax4g")]
    [InlineData("ECHO \"\\x4\"\r\n", "ECHO|x4")]
    [InlineData("ECHO \"\\x\"\r\n", "ECHO|x")]
    [InlineData("ECHO \"\\q\"\r\n", "ECHO|q")]
    [InlineData("ECHO \"\\\"x\"\r\n", "ECHO|\"x")]
    [InlineData("ECHO \"a\\\\b\"\r\n", "ECHO|a\\b")]
    [InlineData("ECHO \"a\rb\"\r\n", "ECHO|a\rb")]
    [InlineData("ECHO 'a\\'b'\r\n", "ECHO|a'b")]
    [InlineData("ECHO 'a\\nb'\r\n", "ECHO|a\\nb")]
    [InlineData("ECHO 'a\\\\b'\r\n", "ECHO|a\\\\b")]
    [InlineData("ECHO ab\"c d\"\r\n", "ECHO|abc d")]
    [InlineData("ECHO ab'c d'\r\n", "ECHO|abc d")]
    [InlineData("ECHO \\x41\r\n", "ECHO|\\x41")]
    [InlineData("ECHO \"a\"\v\r\n", "ECHO|a")]
    [InlineData("ECHO \"a\"\f\r\n", "ECHO|a")]
    [InlineData("ECHO 'a'\t\r\n", "ECHO|a")]
    [InlineData("ECHO a\tb\r\n", "ECHO|a|b")]
    [InlineData("ECHO a\rb\r\n", "ECHO|a|b")]
    [InlineData("ECHO\r\r\n", "ECHO")]
    [InlineData("ECHO a\r\r\n", "ECHO|a")]
    // \v and \f separate arguments only between them: inside one they are kept.
    [InlineData("ECHO a\vb\r\n", "ECHO|a\vb")]
    [InlineData("\vECHO\vx\r\n", "ECHO\vx")]
    [InlineData("ECHO \xe9\r\n", "ECHO|\xe9")]
    [InlineData(" \u0085ECHO a\r\n", "\u0085ECHO|a")]
    [InlineData("$4\r\nPING\r\n", "$4")]
    public void Inline_requests_are_split_as_redis_does(string request, string expected)
    {
        var result = ParseOne(Latin1(request));

        Assert.Equal(ParseStatus.Complete, result.Status);
        Assert.Equal(expected.Split('|'), result.Args);
    }

    [Fact]
    public void Inline_lines_end_at_LF_and_pipeline()
    {
        // Redis replied $1 a, then PONG.
        Assert.Equal([["ECHO", "a"], ["PING"]], ParseAll(Latin1("ECHO a\nPING\r\n")));
        // Redis replied "unknown command '$4'", then PONG.
        Assert.Equal([["$4"], ["PING"]], ParseAll(Latin1("$4\r\nPING\r\n")));
        // Redis replied $1 a, then read "1\r\n" inline after skipping "b*", then $4 inline, then PING.
        Assert.Equal(
            [["ECHO", "a"], ["1"], ["$4"], ["PING"]],
            ParseAll(Latin1("*2\r\n$4\r\nECHO\r\n$1\r\nab*1\r\n$4\r\nPING\r\n")));
    }

    [Fact]
    public void A_zero_byte_is_an_ordinary_byte()
    {
        // Deliberately unlike Redis, whose strchr stops at the zero byte and waits for 64 KiB: see RespRequestParser.
        Assert.Equal(["ECHO", "a\0b"], ParseOne(Latin1("ECHO \"a\0b\"\r\n")).Args);
        Assert.Equal(["EC\0HO", "a"], ParseOne(Latin1("EC\0HO a\r\n")).Args);
        Assert.Equal(RespErrors.ProtocolInvalidMultibulkLength, ParseOne(Latin1("*1\0\r\n$4\r\nPING\r\n")).Error);
        Assert.Equal(RespErrors.ProtocolInvalidBulkLength, ParseOne(Latin1("*1\r\n$4\0\r\nPING\r\n")).Error);
        Assert.Equal(["PI\0G"], ParseOne(Latin1("*1\r\n$4\r\nPI\0G\r\n")).Args);
    }

    [Fact]
    public void A_command_arriving_in_pieces_resumes_where_it_stopped()
    {
        var parser = new RespRequestParser(RespLimits.Redis);
        var args = new CommandArguments();
        var whole = Multibulk("SET", "key", new string('v', 1000));

        Assert.Equal(ParseStatus.NeedMore, parser.TryParse(whole.AsSpan(0, 30), args, true, out _, out var hint, out _));
        Assert.Equal(whole.Length, hint);
        Assert.Equal(2, args.Count);

        // The bytes moved, as when a session compacts its buffer: the ranges are relative to the start.
        var moved = whole.ToArray();
        Assert.Equal(ParseStatus.Complete, parser.TryParse(moved, args, true, out var consumed, out _, out _));
        Assert.Equal(whole.Length, consumed);
        Assert.Equal(new string('v', 1000), Text(args.Span(2, moved)));
    }

    [Fact]
    public void A_different_buffer_after_need_more_starts_afresh()
    {
        var parser = new RespRequestParser(RespLimits.Redis);
        var args = new CommandArguments();

        Assert.Equal(ParseStatus.NeedMore, parser.TryParse(Latin1("*2\r\n$3\r\nGET\r\n$100\r\n"), args, true, out _, out _, out _));
        Assert.Equal(ParseStatus.Complete, parser.TryParse(Latin1("PING\r\n"), args, true, out _, out _, out _));
        Assert.Equal(1, args.Count);

        Assert.Equal(ParseStatus.NeedMore, parser.TryParse(Latin1("PIN"), args, true, out _, out _, out _));
        Assert.Equal(ParseStatus.Complete, parser.TryParse(Latin1("*1\r\n$3\r\nGET\r\n"), args, true, out _, out _, out _));
        Assert.Equal("GET", Text(args.Span(0, Latin1("*1\r\n$3\r\nGET\r\n"))));

        Assert.Equal(ParseStatus.NeedMore, parser.TryParse(Latin1("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n"), args, true, out _, out _, out _));
        Assert.Equal(ParseStatus.NeedMore, parser.TryParse(Latin1("*3\r\n"), args, true, out _, out _, out _));
    }

    [Fact]
    public void Pipelined_commands_parse_without_allocating()
    {
        var pipeline = Enumerable.Range(0, 100).SelectMany(i => Multibulk("SET", "key:" + i, "value")).ToArray();
        var parser = new RespRequestParser(RespLimits.Redis);
        var args = new CommandArguments();
        ParseAllInto(parser, args, pipeline);

        var before = GC.GetAllocatedBytesForCurrentThread();
        var count = ParseAllInto(parser, args, pipeline);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(100, count);
        Assert.Equal(0, allocated);
    }

    private static int ParseAllInto(RespRequestParser parser, CommandArguments args, ReadOnlySpan<byte> pipeline)
    {
        var count = 0;
        while (parser.TryParse(pipeline, args, true, out var consumed, out _, out _) == ParseStatus.Complete)
        {
            pipeline = pipeline[consumed..];
            count++;
        }

        return count;
    }
}

using PikaIngest.Node.Resp;

namespace PikaIngest.Node.UnitTests.Resp;

/// <summary>
/// The error texts as redis-server 7.0.15 sends them. Each was observed by writing the request to
/// <c>redis-server --port 6390 --save ''</c> over a raw socket (a requirepass server on 6391, a replica
/// of 6390 on 6392) and reading the reply bytes; the request is given next to each.
/// </summary>
public sealed class RespErrorsTests
{
    [Theory]
    // *1 $3 GET                                  → -ERR wrong number of arguments for 'get' command
    [InlineData("get", "ERR wrong number of arguments for 'get' command")]
    // *2 $6 CONFIG $3 GET                        → -ERR wrong number of arguments for 'config|get' command
    [InlineData("config|get", "ERR wrong number of arguments for 'config|get' command")]
    public void Wrong_number_of_arguments_names_the_lower_case_full_name(string command, string expected) =>
        Assert.Equal(expected, RespErrors.WrongNumberOfArguments(command));

    [Fact]
    public void Texts_are_redis_7_0s()
    {
        // SET k v XX NX
        Assert.Equal("ERR syntax error", RespErrors.Syntax);
        // SET k a; INCR k. Also SELECT x and SET k v EX x.
        Assert.Equal("ERR value is not an integer or out of range", RespErrors.NotAnInteger);
        // SET k v EX 0 and SET k v EX -1
        Assert.Equal("ERR invalid expire time in 'set' command", RespErrors.InvalidExpireTime("set"));
        // SET n 9223372036854775807; INCR n
        Assert.Equal("ERR increment or decrement would overflow", RespErrors.IncrementOverflow);
        // PING before AUTH on the requirepass server
        Assert.Equal("NOAUTH Authentication required.", RespErrors.NoAuth);
        // AUTH x on the requirepass server; AUTH u x without one
        Assert.Equal("WRONGPASS invalid username-password pair or user is disabled.", RespErrors.WrongPass);
        // AUTH x without requirepass
        Assert.Equal("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?", RespErrors.AuthWithoutPassword);
        // SELECT 16
        Assert.Equal("ERR DB index is out of range", RespErrors.DbIndexOutOfRange);
        // SETRANGE big 536870912 x
        Assert.Equal("ERR string exceeds maximum allowed size (proto-max-bulk-len)", RespErrors.StringTooLong);
        // SET k v on the replica
        Assert.Equal("READONLY You can't write against a read only replica.", RespErrors.ReadOnlyReplica);
        // SCAN abc (SCAN -1 is accepted)
        Assert.Equal("ERR invalid cursor", RespErrors.InvalidCursor);
    }

    [Fact]
    public void Protocol_error_texts_are_redis_7_0s()
    {
        // *2147483648, *-0, *+1, *01, *, "* 1", "*1 "
        Assert.Equal("ERR Protocol error: invalid multibulk length", RespErrors.ProtocolInvalidMultibulkLength);
        // *1 then $-1, $536870913, $, $-0, "$4 ", $+4, $04
        Assert.Equal("ERR Protocol error: invalid bulk length", RespErrors.ProtocolInvalidBulkLength);
        // '*' and 65536 digits without CR
        Assert.Equal("ERR Protocol error: too big mbulk count string", RespErrors.ProtocolTooBigMultibulkCount);
        // *1 then 65537 '$' without CR
        Assert.Equal("ERR Protocol error: too big bulk count string", RespErrors.ProtocolTooBigBulkCount);
        // *11 on the requirepass server before AUTH
        Assert.Equal("ERR Protocol error: unauthenticated multibulk length", RespErrors.ProtocolUnauthenticatedMultibulkLength);
        // *2 $4 AUTH $16385 on the requirepass server
        Assert.Equal("ERR Protocol error: unauthenticated bulk length", RespErrors.ProtocolUnauthenticatedBulkLength);
        // 65537 bytes of 'A'
        Assert.Equal("ERR Protocol error: too big inline request", RespErrors.ProtocolTooBigInline);
        // ECHO "abc
        Assert.Equal("ERR Protocol error: unbalanced quotes in request", RespErrors.ProtocolUnbalancedQuotes);
        // *1 then foo\r\n
        Assert.Equal("ERR Protocol error: expected '$', got 'f'", RespErrors.ExpectedDollar((byte)'f'));
    }
}

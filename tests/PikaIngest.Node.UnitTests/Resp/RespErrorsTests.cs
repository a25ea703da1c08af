using PikaIngest.Node.Resp;
using static PikaIngest.Node.UnitTests.Resp.Resp;

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
    public void String_and_bitmap_error_texts_are_redis_7_0s()
    {
        // SETRANGE k -1 x
        Assert.Equal("ERR offset is out of range", RespErrors.OffsetOutOfRange);
        // INCRBYFLOAT k x
        Assert.Equal("ERR value is not a valid float", RespErrors.NotAValidFloat);
        // INCRBYFLOAT k inf
        Assert.Equal("ERR increment would produce NaN or Infinity", RespErrors.NaNOrInfinity);
        // SETBIT k 4294967296 1
        Assert.Equal("ERR bit offset is not an integer or out of range", RespErrors.BitOffsetOutOfRange);
        // SETBIT k 0 2
        Assert.Equal("ERR bit is not an integer or out of range", RespErrors.BitValueOutOfRange);
        // SET k a; BITPOS k 2
        Assert.Equal("ERR The bit argument must be 1 or 0.", RespErrors.BitArgumentNotBinary);
        // BITOP NOT d a b
        Assert.Equal("ERR BITOP NOT must be called with a single source key.", RespErrors.BitopNotSingleSource);
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

    [Theory]
    // Each: the command sent as a multibulk, and the reply of redis-server 7.0.15 without '-' and CRLF.
    [InlineData(new[] { "NOPE" }, "ERR unknown command 'NOPE', with args beginning with: ")]
    [InlineData(new[] { "nope", "" }, "ERR unknown command 'nope', with args beginning with: '' ")]
    [InlineData(new[] { "NOPE", "a", "b c", "d'e" }, "ERR unknown command 'NOPE', with args beginning with: 'a' 'b c' 'd'e' ")]
    [InlineData(new[] { "NOPE", "a\r\nb", "c\nd" }, "ERR unknown command 'NOPE', with args beginning with: 'a  b' 'c d' ")]
    [InlineData(new[] { "NO\r\nPE", "x" }, "ERR unknown command 'NO  PE', with args beginning with: 'x' ")]
    [InlineData(new[] { "\r\nNOPE\r\n" }, "ERR unknown command '  NOPE  ', with args beginning with: ")]
    [InlineData(new[] { "NOPE", "a\0b", "c" }, "ERR unknown command 'NOPE', with args beginning with: 'a' 'c' ")]
    [InlineData(new[] { "NOPE", "\xe9\xff" }, "ERR unknown command 'NOPE', with args beginning with: '\xe9\xff' ")]
    public void Unknown_command_quotes_its_arguments_as_redis_does(string[] command, string expected) =>
        Assert.Equal("-" + expected + "\r\n", UnknownCommandReply(command));

    [Fact]
    public void Unknown_command_cuts_the_name_and_arguments_at_128_bytes_as_redis_does()
    {
        // NOPE with one 200-byte argument: the argument is cut to 128.
        Assert.Equal(
            "-ERR unknown command 'NOPE', with args beginning with: '" + new string('x', 128) + "' \r\n",
            UnknownCommandReply("NOPE", new string('x', 200)));
        // A 200-byte name: cut to 128.
        Assert.Equal(
            "-ERR unknown command '" + new string('N', 128) + "', with args beginning with: 'x' \r\n",
            UnknownCommandReply(new string('N', 200), "x"));
        // 100 a's then 100 b's: the list is 103 bytes after the first, so the second gets 25.
        Assert.Equal(
            "-ERR unknown command 'NOPE', with args beginning with: '" + new string('a', 100) + "' '" + new string('b', 25) + "' \r\n",
            UnknownCommandReply("NOPE", new string('a', 100), new string('b', 100), "c"));
        // Six 20-byte arguments and two more: five fit whole (115 bytes), the sixth gets 13, then it stops.
        Assert.Equal(
            "-ERR unknown command 'NOPE', with args beginning with: 'aaaaaaaaaaaaaaaaaaaa' 'bbbbbbbbbbbbbbbbbbbb' 'cccccccccccccccccccc' 'dddddddddddddddddddd' 'eeeeeeeeeeeeeeeeeeee' 'fffffffffffff' \r\n",
            UnknownCommandReply("NOPE", new string('a', 20), new string('b', 20), new string('c', 20), new string('d', 20), new string('e', 20), new string('f', 20), "g", "h"));
    }

    [Fact]
    public void Unknown_command_of_the_longest_name_and_list_fits()
    {
        // A 70000-byte name, then 124 a's: the list is 127 bytes, one short of the limit, so one byte of the
        // next argument is taken (312 bytes from redis-server, as here).
        Assert.Equal(
            "-ERR unknown command '" + new string('N', 128) + "', with args beginning with: '" + new string('a', 124) + "' 'b' \r\n",
            UnknownCommandReply(new string('N', 70000), new string('a', 124), new string('b', 50), "c"));
    }

    private static string UnknownCommandReply(params string[] command)
    {
        var buffer = Multibulk(command);
        var args = new CommandArguments();
        Assert.Equal(ParseStatus.Complete, new RespRequestParser(RespLimits.Redis).TryParse(buffer, args, true, out _, out _, out _));
        using var writer = new RespWriter();
        RespErrors.WriteUnknownCommand(writer, args, buffer);
        return Text(writer.WrittenSpan);
    }

    [Fact]
    public void Server_command_texts_are_redis_7_0s()
    {
        // Observed with redis-cli against redis-server --databases 1 (7.0.15), the request next to each.
        // MOVE k 0
        Assert.Equal("ERR source and destination objects are the same", RespErrors.SameObject);
        // SELECT 99999999999 and MOVE k 99999999999
        Assert.Equal("ERR value is out of range, value must between -2147483648 and 2147483647", RespErrors.IntOutOfRange);
        // SWAPDB x 0, SWAPDB 0 x
        Assert.Equal("ERR invalid first DB index", RespErrors.InvalidFirstDbIndex);
        Assert.Equal("ERR invalid second DB index", RespErrors.InvalidSecondDbIndex);
        // SET k 1; OBJECT FREQ k (maxmemory-policy noeviction)
        Assert.Equal("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.", RespErrors.LfuNotSelected);
        // CLIENT KILL 1.2.3.4:5; CLIENT KILL ID x; CLIENT LIST ID x; CLIENT SETNAME "a b"
        Assert.Equal("ERR No such client", RespErrors.NoSuchClient);
        Assert.Equal("ERR client-id should be greater than 0", RespErrors.ClientIdNotPositive);
        Assert.Equal("ERR Invalid client ID", RespErrors.InvalidClientId);
        Assert.Equal("ERR Client names cannot contain spaces, newlines or special characters.", RespErrors.InvalidClientName);
        // CLIENT KILL TYPE foo; CLIENT KILL USER nobody
        Assert.Equal("ERR Unknown client type 'foo'", RespErrors.UnknownClientType("foo"));
        Assert.Equal("ERR No such user 'nobody'", RespErrors.NoSuchUser("nobody"));
        // CONFIG REWRITE (started without a config file)
        Assert.Equal("ERR The server is running without a config file", RespErrors.NoConfigFile);
        // CONFIG SET foo bar; CONFIG SET databases 2; CONFIG SET maxclients abc; CONFIG SET maxclients 0; CONFIG SET maxclients 10 maxclients 11
        Assert.Equal("ERR Unknown option or number of arguments for CONFIG SET - 'foo'", RespErrors.ConfigSetUnknownOption("foo"));
        Assert.Equal("ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config", RespErrors.ConfigSetFailed("databases", RespErrors.ConfigImmutable));
        Assert.Equal("ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument couldn't be parsed into an integer", RespErrors.ConfigSetFailed("maxclients", RespErrors.ConfigNotAnInteger));
        Assert.Equal("ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument must be between 1 and 4294967295 inclusive", RespErrors.ConfigSetFailed("maxclients", RespErrors.ConfigOutOfRange(1, 4294967295)));
        Assert.Equal("ERR CONFIG SET failed (possibly related to argument 'maxclients') - duplicate parameter", RespErrors.ConfigSetFailed("maxclients", RespErrors.ConfigDuplicate));
    }
}

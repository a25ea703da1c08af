using System.Text;
using PikaIngest.Node.Tests.Support;

namespace PikaIngest.Node.Tests;

/// <summary>
/// The same scripted commands against Debian's redis-server and against pika-node; every reply must
/// be identical. Commands whose replies legitimately differ (INFO, SCAN cursors, timings) are
/// tested elsewhere.
/// </summary>
public sealed class DifferentialTests
{
    internal static readonly string[][] Script =
    [
        ["PING"], ["PING", "hello"], ["ECHO", "x y"], ["PING", "a", "b"],
        ["SET", "a", "1"], ["GET", "a"], ["GET", "missing"], ["get", "a"],
        ["SET", "a", "2", "NX"], ["SET", "a", "3", "XX"], ["GET", "a"],
        ["SET", "b", "v", "XX"], ["SET", "b", "v", "nx"], ["GET", "b"],
        ["SET", "c", "v", "EX", "1000"], ["TTL", "c"], ["SET", "c", "w", "KEEPTTL"], ["TTL", "c"], ["GET", "c"],
        ["SET", "c", "w"], ["TTL", "c"],
        ["SET", "d", "v", "EX", "0"], ["SET", "d", "v", "EX", "-1"], ["SET", "d", "v", "EX", "abc"], ["SET", "d", "v", "PX", "0"],
        ["SET", "d", "v", "EX", "10", "PX", "10"], ["SET", "d", "v", "NX", "XX"], ["SET", "d", "v", "KEEPTTL", "EX", "5"],
        ["SET", "d", "v", "EX"], ["SET", "d", "v", "FOO"], ["SET", "d", "v", "EX", "9223372036854775807"],
        ["SET", "d", "v", "GET"], ["SET", "d", "w", "GET"], ["SET", "d", "x", "NX", "GET"], ["GET", "d"],
        ["SET", "e", "v", "EXAT", "4102444800"], ["EXISTS", "e"],
        ["SET", "f", "v", "PXAT", "1000"], ["GET", "f"], ["EXISTS", "f"],
        ["SETNX", "a", "x"], ["SETNX", "g", "x"], ["GET", "g"],
        ["SETEX", "h", "1000", "v"], ["TTL", "h"], ["SETEX", "h", "0", "v"], ["SETEX", "h", "abc", "v"], ["PSETEX", "i", "1000000", "v"], ["TTL", "i"],
        ["MSET", "j", "1", "k", "2"], ["MSET", "j"], ["MSET", "j", "1", "k"], ["MGET", "j", "k", "missing", "a"],
        ["INCR", "j"], ["INCRBY", "j", "10"], ["DECR", "j"], ["DECRBY", "j", "5"], ["INCRBY", "j", "-3"], ["GET", "j"],
        ["INCR", "new-counter"], ["DECR", "new-counter2"], ["INCRBY", "j", "abc"], ["INCRBY", "j", "1.5"],
        ["SET", "s", "abc"], ["INCR", "s"], ["SET", "s", " 1"], ["INCR", "s"], ["SET", "s", "01"], ["INCR", "s"],
        ["SET", "big", "9223372036854775807"], ["INCR", "big"], ["DECRBY", "big", "-1"], ["SET", "small", "-9223372036854775808"], ["DECR", "small"],
        ["DECRBY", "j", "-9223372036854775808"], ["INCRBY", "j", "9223372036854775808"],
        ["SET", "ttl-kept", "5", "EX", "1000"], ["INCR", "ttl-kept"], ["TTL", "ttl-kept"],
        ["APPEND", "j", "xyz"], ["GET", "j"], ["APPEND", "app", "abc"], ["APPEND", "app", "def"], ["GET", "app"], ["STRLEN", "app"], ["STRLEN", "none"],
        ["DEL", "a", "b", "missing"], ["EXISTS", "a", "j", "j", "missing"], ["UNLINK", "g"], ["EXISTS", "g"],
        ["EXPIRE", "j", "1000"], ["TTL", "j"], ["EXPIRE", "j", "1000", "NX"], ["EXPIRE", "j", "2000", "XX"], ["TTL", "j"],
        ["EXPIRE", "j", "500", "GT"], ["EXPIRE", "j", "500", "LT"], ["TTL", "j"], ["EXPIRE", "j", "10", "NX", "XX"], ["EXPIRE", "j", "10", "GT", "LT"],
        ["EXPIRE", "j", "10", "FOO"], ["EXPIRE", "j", "abc"], ["EXPIRE", "missing", "10"], ["EXPIRE", "k", "100", "GT"], ["EXPIRE", "k", "100", "LT"], ["TTL", "k"],
        ["PERSIST", "j"], ["TTL", "j"], ["PERSIST", "j"], ["PERSIST", "missing"],
        ["PEXPIRE", "j", "5000000"], ["TTL", "j"], ["EXPIREAT", "j", "4102444800"], ["EXISTS", "j"], ["PEXPIREAT", "j", "1000"], ["EXISTS", "j"],
        ["EXPIRE", "k", "-1"], ["EXISTS", "k"], ["EXPIRE", "k", "9223372036854775807"],
        ["SET", "k", "v"], ["EXPIRE", "k", "9223372036854775807"], ["PEXPIRE", "k", "9223372036854775807"], ["TTL", "k"],
        ["TTL", "missing"], ["PTTL", "missing"], ["TYPE", "app"], ["TYPE", "missing"],
        ["SELECT", "0"], ["SELECT", "x"],
        ["GET"], ["SET", "x"], ["GET", "a", "b"], ["FOO", "bar", "baz"], ["FOO"], ["SETEX", "a", "1"],
        ["AUTH", "x"], ["AUTH", "user", "x"], ["AUTH", "default", "anything"],
        ["SET", "bin\u0000key", "va\r\nlue"], ["GET", "bin\u0000key"], ["STRLEN", "bin\u0000key"],
        ["SET", "", "empty key"], ["GET", ""], ["SET", "empty value", ""], ["GET", "empty value"], ["STRLEN", "empty value"],
        ["DBSIZE"],
        ["SCAN", "x"], ["SCAN", "0", "COUNT", "0"], ["SCAN", "0", "COUNT", "x"], ["SCAN", "0", "FOO"],
        ["CLIENT", "SETNAME", "tester"], ["CLIENT", "GETNAME"],
        ["QUIT"],
    ];

    /// <summary>The keyspace commands and the GET-and-change string commands, with their error paths.</summary>
    internal static readonly string[][] KeyspaceScript =
    [
        ["SET", "a", "1"], ["GETSET", "a", "2"], ["GETSET", "missing-gs", "v"], ["GET", "missing-gs"], ["GETSET", "a"], ["GETSET", "a", "1", "2"],
        ["SET", "t", "v", "EX", "1000"], ["GETSET", "t", "w"], ["TTL", "t"],
        ["GETDEL", "a"], ["GETDEL", "a"], ["EXISTS", "a"], ["GETDEL"],
        ["SET", "g", "v"], ["GETEX", "g"], ["GETEX", "g", "EX", "1000"], ["TTL", "g"], ["GETEX", "g", "PX", "2000000"], ["TTL", "g"],
        ["GETEX", "g", "EXAT", "4102444800"], ["EXPIRETIME", "g"], ["GETEX", "g", "PXAT", "4102444800123"], ["PEXPIRETIME", "g"], ["EXPIRETIME", "g"],
        ["GETEX", "g", "PERSIST"], ["TTL", "g"], ["GETEX", "g", "PERSIST", "PERSIST"], ["GETEX", "g", "EX", "10", "EX", "1000"], ["TTL", "g"],
        ["GETEX", "g", "EX", "10", "PX", "10"], ["GETEX", "g", "PERSIST", "EX", "10"], ["GETEX", "g", "EX", "10", "PERSIST"], ["GETEX", "g", "EX"],
        ["GETEX", "g", "EX", "0"], ["GETEX", "g", "EX", "-5"], ["GETEX", "g", "EX", "x"], ["GETEX", "g", "PX", "9223372036854775807"], ["GETEX", "g", "EX", "9223372036854775807"],
        ["GETEX", "g", "FOO"], ["GETEX", "g", "KEEPTTL"], ["GETEX", "g", "NX"], ["GETEX", "missing", "EX", "10"], ["GETEX", "missing", "EX", "0"],
        ["GETEX", "g", "PXAT", "1"], ["EXISTS", "g"], ["GETEX"],
        ["SET", "s", "v", "EX", "10", "EX", "1000"], ["TTL", "s"], ["SET", "s", "v", "KEEPTTL", "KEEPTTL"], ["TTL", "s"], ["SET", "s", "v", "NX", "NX"], ["SET", "s", "v", "XX", "XX"],
        ["SET", "s", "v", "GET", "GET"], ["SET", "s", "v", "EX", "10", "PXAT", "10"], ["SET", "s", "v", "PERSIST"],
        ["MSETNX", "m1", "1", "m2", "2"], ["MGET", "m1", "m2"], ["MSETNX", "m2", "x", "m3", "3"], ["EXISTS", "m3"], ["MSETNX", "m4", "1", "m4", "2"], ["GET", "m4"],
        ["MSETNX", "m5"], ["MSETNX", "m5", "1", "m6"],
        ["EXPIRETIME", "missing"], ["PEXPIRETIME", "missing"], ["EXPIRETIME", "m1"], ["PEXPIRETIME", "m1"], ["PEXPIREAT", "m1", "4102444800999"], ["EXPIRETIME", "m1"], ["PEXPIRETIME", "m1"],
        ["EXPIRETIME"], ["EXPIRETIME", "a", "b"],
        ["TOUCH", "m1", "m1", "missing", "m2"], ["TOUCH"],
        ["RENAME", "m1", "r1"], ["GET", "r1"], ["EXISTS", "m1"], ["PEXPIRETIME", "r1"], ["RENAME", "m1", "r1"], ["RENAME", "r1", "r1"], ["GET", "r1"], ["RENAME", "missing", "missing"],
        ["RENAME", "r1", "m2"], ["GET", "m2"], ["PEXPIRETIME", "m2"], ["RENAME", "r1"],
        ["RENAMENX", "m2", "m4"], ["RENAMENX", "m2", "m2"], ["RENAMENX", "m2", "r2"], ["GET", "r2"], ["RENAMENX", "missing", "r3"], ["RENAMENX", "missing", "missing"],
        ["COPY", "r2", "c1"], ["GET", "c1"], ["PEXPIRETIME", "c1"], ["COPY", "r2", "c1"], ["COPY", "m4", "c1", "REPLACE"], ["GET", "c1"], ["PEXPIRETIME", "c1"], ["COPY", "m4", "m4"],
        ["COPY", "missing", "c2"], ["COPY", "missing", "missing"], ["COPY", "m4", "c3", "DB", "0"], ["COPY", "m4", "c4", "DB", "1"], ["COPY", "m4", "c4", "DB", "x"], ["COPY", "m4", "c4", "DB"],
        ["COPY", "m4", "c4", "FOO"], ["COPY", "m4", "c3", "REPLACE", "REPLACE", "DB", "0", "DB", "0"], ["COPY", "m4"], ["EXISTS", "c4"],
        ["TYPE", "c3"], ["SCAN", "0", "TYPE", "list"], ["SCAN", "0", "TYPE", "foo"], ["SCAN", "0", "COUNT", "1000", "TYPE", "list", "MATCH", "*"],
        ["FLUSHDB", "FOO"], ["FLUSHDB", "ASYNC", "SYNC"], ["FLUSHALL", "x"], ["DBSIZE"],
        ["FLUSHDB"], ["DBSIZE"], ["GET", "c3"], ["RANDOMKEY"], ["KEYS", "*"],
        ["SET", "only", "v"], ["RANDOMKEY"], ["SET", "only2", "w"], ["FLUSHALL", "SYNC"], ["RANDOMKEY"], ["DBSIZE"], ["SET", "after", "x"], ["GET", "after"], ["FLUSHALL", "ASYNC"], ["DBSIZE"],
        ["RANDOMKEY", "x"],
    ];

    [Fact]
    public async Task Keyspace_commands_reply_like_redis_server()
    {
        var differences = await Differential.CompareAsync(KeyspaceScript);
        Assert.True(differences.Length == 0, "replies differ:\n" + differences);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Random_command_sequences_reply_like_redis_server(int seed)
    {
        await using var redis = await RedisServerProcess.StartAsync(Differential.RedisFlags);
        await using var node = await InProcessNode.StartAsync();
        using var expected = await RawClient.ConnectAsync(redis.Port);
        using var actual = await node.RawAsync();

        var differences = new StringBuilder();
        var step = 0;
        foreach (var command in new RandomCommands(seed).Take(3000))
        {
            step++;
            if (command[0] == "DBSIZE")
            {
                // Redis counts keys past their expiry until something touches them, the node only live ones:
                // a full SCAN makes Redis reap them first (its reply, a cursor, is not compared).
                await expected.CallAsync("SCAN", "0", "COUNT", "1000");
            }

            var want = await expected.CallAsync(command);
            var got = await actual.CallAsync(command);
            if (!RandomCommands.SameReply(command, want, got))
            {
                differences.Append($"step {step}: ").Append(string.Join(' ', command)).Append("\n  redis:     ").Append(want).Append("\n  pika-node: ").Append(got).Append('\n');
            }
        }

        Assert.True(differences.Length == 0, $"seed {seed}: replies differ:\n{differences}");
        await expected.CallAsync("SCAN", "0", "COUNT", "1000");
        Assert.Equal(await expected.CallAsync("DBSIZE"), await actual.CallAsync("DBSIZE"));
    }

    [Fact]
    public async Task Every_reply_matches_redis_server()
    {
        await using var redis = await RedisServerProcess.StartAsync(Differential.RedisFlags);
        await using var node = await InProcessNode.StartAsync();
        using var expected = await RawClient.ConnectAsync(redis.Port);
        using var actual = await node.RawAsync();

        var differences = await Differential.CompareAsync(Script, expected, actual);

        Assert.True(differences.Length == 0, "replies differ:\n" + differences);
        Assert.True(await actual.IsClosedAsync(TimeSpan.FromSeconds(5)), "QUIT must close the connection");
    }

    public static TheoryData<string> ProtocolErrors => new()
    {
        "*1\r\n+PING\r\n",
        "*x\r\n",
        "*2\r\n$3\r\nGET\r\n$-5\r\n",
        "*2\r\n$3\r\nGET\r\n$abc\r\n",
        "*1\r\n$9999999999999\r\n",
        "*99999999999\r\n",
        "*3000000000\r\n",
        "SET a \"unbalanced\r\n",
        "SET a 'x\r\n",
        "*1\r\n$4\r\nPINGxx\r\n",
    };

    [Theory]
    [MemberData(nameof(ProtocolErrors))]
    public async Task Protocol_errors_are_answered_and_closed_like_redis(string bytes)
    {
        await using var redis = await RedisServerProcess.StartAsync();
        await using var node = await InProcessNode.StartAsync();

        async Task<(string Reply, bool Closed)> Probe(int port)
        {
            using var client = await RawClient.ConnectAsync(port);
            await client.SendAsync(bytes);
            string reply;
            try
            {
                reply = await client.ReadReplyAsync(TimeSpan.FromSeconds(5));
            }
            catch (Exception e) when (e is EndOfStreamException or OperationCanceledException)
            {
                reply = "(no reply)";
            }

            return (reply, await client.IsClosedAsync(TimeSpan.FromSeconds(2)));
        }

        Assert.Equal(await Probe(redis.Port), await Probe(node.Port));
    }

    [Fact]
    public async Task Inline_commands_match_redis()
    {
        await using var redis = await RedisServerProcess.StartAsync();
        await using var node = await InProcessNode.StartAsync();
        string[] lines = ["PING", "SET a \"x y\\n\"", "GET a", "set c \"\\x41\\x42\"", "GET c", "", "   ", "MGET a c", "EXISTS a b c"];

        async Task<List<string>> Run(int port)
        {
            using var client = await RawClient.ConnectAsync(port);
            var replies = new List<string>();
            foreach (var line in lines)
            {
                await client.SendAsync(line + "\r\n");
                if (line.Trim().Length > 0)
                {
                    replies.Add(await client.ReadReplyAsync());
                }
            }

            return replies;
        }

        Assert.Equal(await Run(redis.Port), await Run(node.Port));
    }
}

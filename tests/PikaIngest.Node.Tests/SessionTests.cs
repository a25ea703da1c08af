using System.Text;
using PikaIngest.Node.Tests.Support;
using StackExchange.Redis;

namespace PikaIngest.Node.Tests;

/// <summary>Clients, pipelining, partial frames, large values and AUTH against an in-process node.</summary>
public sealed class SessionTests
{
    [Fact]
    public async Task StackExchange_Redis_connects_and_round_trips_binary_values()
    {
        await using var node = await InProcessNode.StartAsync();
        await using var redis = await node.ConnectAsync();
        var db = redis.GetDatabase();
        var value = Enumerable.Range(0, 100_000).Select(i => (byte)(i * 7)).ToArray();

        Assert.True(await db.StringSetAsync("bin", value));
        Assert.Equal(value, (byte[])(await db.StringGetAsync("bin"))!);
        Assert.True(await db.StringSetAsync("ttl", "v", TimeSpan.FromSeconds(100)));
        Assert.InRange((await db.KeyTimeToLiveAsync("ttl"))!.Value.TotalSeconds, 95, 100);
        Assert.Equal(5, await db.StringIncrementAsync("counter", 5));
        Assert.Equal(2, await db.KeyDeleteAsync(["bin", "counter", "missing"]));
        Assert.False(await db.KeyExistsAsync("bin"));
        var keys = new List<string>();
        await foreach (var key in redis.GetServer(redis.GetEndPoints()[0]).KeysAsync(pattern: "t*", pageSize: 1))
        {
            keys.Add(key!);
        }

        Assert.Equal(["ttl"], keys);
    }

    [Fact]
    public async Task Hello_and_time_answer_in_redis_shapes()
    {
        await using var redis = await RedisServerProcess.StartAsync(Differential.RedisFlags);
        await using var node = await InProcessNode.StartAsync();
        using var expected = await RawClient.ConnectAsync(redis.Port);
        using var actual = await node.RawAsync();

        // HELLO's only varying field is the connection id: each must be that connection's CLIENT ID.
        foreach (var client in (RawClient[])[expected, actual])
        {
            var id = (await client.CallAsync("CLIENT", "ID"))[1..];
            Assert.Equal($"*14[$server,$redis,$version,$7.0.15,$proto,:2,$id,:{id},$mode,$standalone,$role,$master,$modules,*0[]]", await client.CallAsync("HELLO", "2"));
            Assert.Equal(await expected.CallAsync("HELLO", "4"), await client.CallAsync("HELLO", "4"));
        }

        // Options and their errors, with the connection id (the one field that differs) replaced.
        string[][] hellos =
        [
            ["HELLO", "x"], ["HELLO", "2", "x"], ["HELLO", "2", "AUTH"], ["HELLO", "2", "AUTH", "default"], ["HELLO", "2", "SETNAME"],
            ["HELLO", "2", "SETNAME", "bad name"], ["CLIENT", "GETNAME"], ["HELLO", "2", "SETNAME", "named", "x"], ["CLIENT", "GETNAME"],
            ["HELLO", "2", "SETNAME", "named"], ["CLIENT", "GETNAME"], ["HELLO", "2", "AUTH", "default", "any", "SETNAME", "again"], ["CLIENT", "GETNAME"],
            ["HELLO", "2", "AUTH", "DEFAULT", "any"], ["HELLO", "2", "AUTH", "nobody", "any"], ["HELLO"],
        ];
        foreach (var hello in hellos)
        {
            var want = await expected.CallAsync(hello);
            var got = await actual.CallAsync(hello);
            Assert.Equal(WithoutId(want), WithoutId(got));
        }

        // The node speaks RESP2 only: HELLO 3, which switches redis-server to RESP3, is refused as Redis refuses an unknown version.
        Assert.Equal("-NOPROTO unsupported protocol version", await actual.CallAsync("HELLO", "3"));
        Assert.Equal("+OK", await actual.CallAsync("CLIENT", "SETINFO", "lib-name", "tests"));

        // TIME: seconds and microseconds as bulk strings, close to the test's clock and to redis-server's.
        var before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var time = await actual.CallAsync("TIME");
        var parts = time[3..^1].Split(',');
        Assert.Matches(@"^\*2\[\$\d+,\$\d{1,6}\]$", time);
        var nodeMs = (long.Parse(parts[0][1..], System.Globalization.CultureInfo.InvariantCulture) * 1000) + (long.Parse(parts[1][1..], System.Globalization.CultureInfo.InvariantCulture) / 1000);
        Assert.InRange(nodeMs, before - 1000, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + 1000);
        Assert.Equal(await expected.CallAsync("TIME", "x"), await actual.CallAsync("TIME", "x"));
    }

    private static string WithoutId(string reply) => System.Text.RegularExpressions.Regex.Replace(reply, @"\$id,:\d+", "$id,:N");

    [Fact]
    public async Task Hello_authenticates_and_names_a_connection_as_redis_does_with_a_password()
    {
        await using var redis = await RedisServerProcess.StartAsync([.. Differential.RedisFlags, "--requirepass", "secret"]);
        await using var node = await InProcessNode.StartAsync(options => options with { RequirePass = "secret" });
        using var expected = await RawClient.ConnectAsync(redis.Port);
        using var actual = await node.RawAsync();
        string[][] script =
        [
            ["GET", "a"], ["HELLO"], ["HELLO", "2"], ["HELLO", "2", "SETNAME", "n"], ["CLIENT", "GETNAME"], ["HELLO", "2", "AUTH", "default", "wrong"],
            ["GET", "a"], ["HELLO", "2", "AUTH", "default", "secret", "SETNAME", "named"], ["CLIENT", "GETNAME"], ["GET", "a"], ["HELLO"],
        ];
        foreach (var command in script)
        {
            Assert.Equal(WithoutId(await expected.CallAsync(command)), WithoutId(await actual.CallAsync(command)));
        }
    }

    [Fact]
    public async Task Concurrent_clients_increment_without_losing_updates()
    {
        await using var node = await InProcessNode.StartAsync();
        const int Clients = 20;
        const int PerClient = 500;
        await Task.WhenAll(Enumerable.Range(0, Clients).Select(async _ =>
        {
            using var client = await node.RawAsync();
            for (var i = 0; i < PerClient; i++)
            {
                await client.SendCommandAsync("INCR", "shared");
            }

            for (var i = 0; i < PerClient; i++)
            {
                Assert.StartsWith(":", await client.ReadReplyAsync(), StringComparison.Ordinal);
            }
        }));

        using var check = await node.RawAsync();
        Assert.Equal($"${Clients * PerClient}", await check.CallAsync("GET", "shared"));
    }

    [Fact]
    public async Task A_pipeline_sent_in_one_write_is_answered_in_order()
    {
        await using var node = await InProcessNode.StartAsync();
        using var client = await node.RawAsync();
        var pipeline = new List<byte>();
        for (var i = 0; i < 10_000; i++)
        {
            pipeline.AddRange(RawClient.Encode("SET", $"k{i}", $"v{i}"));
            pipeline.AddRange(RawClient.Encode("GET", $"k{i}"));
        }

        await client.SendAsync([.. pipeline]);
        for (var i = 0; i < 10_000; i++)
        {
            Assert.Equal("+OK", await client.ReadReplyAsync());
            Assert.Equal($"$v{i}", await client.ReadReplyAsync());
        }
    }

    [Fact]
    public async Task Commands_arriving_one_byte_at_a_time_are_parsed_whole()
    {
        await using var node = await InProcessNode.StartAsync();
        using var client = await node.RawAsync();
        var bytes = RawClient.Encode("SET", "split", "across\r\nmany packets").Concat(Encoding.ASCII.GetBytes("GET split\r\n")).ToArray();
        foreach (var b in bytes)
        {
            await client.SendAsync([b]);
            await Task.Delay(1);
        }

        Assert.Equal("+OK", await client.ReadReplyAsync());
        Assert.Equal("$across\r\nmany packets", await client.ReadReplyAsync());
    }

    [Fact]
    public async Task A_large_value_arriving_in_pieces_is_stored_and_returned_intact_by_get_and_mget()
    {
        await using var node = await InProcessNode.StartAsync();
        await using var redis = await node.ConnectAsync();
        var value = new byte[32 << 20];
        new Random(7).NextBytes(value);

        Assert.True(await redis.GetDatabase().StringSetAsync("large", value));
        Assert.Equal(value, (byte[])(await redis.GetDatabase().StringGetAsync("large"))!);
        Assert.Equal(value.Length, await redis.GetDatabase().StringLengthAsync("large"));

        // Each large bulk is sent from the store's buffer, in its place between the reply's own bytes.
        Assert.True(await redis.GetDatabase().StringSetAsync("small", "s"));
        var values = await redis.GetDatabase().StringGetAsync(["large", "small", "missing", "large"]);
        Assert.Equal(value, (byte[])values[0]!);
        Assert.Equal("s", (string?)values[1]);
        Assert.True(values[2].IsNull);
        Assert.Equal(value, (byte[])values[3]!);
    }

    [Fact]
    public async Task Without_auth_only_auth_and_ping_work_and_large_frames_are_refused()
    {
        await using var node = await InProcessNode.StartAsync(o => o with { RequirePass = "s3cret" });
        using (var client = await node.RawAsync())
        {
            Assert.Equal("-NOAUTH Authentication required.", await client.CallAsync("GET", "a"));
            Assert.Equal("-NOAUTH Authentication required.", await client.CallAsync("INGEST_S3", "local", "manifests/x.json"));
            Assert.Equal("-WRONGPASS invalid username-password pair or user is disabled.", await client.CallAsync("AUTH", "wrong"));
            Assert.Equal("+PONG", await client.CallAsync("PING"));
            Assert.Equal("+OK", await client.CallAsync("AUTH", "s3cret"));
            Assert.Equal("+OK", await client.CallAsync("SET", "a", new string('x', 100_000)));
        }

        using (var stranger = await node.RawAsync())
        {
            await stranger.SendAsync("*2\r\n$3\r\nGET\r\n$100000\r\n");
            Assert.Equal("-ERR Protocol error: unauthenticated bulk length", await stranger.ReadReplyAsync());
            Assert.True(await stranger.IsClosedAsync(TimeSpan.FromSeconds(5)));
        }

        await using var redis = await node.ConnectAsync("s3cret");
        Assert.Equal(100_000, await redis.GetDatabase().StringLengthAsync("a"));
    }

    [Fact]
    public async Task Garbage_on_many_connections_never_takes_the_node_down_or_loses_data()
    {
        await using var node = await InProcessNode.StartAsync();
        using (var setup = await node.RawAsync())
        {
            Assert.Equal("+OK", await setup.CallAsync("SET", "kept", "value"));
        }

        var random = new Random(11);
        for (var i = 0; i < 200; i++)
        {
            using var client = await node.RawAsync();
            var garbage = new byte[random.Next(1, 4096)];
            random.NextBytes(garbage);
            if (i % 3 == 0)
            {
                garbage[0] = (byte)'*';
            }

            await client.SendAsync(garbage);
        }

        using var check = await node.RawAsync();
        Assert.Equal("+PONG", await check.CallAsync("PING"));
        Assert.Equal("$value", await check.CallAsync("GET", "kept"));
    }

    [Fact]
    public async Task Past_maxclients_a_connection_gets_an_error_and_is_closed()
    {
        await using var node = await InProcessNode.StartAsync(o => o with { MaxClients = 2 });
        using var first = await node.RawAsync();
        using var second = await node.RawAsync();
        Assert.Equal("+PONG", await first.CallAsync("PING"));
        Assert.Equal("+PONG", await second.CallAsync("PING"));

        using var third = await node.RawAsync();
        Assert.Equal("-ERR max number of clients reached", await third.ReadReplyAsync());
        Assert.True(await third.IsClosedAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task Expired_keys_are_swept_from_disk_in_the_background()
    {
        await using var node = await InProcessNode.StartAsync(o => o with { ExpireSweepInterval = TimeSpan.FromMilliseconds(20) });
        using var client = await node.RawAsync();
        for (var i = 0; i < 100; i++)
        {
            await client.CallAsync("SET", $"short{i}", "v", "PX", "30");
        }

        await client.CallAsync("SET", "long", "v", "EX", "1000");
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!(await client.CallAsync("INFO", "stats")).Contains("expired_keys:100\r\n", StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < deadline, "the sweep did not remove the expired keys");
            await Task.Delay(50);
        }

        // At the earliest possible time nothing has expired, so this counts every key still on disk.
        Assert.Equal(1, node.Node.Store.CountKeys(long.MinValue));
        Assert.Equal("$v", await client.CallAsync("GET", "long"));
    }

    [Fact]
    public async Task Set_with_a_relative_expiry_is_logged_with_an_absolute_one()
    {
        await using var node = await InProcessNode.StartAsync();
        using var client = await node.RawAsync();
        var before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await client.CallAsync("SET", "k", "v", "EX", "100");
        await client.CallAsync("EXPIRE", "k", "200");
        await client.CallAsync("INCR", "n");
        await node.StopAsync();

        using var reader = Binlog.BinlogReader.Open(node.Options.BinlogFolder, new Binlog.BinlogPosition(0, 0));
        var logged = new List<string>();
        while (reader.TryRead(out var item) == Binlog.BinlogReadStatus.Item)
        {
            logged.Add(Encoding.UTF8.GetString(item.Content.Span));
        }

        Assert.Equal(3, logged.Count);
        var set = logged[0].Split("\r\n");
        Assert.Equal(["*5", "$3", "SET", "$1", "k", "$1", "v", "$4", "PXAT"], set[..9]);
        Assert.InRange(long.Parse(set[10], System.Globalization.CultureInfo.InvariantCulture), before + 100_000, before + 110_000);
        Assert.Contains("PEXPIREAT", logged[1], StringComparison.Ordinal);
        Assert.Equal("*3\r\n$3\r\nSET\r\n$1\r\nn\r\n$1\r\n1\r\n", logged[2]);
    }
}

using System.Text.RegularExpressions;
using PikaIngest.Node.Binlog;
using PikaIngest.Node.Commands;
using PikaIngest.Node.Resp;
using PikaIngest.Node.Tests.Support;
using StackExchange.Redis;
using CommandFlags = PikaIngest.Node.Commands.CommandFlags;

namespace PikaIngest.Node.Tests;

/// <summary>
/// COMMAND generated from the table, CLIENT over several real connections, CONFIG SET taking effect, and the
/// commands the node refuses, against an in-process node through real clients.
/// </summary>
public sealed class ServerCommandTests
{
    [Fact]
    public async Task Command_count_and_command_list_the_table()
    {
        await using var node = await InProcessNode.StartAsync();
        await using var redis = await node.ConnectAsync();
        var db = redis.GetDatabase();

        Assert.Equal(CommandTable.All.Count, (long)await db.ExecuteAsync("COMMAND", "COUNT"));
        var all = (RedisResult[])(await db.ExecuteAsync("COMMAND"))!;
        Assert.Equal(CommandTable.All.Select(s => s.Name), all.Select(r => (string)((RedisResult[])r!)[0]!));
        var listed = ((RedisResult[])(await db.ExecuteAsync("COMMAND", "LIST"))!).Select(r => (string)r!);
        Assert.Equal(CommandTable.All.SelectMany(s => (CommandSpec[])[s, .. s.Subcommands]).Select(s => s.Name), listed);
        var connection = ((RedisResult[])(await db.ExecuteAsync("COMMAND", "LIST", "FILTERBY", "ACLCAT", "connection"))!).Select(r => (string)r!);
        Assert.Contains("client|kill", connection);
        Assert.DoesNotContain("get", connection);
        Assert.Equal(["config", "config|get", "config|set", "config|resetstat", "config|rewrite", "config|help"],
            ((RedisResult[])(await db.ExecuteAsync("COMMAND", "LIST", "FILTERBY", "PATTERN", "CONFIG*"))!).Select(r => (string)r!));
    }

    [Fact]
    public async Task Command_info_for_every_row_and_subcommand_is_consistent_with_the_row()
    {
        await using var node = await InProcessNode.StartAsync();
        await using var redis = await node.ConnectAsync();
        var db = redis.GetDatabase();

        foreach (var spec in CommandTable.All)
        {
            var reply = (RedisResult[])(await db.ExecuteAsync("COMMAND", "INFO", spec.Name.ToUpperInvariant()))!;
            AssertInfo(spec, (RedisResult[])reply.Single()!);
            foreach (var sub in spec.Subcommands)
            {
                AssertInfo(sub, (RedisResult[])((RedisResult[])(await db.ExecuteAsync("COMMAND", "INFO", sub.Name))!).Single()!);
            }
        }

        var mixed = (RedisResult[])(await db.ExecuteAsync("COMMAND", "INFO", "get", "lpush", "set"))!;
        Assert.Equal("get", (string)((RedisResult[])mixed[0]!)[0]!);
        Assert.True(mixed[1].IsNull);
        Assert.Equal("set", (string)((RedisResult[])mixed[2]!)[0]!);
    }

    private static void AssertInfo(CommandSpec spec, RedisResult[] info)
    {
        Assert.Equal(10, info.Length);
        Assert.Equal(spec.Name, (string)info[0]!);
        Assert.Equal(spec.Arity, (long)info[1]);
        var flags = ((RedisResult[])info[2]!).Select(f => (string)f!).ToList();
        Assert.Equal((spec.Flags & CommandFlags.Write) != 0, flags.Contains("write"));
        Assert.Equal((spec.Flags & CommandFlags.Admin) != 0, flags.Contains("admin"));
        Assert.Equal((spec.Flags & CommandFlags.Fast) != 0, flags.Contains("fast"));
        Assert.Equal((spec.Flags & CommandFlags.NoAuth) != 0, flags.Contains("no_auth"));
        Assert.False(flags.Contains("write") && flags.Contains("readonly"), spec.Name);
        Assert.Equal(spec.Keys != KeyPositions.None && (spec.Flags & CommandFlags.Write) == 0, flags.Contains("readonly") && spec.Keys != KeyPositions.None);
        Assert.Equal([spec.Keys.First, spec.Keys.Last, spec.Keys.Step], [(long)info[3], (long)info[4], (long)info[5]]);
        if (spec.Keys != KeyPositions.None)
        {
            // A key argument must fit the arity: the first key is an argument every call has.
            Assert.True(Math.Abs(spec.Arity) > spec.Keys.First, $"{spec.Name}: key {spec.Keys.First} past arity {spec.Arity}");
        }

        var categories = ((RedisResult[])info[6]!).Select(c => (string)c!).ToList();
        Assert.True(categories.Contains("@fast") ^ categories.Contains("@slow"), spec.Name);
        Assert.Equal(flags.Contains("write"), categories.Contains("@write"));
        Assert.Empty((RedisResult[])info[7]!);
        var keySpecs = (RedisResult[])info[8]!;
        Assert.Equal(spec.Keys == KeyPositions.None ? 0 : 1, keySpecs.Length);
        if (keySpecs.Length == 1)
        {
            var keySpec = (RedisResult[])keySpecs[0]!;
            Assert.Equal(["flags", "begin_search", "find_keys"], [(string)keySpec[0]!, (string)keySpec[2]!, (string)keySpec[4]!]);
            Assert.Equal(spec.Keys.First, (long)((RedisResult[])((RedisResult[])keySpec[3]!)[3]!)[1]);
            var range = (RedisResult[])((RedisResult[])keySpec[5]!)[3]!;
            Assert.Equal(spec.Keys.Last < 0 ? spec.Keys.Last : spec.Keys.Last - spec.Keys.First, (long)range[1]);
            Assert.Equal(spec.Keys.Step, (long)range[3]);
        }

        var subcommands = (RedisResult[])info[9]!;
        Assert.Equal(spec.Subcommands.Select(s => s.Name), subcommands.Select(s => (string)((RedisResult[])s!)[0]!));
        for (var i = 0; i < subcommands.Length; i++)
        {
            Assert.StartsWith(spec.Name + "|", spec.Subcommands[i].Name, StringComparison.Ordinal);
            AssertInfo(spec.Subcommands[i], (RedisResult[])subcommands[i]!);
        }
    }

    [Fact]
    public async Task Command_docs_gives_every_row_its_summary_and_group()
    {
        await using var node = await InProcessNode.StartAsync();
        await using var redis = await node.ConnectAsync();
        var db = redis.GetDatabase();

        var docs = ToMap((RedisResult[])(await db.ExecuteAsync("COMMAND", "DOCS"))!);
        Assert.Equal(CommandTable.All.Select(s => s.Name), docs.Keys);
        foreach (var spec in CommandTable.All)
        {
            AssertDocs(spec, ToMap((RedisResult[])docs[spec.Name]!));
        }

        var some = ToMap((RedisResult[])(await db.ExecuteAsync("COMMAND", "DOCS", "GET", "nope", "config|set"))!);
        Assert.Equal(["get", "config|set"], some.Keys);
    }

    private static void AssertDocs(CommandSpec spec, Dictionary<string, RedisResult> doc)
    {
        Assert.Equal(spec.Summary, (string)doc["summary"]!);
        Assert.Equal(spec.Group.ToString().ToLowerInvariant(), (string)doc["group"]!);
        Assert.Equal(spec.Subcommands.Count > 0, doc.ContainsKey("subcommands"));
        if (spec.Subcommands.Count > 0)
        {
            var subs = ToMap((RedisResult[])doc["subcommands"]!);
            Assert.Equal(spec.Subcommands.Select(s => s.Name), subs.Keys);
            foreach (var sub in spec.Subcommands)
            {
                AssertDocs(sub, ToMap((RedisResult[])subs[sub.Name]!));
            }
        }
    }

    private static Dictionary<string, RedisResult> ToMap(RedisResult[] pairs) =>
        pairs.Chunk(2).ToDictionary(p => (string)p[0]!, p => p[1]);

    [Fact]
    public async Task Container_help_lists_each_subcommand_from_the_table()
    {
        await using var node = await InProcessNode.StartAsync();
        using var client = await node.RawAsync();

        foreach (var container in CommandTable.All.Where(s => s.Subcommands.Count > 0))
        {
            var help = await client.CallAsync(container.Name, "HELP");
            Assert.StartsWith($"*{(2 * container.Subcommands.Count) + 1}[+{container.Name.ToUpperInvariant()} <subcommand>", help, StringComparison.Ordinal);
            foreach (var sub in container.Subcommands)
            {
                Assert.Contains("+    " + sub.Summary, help, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public async Task Unsupported_commands_are_real_redis_commands_refused_by_name_and_not_table_rows()
    {
        await using var redis = await RedisServerProcess.StartAsync(Differential.RedisFlags);
        await using var node = await InProcessNode.StartAsync();
        using var reference = await RawClient.ConnectAsync(redis.Port);
        using var client = await node.RawAsync();

        foreach (var name in UnsupportedCommands.Names)
        {
            Assert.Null(CommandTable.Find(System.Text.Encoding.ASCII.GetBytes(name)));
            Assert.StartsWith("*1[*10[$" + name + ",", await reference.CallAsync("COMMAND", "INFO", name), StringComparison.Ordinal);
            Assert.StartsWith($"-ERR '{name}' is not supported by pika-node: ", await client.CallAsync(name.ToUpperInvariant(), "k", "v"), StringComparison.Ordinal);
        }

        Assert.Equal("-" + RespErrors.NotSupported("lpush", "it serves strings only"), await client.CallAsync("LPUSH", "list", "a"));
        Assert.Equal("-" + RespErrors.NotSupported("multi", "it has no transactions: each command is applied and logged on its own"), await client.CallAsync("MULTI"));
        Assert.StartsWith("-ERR unknown command 'NOSUCH'", await client.CallAsync("NOSUCH"), StringComparison.Ordinal);
        Assert.Equal("+PONG", await client.CallAsync("PING"));
    }

    [Fact]
    public async Task Client_list_shows_every_connection_and_kill_closes_only_the_chosen_ones()
    {
        await using var node = await InProcessNode.StartAsync();
        using var a = await node.RawAsync();
        using var b = await node.RawAsync();
        using var c = await node.RawAsync();
        using var d = await node.RawAsync();
        Assert.Equal("+OK", await a.CallAsync("CLIENT", "SETNAME", "alpha"));
        Assert.Equal("+OK", await b.CallAsync("SET", "k", "v"));
        var ids = new List<long>();
        foreach (var client in (RawClient[])[a, b, c, d])
        {
            ids.Add(long.Parse((await client.CallAsync("CLIENT", "ID"))[1..], System.Globalization.CultureInfo.InvariantCulture));
        }

        var list = Lines(await a.CallAsync("CLIENT", "LIST"));
        Assert.Equal(ids, list.Select(l => long.Parse(l["id"], System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal(["alpha", "", "", ""], list.Select(l => l["name"]));
        Assert.Equal(["client|list", "client|id", "client|id", "client|id"], list.Select(l => l["cmd"]));
        Assert.All(list, l =>
        {
            Assert.Matches(@"^127\.0\.0\.1:\d+$", l["addr"]);
            Assert.Equal($"127.0.0.1:{node.Port}", l["laddr"]);
            Assert.True(int.Parse(l["fd"], System.Globalization.CultureInfo.InvariantCulture) > 2);
            Assert.Equal(["N", "0", "-1", "default", "2"], [l["flags"], l["db"], l["multi"], l["user"], l["resp"]]);
        });
        Assert.Equal(list.Select(l => l["addr"]).Distinct().Count(), list.Count);
        var info = Lines(await b.CallAsync("CLIENT", "INFO")).Single();
        Assert.Equal((list[1]["id"], list[1]["addr"], "client|info"), (info["id"], info["addr"], info["cmd"]));

        // Old form by address: +OK, and b is closed at once.
        Assert.Equal("+OK", await a.CallAsync("CLIENT", "KILL", list[1]["addr"]));
        Assert.True(await b.IsClosedAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal("-ERR No such client", await a.CallAsync("CLIENT", "KILL", list[1]["addr"]));

        // New form by ID, skipping the caller by default.
        Assert.Equal(":0", await c.CallAsync("CLIENT", "KILL", "ID", ids[2].ToString(System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal(":1", await a.CallAsync("CLIENT", "KILL", "ID", ids[2].ToString(System.Globalization.CultureInfo.InvariantCulture)));
        Assert.True(await c.IsClosedAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal("+PONG", await d.CallAsync("PING"));
        Assert.Equal("$v", await d.CallAsync("GET", "k"));
        await WaitUntilAsync(async () => Lines(await a.CallAsync("CLIENT", "LIST")).Count == 2);
        Assert.Equal([ids[0], ids[3]], Lines(await a.CallAsync("CLIENT", "LIST")).Select(l => long.Parse(l["id"], System.Globalization.CultureInfo.InvariantCulture)));

        // LADDR matches every connection; SKIPME no includes the caller, which is closed after its reply.
        Assert.Equal(":2", await a.CallAsync("CLIENT", "KILL", "LADDR", list[0]["laddr"], "SKIPME", "no"));
        Assert.True(await a.IsClosedAsync(TimeSpan.FromSeconds(5)));
        Assert.True(await d.IsClosedAsync(TimeSpan.FromSeconds(5)));
        using var e = await node.RawAsync();
        Assert.Equal("+PONG", await e.CallAsync("PING"));
    }

    private static List<Dictionary<string, string>> Lines(string bulk)
    {
        Assert.StartsWith("$", bulk, StringComparison.Ordinal);
        return [.. bulk[1..].Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' ').Select(f => f.Split('=', 2)).ToDictionary(f => f[0], f => f[1]))];
    }

    [Fact]
    public async Task Config_set_requirepass_applies_to_new_connections_and_auth()
    {
        await using var node = await InProcessNode.StartAsync();
        using var admin = await node.RawAsync();
        Assert.Equal("+OK", await admin.CallAsync("CONFIG", "SET", "requirepass", "s3cret"));
        Assert.Equal("*2[$requirepass,$s3cret]", await admin.CallAsync("CONFIG", "GET", "requirepass"));

        // As in Redis, a connection authenticated before keeps working.
        Assert.Equal("+PONG", await admin.CallAsync("PING"));
        using var fresh = await node.RawAsync();
        Assert.Equal("-" + RespErrors.NoAuth, await fresh.CallAsync("GET", "k"));
        Assert.Equal("-" + RespErrors.WrongPass, await fresh.CallAsync("AUTH", "wrong"));
        Assert.Equal("+OK", await fresh.CallAsync("AUTH", "s3cret"));
        Assert.Equal("$nil", await fresh.CallAsync("GET", "k"));

        using var waiting = await node.RawAsync();
        Assert.Equal("-" + RespErrors.NoAuth, await waiting.CallAsync("GET", "k"));
        Assert.Equal("+OK", await admin.CallAsync("CONFIG", "SET", "requirepass", ""));
        Assert.Equal("$nil", await waiting.CallAsync("GET", "k"));
        Assert.Null(node.Node.Options.RequirePass);
    }

    [Fact]
    public async Task Config_set_maxclients_is_enforced_on_new_connections()
    {
        await using var node = await InProcessNode.StartAsync();
        using var admin = await node.RawAsync();
        using var second = await node.RawAsync();
        Assert.Equal("+PONG", await second.CallAsync("PING"));
        Assert.Equal("+OK", await admin.CallAsync("CONFIG", "SET", "maxclients", "2"));
        Assert.Equal("*2[$maxclients,$2]", await admin.CallAsync("CONFIG", "GET", "maxclients"));

        using (var third = await node.RawAsync())
        {
            Assert.Equal("-" + RespErrors.MaxClients, await third.ReadReplyAsync());
            Assert.True(await third.IsClosedAsync(TimeSpan.FromSeconds(5)));
        }

        Assert.Equal("+PONG", await second.CallAsync("PING"));
        Assert.Equal("+OK", await admin.CallAsync("CONFIG", "SET", "maxclients", "3"));
        using var fourth = await node.RawAsync();
        Assert.Equal("+PONG", await fourth.CallAsync("PING"));
    }

    [Fact]
    public async Task A_refused_config_set_changes_nothing_and_an_accepted_one_changes_all()
    {
        await using var node = await InProcessNode.StartAsync();
        using var admin = await node.RawAsync();
        var before = node.Node.Options;

        Assert.StartsWith("-ERR CONFIG SET failed (possibly related to argument 'databases')", await admin.CallAsync("CONFIG", "SET", "maxclients", "5", "databases", "2"), StringComparison.Ordinal);
        Assert.StartsWith("-ERR CONFIG SET failed (possibly related to argument 'binlog-keep-files') - argument must be between 1", await admin.CallAsync("CONFIG", "SET", "maxclients", "5", "requirepass", "x", "binlog-keep-files", "0"), StringComparison.Ordinal);
        Assert.StartsWith("-ERR CONFIG SET failed (possibly related to argument 'appendonly') - argument must be 'no'", await admin.CallAsync("CONFIG", "SET", "maxclients", "5", "appendonly", "yes"), StringComparison.Ordinal);
        Assert.StartsWith("-ERR CONFIG SET failed (possibly related to argument 'binlog-sync') - can't set immutable config", await admin.CallAsync("CONFIG", "SET", "binlog-sync", "always"), StringComparison.Ordinal);
        Assert.Same(before, node.Node.Options);
        Assert.Equal("*2[$maxclients,$10000]", await admin.CallAsync("CONFIG", "GET", "maxclients"));

        Assert.Equal("+OK", await admin.CallAsync("CONFIG", "SET", "maxclients", "5", "binlog-keep-files", "3", "binlog-keep-bytes", "1000", "binlog-keep-seconds", "60", "binlog-max-files", "7"));
        var after = node.Node.Options;
        Assert.Equal((5L, 3, 1000L, TimeSpan.FromSeconds(60), 7), (after.MaxClients, after.BinlogKeepFiles, after.BinlogKeepBytes, after.BinlogKeepAge, after.BinlogMaxFiles));
        Assert.Equal(before with { MaxClients = 5, BinlogKeepFiles = 3, BinlogKeepBytes = 1000, BinlogKeepAge = TimeSpan.FromSeconds(60), BinlogMaxFiles = 7 }, after);
    }

    [Fact]
    public async Task Config_set_binlog_keep_files_purges_on_the_next_pass()
    {
        await using var node = await InProcessNode.StartAsync(o => o with { BinlogFileSize = 4096 });
        using var client = await node.RawAsync();
        var value = new string('v', 1000);
        for (var i = 0; i < 100; i++)
        {
            Assert.Equal("+OK", await client.CallAsync("SET", $"k{i}", value));
        }

        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.True(BinlogFiles.List(node.Options.BinlogFolder).Count > 5);
        Assert.Equal("+OK", await client.CallAsync("CONFIG", "SET", "binlog-keep-files", "2"));
        await WaitUntilAsync(() => Task.FromResult(BinlogFiles.List(node.Options.BinlogFolder).Count <= 2));
    }

    [Fact]
    public async Task Lastsave_is_the_start_time_and_idletime_is_zero()
    {
        await using var node = await InProcessNode.StartAsync();
        using var client = await node.RawAsync();
        Assert.Equal($":{node.Node.Started.ToUnixTimeSeconds()}", await client.CallAsync("LASTSAVE"));
        Assert.Equal("+OK", await client.CallAsync("SET", "k", "v"));
        Assert.Equal(":0", await client.CallAsync("OBJECT", "IDLETIME", "k"));
    }

    [Fact]
    public async Task Redis_cli_reads_command_docs_and_uses_them_for_help()
    {
        await using var node = await InProcessNode.StartAsync();

        var docs = await RedisCli.RunAsync(node.Port, ["--no-raw", "COMMAND", "DOCS", "get", "config"]);
        Assert.Equal(0, docs.ExitCode);
        Assert.Contains("\"Returns the string value of a key.\"", docs.Stdout, StringComparison.Ordinal);
        Assert.Contains("\"config|set\"", docs.Stdout, StringComparison.Ordinal);

        // Without a command, redis-cli reads its help from COMMAND DOCS at start and then runs the input's lines.
        var session = await RedisCli.RunAsync(node.Port, [], "help object\nSET a 41\nINCR a\nCOMMAND COUNT\n"u8.ToArray());
        Assert.Equal(0, session.ExitCode);
        Assert.Contains("OBJECT ENCODING", session.Stdout, StringComparison.Ordinal);
        Assert.Contains("Returns the internal encoding Redis would give the value", session.Stdout, StringComparison.Ordinal);
        Assert.Matches(new Regex($"OK\\n42\\n{CommandTable.All.Count}\\n$"), session.Stdout);
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition did not hold within 10 s");
            await Task.Delay(50);
        }
    }
}

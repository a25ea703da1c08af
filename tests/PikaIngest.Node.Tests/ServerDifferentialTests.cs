using PikaIngest.Node.Tests.Support;

namespace PikaIngest.Node.Tests;

/// <summary>
/// Server, connection and introspection commands whose replies are deterministic on both servers, against
/// redis-server 7.0.15 with one database: every reply must be identical.
/// </summary>
public sealed class ServerDifferentialTests
{
    private static readonly string Long45 = new('x', 45);
    private static readonly string Long44 = new('x', 44);

    internal static readonly string[][] OneDatabase =
    [
        ["SELECT", "0"], ["SELECT", "1"], ["SELECT", "-1"], ["SELECT", "99999999999"], ["SELECT", "x"], ["SELECT"],
        ["MOVE", "k", "1"], ["MOVE", "k", "0"], ["MOVE", "k", "x"], ["MOVE", "k", "99999999999"], ["MOVE", "k"],
        ["SET", "k", "v"], ["MOVE", "k", "0"], ["MOVE", "k", "1"], ["GET", "k"],
        ["SWAPDB", "0", "0"], ["SWAPDB", "0", "1"], ["SWAPDB", "1", "0"], ["SWAPDB", "x", "0"], ["SWAPDB", "0", "x"],
        ["SWAPDB", "1", "x"], ["SWAPDB", "99999999999", "0"], ["SWAPDB", "0", "-1"], ["SWAPDB", "0"], ["GET", "k"],
        ["LASTSAVE", "x"], ["TIME", "x"], ["ECHO"],
    ];

    internal static readonly string[][] Object =
    [
        ["SET", "gone", "1", "PX", "1"],
        ["OBJECT", "ENCODING", "nope"], ["OBJECT", "FREQ", "nope"], ["OBJECT", "IDLETIME", "nope"], ["OBJECT", "REFCOUNT", "nope"],
        ["OBJECT", "foo"], ["OBJECT", "foo", "k"], ["OBJECT", "ENCODING"], ["OBJECT", "ENCODING", "a", "b"], ["OBJECT"], ["OBJECT", "HELP", "x"],
        ["object", "encoding"], ["OBJECT", "REFCOUNT"],
        ["SET", "small", "12"], ["OBJECT", "ENCODING", "small"], ["OBJECT", "REFCOUNT", "small"], ["OBJECT", "FREQ", "small"],
        ["SET", "zero", "0"], ["OBJECT", "ENCODING", "zero"], ["OBJECT", "REFCOUNT", "zero"],
        ["SET", "edge", "9999"], ["OBJECT", "REFCOUNT", "edge"], ["SET", "edge", "10000"], ["OBJECT", "REFCOUNT", "edge"], ["OBJECT", "ENCODING", "edge"],
        ["SET", "neg", "-5"], ["OBJECT", "ENCODING", "neg"], ["OBJECT", "REFCOUNT", "neg"],
        ["SET", "max", "9223372036854775807"], ["OBJECT", "ENCODING", "max"],
        ["SET", "over", "9223372036854775808"], ["OBJECT", "ENCODING", "over"],
        ["SET", "lead", "012"], ["OBJECT", "ENCODING", "lead"], ["SET", "plus", "+1"], ["OBJECT", "ENCODING", "plus"],
        ["SET", "word", "hello"], ["OBJECT", "ENCODING", "word"], ["OBJECT", "REFCOUNT", "word"],
        ["SET", "empty", ""], ["OBJECT", "ENCODING", "empty"],
        ["SET", "l44", Long44], ["OBJECT", "ENCODING", "l44"], ["SET", "l45", Long45], ["OBJECT", "ENCODING", "l45"], ["OBJECT", "REFCOUNT", "l45"],
        ["MSET", "m1", "7", "m2", "seven"], ["OBJECT", "ENCODING", "m1"], ["OBJECT", "ENCODING", "m2"],
        ["INCR", "counter"], ["OBJECT", "ENCODING", "counter"], ["OBJECT", "REFCOUNT", "counter"],
        ["OBJECT", "ENCODING", "gone"], ["OBJECT", "FREQ", "gone"], ["OBJECT", "IDLETIME", "gone"], ["OBJECT", "REFCOUNT", "gone"],
    ];

    internal static readonly string[][] Config =
    [
        ["CONFIG"], ["CONFIG", "foo"], ["CONFIG", "GET"], ["CONFIG", "SET"], ["CONFIG", "SET", "a"], ["CONFIG", "SET", "a", "b", "c"],
        ["CONFIG", "RESETSTAT", "x"], ["CONFIG", "REWRITE"], ["CONFIG", "REWRITE", "x"],
        ["CONFIG", "SET", "foo", "bar"], ["CONFIG", "SET", "databases", "2"], ["CONFIG", "SET", "maxclients", "abc"],
        ["CONFIG", "SET", "maxclients", "0"], ["CONFIG", "SET", "maxclients", "-1"], ["CONFIG", "SET", "maxclients", "1.5"],
        ["CONFIG", "SET", "maxclients", "99999999999"], ["CONFIG", "SET", "maxclients", " 10"],
        ["CONFIG", "SET", "maxclients", "10", "maxclients", "11"], ["CONFIG", "SET", "maxclients", "10", "MAXCLIENTS", "11"],
        ["CONFIG", "SET", "maxclients", "10", "foo", "1"], ["CONFIG", "SET", "databases", "2", "foo", "1"],
        ["CONFIG", "SET", "maxclients", "5", "databases", "2"], ["CONFIG", "SET", "databases", "2", "maxclients", "x"],
        ["CONFIG", "SET", "maxclients", "x", "requirepass", "y"], ["CONFIG", "SET", "requirepass", "y", "maxclients", "0"],
        ["CONFIG", "GET", "maxclients"], ["CONFIG", "GET", "MAXCLIENTS"], ["CONFIG", "GET", "requirepass"], ["CONFIG", "GET", "databases"],
        ["CONFIG", "GET", "nosuch"], ["CONFIG", "GET", "maxclients", "maxclients"], ["CONFIG", "GET", "maxclient?"],
        ["CONFIG", "SET", "maxclients", "10000"], ["CONFIG", "SET", "MaxClients", "10000"], ["CONFIG", "SET", "requirepass", ""],
        ["CONFIG", "SET", "save", ""], ["CONFIG", "SET", "appendonly", "no"], ["CONFIG", "SET", "replica-read-only", "yes", "slave-read-only", "yes"],
        ["CONFIG", "GET", "maxclients"], ["CONFIG", "GET", "requirepass"], ["PING"],
    ];

    internal static readonly string[][] Command =
    [
        ["COMMAND", "INFO", "nope"], ["COMMAND", "INFO", "nope", "also-nope"], ["COMMAND", "INFO", "config|nope"], ["COMMAND", "INFO", "nope|get"],
        ["COMMAND", "DOCS", "nope"], ["COMMAND", "DOCS", "nope", "config|nope"], ["COMMAND", "COUNT", "x"], ["COMMAND", "foo"],
        ["COMMAND", "LIST", "x"], ["COMMAND", "LIST", "FILTERBY", "foo", "x"], ["COMMAND", "LIST", "FILTERBY", "PATTERN"],
        ["COMMAND", "LIST", "FILTERBY", "MODULE", "x"], ["COMMAND", "LIST", "FILTERBY", "PATTERN", "nosuch*"],
        ["COMMAND", "LIST", "FILTERBY", "PATTERN", "x", "FILTERBY", "MODULE", "y"], ["COMMAND", "HELP", "x"],
    ];

    internal static readonly string[][] Client =
    [
        ["CLIENT"], ["CLIENT", "foo"], ["CLIENT", "KILL", "1.2.3.4:5"], ["CLIENT", "KILL", "ID", "999999"], ["CLIENT", "KILL", "ID", "x"],
        ["CLIENT", "KILL", "ID", "0"], ["CLIENT", "KILL", "ID", "-3"], ["CLIENT", "KILL", "ADDR", "1.2.3.4:5"], ["CLIENT", "KILL", "FOO", "bar"],
        ["CLIENT", "KILL", "ID"], ["CLIENT", "KILL"], ["CLIENT", "KILL", "ID", "1", "SKIPME"], ["CLIENT", "KILL", "ID", "1", "SKIPME", "maybe"],
        ["CLIENT", "KILL", "USER", "nobody"], ["CLIENT", "KILL", "USER", "default", "SKIPME", "yes"], ["CLIENT", "KILL", "TYPE", "foo"],
        ["CLIENT", "KILL", "LADDR", "1.1.1.1:1"], ["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"], ["CLIENT", "KILL", "TYPE", "master"],
        ["CLIENT", "KILL", "FOO", "bar", "ID", "x"], ["CLIENT", "KILL", "ID", "x", "FOO", "bar"],
        ["CLIENT", "LIST", "ID", "x"], ["CLIENT", "LIST", "ID", "999999"], ["CLIENT", "LIST", "ID", "999999", "x"], ["CLIENT", "LIST", "foo"],
        ["CLIENT", "LIST", "TYPE"], ["CLIENT", "LIST", "TYPE", "foo"], ["CLIENT", "LIST", "TYPE", "master"], ["CLIENT", "LIST", "TYPE", "pubsub"],
        ["CLIENT", "LIST", "TYPE", "replica"], ["CLIENT", "LIST", "TYPE", "normal", "x"],
        ["CLIENT", "SETNAME", "a b"], ["CLIENT", "SETNAME", "a\nb"], ["CLIENT", "SETNAME", "é"], ["CLIENT", "GETNAME"],
        ["CLIENT", "SETNAME", "named"], ["CLIENT", "GETNAME"], ["CLIENT", "SETNAME", ""], ["CLIENT", "GETNAME"],
        ["CLIENT", "SETNAME"], ["CLIENT", "SETNAME", "a", "b"], ["CLIENT", "GETNAME", "x"], ["CLIENT", "ID", "x"], ["CLIENT", "INFO", "x"],
        ["CLIENT", "HELP", "x"], ["PING"],
    ];

    [Fact]
    public async Task One_database_answers_match_redis() =>
        AssertNoDifferences(await Differential.CompareAsync(OneDatabase));

    [Fact]
    public async Task Object_answers_match_redis_for_set_values_and_missing_keys() =>
        AssertNoDifferences(await Differential.CompareAsync(Object));

    [Fact]
    public async Task Config_errors_and_refusals_match_redis() =>
        AssertNoDifferences(await Differential.CompareAsync(Config));

    [Fact]
    public async Task Command_errors_and_unknown_names_match_redis() =>
        AssertNoDifferences(await Differential.CompareAsync(Command));

    [Fact]
    public async Task Client_errors_and_filters_match_redis() =>
        AssertNoDifferences(await Differential.CompareAsync(Client));

    private static void AssertNoDifferences(string differences) => Assert.True(differences.Length == 0, "replies differ:\n" + differences);
}

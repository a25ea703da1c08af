using System.Text;
using PikaIngest.Node.Resp;

namespace PikaIngest.Node.Commands;

[Flags]
internal enum CommandFlags
{
    None = 0,

    /// <summary>Changes the keyspace: refused on a read-only replica, logged to the binlog.</summary>
    Write = 1,

    /// <summary>Allowed before AUTH.</summary>
    NoAuth = 2,

    /// <summary>
    /// A write whose effect does not depend on what is stored (SET without NX/XX/GET reads nothing): a run of
    /// them from one pipeline is applied as one RocksDB batch under one hold of the write gate.
    /// </summary>
    Batchable = 4,

    /// <summary>O(1) or O(log n) work, as Redis's <c>fast</c> flag: reported by COMMAND.</summary>
    Fast = 8,

    /// <summary>Administers the server (CONFIG, SHUTDOWN, DEBUG…): reported by COMMAND as <c>admin</c>.</summary>
    Admin = 16,

    /// <summary>
    /// Reads the keyspace without naming keys (SCAN, KEYS, DBSIZE): reported by COMMAND as <c>readonly</c>, which
    /// every command with key positions that is not a write is anyway.
    /// </summary>
    ReadOnly = 32,

    /// <summary>
    /// Bounded by its arguments, with no scan of the keyspace and no wait, though not O(1) as <see cref="Fast"/> means
    /// (SET and MSET copy their values): like a Fast row, it runs on the socket's event thread (see ClientSession).
    /// </summary>
    Short = 64,

    /// <summary>May grow memory, as Redis's <c>denyoom</c>: refused with OOM past maxmemory (see MemoryBudget).</summary>
    DenyOom = 128,
}

/// <summary>The command groups of Redis's COMMAND DOCS, which this node's commands belong to.</summary>
internal enum CommandGroup
{
    Connection,
    String,
    Bitmap,
    Generic,
    Server,
    Ingest,
}

/// <summary>
/// Where a command's key arguments are, as Redis's COMMAND reports them: the first and last key's
/// argument index (a negative last counts from the end) and the step between keys. All zero: no keys.
/// </summary>
internal readonly record struct KeyPositions(int First, int Last, int Step)
{
    public static KeyPositions None => default;

    /// <summary>One key, the first argument.</summary>
    public static KeyPositions First1 => new(1, 1, 1);

    /// <summary>Every argument is a key (DEL, EXISTS, MGET…).</summary>
    public static KeyPositions All => new(1, -1, 1);

    /// <summary>One key, the second argument (OBJECT's subcommands).</summary>
    public static KeyPositions Second => new(2, 2, 1);

    /// <summary>A source and a destination key (RENAME, COPY).</summary>
    public static KeyPositions Two => new(1, 2, 1);

    /// <summary>Key, value pairs (MSET, MSETNX).</summary>
    public static KeyPositions Pairs => new(1, -1, 2);
}

/// <summary>
/// A command's handler. It writes the reply and returns null, or returns a task the session awaits
/// (keeping pipelined replies in order) for commands that wait on I/O, such as INGEST_S3.
/// </summary>
internal delegate Task? CommandHandler(ref CommandContext context);

/// <summary>
/// One row of the command table, the only place a command is described: the session checks arity
/// and flags from it, and COMMAND, COMMAND INFO and COMMAND DOCS are generated from it.
/// <paramref name="Arity"/> follows Redis: N means exactly N arguments counting the name, -N means at least N.
/// </summary>
internal sealed record CommandSpec(
    string Name,
    int Arity,
    CommandFlags Flags,
    CommandGroup Group,
    KeyPositions Keys,
    string Summary,
    CommandHandler Handler)
{
    /// <summary>
    /// A container's subcommands, named <c>container|sub</c> as Redis names them; their arity counts the container's
    /// name too. The container's handler is <see cref="Containers.Dispatch"/>.
    /// </summary>
    public IReadOnlyList<CommandSpec> Subcommands { get; init; } = [];

    public bool AcceptsArgumentCount(int count) => Arity >= 0 ? count == Arity : count >= -Arity;

    /// <summary>Neither a write nor keyless: COMMAND's <c>readonly</c>.</summary>
    public bool IsReadOnly => (Flags & CommandFlags.Write) == 0 && ((Flags & CommandFlags.ReadOnly) != 0 || Keys != KeyPositions.None);

    public CommandSpec? FindSubcommand(ReadOnlySpan<byte> name)
    {
        foreach (var sub in Subcommands)
        {
            var subName = sub.Name.AsSpan(sub.Name.IndexOf('|') + 1);
            if (subName.Length == name.Length && Ascii.EqualsIgnoreCase(name, subName))
            {
                return sub;
            }
        }

        return null;
    }
}

/// <summary>Every command the node serves, found by name without allocating.</summary>
internal static class CommandTable
{
    private const int MaxNameLength = 32;

    private static readonly CommandSpec[] Specs =
    [
        new("ping", -1, CommandFlags.NoAuth | CommandFlags.Fast, CommandGroup.Connection, KeyPositions.None, "Returns the server's liveliness response.", ConnectionCommands.Ping),
        new("echo", 2, CommandFlags.Fast, CommandGroup.Connection, KeyPositions.None, "Returns the given string.", ConnectionCommands.Echo),
        new("auth", -2, CommandFlags.NoAuth | CommandFlags.Fast, CommandGroup.Connection, KeyPositions.None, "Authenticates the connection.", ConnectionCommands.Auth),
        new("select", 2, CommandFlags.Fast, CommandGroup.Connection, KeyPositions.None, "Changes the selected database (only database 0 exists).", ConnectionCommands.Select),
        new("quit", -1, CommandFlags.NoAuth | CommandFlags.Fast, CommandGroup.Connection, KeyPositions.None, "Closes the connection.", ConnectionCommands.Quit),
        new("client", -2, CommandFlags.None, CommandGroup.Connection, KeyPositions.None, "A container for client connection commands.", Containers.Dispatch)
        {
            Subcommands =
            [
                new("client|id", 2, CommandFlags.None, CommandGroup.Connection, KeyPositions.None, "Returns the unique client ID of the connection.", ClientCommands.Id),
                new("client|getname", 2, CommandFlags.None, CommandGroup.Connection, KeyPositions.None, "Returns the name of the connection.", ClientCommands.GetName),
                new("client|setname", 3, CommandFlags.None, CommandGroup.Connection, KeyPositions.None, "Sets the connection name.", ClientCommands.SetName),
                new("client|setinfo", 4, CommandFlags.None, CommandGroup.Connection, KeyPositions.None, "Accepts the client library's name or version (Redis 7.2), which the node does not keep.", ClientCommands.SetInfo),
                new("client|list", -2, CommandFlags.Admin, CommandGroup.Connection, KeyPositions.None, "Lists open connections.", ClientCommands.List),
                new("client|info", 2, CommandFlags.None, CommandGroup.Connection, KeyPositions.None, "Returns information about the connection.", ClientCommands.Info),
                new("client|kill", -3, CommandFlags.Admin, CommandGroup.Connection, KeyPositions.None, "Terminates open connections.", ClientCommands.Kill),
                new("client|help", 2, CommandFlags.None, CommandGroup.Connection, KeyPositions.None, "Returns helpful text about the different subcommands.", Containers.Help),
            ],
        },
        new("hello", -1, CommandFlags.NoAuth | CommandFlags.Fast, CommandGroup.Connection, KeyPositions.None, "Handshakes with the server (RESP2 only).", ConnectionCommands.Hello),

        new("get", 2, CommandFlags.Fast, CommandGroup.String, KeyPositions.First1, "Returns the string value of a key.", StringCommands.Get),
        new("set", -3, CommandFlags.Write | CommandFlags.DenyOom | CommandFlags.Batchable | CommandFlags.Short, CommandGroup.String, KeyPositions.First1, "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.", StringCommands.Set),
        new("setnx", 3, CommandFlags.Write | CommandFlags.DenyOom | CommandFlags.Fast, CommandGroup.String, KeyPositions.First1, "Set the string value of a key only when the key doesn't exist.", StringCommands.SetNx),
        new("setex", 4, CommandFlags.Write | CommandFlags.DenyOom | CommandFlags.Batchable | CommandFlags.Short, CommandGroup.String, KeyPositions.First1, "Sets the string value and expiration time of a key. Creates the key if it doesn't exist.", StringCommands.SetEx),
        new("psetex", 4, CommandFlags.Write | CommandFlags.DenyOom | CommandFlags.Batchable | CommandFlags.Short, CommandGroup.String, KeyPositions.First1, "Sets both string value and expiration time in milliseconds of a key. The key is created if it doesn't exist.", StringCommands.PSetEx),
        new("getset", 3, CommandFlags.Write | CommandFlags.DenyOom | CommandFlags.Fast, CommandGroup.String, KeyPositions.First1, "Returns the previous string value of a key after setting it to a new value.", StringCommands.GetSet),
        new("getdel", 2, CommandFlags.Write | CommandFlags.Fast, CommandGroup.String, KeyPositions.First1, "Returns the string value of a key after deleting the key.", StringCommands.GetDel),
        new("getex", -2, CommandFlags.Write | CommandFlags.Fast, CommandGroup.String, KeyPositions.First1, "Returns the string value of a key after setting its expiration time.", StringCommands.GetEx),
        new("mget", -2, CommandFlags.Fast, CommandGroup.String, KeyPositions.All, "Atomically returns the string values of one or more keys.", StringCommands.MGet),
        new("mset", -3, CommandFlags.Write | CommandFlags.DenyOom | CommandFlags.Batchable | CommandFlags.Short, CommandGroup.String, KeyPositions.Pairs, "Atomically creates or modifies the string values of one or more keys.", StringCommands.MSet),
        new("msetnx", -3, CommandFlags.Write | CommandFlags.DenyOom | CommandFlags.Short, CommandGroup.String, KeyPositions.Pairs, "Atomically modifies the string values of one or more keys only when all keys don't exist.", StringCommands.MSetNx),
        new("incr", 2, CommandFlags.Write | CommandFlags.DenyOom | CommandFlags.Fast, CommandGroup.String, KeyPositions.First1, "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", StringCommands.Incr),
        new("decr", 2, CommandFlags.Write | CommandFlags.DenyOom | CommandFlags.Fast, CommandGroup.String, KeyPositions.First1, "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", StringCommands.Decr),
        new("incrby", 3, CommandFlags.Write | CommandFlags.DenyOom | CommandFlags.Fast, CommandGroup.String, KeyPositions.First1, "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.", StringCommands.IncrBy),
        new("decrby", 3, CommandFlags.Write | CommandFlags.DenyOom | CommandFlags.Fast, CommandGroup.String, KeyPositions.First1, "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.", StringCommands.DecrBy),
        new("append", 3, CommandFlags.Write | CommandFlags.DenyOom | CommandFlags.Fast, CommandGroup.String, KeyPositions.First1, "Appends a string to the value of a key. Creates the key if it doesn't exist.", StringCommands.Append),
        new("strlen", 2, CommandFlags.Fast, CommandGroup.String, KeyPositions.First1, "Returns the length of a string value.", StringCommands.StrLen),
        new("setrange", 4, CommandFlags.Write | CommandFlags.DenyOom, CommandGroup.String, KeyPositions.First1, "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist.", StringCommands.SetRange),
        new("getrange", 4, CommandFlags.None, CommandGroup.String, KeyPositions.First1, "Returns a substring of the string stored at a key.", StringCommands.GetRange),
        new("substr", 4, CommandFlags.None, CommandGroup.String, KeyPositions.First1, "Returns a substring from a string value.", StringCommands.GetRange),
        new("incrbyfloat", 3, CommandFlags.Write | CommandFlags.DenyOom | CommandFlags.Fast, CommandGroup.String, KeyPositions.First1, "Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist.", StringCommands.IncrByFloat),

        new("setbit", 4, CommandFlags.Write | CommandFlags.DenyOom, CommandGroup.Bitmap, KeyPositions.First1, "Sets or clears the bit at offset of the string value. Creates the key if it doesn't exist.", BitCommands.SetBit),
        new("getbit", 3, CommandFlags.Fast, CommandGroup.Bitmap, KeyPositions.First1, "Returns a bit value by offset.", BitCommands.GetBit),
        new("bitcount", -2, CommandFlags.None, CommandGroup.Bitmap, KeyPositions.First1, "Counts the number of set bits (population counting) in a string.", BitCommands.BitCount),
        new("bitpos", -3, CommandFlags.None, CommandGroup.Bitmap, KeyPositions.First1, "Finds the first set (1) or clear (0) bit in a string.", BitCommands.BitPos),
        new("bitfield", -2, CommandFlags.Write | CommandFlags.DenyOom, CommandGroup.Bitmap, KeyPositions.First1, "Performs arbitrary bitfield integer operations on strings.", BitfieldCommands.Bitfield),
        new("bitfield_ro", -2, CommandFlags.Fast, CommandGroup.Bitmap, KeyPositions.First1, "Performs arbitrary read-only bitfield integer operations on strings.", BitfieldCommands.BitfieldReadOnly),
        new("bitop", -4, CommandFlags.Write | CommandFlags.DenyOom, CommandGroup.Bitmap, new(2, -1, 1), "Performs bitwise operations on multiple strings, and stores the result.", BitCommands.BitOp),

        new("del", -2, CommandFlags.Write | CommandFlags.Short, CommandGroup.Generic, KeyPositions.All, "Deletes one or more keys.", KeyCommands.Del),
        new("unlink", -2, CommandFlags.Write | CommandFlags.Fast, CommandGroup.Generic, KeyPositions.All, "Asynchronously deletes one or more keys (here as DEL: a string is deleted in O(1)).", KeyCommands.Del),
        new("exists", -2, CommandFlags.Fast, CommandGroup.Generic, KeyPositions.All, "Determines whether one or more keys exist.", KeyCommands.Exists),
        new("expire", -3, CommandFlags.Write | CommandFlags.Fast, CommandGroup.Generic, KeyPositions.First1, "Sets the expiration time of a key in seconds.", KeyCommands.Expire),
        new("pexpire", -3, CommandFlags.Write | CommandFlags.Fast, CommandGroup.Generic, KeyPositions.First1, "Sets the expiration time of a key in milliseconds.", KeyCommands.PExpire),
        new("expireat", -3, CommandFlags.Write | CommandFlags.Fast, CommandGroup.Generic, KeyPositions.First1, "Sets the expiration time of a key to a Unix timestamp.", KeyCommands.ExpireAt),
        new("pexpireat", -3, CommandFlags.Write | CommandFlags.Fast, CommandGroup.Generic, KeyPositions.First1, "Sets the expiration time of a key to a Unix milliseconds timestamp.", KeyCommands.PExpireAt),
        new("persist", 2, CommandFlags.Write | CommandFlags.Fast, CommandGroup.Generic, KeyPositions.First1, "Removes the expiration time of a key.", KeyCommands.Persist),
        new("expiretime", 2, CommandFlags.Fast, CommandGroup.Generic, KeyPositions.First1, "Returns the expiration time of a key as a Unix timestamp.", KeyCommands.ExpireTime),
        new("pexpiretime", 2, CommandFlags.Fast, CommandGroup.Generic, KeyPositions.First1, "Returns the expiration time of a key as a Unix milliseconds timestamp.", KeyCommands.PExpireTime),
        new("touch", -2, CommandFlags.Fast, CommandGroup.Generic, KeyPositions.All, "Returns the number of existing keys out of those specified (a RocksDB store keeps no access time to update).", KeyCommands.Touch),
        new("rename", 3, CommandFlags.Write | CommandFlags.Short, CommandGroup.Generic, KeyPositions.Two, "Renames a key and overwrites the destination.", KeyCommands.Rename),
        new("renamenx", 3, CommandFlags.Write | CommandFlags.Fast, CommandGroup.Generic, KeyPositions.Two, "Renames a key only when the target key name doesn't exist.", KeyCommands.RenameNx),
        new("copy", -3, CommandFlags.Write | CommandFlags.DenyOom | CommandFlags.Short, CommandGroup.Generic, KeyPositions.Two, "Copies the value of a key to a new key.", KeyCommands.Copy),
        new("randomkey", 1, CommandFlags.None, CommandGroup.Generic, KeyPositions.None, "Returns a random key name from the database.", KeyCommands.RandomKey),
        new("ttl", 2, CommandFlags.Fast, CommandGroup.Generic, KeyPositions.First1, "Returns the expiration time in seconds of a key.", KeyCommands.Ttl),
        new("pttl", 2, CommandFlags.Fast, CommandGroup.Generic, KeyPositions.First1, "Returns the expiration time in milliseconds of a key.", KeyCommands.PTtl),
        new("type", 2, CommandFlags.Fast, CommandGroup.Generic, KeyPositions.First1, "Determines the type of value stored at a key.", KeyCommands.Type),
        new("scan", -2, CommandFlags.ReadOnly, CommandGroup.Generic, KeyPositions.None, "Iterates over the key names in the database.", KeyCommands.Scan),
        new("keys", 2, CommandFlags.ReadOnly, CommandGroup.Generic, KeyPositions.None, "Returns all key names that match a pattern.", KeyCommands.Keys),
        new("dbsize", 1, CommandFlags.ReadOnly, CommandGroup.Server, KeyPositions.None, "Returns the number of live keys in the database (here a scan of every instance: not O(1) as in Redis).", KeyCommands.DbSize),
        new("flushdb", -1, CommandFlags.Write, CommandGroup.Server, KeyPositions.None, "Removes all keys from the current database (range deletions: time independent of the number of keys).", KeyCommands.FlushAll),
        new("flushall", -1, CommandFlags.Write, CommandGroup.Server, KeyPositions.None, "Removes all keys from all databases (range deletions: time independent of the number of keys).", KeyCommands.FlushAll),
        new("move", 3, CommandFlags.Write | CommandFlags.Fast, CommandGroup.Generic, KeyPositions.First1, "Moves a key to another database (only database 0 exists, so it is always refused).", KeyCommands.Move),
        new("swapdb", 3, CommandFlags.Write | CommandFlags.Fast, CommandGroup.Server, KeyPositions.None, "Swaps two databases (only database 0 exists: SWAPDB 0 0 is the one that succeeds).", KeyCommands.SwapDb),
        new("object", -2, CommandFlags.None, CommandGroup.Generic, KeyPositions.None, "A container for object introspection commands.", Containers.Dispatch)
        {
            Subcommands =
            [
                new("object|encoding", 3, CommandFlags.None, CommandGroup.Generic, KeyPositions.Second, "Returns the internal encoding Redis would give the value (int, embstr or raw).", KeyCommands.ObjectEncoding),
                new("object|freq", 3, CommandFlags.None, CommandGroup.Generic, KeyPositions.Second, "Returns the logarithmic access frequency counter (not tracked: no LFU policy, as Redis says).", KeyCommands.ObjectFreq),
                new("object|idletime", 3, CommandFlags.None, CommandGroup.Generic, KeyPositions.Second, "Returns the time since the last access (not tracked: always 0).", KeyCommands.ObjectIdleTime),
                new("object|refcount", 3, CommandFlags.None, CommandGroup.Generic, KeyPositions.Second, "Returns the reference count Redis would give the value.", KeyCommands.ObjectRefCount),
                new("object|help", 2, CommandFlags.None, CommandGroup.Generic, KeyPositions.None, "Returns helpful text about the different subcommands.", Containers.Help),
            ],
        },

        new("info", -1, CommandFlags.None, CommandGroup.Server, KeyPositions.None, "Returns information and statistics about the server.", ServerCommands.Info),
        new("config", -2, CommandFlags.None, CommandGroup.Server, KeyPositions.None, "A container for server configuration commands.", Containers.Dispatch)
        {
            Subcommands =
            [
                new("config|get", -3, CommandFlags.Admin, CommandGroup.Server, KeyPositions.None, "Returns the effective values of configuration parameters.", ConfigCommands.Get),
                new("config|set", -4, CommandFlags.Admin, CommandGroup.Server, KeyPositions.None, "Sets configuration parameters in-flight, all or none.", ConfigCommands.Set),
                new("config|resetstat", 2, CommandFlags.Admin, CommandGroup.Server, KeyPositions.None, "Resets the server's statistics.", ConfigCommands.ResetStat),
                new("config|rewrite", 2, CommandFlags.Admin, CommandGroup.Server, KeyPositions.None, "Persists the effective configuration to file (refused: pika-node has none).", ConfigCommands.Rewrite),
                new("config|help", 2, CommandFlags.None, CommandGroup.Server, KeyPositions.None, "Returns helpful text about the different subcommands.", Containers.Help),
            ],
        },
        new("command", -1, CommandFlags.None, CommandGroup.Server, KeyPositions.None, "Returns detailed information about all commands.", IntrospectionCommands.Command)
        {
            Subcommands =
            [
                new("command|count", 2, CommandFlags.None, CommandGroup.Server, KeyPositions.None, "Returns a count of commands.", IntrospectionCommands.Count),
                new("command|info", -2, CommandFlags.None, CommandGroup.Server, KeyPositions.None, "Returns information about one, multiple or all commands.", IntrospectionCommands.Info),
                new("command|docs", -2, CommandFlags.None, CommandGroup.Server, KeyPositions.None, "Returns documentary information about one, multiple or all commands.", IntrospectionCommands.Docs),
                new("command|list", -2, CommandFlags.None, CommandGroup.Server, KeyPositions.None, "Returns a list of command names.", IntrospectionCommands.List),
                new("command|help", 2, CommandFlags.None, CommandGroup.Server, KeyPositions.None, "Returns helpful text about the different subcommands.", Containers.Help),
            ],
        },
        new("debug", -2, CommandFlags.Admin, CommandGroup.Server, KeyPositions.None, "A container for debugging commands (DIGEST).", ServerCommands.Debug),
        new("time", 1, CommandFlags.Fast, CommandGroup.Server, KeyPositions.None, "Returns the server time.", ServerCommands.Time),
        new("lastsave", 1, CommandFlags.Fast, CommandGroup.Server, KeyPositions.None, "Returns the Unix timestamp the node started at: RocksDB and the binlog are durable as written, so there is no save.", ServerCommands.LastSave),
        new("shutdown", -1, CommandFlags.Admin, CommandGroup.Server, KeyPositions.None, "Stops the server.", ServerCommands.Shutdown),
        new("role", 1, CommandFlags.Fast, CommandGroup.Server, KeyPositions.None, "Returns the replication role.", ReplicationCommands.Role),
        new("slaveof", 3, CommandFlags.Admin, CommandGroup.Server, KeyPositions.None, "Sets a server as a replica of another, or promotes it to being a master.", ReplicationCommands.SlaveOf),
        new("replicaof", 3, CommandFlags.Admin, CommandGroup.Server, KeyPositions.None, "Configures a server as replica of another, or promotes it to a master.", ReplicationCommands.SlaveOf),
        new("replconf", -2, CommandFlags.Admin, CommandGroup.Server, KeyPositions.None, "An internal command for configuring the replication stream.", ReplicationCommands.ReplConf),
        new("pika_sync", -4, CommandFlags.Admin, CommandGroup.Server, KeyPositions.None, "Starts Pika-style binlog replication from a binlog position (used by slaves).", ReplicationCommands.PikaSync),

        new("ingest_s3", 3, CommandFlags.Write | CommandFlags.Admin, CommandGroup.Ingest, KeyPositions.None, "Ingests a converted batch's SST files, listed in a manifest in the object store, on every instance at once.", IngestCommands.IngestS3),
    ];

    private static readonly Dictionary<string, CommandSpec>.AlternateLookup<ReadOnlySpan<char>> ByName =
        Specs.ToDictionary(s => s.Name, StringComparer.OrdinalIgnoreCase).GetAlternateLookup<ReadOnlySpan<char>>();

    public static IReadOnlyList<CommandSpec> All => Specs;

    public static CommandSpec? Find(ReadOnlySpan<byte> name)
    {
        if (name.Length > MaxNameLength)
        {
            return null;
        }

        Span<char> chars = stackalloc char[MaxNameLength];
        var length = Encoding.Latin1.GetChars(name, chars);
        return ByName.TryGetValue(chars[..length], out var spec) ? spec : null;
    }

    /// <summary>A command or, named <c>container|sub</c> as COMMAND INFO and DOCS take it, a subcommand.</summary>
    public static CommandSpec? FindFullName(string name)
    {
        var bar = name.IndexOf('|', StringComparison.Ordinal);
        var container = ByName.TryGetValue(bar < 0 ? name : name[..bar], out var spec) ? spec : null;
        return bar < 0 || container is null ? container : container.FindSubcommand(Encoding.Latin1.GetBytes(name[(bar + 1)..]));
    }
}

/// <summary>How container commands (CLIENT, CONFIG, COMMAND, OBJECT) reach their subcommands' rows.</summary>
internal static class Containers
{
    /// <summary>
    /// Runs the subcommand named by the first argument, checking its arity as the session checks a command's,
    /// with Redis 7's errors (which name the subcommand as <c>container|sub</c>).
    /// </summary>
    public static Task? Dispatch(ref CommandContext context)
    {
        var container = CommandTable.Find(context.Arg(0))!;
        var sub = container.FindSubcommand(context.Arg(1));
        if (sub is null)
        {
            context.Reply.WriteError(RespErrors.UnknownSubcommand(Encoding.UTF8.GetString(context.Arg(1)), container.Name));
            return null;
        }

        context.Session.LastCommand = sub.Name;
        if (!sub.AcceptsArgumentCount(context.Count))
        {
            context.Reply.WriteError(RespErrors.WrongNumberOfArguments(sub.Name));
            return null;
        }

        return sub.Handler(ref context);
    }

    /// <summary>A container's HELP, generated from its subcommands' rows in the layout of Redis's HELP replies.</summary>
    public static Task? Help(ref CommandContext context)
    {
        var container = CommandTable.Find(context.Arg(0))!;
        var name = container.Name.ToUpperInvariant();
        context.Reply.WriteArrayHeader(2 * container.Subcommands.Count + 1);
        context.Reply.WriteSimpleString(Encoding.UTF8.GetBytes($"{name} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"));
        foreach (var sub in container.Subcommands)
        {
            context.Reply.WriteSimpleString(Encoding.UTF8.GetBytes(sub.Name[(sub.Name.IndexOf('|') + 1)..].ToUpperInvariant()));
            context.Reply.WriteSimpleString(Encoding.UTF8.GetBytes("    " + sub.Summary));
        }

        return null;
    }
}

/// <summary>
/// Redis commands this node deliberately does not serve, each with the reason its error gives: commands on other
/// data types, pub/sub, scripting and transactions. A client using one learns why, instead of "unknown command"
/// (which reads like a typo or an old server). They are not rows of the table: COMMAND lists what is served.
/// </summary>
internal static class UnsupportedCommands
{
    private const string StringsOnly = "it serves strings only";

    private static readonly Dictionary<string, string> Reasons = Build(
        (StringsOnly, [
            // Lists
            "lpush", "rpush", "lpushx", "rpushx", "lpop", "rpop", "llen", "lrange", "lindex", "lset", "lrem", "ltrim", "linsert",
            "lpos", "lmove", "blmove", "rpoplpush", "brpoplpush", "blpop", "brpop", "lmpop", "blmpop",
            // Hashes
            "hset", "hsetnx", "hget", "hmset", "hmget", "hincrby", "hincrbyfloat", "hdel", "hlen", "hstrlen", "hkeys", "hvals",
            "hgetall", "hexists", "hscan", "hrandfield",
            // Sets
            "sadd", "srem", "smove", "sismember", "smismember", "scard", "spop", "srandmember", "sinter", "sintercard",
            "sinterstore", "sunion", "sunionstore", "sdiff", "sdiffstore", "smembers", "sscan",
            // Sorted sets
            "zadd", "zincrby", "zrem", "zremrangebyscore", "zremrangebyrank", "zremrangebylex", "zunionstore", "zinterstore",
            "zdiffstore", "zunion", "zinter", "zintercard", "zdiff", "zrange", "zrangestore", "zrangebyscore", "zrevrangebyscore",
            "zrangebylex", "zrevrangebylex", "zcount", "zlexcount", "zrevrange", "zcard", "zscore", "zmscore", "zrank", "zrevrank",
            "zscan", "zpopmin", "zpopmax", "bzpopmin", "bzpopmax", "zmpop", "bzmpop", "zrandmember",
            // Streams
            "xadd", "xrange", "xrevrange", "xlen", "xread", "xreadgroup", "xgroup", "xsetid", "xack", "xpending", "xclaim",
            "xautoclaim", "xinfo", "xdel", "xtrim",
            // HyperLogLog
            "pfadd", "pfcount", "pfmerge", "pfselftest", "pfdebug",
            // Geo
            "geoadd", "georadius", "georadius_ro", "georadiusbymember", "georadiusbymember_ro", "geohash", "geopos", "geodist",
            "geosearch", "geosearchstore",
        ]),
        ("it has no publish/subscribe", ["subscribe", "unsubscribe", "psubscribe", "punsubscribe", "publish", "pubsub", "ssubscribe", "sunsubscribe", "spublish"]),
        ("it runs no scripts or functions", ["eval", "evalsha", "eval_ro", "evalsha_ro", "script", "function", "fcall", "fcall_ro"]),
        ("it has no transactions: each command is applied and logged on its own", ["multi", "exec", "discard", "watch", "unwatch"]));

    private static readonly Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> ByName = Reasons.GetAlternateLookup<ReadOnlySpan<char>>();

    public static IReadOnlyCollection<string> Names => Reasons.Keys;

    /// <summary>The error for a command that is not in the table: why, when it is one of these, else Redis's unknown command.</summary>
    public static void WriteError(RespWriter reply, CommandArguments args, ReadOnlySpan<byte> frame)
    {
        var name = args.Span(0, frame);
        Span<char> chars = stackalloc char[32];
        if (name.Length <= chars.Length && ByName.TryGetValue(chars[..Encoding.Latin1.GetChars(name, chars)], out var reason))
        {
            reply.WriteError(RespErrors.NotSupported(Encoding.Latin1.GetString(name).ToLowerInvariant(), reason));
        }
        else
        {
            RespErrors.WriteUnknownCommand(reply, args, frame);
        }
    }

    private static Dictionary<string, string> Build(params (string Reason, string[] Names)[] groups) =>
        groups.SelectMany(g => g.Names.Select(n => (Name: n, g.Reason))).ToDictionary(p => p.Name, p => p.Reason, StringComparer.OrdinalIgnoreCase);
}

using System.Text;

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
}

/// <summary>
/// A command's handler. It writes the reply and returns null, or returns a task the session awaits
/// (keeping pipelined replies in order) for commands that wait on I/O, such as INGEST_S3.
/// </summary>
internal delegate Task? CommandHandler(ref CommandContext context);

/// <summary>
/// One row of the command table. <paramref name="Arity"/> follows Redis: N means exactly N
/// arguments counting the name, -N means at least N.
/// </summary>
internal sealed record CommandSpec(string Name, int Arity, CommandFlags Flags, CommandHandler Handler)
{
    public bool AcceptsArgumentCount(int count) => Arity >= 0 ? count == Arity : count >= -Arity;
}

/// <summary>Every command the node serves, found by name without allocating.</summary>
internal static class CommandTable
{
    private const int MaxNameLength = 32;

    private static readonly CommandSpec[] Specs =
    [
        new("ping", -1, CommandFlags.NoAuth, ConnectionCommands.Ping),
        new("echo", 2, CommandFlags.None, ConnectionCommands.Echo),
        new("auth", -2, CommandFlags.NoAuth, ConnectionCommands.Auth),
        new("select", 2, CommandFlags.None, ConnectionCommands.Select),
        new("quit", -1, CommandFlags.NoAuth, ConnectionCommands.Quit),
        new("client", -2, CommandFlags.None, ConnectionCommands.Client),
        new("hello", -1, CommandFlags.None, ConnectionCommands.Hello),

        new("get", 2, CommandFlags.None, StringCommands.Get),
        new("set", -3, CommandFlags.Write | CommandFlags.Batchable, StringCommands.Set),
        new("setnx", 3, CommandFlags.Write, StringCommands.SetNx),
        new("setex", 4, CommandFlags.Write | CommandFlags.Batchable, StringCommands.SetEx),
        new("psetex", 4, CommandFlags.Write | CommandFlags.Batchable, StringCommands.PSetEx),
        new("mget", -2, CommandFlags.None, StringCommands.MGet),
        new("mset", -3, CommandFlags.Write | CommandFlags.Batchable, StringCommands.MSet),
        new("incr", 2, CommandFlags.Write, StringCommands.Incr),
        new("decr", 2, CommandFlags.Write, StringCommands.Decr),
        new("incrby", 3, CommandFlags.Write, StringCommands.IncrBy),
        new("decrby", 3, CommandFlags.Write, StringCommands.DecrBy),
        new("append", 3, CommandFlags.Write, StringCommands.Append),
        new("strlen", 2, CommandFlags.None, StringCommands.StrLen),

        new("del", -2, CommandFlags.Write, KeyCommands.Del),
        new("unlink", -2, CommandFlags.Write, KeyCommands.Del),
        new("exists", -2, CommandFlags.None, KeyCommands.Exists),
        new("expire", -3, CommandFlags.Write, KeyCommands.Expire),
        new("pexpire", -3, CommandFlags.Write, KeyCommands.PExpire),
        new("expireat", -3, CommandFlags.Write, KeyCommands.ExpireAt),
        new("pexpireat", -3, CommandFlags.Write, KeyCommands.PExpireAt),
        new("persist", 2, CommandFlags.Write, KeyCommands.Persist),
        new("ttl", 2, CommandFlags.None, KeyCommands.Ttl),
        new("pttl", 2, CommandFlags.None, KeyCommands.PTtl),
        new("type", 2, CommandFlags.None, KeyCommands.Type),
        new("scan", -2, CommandFlags.None, KeyCommands.Scan),
        new("keys", 2, CommandFlags.None, KeyCommands.Keys),
        new("dbsize", 1, CommandFlags.None, KeyCommands.DbSize),

        new("info", -1, CommandFlags.None, ServerCommands.Info),
        new("config", -2, CommandFlags.None, ServerCommands.Config),
        new("command", -1, CommandFlags.None, ServerCommands.Command),
        new("debug", -2, CommandFlags.None, ServerCommands.Debug),
        new("time", 1, CommandFlags.None, ServerCommands.Time),
        new("shutdown", -1, CommandFlags.None, ServerCommands.Shutdown),
        new("role", 1, CommandFlags.None, ReplicationCommands.Role),
        new("slaveof", 3, CommandFlags.None, ReplicationCommands.SlaveOf),
        new("replicaof", 3, CommandFlags.None, ReplicationCommands.SlaveOf),
        new("replconf", -2, CommandFlags.None, ReplicationCommands.ReplConf),
        new("pika_sync", -4, CommandFlags.None, ReplicationCommands.PikaSync),

        new("ingest_s3", 3, CommandFlags.Write, IngestCommands.IngestS3),
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
}

using System.Globalization;
using System.Text;
using PikaIngest.Node.Binlog;
using PikaIngest.Node.Memory;
using PikaIngest.Node.Resp;

namespace PikaIngest.Node.Commands;

/// <summary>
/// CONFIG's subcommands over the node's settings. CONFIG SET changes only what really changes live (the password,
/// the client limit, the binlog retention limits), all or none as in Redis 7; the rest is reported and refused as
/// Redis refuses an immutable config. The node has no config file: its flags are its configuration.
/// </summary>
internal static class ConfigCommands
{
    /// <summary>Parses a CONFIG SET value into the change it makes, or returns why it is refused (Redis's words where it has them).</summary>
    private delegate string? Parser(ReadOnlySpan<byte> value, out Func<NodeOptions, NodeOptions>? change);

    /// <summary>A setting under its names (the first is its own, the rest aliases, as Redis lists them); null Set: immutable.</summary>
    private sealed record Setting(string[] Names, Func<NodeContext, string> Get, Parser? Set);

    private static readonly Setting[] Settings =
    [
        new(["port"], n => n.Port.ToString(CultureInfo.InvariantCulture), null),
        new(["bind"], n => n.Options.Bind, null),
        new(["dir"], n => Path.GetFullPath(n.Options.DataFolder), null),
        new(["databases"], _ => "1", null),
        new(["instances"], n => n.Options.Instances.ToString(CultureInfo.InvariantCulture), null),
        new(["block-cache-mb"], n => n.Options.BlockCacheMb.ToString(CultureInfo.InvariantCulture), null),
        new(["requirepass"], n => n.Options.RequirePass ?? "", Password),
        new(["maxclients"], n => n.Options.MaxClients.ToString(CultureInfo.InvariantCulture), Integer(1, uint.MaxValue, (o, v) => o with { MaxClients = v })),
        new(["maxmemory"], n => n.Options.MaxMemory.ToString(CultureInfo.InvariantCulture), MaxMemory),
        new(["maxmemory-policy"], _ => "noeviction", Fixed("noeviction", "pika-node never evicts keys: past maxmemory, writes that may grow memory are refused")),
        new(["appendonly"], _ => "no", Fixed("no", "pika-node keeps its data in RocksDB and its binlog, not an append-only file")),
        new(["save"], _ => "", Fixed("", "pika-node does not snapshot: RocksDB and the binlog are durable as written")),

        // The binlog writer's sync timer and file size are fixed when it opens.
        new(["binlog-sync"], n => n.Options.BinlogSync == BinlogSyncPolicy.Always ? "always" : "everysec", null),
        new(["binlog-file-size"], n => n.Options.BinlogFileSize.ToString(CultureInfo.InvariantCulture), null),
        new(["replicaof", "slaveof"], n => n.Options.SlaveOf is var (host, port) ? $"{host} {port}" : "", null),

        // Read by every purge pass, so a new limit applies within a second.
        new(["binlog-keep-files"], n => n.Options.BinlogKeepFiles.ToString(CultureInfo.InvariantCulture), Integer(1, int.MaxValue, (o, v) => o with { BinlogKeepFiles = (int)v })),
        new(["binlog-keep-bytes"], n => n.Options.BinlogKeepBytes.ToString(CultureInfo.InvariantCulture), Integer(0, long.MaxValue, (o, v) => o with { BinlogKeepBytes = v })),
        new(["binlog-keep-seconds"], n => ((long)n.Options.BinlogKeepAge.TotalSeconds).ToString(CultureInfo.InvariantCulture), Integer(0, (long)TimeSpan.MaxValue.TotalSeconds, (o, v) => o with { BinlogKeepAge = TimeSpan.FromSeconds(v) })),
        new(["binlog-max-files"], n => n.Options.BinlogMaxFiles.ToString(CultureInfo.InvariantCulture), Integer(1, int.MaxValue, (o, v) => o with { BinlogMaxFiles = (int)v })),
        new(["replica-read-only", "slave-read-only"], _ => "yes", Fixed("yes", "a slave applies only its master's binlog")),

        // Each session's parser takes its limits when the connection opens.
        new(["proto-max-bulk-len"], n => n.Limits.MaxBulkLength.ToString(CultureInfo.InvariantCulture), null),
        new(["object-store"], n => n.Options.ObjectStore, null),
        new(["ingest-allow-bucket"], n => string.Join(' ', n.Options.AllowedBuckets.Order(StringComparer.Ordinal)), null),
    ];

    /// <summary>CONFIG GET pattern...: a name without glob characters is looked up and echoed as sent, as Redis 7.0 does.</summary>
    public static Task? Get(ref CommandContext context)
    {
        var matches = new List<(string Name, string Value)>();
        for (var i = 2; i < context.Count; i++)
        {
            var pattern = Encoding.UTF8.GetString(context.Arg(i));
            if (pattern.AsSpan().IndexOfAny("[*?") < 0)
            {
                if (Find(pattern) is { } setting && !matches.Any(m => string.Equals(m.Name, pattern, StringComparison.OrdinalIgnoreCase)))
                {
                    matches.Add((pattern, setting.Get(context.Node)));
                }

                continue;
            }

            var lowered = Encoding.UTF8.GetBytes(pattern.ToLowerInvariant());
            foreach (var setting in Settings)
            {
                foreach (var name in setting.Names)
                {
                    if (GlobPattern.IsMatch(lowered, Encoding.ASCII.GetBytes(name)) && !matches.Any(m => m.Name == name))
                    {
                        matches.Add((name, setting.Get(context.Node)));
                    }
                }
            }
        }

        context.Reply.WriteArrayHeader(matches.Count * 2);
        foreach (var (name, value) in matches)
        {
            context.Reply.WriteBulk(name);
            context.Reply.WriteBulk(value);
        }

        return null;
    }

    /// <summary>
    /// CONFIG SET name value [name value ...], validated as redis-server 7.0.15 does: the first name that is unknown,
    /// immutable or given twice (an alias is another name) is reported, else the first value that does not parse;
    /// only when all pass are the changes applied, together.
    /// </summary>
    public static Task? Set(ref CommandContext context)
    {
        if (context.Count % 2 != 0)
        {
            context.Reply.WriteError(RespErrors.Syntax);
            return null;
        }

        var chosen = new List<(string Name, Setting Setting, int ValueAt)>();
        for (var i = 2; i < context.Count; i += 2)
        {
            var name = Encoding.UTF8.GetString(context.Arg(i));
            var setting = Find(name);
            string? error = null;
            if (setting is null)
            {
                error = RespErrors.ConfigSetUnknownOption(name);
            }
            else if (setting.Set is null)
            {
                error = RespErrors.ConfigSetFailed(name, RespErrors.ConfigImmutable);
            }
            else if (chosen.Any(c => string.Equals(c.Name, name, StringComparison.OrdinalIgnoreCase)))
            {
                error = RespErrors.ConfigSetFailed(name, RespErrors.ConfigDuplicate);
            }

            if (error is not null)
            {
                context.Reply.WriteError(error);
                return null;
            }

            chosen.Add((name, setting!, i + 1));
        }

        var changes = new List<Func<NodeOptions, NodeOptions>>();
        foreach (var (_, setting, valueAt) in chosen)
        {
            if (setting.Set!(context.Arg(valueAt), out var change) is { } error)
            {
                context.Reply.WriteError(RespErrors.ConfigSetFailed(setting.Names[0], error));
                return null;
            }

            changes.Add(change!);
        }

        context.Node.UpdateOptions(options => changes.Aggregate(options, (current, change) => change(current)));
        context.Reply.WriteOk();
        return null;
    }

    public static Task? ResetStat(ref CommandContext context)
    {
        context.Node.Stats.Reset();
        context.Node.GroupCommit.ResetCounters();
        context.Reply.WriteOk();
        return null;
    }

    /// <summary>Redis's answer when it was started without a config file, which is the node's case: its flags are its configuration.</summary>
    public static Task? Rewrite(ref CommandContext context)
    {
        context.Reply.WriteError(RespErrors.NoConfigFile);
        return null;
    }

    private static Setting? Find(string name) =>
        Settings.FirstOrDefault(s => s.Names.Any(n => string.Equals(n, name, StringComparison.OrdinalIgnoreCase)));

    /// <summary>
    /// requirepass: new connections must AUTH with it (an empty one: none need to); connections already
    /// authenticated stay so, as in Redis.
    /// </summary>
    private static string? Password(ReadOnlySpan<byte> value, out Func<NodeOptions, NodeOptions>? change)
    {
        var password = value.IsEmpty ? null : Encoding.UTF8.GetString(value);
        change = o => o with { RequirePass = password };
        return null;
    }

    /// <summary>maxmemory as Redis takes it (bytes, or with a unit); checked by the next command.</summary>
    private static string? MaxMemory(ReadOnlySpan<byte> value, out Func<NodeOptions, NodeOptions>? change)
    {
        change = null;
        if (!MemoryBudget.TryParseSize(Encoding.ASCII.GetString(value), out var bytes))
        {
            return RespErrors.ConfigMemoryArgument;
        }

        change = o => o with { MaxMemory = bytes };
        return null;
    }

    private static Parser Integer(long min, long max, Func<NodeOptions, long, NodeOptions> apply) =>
        (ReadOnlySpan<byte> value, out Func<NodeOptions, NodeOptions>? change) =>
        {
            change = null;
            if (!CommandArguments.TryParseInt64(value, out var number))
            {
                return RespErrors.ConfigNotAnInteger;
            }

            if (number < min || number > max)
            {
                return RespErrors.ConfigOutOfRange(min, max);
            }

            change = o => apply(o, number);
            return null;
        };

    /// <summary>A setting the node reports with Redis's name and cannot change: setting its value again is accepted, as a no-op.</summary>
    private static Parser Fixed(string only, string why) =>
        (ReadOnlySpan<byte> value, out Func<NodeOptions, NodeOptions>? change) =>
        {
            change = null;
            if (!Ascii.EqualsIgnoreCase(value, only))
            {
                return $"argument must be '{only}': {why}";
            }

            change = o => o;
            return null;
        };
}

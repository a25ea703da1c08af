using System.Text;
using PikaIngest.Node.Resp;

namespace PikaIngest.Node.Commands;

/// <summary>
/// COMMAND and its subcommands, generated from <see cref="CommandTable"/> in Redis 7.0's reply shapes. What a row
/// does not say, Redis's reply is given its empty form: no tips, and DOCS without since, complexity or arguments.
/// </summary>
internal static class IntrospectionCommands
{
    /// <summary>COMMAND alone is COMMAND INFO for every command; with a subcommand it is a container like CONFIG.</summary>
    public static Task? Command(ref CommandContext context)
    {
        if (context.Count > 1)
        {
            return Containers.Dispatch(ref context);
        }

        WriteAllInfo(context.Reply);
        return null;
    }

    public static Task? Count(ref CommandContext context)
    {
        context.Reply.WriteInteger(CommandTable.All.Count);
        return null;
    }

    /// <summary>COMMAND INFO [name...]: every command without names; a name the node does not serve gets nil, as in Redis.</summary>
    public static Task? Info(ref CommandContext context)
    {
        if (context.Count == 2)
        {
            WriteAllInfo(context.Reply);
            return null;
        }

        context.Reply.WriteArrayHeader(context.Count - 2);
        for (var i = 2; i < context.Count; i++)
        {
            if (CommandTable.FindFullName(Encoding.UTF8.GetString(context.Arg(i))) is { } spec)
            {
                WriteInfo(context.Reply, spec);
            }
            else
            {
                context.Reply.WriteNullBulk();
            }
        }

        return null;
    }

    /// <summary>COMMAND DOCS [name...]: a name → document map, as an array in RESP2; unknown names are left out, as in Redis.</summary>
    public static Task? Docs(ref CommandContext context)
    {
        var specs = new List<CommandSpec>();
        if (context.Count == 2)
        {
            specs.AddRange(CommandTable.All);
        }

        for (var i = 2; i < context.Count; i++)
        {
            if (CommandTable.FindFullName(Encoding.UTF8.GetString(context.Arg(i))) is { } spec)
            {
                specs.Add(spec);
            }
        }

        WriteDocs(context.Reply, specs);
        return null;
    }

    /// <summary>COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN pattern]: commands and subcommands by full name.</summary>
    public static Task? List(ref CommandContext context)
    {
        Func<CommandSpec, bool> filter = _ => true;
        for (var i = 2; i < context.Count; i += 3)
        {
            if (!(context.ArgIs(i, "FILTERBY"u8) && context.Count - 1 - i == 2))
            {
                context.Reply.WriteError(RespErrors.Syntax);
                return null;
            }

            var argument = Encoding.UTF8.GetString(context.Arg(i + 2));
            if (context.ArgIs(i + 1, "MODULE"u8))
            {
                // The node loads no modules.
                filter = _ => false;
            }
            else if (context.ArgIs(i + 1, "ACLCAT"u8))
            {
                filter = spec => Categories(spec).Contains("@" + argument.ToLowerInvariant());
            }
            else if (context.ArgIs(i + 1, "PATTERN"u8))
            {
                var pattern = Encoding.UTF8.GetBytes(argument.ToLowerInvariant());
                filter = spec => GlobPattern.IsMatch(pattern, Encoding.ASCII.GetBytes(spec.Name));
            }
            else
            {
                context.Reply.WriteError(RespErrors.Syntax);
                return null;
            }
        }

        var names = CommandTable.All.SelectMany(spec => (CommandSpec[])[spec, .. spec.Subcommands]).Where(filter).Select(spec => spec.Name).ToList();
        context.Reply.WriteArrayHeader(names.Count);
        foreach (var name in names)
        {
            context.Reply.WriteBulk(name);
        }

        return null;
    }

    /// <summary>COMMAND's flags as Redis names them, for the facts a row holds.</summary>
    public static IReadOnlyList<string> Flags(CommandSpec spec)
    {
        var flags = new List<string>();
        if ((spec.Flags & CommandFlags.Write) != 0)
        {
            flags.Add("write");
        }

        if (spec.IsReadOnly)
        {
            flags.Add("readonly");
        }

        if ((spec.Flags & CommandFlags.Admin) != 0)
        {
            flags.Add("admin");
        }

        if ((spec.Flags & CommandFlags.Fast) != 0)
        {
            flags.Add("fast");
        }

        if ((spec.Flags & CommandFlags.NoAuth) != 0)
        {
            flags.Add("no_auth");
        }

        return flags;
    }

    /// <summary>ACL categories as Redis derives most of them: from the flags and the group. A container has only @slow, as in Redis.</summary>
    public static IReadOnlyList<string> Categories(CommandSpec spec)
    {
        if (spec.Subcommands.Count > 0)
        {
            return ["@slow"];
        }

        var categories = new List<string>();
        if (spec.Group == CommandGroup.Generic)
        {
            categories.Add("@keyspace");
        }

        if ((spec.Flags & CommandFlags.Write) != 0)
        {
            categories.Add("@write");
        }

        if (spec.IsReadOnly)
        {
            categories.Add("@read");
        }

        switch (spec.Group)
        {
            case CommandGroup.String:
                categories.Add("@string");
                break;
            case CommandGroup.Bitmap:
                categories.Add("@bitmap");
                break;
            case CommandGroup.Connection:
                categories.Add("@connection");
                break;
        }

        if ((spec.Flags & CommandFlags.Admin) != 0)
        {
            categories.Add("@admin");
        }

        categories.Add((spec.Flags & CommandFlags.Fast) != 0 ? "@fast" : "@slow");
        if ((spec.Flags & CommandFlags.Admin) != 0)
        {
            categories.Add("@dangerous");
        }

        return categories;
    }

    public static string GroupName(CommandGroup group) => group.ToString().ToLowerInvariant();

    /// <summary>
    /// The 10-element reply of Redis 7.0: name, arity, flags, first key, last key, step, ACL categories, tips,
    /// key specs, subcommands. The one key spec is the row's key positions as a range; a write's keys are RW
    /// with update, a read's RO with access (Redis's finer flags, such as OW or insert, are not in the table).
    /// </summary>
    private static void WriteInfo(RespWriter reply, CommandSpec spec)
    {
        reply.WriteArrayHeader(10);
        reply.WriteBulk(spec.Name);
        reply.WriteInteger(spec.Arity);
        WriteSimpleStrings(reply, Flags(spec));
        reply.WriteInteger(spec.Keys.First);
        reply.WriteInteger(spec.Keys.Last);
        reply.WriteInteger(spec.Keys.Step);
        WriteSimpleStrings(reply, Categories(spec));
        reply.WriteArrayHeader(0);
        if (spec.Keys == KeyPositions.None)
        {
            reply.WriteArrayHeader(0);
        }
        else
        {
            var write = (spec.Flags & CommandFlags.Write) != 0;
            reply.WriteArrayHeader(1);
            reply.WriteArrayHeader(6);
            reply.WriteBulk("flags"u8);
            WriteSimpleStrings(reply, write ? ["RW", "update"] : ["RO", "access"]);
            reply.WriteBulk("begin_search"u8);
            reply.WriteArrayHeader(4);
            reply.WriteBulk("type"u8);
            reply.WriteBulk("index"u8);
            reply.WriteBulk("spec"u8);
            reply.WriteArrayHeader(2);
            reply.WriteBulk("index"u8);
            reply.WriteInteger(spec.Keys.First);
            reply.WriteBulk("find_keys"u8);
            reply.WriteArrayHeader(4);
            reply.WriteBulk("type"u8);
            reply.WriteBulk("range"u8);
            reply.WriteBulk("spec"u8);
            reply.WriteArrayHeader(6);
            reply.WriteBulk("lastkey"u8);
            // Relative to the first key, as Redis's range spec counts it; negative counts from the end.
            reply.WriteInteger(spec.Keys.Last < 0 ? spec.Keys.Last : spec.Keys.Last - spec.Keys.First);
            reply.WriteBulk("keystep"u8);
            reply.WriteInteger(spec.Keys.Step);
            reply.WriteBulk("limit"u8);
            reply.WriteInteger(0);
        }

        reply.WriteArrayHeader(spec.Subcommands.Count);
        foreach (var sub in spec.Subcommands)
        {
            WriteInfo(reply, sub);
        }
    }

    private static void WriteAllInfo(RespWriter reply)
    {
        reply.WriteArrayHeader(CommandTable.All.Count);
        foreach (var spec in CommandTable.All)
        {
            WriteInfo(reply, spec);
        }
    }

    private static void WriteDocs(RespWriter reply, IReadOnlyList<CommandSpec> specs)
    {
        reply.WriteArrayHeader(specs.Count * 2);
        foreach (var spec in specs)
        {
            reply.WriteBulk(spec.Name);
            reply.WriteArrayHeader(spec.Subcommands.Count > 0 ? 6 : 4);
            reply.WriteBulk("summary"u8);
            reply.WriteBulk(spec.Summary);
            reply.WriteBulk("group"u8);
            reply.WriteBulk(GroupName(spec.Group));
            if (spec.Subcommands.Count > 0)
            {
                reply.WriteBulk("subcommands"u8);
                WriteDocs(reply, spec.Subcommands);
            }
        }
    }

    private static void WriteSimpleStrings(RespWriter reply, IReadOnlyList<string> values)
    {
        reply.WriteArrayHeader(values.Count);
        foreach (var value in values)
        {
            reply.WriteSimpleString(Encoding.ASCII.GetBytes(value));
        }
    }
}

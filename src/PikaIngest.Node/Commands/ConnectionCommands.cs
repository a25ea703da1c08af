using System.Security.Cryptography;
using System.Text;
using PikaIngest.Node.Resp;

namespace PikaIngest.Node.Commands;

/// <summary>Commands about the connection itself: PING, ECHO, AUTH, SELECT, QUIT, CLIENT, HELLO.</summary>
internal static class ConnectionCommands
{
    public static Task? Ping(ref CommandContext context)
    {
        if (context.Count > 2)
        {
            context.Reply.WriteError(RespErrors.WrongNumberOfArguments("ping"));
        }
        else if (context.Count == 2)
        {
            context.Reply.WriteBulk(context.Arg(1));
        }
        else
        {
            context.Reply.WriteSimpleString("PONG"u8);
        }

        return null;
    }

    public static Task? Echo(ref CommandContext context)
    {
        context.Reply.WriteBulk(context.Arg(1));
        return null;
    }

    public static Task? Auth(ref CommandContext context)
    {
        if (context.Count > 3)
        {
            context.Reply.WriteError(RespErrors.Syntax);
            return null;
        }

        // As in Redis 7, the only user is "default"; without --requirepass it takes any password.
        var password = context.Node.Options.RequirePass;
        if (password is null && context.Count == 2)
        {
            context.Reply.WriteError(RespErrors.AuthWithoutPassword);
            return null;
        }

        var userOk = context.Count == 2 || context.ArgIs(1, "default"u8);
        var given = context.Arg(context.Count - 1);
        if (userOk && (password is null || CryptographicOperations.FixedTimeEquals(given, Encoding.UTF8.GetBytes(password))))
        {
            context.Session.Authenticated = true;
            context.Reply.WriteOk();
        }
        else
        {
            context.Reply.WriteError(RespErrors.WrongPass);
        }

        return null;
    }

    public static Task? Select(ref CommandContext context)
    {
        if (!context.TryArgInt64(1, out var index))
        {
            context.Reply.WriteError(RespErrors.NotAnInteger);
        }
        else if (index != 0)
        {
            context.Reply.WriteError(RespErrors.DbIndexOutOfRange);
        }
        else
        {
            context.Reply.WriteOk();
        }

        return null;
    }

    public static Task? Quit(ref CommandContext context)
    {
        context.Reply.WriteOk();
        context.Session.CloseAfterReply = true;
        return null;
    }

    /// <summary>The CLIENT subcommands clients send on connect (SETNAME, SETINFO, GETNAME, ID); others are not supported.</summary>
    public static Task? Client(ref CommandContext context)
    {
        if (context.ArgIs(1, "SETNAME"u8) && context.Count == 3)
        {
            context.Session.Name = Encoding.UTF8.GetString(context.Arg(2));
            context.Reply.WriteOk();
        }
        else if (context.ArgIs(1, "SETINFO"u8) && context.Count == 4)
        {
            context.Reply.WriteOk();
        }
        else if (context.ArgIs(1, "GETNAME"u8) && context.Count == 2)
        {
            if (context.Session.Name is { } name)
            {
                context.Reply.WriteBulk(name);
            }
            else
            {
                context.Reply.WriteNullBulk();
            }
        }
        else if (context.ArgIs(1, "ID"u8) && context.Count == 2)
        {
            context.Reply.WriteInteger(context.Session.Id);
        }
        else
        {
            context.Reply.WriteError(RespErrors.UnknownSubcommand(Encoding.UTF8.GetString(context.Arg(1)), "client"));
        }

        return null;
    }

    /// <summary>HELLO: the node speaks RESP2 only, which Redis answers with NOPROTO for any other version.</summary>
    public static Task? Hello(ref CommandContext context)
    {
        if (context.Count > 2)
        {
            context.Reply.WriteError(RespErrors.Syntax);
            return null;
        }

        if (context.Count == 2 && !(context.TryArgInt64(1, out var version) && version == 2))
        {
            context.Reply.WriteError(RespErrors.NoProto);
            return null;
        }

        context.Reply.WriteArrayHeader(14);
        context.Reply.WriteBulk("server"u8);
        context.Reply.WriteBulk("redis"u8);
        context.Reply.WriteBulk("version"u8);
        context.Reply.WriteBulk(ServerCommands.RedisVersion);
        context.Reply.WriteBulk("proto"u8);
        context.Reply.WriteInteger(2);
        context.Reply.WriteBulk("id"u8);
        context.Reply.WriteInteger(context.Session.Id);
        context.Reply.WriteBulk("mode"u8);
        context.Reply.WriteBulk("standalone"u8);
        context.Reply.WriteBulk("role"u8);
        context.Reply.WriteBulk(context.Node.Replication.IsSlave ? "slave"u8 : "master"u8);
        context.Reply.WriteBulk("modules"u8);
        context.Reply.WriteArrayHeader(0);
        return null;
    }
}

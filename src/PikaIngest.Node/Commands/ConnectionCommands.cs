using System.Security.Cryptography;
using System.Text;
using PikaIngest.Node.Resp;

namespace PikaIngest.Node.Commands;

/// <summary>Commands about the connection itself: PING, ECHO, AUTH, SELECT, QUIT, HELLO (CLIENT is in <see cref="ClientCommands"/>).</summary>
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
        if (KeyCommands.DatabaseIndex(ref context, 1, RespErrors.NotAnInteger) is not { } index)
        {
            return null;
        }

        if (index == 0)
        {
            context.Reply.WriteOk();
        }
        else
        {
            context.Reply.WriteError(RespErrors.DbIndexOutOfRange);
        }

        return null;
    }

    public static Task? Quit(ref CommandContext context)
    {
        context.Reply.WriteOk();
        context.Session.CloseAfterReply = true;
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

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

        if (context.Node.Options.RequirePass is null && context.Count == 2)
        {
            context.Reply.WriteError(RespErrors.AuthWithoutPassword);
            return null;
        }

        if (context.Count == 2 ? CheckPassword(ref context, "default"u8, context.Arg(1)) : CheckPassword(ref context, context.Arg(1), context.Arg(2)))
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

    /// <summary>As in Redis 7, the only user is "default"; without --requirepass it takes any password.</summary>
    private static bool CheckPassword(ref CommandContext context, ReadOnlySpan<byte> user, ReadOnlySpan<byte> given)
    {
        var password = context.Node.Options.RequirePass;
        return user.SequenceEqual("default"u8)
            && (password is null || CryptographicOperations.FixedTimeEquals(given, Encoding.UTF8.GetBytes(password)));
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
        if (context.Count >= 2)
        {
            if (!context.TryArgInt64(1, out var version))
            {
                context.Reply.WriteError(RespErrors.HelloProtocolNotAnInteger);
                return null;
            }

            if (version != 2)
            {
                context.Reply.WriteError(RespErrors.NoProto);
                return null;
            }
        }

        // Redis 7.0.15's helloCommand: each option takes effect as it is read (a name set before a bad option stays set).
        for (var i = 2; i < context.Count; i++)
        {
            var more = context.Count - 1 - i;
            if (context.ArgIs(i, "AUTH"u8) && more >= 2)
            {
                if (!CheckPassword(ref context, context.Arg(i + 1), context.Arg(i + 2)))
                {
                    context.Reply.WriteError(RespErrors.WrongPass);
                    return null;
                }

                context.Session.Authenticated = true;
                i += 2;
            }
            else if (context.ArgIs(i, "SETNAME"u8) && more >= 1)
            {
                if (!ClientCommands.IsValidName(context.Arg(i + 1)))
                {
                    context.Reply.WriteError(RespErrors.InvalidClientName);
                    return null;
                }

                ClientCommands.Rename(context.Session, context.Arg(++i));
            }
            else
            {
                context.Reply.WriteError(RespErrors.HelloSyntax(Encoding.UTF8.GetString(context.Arg(i))));
                return null;
            }
        }

        if (!context.Session.Authenticated)
        {
            context.Reply.WriteError(RespErrors.HelloNoAuth);
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
        context.Reply.WriteBulk(context.Node.Replication.IsSlave ? "replica"u8 : "master"u8);
        context.Reply.WriteBulk("modules"u8);
        context.Reply.WriteArrayHeader(0);
        return null;
    }
}

using System.Globalization;
using System.Text;
using PikaIngest.Node.Resp;

namespace PikaIngest.Node.Commands;

/// <summary>CLIENT's subcommands: the connection's id and name, and listing and killing connections.</summary>
internal static class ClientCommands
{
    private enum ClientType
    {
        Normal,
        Replica,
        PubSub,
        Master,
    }

    public static Task? Id(ref CommandContext context)
    {
        context.Reply.WriteInteger(context.Session.Id);
        return null;
    }

    public static Task? GetName(ref CommandContext context)
    {
        if (context.Session.Name is { } name)
        {
            context.Reply.WriteBulk(name);
        }
        else
        {
            context.Reply.WriteNullBulk();
        }

        return null;
    }

    /// <summary>As Redis: a name is printable ASCII without spaces (it is one field of CLIENT LIST); an empty one removes it.</summary>
    public static Task? SetName(ref CommandContext context)
    {
        if (!IsValidName(context.Arg(2)))
        {
            context.Reply.WriteError(RespErrors.InvalidClientName);
            return null;
        }

        Rename(context.Session, context.Arg(2));
        context.Reply.WriteOk();
        return null;
    }

    internal static bool IsValidName(ReadOnlySpan<byte> name) => !name.ContainsAnyExceptInRange((byte)'!', (byte)'~');

    internal static void Rename(ClientSession session, ReadOnlySpan<byte> name) =>
        session.Name = name.IsEmpty ? null : Encoding.ASCII.GetString(name);

    /// <summary>Redis 7.2's CLIENT SETINFO, which clients such as StackExchange.Redis send on connect: accepted, not kept.</summary>
    public static Task? SetInfo(ref CommandContext context)
    {
        context.Reply.WriteOk();
        return null;
    }

    /// <summary>CLIENT LIST [TYPE type | ID id...], as Redis 7.0 parses it.</summary>
    public static Task? List(ref CommandContext context)
    {
        IEnumerable<ConnectedClient> clients;
        if (context.Count == 4 && context.ArgIs(2, "TYPE"u8))
        {
            var typeName = Encoding.UTF8.GetString(context.Arg(3));
            if (ParseType(typeName) is not { } type)
            {
                context.Reply.WriteError(RespErrors.UnknownClientType(typeName));
                return null;
            }

            clients = context.Node.Clients.Snapshot().Where(c => TypeOf(c) == type);
        }
        else if (context.Count > 3 && context.ArgIs(2, "ID"u8))
        {
            var found = new List<ConnectedClient>();
            for (var i = 3; i < context.Count; i++)
            {
                if (!context.TryArgInt64(i, out var id))
                {
                    context.Reply.WriteError(RespErrors.InvalidClientId);
                    return null;
                }

                if (context.Node.Clients.Find(id) is { } client)
                {
                    found.Add(client);
                }
            }

            clients = found;
        }
        else if (context.Count != 2)
        {
            context.Reply.WriteError(RespErrors.Syntax);
            return null;
        }
        else
        {
            clients = context.Node.Clients.Snapshot();
        }

        var text = new StringBuilder();
        foreach (var client in clients)
        {
            AppendLine(text, client);
        }

        context.Reply.WriteBulk(text.ToString());
        return null;
    }

    public static Task? Info(ref CommandContext context)
    {
        var text = new StringBuilder();
        if (context.Node.Clients.Find(context.Session.Id) is { } self)
        {
            AppendLine(text, self);
        }

        context.Reply.WriteBulk(text.ToString());
        return null;
    }

    /// <summary>
    /// CLIENT KILL ip:port (+OK, or "No such client"; the caller may kill itself), or Redis 7.0's filters
    /// ID, TYPE, ADDR, LADDR, USER, SKIPME in pairs (the number killed; SKIPME yes by default).
    /// A killed connection is closed at once; the caller's own closes after this reply.
    /// </summary>
    public static Task? Kill(ref CommandContext context)
    {
        string? address = null;
        string? localAddress = null;
        ClientType? type = null;
        long id = 0;
        var skipMe = true;
        var oldForm = context.Count == 3;
        if (oldForm)
        {
            address = Encoding.UTF8.GetString(context.Arg(2));
            skipMe = false;
        }
        else
        {
            for (var i = 2; i < context.Count; i += 2)
            {
                if (i + 1 >= context.Count)
                {
                    context.Reply.WriteError(RespErrors.Syntax);
                    return null;
                }

                var value = Encoding.UTF8.GetString(context.Arg(i + 1));
                if (context.ArgIs(i, "ID"u8))
                {
                    if (!context.TryArgInt64(i + 1, out id) || id < 1)
                    {
                        context.Reply.WriteError(RespErrors.ClientIdNotPositive);
                        return null;
                    }
                }
                else if (context.ArgIs(i, "TYPE"u8))
                {
                    type = ParseType(value);
                    if (type is null)
                    {
                        context.Reply.WriteError(RespErrors.UnknownClientType(value));
                        return null;
                    }
                }
                else if (context.ArgIs(i, "ADDR"u8))
                {
                    address = value;
                }
                else if (context.ArgIs(i, "LADDR"u8))
                {
                    localAddress = value;
                }
                else if (context.ArgIs(i, "USER"u8))
                {
                    // The only user is "default", as for AUTH; every connection is it.
                    if (value != "default")
                    {
                        context.Reply.WriteError(RespErrors.NoSuchUser(value));
                        return null;
                    }
                }
                else if (context.ArgIs(i, "SKIPME"u8) && (context.ArgIs(i + 1, "YES"u8) || context.ArgIs(i + 1, "NO"u8)))
                {
                    skipMe = context.ArgIs(i + 1, "YES"u8);
                }
                else
                {
                    context.Reply.WriteError(RespErrors.Syntax);
                    return null;
                }
            }
        }

        var killed = 0;
        foreach (var client in context.Node.Clients.Snapshot())
        {
            var self = client.Session == context.Session;
            if ((address is not null && client.Address != address)
                || (localAddress is not null && client.LocalAddress != localAddress)
                || (type is not null && TypeOf(client) != type)
                || (id != 0 && client.Session.Id != id)
                || (self && skipMe))
            {
                continue;
            }

            if (self)
            {
                context.Session.CloseAfterReply = true;
            }
            else
            {
                // Gone at once, as Redis frees a killed client: a CLIENT LIST or KILL right after must not find it
                // while its session is still winding down.
                context.Node.Clients.Remove(client.Session);
                client.Session.Abort();
            }

            killed++;
        }

        if (!oldForm)
        {
            context.Reply.WriteInteger(killed);
        }
        else if (killed == 0)
        {
            context.Reply.WriteError(RespErrors.NoSuchClient);
        }
        else
        {
            context.Reply.WriteOk();
        }

        return null;
    }

    private static ClientType? ParseType(string name) => name.ToLowerInvariant() switch
    {
        "normal" => ClientType.Normal,
        "slave" or "replica" => ClientType.Replica,
        "pubsub" => ClientType.PubSub,
        "master" => ClientType.Master,
        _ => null,
    };

    /// <summary>A connection PIKA_SYNC handed to replication is a replica's; the node's own link to its master is not listed.</summary>
    private static ClientType TypeOf(ConnectedClient client) => client.Session.Handoff is null ? ClientType.Normal : ClientType.Replica;

    /// <summary>
    /// One line in Redis 7.0's field order. Known: id, addr, laddr, fd, name, age, idle, flags (N, or S for a replica),
    /// cmd. Fixed, as the node has no such state: db=0, no pub/sub or MULTI, user default, no redirect, RESP2.
    /// Buffer and memory fields (qbuf … tot-mem) are 0: the node does not account them per connection.
    /// </summary>
    private static void AppendLine(StringBuilder text, ConnectedClient client)
    {
        var now = Environment.TickCount64;
        var session = client.Session;
        text.Append(CultureInfo.InvariantCulture,
            $"id={session.Id} addr={client.Address} laddr={client.LocalAddress} fd={client.Fd} name={session.Name} ")
            .Append(CultureInfo.InvariantCulture, $"age={(now - client.ConnectedTicks) / 1000} idle={(now - session.LastCommandTicks) / 1000} ")
            .Append(TypeOf(client) == ClientType.Replica ? "flags=S" : "flags=N")
            .Append(" db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r")
            .Append(" cmd=").Append(session.LastCommand ?? "NULL")
            .Append(" user=default redir=-1 resp=2\n");
    }
}

using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using System.Text;
using PikaIngest.Node.Replication;
using PikaIngest.Node.Resp;

namespace PikaIngest.Node.Commands;

/// <summary>ROLE, SLAVEOF/REPLICAOF, and the two commands a slave sends its master: REPLCONF and PIKA_SYNC.</summary>
internal static class ReplicationCommands
{
    public static Task? Role(ref CommandContext context)
    {
        context.Node.Replication.WriteRole(context.Reply);
        return null;
    }

    public static Task? SlaveOf(ref CommandContext context)
    {
        if (context.ArgIs(1, "NO"u8) && context.ArgIs(2, "ONE"u8))
        {
            context.Node.Replication.Unfollow();
            context.Reply.WriteOk();
            return null;
        }

        if (!context.TryArgInt64(2, out var port) || port is < 1 or > 65535)
        {
            context.Reply.WriteError(RespErrors.InvalidMasterPort);
            return null;
        }

        var host = Encoding.UTF8.GetString(context.Arg(1));
        if (IsThisNode(host, (int)port, context.Node.Port, context.Node.Options.Bind))
        {
            context.Reply.WriteError(RespErrors.SlaveOfItself);
            return null;
        }

        context.Node.Replication.Follow(host, (int)port);
        context.Reply.WriteOk();
        return null;
    }

    /// <summary>
    /// Whether host:port is this node's own listening address, as Pika's SlaveofCmd refuses it (Pika issue 2168:
    /// 127.0.0.1, localhost in any case): the node's port, and a loopback address, localhost, the machine's name, the
    /// bound address, or — bound to every address — any address of this machine. A name is not resolved (that could
    /// wait on DNS while the command runs).
    /// </summary>
    internal static bool IsThisNode(string host, int port, int ownPort, string bind)
    {
        if (port != ownPort)
        {
            return false;
        }

        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || host.Equals(Dns.GetHostName(), StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        if (!IPAddress.TryParse(host, out var address))
        {
            return false;
        }

        if (IPAddress.IsLoopback(address) || (IPAddress.TryParse(bind, out var bound) && bound.Equals(address)))
        {
            return true;
        }

        return bind is "0.0.0.0" or "::"
            && NetworkInterface.GetAllNetworkInterfaces().SelectMany(i => i.GetIPProperties().UnicastAddresses).Any(a => a.Address.Equals(address));
    }

    /// <summary>REPLCONF listening-port P (remembered for PIKA_SYNC), ACK outside a link is ignored, as Redis does.</summary>
    public static Task? ReplConf(ref CommandContext context)
    {
        if (context.ArgIs(1, "listening-port"u8) && context.Count == 3 && context.TryArgInt64(2, out var port) && port is > 0 and <= 65535)
        {
            context.Session.ReplicaListeningPort = (int)port;
            context.Reply.WriteOk();
        }
        else if (context.ArgIs(1, "ACK"u8))
        {
            // Acknowledgements only mean something on a replication link, which has its own reader.
        }
        else
        {
            context.Reply.WriteError(RespErrors.Syntax);
        }

        return null;
    }

    /// <summary>
    /// PIKA_SYNC run-id filenum offset [RESUME checkpoint-id (path size)…]: the connection becomes a replication
    /// link (docs/FORMATS.md §20); RESUME lists what an interrupted full sync already delivered.
    /// </summary>
    public static Task? PikaSync(ref CommandContext context)
    {
        if (!uint.TryParse(context.Arg(2), NumberStyles.None, CultureInfo.InvariantCulture, out var fileNum)
            || !ulong.TryParse(context.Arg(3), NumberStyles.None, CultureInfo.InvariantCulture, out var offset))
        {
            context.Reply.WriteError(RespErrors.NotAnInteger);
            context.Session.CloseAfterReply = true;
            return null;
        }

        FullSyncResume? resume = null;
        if (context.Count > 4)
        {
            if (!context.ArgIs(4, "RESUME"u8) || context.Count % 2 != 0)
            {
                context.Reply.WriteError(RespErrors.Syntax);
                context.Session.CloseAfterReply = true;
                return null;
            }

            var sizes = new Dictionary<string, long>(StringComparer.Ordinal);
            for (var i = 6; i + 1 < context.Count; i += 2)
            {
                if (!long.TryParse(context.Arg(i + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var size))
                {
                    context.Reply.WriteError(RespErrors.NotAnInteger);
                    context.Session.CloseAfterReply = true;
                    return null;
                }

                sizes[Encoding.UTF8.GetString(context.Arg(i))] = size;
            }

            resume = new FullSyncResume(Encoding.UTF8.GetString(context.Arg(5)), sizes);
        }

        var runId = Encoding.UTF8.GetString(context.Arg(1));
        var node = context.Node;
        var listeningPort = context.Session.ReplicaListeningPort;
        context.Session.Handoff = (socket, leftover, stopping) =>
            node.Replication.Master.ServeAsync(socket, leftover, runId, new Binlog.BinlogPosition(fileNum, offset), resume, listeningPort, stopping);
        return null;
    }
}

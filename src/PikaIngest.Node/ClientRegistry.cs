using System.Collections.Concurrent;
using System.Net.Sockets;

namespace PikaIngest.Node;

/// <summary>
/// A served connection as CLIENT LIST shows it: its session and the socket's facts, read once at accept.
/// <paramref name="ConnectedTicks"/> is <see cref="Environment.TickCount64"/> then, as the session's idle time is.
/// </summary>
internal sealed record ConnectedClient(ClientSession Session, string Address, string LocalAddress, long Fd, long ConnectedTicks);

/// <summary>The node's live client connections (not the session a slave applies its master's binlog with).</summary>
internal sealed class ClientRegistry
{
    private readonly ConcurrentDictionary<long, ConnectedClient> _clients = new();

    public void Add(ClientSession session, Socket socket)
    {
        // Redis's addr and laddr: ip:port, an IPv6 address in brackets, as IPEndPoint prints them.
        _clients[session.Id] = new ConnectedClient(
            session,
            socket.RemoteEndPoint?.ToString() ?? "?:0",
            socket.LocalEndPoint?.ToString() ?? "?:0",
            socket.Handle.ToInt64(),
            Environment.TickCount64);
    }

    public void Remove(ClientSession session) => _clients.TryRemove(session.Id, out _);

    public ConnectedClient? Find(long id) => _clients.GetValueOrDefault(id);

    /// <summary>Every connection, oldest first, as Redis lists them.</summary>
    public IReadOnlyList<ConnectedClient> Snapshot() => [.. _clients.Values.OrderBy(c => c.Session.Id)];
}

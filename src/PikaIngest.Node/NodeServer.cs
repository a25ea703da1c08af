using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using PikaIngest.Node.Resp;

namespace PikaIngest.Node;

/// <summary>Accepts clients and runs a session for each, and the expiry sweep, until the node stops.</summary>
internal sealed class NodeServer : IAsyncDisposable
{
    private readonly NodeContext _node;
    private readonly Socket _listener;
    private readonly ConcurrentDictionary<ClientSession, Task> _sessions = new();
    private Task _accepting = Task.CompletedTask;
    private Task _sweeping = Task.CompletedTask;
    private Task _purging = Task.CompletedTask;

    private NodeServer(NodeContext node, Socket listener)
    {
        _node = node;
        _listener = listener;
    }

    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndPoint!;

    public static NodeServer Start(NodeContext node)
    {
        var address = IPAddress.Parse(node.Options.Bind);
        var listener = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            listener.Bind(new IPEndPoint(address, node.Options.Port));
            listener.Listen(511);
        }
        catch
        {
            listener.Dispose();
            throw;
        }

        var server = new NodeServer(node, listener);
        node.Port = server.EndPoint.Port;
        server._accepting = server.AcceptAsync();
        server._sweeping = new ExpirySweeper(node).RunAsync();
        server._purging = server.PurgeAsync();
        node.Replication.Start();
        return server;
    }

    private async Task AcceptAsync()
    {
        var stopping = _node.Stopping;
        while (!stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(stopping).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            client.NoDelay = true;
            if (_node.Stats.ConnectedClients >= _node.Options.MaxClients)
            {
                _node.Stats.Rejected();
                RejectFull(client);
                continue;
            }

            var session = new ClientSession(client, _node);
            _node.Clients.Add(session, client);
            _node.Stats.Connected();
            _sessions[session] = RunAsync(session, stopping);
        }
    }

    private static void RejectFull(Socket client)
    {
        try
        {
            client.Send(Encoding.ASCII.GetBytes($"-{RespErrors.MaxClients}\r\n"));
        }
        catch (SocketException)
        {
        }

        client.Dispose();
    }

    private async Task RunAsync(ClientSession session, CancellationToken stopping)
    {
        // Start on the thread pool, so a client that sends nothing cannot hold up the accept loop.
        await Task.Yield();
        try
        {
            await session.RunAsync(stopping).ConfigureAwait(false);
        }
        finally
        {
            _node.Clients.Remove(session);
            session.Dispose();
            _node.Stats.Disconnected();
            _sessions.TryRemove(session, out _);
        }
    }

    private async Task PurgeAsync()
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), _node.Clock);
        try
        {
            while (await timer.WaitForNextTickAsync(_node.Stopping).ConfigureAwait(false))
            {
                _node.Replication.Master.ExpireCheckpoints();
                var purged = _node.Replication.Master.Purge();
                if (purged > 0)
                {
                    _node.Log($"binlog: purged {purged} old files");
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Dispose();
        await _accepting.ConfigureAwait(false);
        foreach (var session in _sessions.Keys)
        {
            session.Abort();
        }

        await Task.WhenAll(_sessions.Values).ConfigureAwait(false);
        await _sweeping.ConfigureAwait(false);
        await _purging.ConfigureAwait(false);
        await _node.Replication.StopAsync().ConfigureAwait(false);
    }
}

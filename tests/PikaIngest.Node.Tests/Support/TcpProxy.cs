using System.Net;
using System.Net.Sockets;

namespace PikaIngest.Node.Tests.Support;

/// <summary>
/// A loopback TCP proxy for link-fault tests: forwards every accepted connection to a target port and can
/// cut every current connection (<see cref="CutAll"/>), delay each forwarded chunk (<see cref="Delay"/>) and
/// stop accepting and forwarding altogether (<see cref="Paused"/>) — a black hole that keeps sockets open.
/// </summary>
public sealed class TcpProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _targetPort;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Link> _links = [];
    private readonly Task _acceptLoop;
    private long _delayTicks;
    private volatile bool _paused;
    private int _accepted;
    private int _cuts;

    private TcpProxy(int targetPort)
    {
        _targetPort = targetPort;
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    /// <summary>The loopback port clients connect to.</summary>
    public int Port { get; }

    /// <summary>Connections accepted so far (each one is a new link to the target once forwarding runs).</summary>
    public int Accepted => Volatile.Read(ref _accepted);

    /// <summary>How many connections <see cref="CutAll"/> has closed so far.</summary>
    public int Cuts => Volatile.Read(ref _cuts);

    /// <summary>Connections currently forwarded.</summary>
    public int Open
    {
        get
        {
            lock (_links)
            {
                return _links.Count;
            }
        }
    }

    /// <summary>Waited before every chunk is forwarded, in both directions; zero forwards at once.</summary>
    public TimeSpan Delay
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _delayTicks));
        set => Interlocked.Exchange(ref _delayTicks, value.Ticks);
    }

    /// <summary>
    /// While set, nothing is forwarded and new connections are held (accepted by the kernel, not connected to
    /// the target); clearing it lets everything through again.
    /// </summary>
    public bool Paused
    {
        get => _paused;
        set => _paused = value;
    }

    public static TcpProxy Start(int targetPort) => new(targetPort);

    /// <summary>Closes every current connection on both sides with a reset, as a dropped link looks to both peers.</summary>
    public int CutAll()
    {
        Link[] links;
        lock (_links)
        {
            links = [.. _links];
            _links.Clear();
        }

        foreach (var link in links)
        {
            link.Close(reset: true);
        }

        Interlocked.Add(ref _cuts, links.Length);
        return links.Length;
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            Interlocked.Increment(ref _accepted);
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(Socket client)
    {
        var upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var link = new Link(client, upstream);
        lock (_links)
        {
            _links.Add(link);
        }

        try
        {
            await WhilePausedAsync();
            client.NoDelay = true;
            upstream.NoDelay = true;
            await upstream.ConnectAsync(IPAddress.Loopback, _targetPort, _stop.Token);
            await Task.WhenAll(PumpAsync(client, upstream), PumpAsync(upstream, client));
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException or IOException)
        {
            // The link was cut, the target is down, or the proxy stops: close both sides below.
        }
        finally
        {
            lock (_links)
            {
                _links.Remove(link);
            }

            link.Close(reset: false);
        }
    }

    private async Task PumpAsync(Socket from, Socket to)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                if (read == 0)
                {
                    break;
                }

                var delay = Delay;
                if (delay > TimeSpan.Zero)
                {
                    await Task.Delay(delay, _stop.Token);
                }

                await WhilePausedAsync();
                var sent = 0;
                while (sent < read)
                {
                    sent += await to.SendAsync(buffer.AsMemory(sent, read - sent), SocketFlags.None, _stop.Token);
                }
            }
        }
        finally
        {
            // Either side ending ends the link: the peers see what a broken connection looks like.
            TryShutdown(from);
            TryShutdown(to);
        }
    }

    private async Task WhilePausedAsync()
    {
        while (_paused)
        {
            await Task.Delay(10, _stop.Token);
        }
    }

    private static void TryShutdown(Socket socket)
    {
        try
        {
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Already closed.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        CutAll();
        await _acceptLoop;
        _stop.Dispose();
    }

    private sealed class Link(Socket client, Socket upstream)
    {
        private int _closed;

        public void Close(bool reset)
        {
            if (Interlocked.Exchange(ref _closed, 1) != 0)
            {
                return;
            }

            foreach (var socket in (Socket[])[client, upstream])
            {
                try
                {
                    if (reset)
                    {
                        // Linger 0: close sends RST, so the peer sees a reset rather than an orderly end.
                        socket.LingerState = new LingerOption(true, 0);
                    }

                    socket.Close();
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException)
                {
                    // Closed by the other side of the race.
                }
            }
        }
    }
}

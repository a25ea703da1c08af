using System.Net;
using System.Net.Sockets;
using System.Text;

namespace PikaIngest.Functions.UnitTests;

/// <summary>
/// A tiny RESP server that records the commands a client sends and answers them with a
/// configurable reply: it only observes the client side of INGEST_S3 (the real node is pika-node).
/// </summary>
public sealed class RespListener : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private readonly List<string[]> _commands = [];

    public RespListener(Func<string[], string>? reply = null)
    {
        Reply = reply ?? Default;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public string Endpoint => $"127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    /// <summary>What a Pika node answers to the commands a client sends around INGEST_S3.</summary>
    public static string Default(string[] command) => command[0].ToUpperInvariant() switch
    {
        "PING" => "+PONG",
        "AUTH" or "SELECT" or "SET" or "INGEST_S3" => "+OK",
        _ => $"-ERR unknown command '{command[0]}'",
    };

    /// <summary>Maps a command (name and arguments) to a raw RESP reply line such as "+OK" or "-ERR …".</summary>
    public Func<string[], string> Reply { get; set; }

    public IReadOnlyList<string[]> Commands
    {
        get
        {
            lock (_commands)
            {
                return [.. _commands];
            }
        }
    }

    public IReadOnlyList<string[]> Ingests => Commands.Where(c => c[0].Equals("INGEST_S3", StringComparison.OrdinalIgnoreCase)).ToList();

    private async Task AcceptAsync()
    {
        var sessions = new List<Task>();
        try
        {
            while (true)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                sessions.Add(ServeAsync(client));
            }
        }
        catch (OperationCanceledException)
        {
            await Task.WhenAll(sessions);
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            var network = client.GetStream();
            var input = new BufferedStream(network);
            try
            {
                while (await ReadCommandAsync(input) is { } command)
                {
                    lock (_commands)
                    {
                        _commands.Add(command);
                    }

                    await network.WriteAsync(Encoding.UTF8.GetBytes(Reply(command) + "\r\n"), _stop.Token);
                }
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or EndOfStreamException)
            {
                // The client went away or the listener is stopping.
            }
        }
    }

    /// <summary>Reads one RESP array of bulk strings, binary-safe (clients send binary keys too).</summary>
    private async Task<string[]?> ReadCommandAsync(Stream stream)
    {
        var header = await ReadLineAsync(stream);
        if (header is null)
        {
            return null;
        }

        if (!header.StartsWith('*'))
        {
            return header.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        }

        var parts = new string[int.Parse(header.AsSpan(1), System.Globalization.CultureInfo.InvariantCulture)];
        for (var i = 0; i < parts.Length; i++)
        {
            var length = int.Parse((await ReadLineAsync(stream) ?? throw new EndOfStreamException()).AsSpan(1), System.Globalization.CultureInfo.InvariantCulture);
            var bytes = new byte[length + 2];
            await stream.ReadExactlyAsync(bytes, _stop.Token);
            parts[i] = Encoding.UTF8.GetString(bytes, 0, length);
        }

        return parts;
    }

    private async Task<string?> ReadLineAsync(Stream stream)
    {
        var line = new List<byte>();
        var one = new byte[1];
        while (true)
        {
            if (await stream.ReadAsync(one, _stop.Token) == 0)
            {
                return line.Count == 0 ? null : throw new EndOfStreamException();
            }

            if (one[0] == '\n')
            {
                return Encoding.UTF8.GetString([.. line]).TrimEnd('\r');
            }

            line.Add(one[0]);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        _stop.Dispose();
    }
}

using System.Net;
using System.Net.Sockets;
using System.Text;

namespace PikaIngest.Node.Tests.Support;

/// <summary>
/// A hostile master for bad-input tests: accepts a slave's connections, answers <c>+OK</c> to AUTH and REPLCONF (<c>+PONG</c> to PING),
/// and answers PIKA_SYNC with <c>*2[$CONTINUE,$run-id]</c> followed by one <c>ITEM</c> frame carrying the item
/// bytes it was given (corrupt ones, in the tests). It then reads until the slave closes the connection.
/// </summary>
public sealed class FakeMaster : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly byte[] _item;
    private readonly string _positionAfter;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<string> _commands = [];
    private readonly List<Task> _connections = [];
    private readonly TaskCompletionSource _closedAfterItem = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _acceptLoop;
    private int _accepted;
    private int _itemsSent;

    private FakeMaster(byte[] item, string runId, string positionAfter)
    {
        _item = item;
        RunId = runId;
        _positionAfter = positionAfter;
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    public int Port { get; }

    /// <summary>The 40-hex run-id sent in CONTINUE.</summary>
    public string RunId { get; }

    public int Accepted => Volatile.Read(ref _accepted);

    public int ItemsSent => Volatile.Read(ref _itemsSent);

    /// <summary>Completes when a slave that was sent the item closed its connection.</summary>
    public Task ClosedAfterItem => _closedAfterItem.Task;

    /// <summary>Every command received, as "NAME arg arg", in order of arrival.</summary>
    public IReadOnlyList<string> Commands
    {
        get
        {
            lock (_commands)
            {
                return [.. _commands];
            }
        }
    }

    /// <param name="item">The bytes of the one ITEM frame (an encoded binlog item, usually corrupt).</param>
    /// <param name="positionAfter">The frame's third element, the master position after the item.</param>
    public static FakeMaster Start(byte[] item, string positionAfter = "0:1000") =>
        new(item, Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()) + "00000000", positionAfter);

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            Interlocked.Increment(ref _accepted);
            lock (_connections)
            {
                _connections.Add(Task.Run(() => ServeAsync(client)));
            }
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using var _ = client;
        var stream = client.GetStream();
        var reader = new RespArrayReader(stream);
        var sentItem = false;
        try
        {
            while (await reader.ReadArrayAsync(_stop.Token) is { } command)
            {
                lock (_commands)
                {
                    _commands.Add(string.Join(' ', command));
                }

                var name = command.Count > 0 ? command[0].ToUpperInvariant() : "";
                if (name == "PIKA_SYNC" && !sentItem)
                {
                    var frames = new List<byte>();
                    frames.AddRange(Frame(Encoding.ASCII.GetBytes("CONTINUE"), Encoding.ASCII.GetBytes(RunId)));
                    frames.AddRange(Frame(Encoding.ASCII.GetBytes("ITEM"), _item, Encoding.ASCII.GetBytes(_positionAfter)));
                    await stream.WriteAsync(frames.ToArray(), _stop.Token);
                    sentItem = true;
                    Interlocked.Increment(ref _itemsSent);
                }
                else if (name == "PING")
                {
                    await stream.WriteAsync("+PONG\r\n"u8.ToArray(), _stop.Token);
                }
                else if (name is "AUTH" or "REPLCONF")
                {
                    await stream.WriteAsync("+OK\r\n"u8.ToArray(), _stop.Token);
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException or InvalidDataException)
        {
            // The slave reset the connection, sent something unreadable, or the fake stops.
        }

        if (sentItem && !_stop.IsCancellationRequested)
        {
            _closedAfterItem.TrySetResult();
        }
    }

    /// <summary>A RESP array of bulk strings, the shape of everything a master sends a slave.</summary>
    public static byte[] Frame(params byte[][] parts)
    {
        var bytes = new List<byte>();
        bytes.AddRange(Encoding.ASCII.GetBytes($"*{parts.Length}\r\n"));
        foreach (var part in parts)
        {
            bytes.AddRange(Encoding.ASCII.GetBytes($"${part.Length}\r\n"));
            bytes.AddRange(part);
            bytes.AddRange("\r\n"u8.ToArray());
        }

        return [.. bytes];
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _acceptLoop;
        Task[] connections;
        lock (_connections)
        {
            connections = [.. _connections];
        }

        await Task.WhenAll(connections);
        _stop.Dispose();
    }

    /// <summary>Reads RESP arrays of bulk strings (what a slave sends); inline commands are split on spaces.</summary>
    private sealed class RespArrayReader(Stream stream)
    {
        private readonly byte[] _buffer = new byte[64 * 1024];
        private int _start;
        private int _end;

        /// <summary>The next command, or null at the end of the stream.</summary>
        public async Task<List<string>?> ReadArrayAsync(CancellationToken cancellation)
        {
            var line = await ReadLineAsync(cancellation);
            if (line is null)
            {
                return null;
            }

            if (!line.StartsWith('*'))
            {
                return [.. line.Split(' ', StringSplitOptions.RemoveEmptyEntries)];
            }

            var count = ParseLength(line);
            var args = new List<string>(count);
            for (var i = 0; i < count; i++)
            {
                var header = await ReadLineAsync(cancellation) ?? throw new InvalidDataException("stream ended inside a command");
                if (!header.StartsWith('$'))
                {
                    throw new InvalidDataException($"expected a bulk string, got '{header}'");
                }

                var length = ParseLength(header);
                while (_end - _start < length + 2)
                {
                    if (!await FillAsync(cancellation))
                    {
                        throw new InvalidDataException("stream ended inside a bulk string");
                    }
                }

                args.Add(Encoding.UTF8.GetString(_buffer, _start, length));
                _start += length + 2;
            }

            return args;
        }

        private static int ParseLength(string line) =>
            int.TryParse(line.AsSpan(1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var length) && length <= 60_000
                ? length
                : throw new InvalidDataException($"bad length line '{line}'");

        private async Task<string?> ReadLineAsync(CancellationToken cancellation)
        {
            while (true)
            {
                var newline = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
                if (newline >= _start)
                {
                    var length = newline - _start;
                    var line = Encoding.UTF8.GetString(_buffer, _start, length > 0 && _buffer[newline - 1] == '\r' ? length - 1 : length);
                    _start = newline + 1;
                    return line;
                }

                if (!await FillAsync(cancellation))
                {
                    return null;
                }
            }
        }

        private async Task<bool> FillAsync(CancellationToken cancellation)
        {
            if (_start > 0)
            {
                Array.Copy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }

            if (_end == _buffer.Length)
            {
                throw new InvalidDataException("a line or value longer than the buffer");
            }

            var read = await stream.ReadAsync(_buffer.AsMemory(_end), cancellation);
            _end += read;
            return read > 0;
        }
    }
}

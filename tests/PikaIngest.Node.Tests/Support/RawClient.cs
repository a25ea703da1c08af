using System.Net;
using System.Net.Sockets;
using System.Text;

namespace PikaIngest.Node.Tests.Support;

/// <summary>
/// A bare TCP client for protocol tests: sends exactly the bytes given (partial frames, garbage)
/// and reads replies back as text in redis-cli's spirit, so two servers' replies can be compared.
/// </summary>
public sealed class RawClient : IDisposable
{
    private readonly TcpClient _client = new();
    private NetworkStream _stream = null!;
    private readonly byte[] _buffer = new byte[1 << 16];
    private int _start;
    private int _end;

    /// <summary>
    /// Renders bulk replies as <c>$x:</c> and their bytes in hex instead of decoding them as UTF-8, which would turn
    /// different invalid sequences into the same replacement characters.
    /// </summary>
    public bool BulkAsHex { get; set; }

    public static async Task<RawClient> ConnectAsync(int port)
    {
        var client = new RawClient();
        await client._client.ConnectAsync(IPAddress.Loopback, port);
        client._client.NoDelay = true;
        client._stream = client._client.GetStream();
        return client;
    }

    public Task SendAsync(string text) => SendAsync(Encoding.UTF8.GetBytes(text));

    public async Task SendAsync(byte[] bytes) => await _stream.WriteAsync(bytes);

    /// <summary>Sends a command as a RESP array of bulk strings.</summary>
    public Task SendCommandAsync(params string[] args) => SendAsync(Encode(args));

    public static byte[] Encode(params string[] args)
    {
        var text = new StringBuilder().Append('*').Append(args.Length).Append("\r\n");
        foreach (var arg in args)
        {
            text.Append('$').Append(Encoding.UTF8.GetByteCount(arg)).Append("\r\n").Append(arg).Append("\r\n");
        }

        return Encoding.UTF8.GetBytes(text.ToString());
    }

    /// <summary>Sends a command and reads its reply.</summary>
    public async Task<string> CallAsync(params string[] args)
    {
        await SendCommandAsync(args);
        return await ReadReplyAsync();
    }

    /// <summary>Reads one reply: "+OK", "-ERR …", ":1", "$value" / "$nil", "*2[…,…]" / "*nil".</summary>
    public async Task<string> ReadReplyAsync(TimeSpan? timeout = null)
    {
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        return await ReadAsync(cancel.Token);
    }

    private async Task<string> ReadAsync(CancellationToken cancellation)
    {
        var line = await ReadLineAsync(cancellation);
        switch (line[0])
        {
            case '+' or '-' or ':':
                return line;
            case '$':
                var length = int.Parse(line.AsSpan(1), System.Globalization.CultureInfo.InvariantCulture);
                if (length < 0)
                {
                    return "$nil";
                }

                var value = await ReadExactAsync(length + 2, cancellation);
                return BulkAsHex ? "$x:" + Convert.ToHexString(value, 0, length) : "$" + Encoding.UTF8.GetString(value, 0, length);
            case '*':
                var count = int.Parse(line.AsSpan(1), System.Globalization.CultureInfo.InvariantCulture);
                if (count < 0)
                {
                    return "*nil";
                }

                var items = new List<string>();
                for (var i = 0; i < count; i++)
                {
                    items.Add(await ReadAsync(cancellation));
                }

                return $"*{count}[{string.Join(",", items)}]";
            default:
                throw new InvalidDataException($"not a RESP reply: {line}");
        }
    }

    /// <summary>True when the server closed the connection (read returns 0) within the timeout.</summary>
    public async Task<bool> IsClosedAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            while (true)
            {
                if (_start < _end)
                {
                    _start = _end;
                }

                var read = await _stream.ReadAsync(_buffer, cancel.Token);
                if (read == 0)
                {
                    return true;
                }
            }
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (IOException)
        {
            return true;
        }
    }

    private async Task<string> ReadLineAsync(CancellationToken cancellation)
    {
        while (true)
        {
            var newline = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
            if (newline > _start && _buffer[newline - 1] == '\r')
            {
                var line = Encoding.UTF8.GetString(_buffer, _start, newline - 1 - _start);
                _start = newline + 1;
                return line;
            }

            await FillAsync(cancellation);
        }
    }

    private async Task<byte[]> ReadExactAsync(int count, CancellationToken cancellation)
    {
        var result = new byte[count];
        var at = 0;
        while (at < count)
        {
            if (_start == _end)
            {
                await FillAsync(cancellation);
            }

            var take = Math.Min(count - at, _end - _start);
            Array.Copy(_buffer, _start, result, at, take);
            _start += take;
            at += take;
        }

        return result;
    }

    private async Task FillAsync(CancellationToken cancellation)
    {
        if (_start > 0)
        {
            Array.Copy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }

        var read = await _stream.ReadAsync(_buffer.AsMemory(_end), cancellation);
        if (read == 0)
        {
            throw new EndOfStreamException("the server closed the connection");
        }

        _end += read;
    }

    public void Dispose() => _client.Dispose();
}

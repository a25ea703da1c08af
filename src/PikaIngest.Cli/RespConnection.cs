using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace PikaIngest.Cli;

/// <summary>
/// A plain RESP2 client for talking to nodes as an operator would with redis-cli: one command at a time,
/// replies as values (string, long, byte[], null, object[]); an error reply becomes an exception.
/// </summary>
internal sealed class RespConnection : IDisposable
{
    private const int MaxBulk = 512 << 20;
    private readonly TcpClient _client;
    private readonly BufferedStream _input;
    private readonly NetworkStream _output;

    private RespConnection(TcpClient client, string endpoint)
    {
        _client = client;
        _output = client.GetStream();
        _input = new BufferedStream(_output, 1 << 16);
        Endpoint = endpoint;
    }

    public string Endpoint { get; }

    /// <summary>Connects to host:port (and AUTHs when a password is given).</summary>
    public static RespConnection Open(string endpoint, string? password, TimeSpan timeout)
    {
        var colon = endpoint.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(endpoint.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port))
        {
            throw new ArgumentException($"'{endpoint}' is not host:port");
        }

        var client = new TcpClient { NoDelay = true, ReceiveTimeout = (int)timeout.TotalMilliseconds, SendTimeout = (int)timeout.TotalMilliseconds };
        try
        {
            client.Connect(endpoint[..colon], port);
        }
        catch (SocketException e)
        {
            client.Dispose();
            throw new IOException($"{endpoint}: cannot connect: {e.Message}", e);
        }

        var connection = new RespConnection(client, endpoint);
        if (!string.IsNullOrEmpty(password))
        {
            connection.Call("AUTH", password);
        }

        return connection;
    }

    public object? Call(params object[] args)
    {
        var request = new MemoryStream();
        void Line(string text) => request.Write(Encoding.UTF8.GetBytes(text + "\r\n"));
        Line($"*{args.Length}");
        foreach (var arg in args)
        {
            var bytes = arg as byte[] ?? Encoding.UTF8.GetBytes(Convert.ToString(arg, CultureInfo.InvariantCulture)!);
            Line($"${bytes.Length}");
            request.Write(bytes);
            Line("");
        }

        try
        {
            _output.Write(request.GetBuffer(), 0, (int)request.Length);
            return Read();
        }
        catch (IOException e)
        {
            throw new IOException($"{Endpoint}: {args[0]}: {e.Message}", e);
        }
    }

    private object? Read()
    {
        var line = ReadLine();
        var rest = line[1..];
        switch (line[0])
        {
            case '+':
                return rest;
            case '-':
                throw new InvalidOperationException($"{Endpoint}: {rest}");
            case ':':
                return long.Parse(rest, CultureInfo.InvariantCulture);
            case '$':
                var length = int.Parse(rest, CultureInfo.InvariantCulture);
                if (length < 0)
                {
                    return null;
                }

                if (length > MaxBulk)
                {
                    throw new InvalidDataException($"{Endpoint}: a {length}-byte reply is over the limit");
                }

                var value = new byte[length + 2];
                _input.ReadExactly(value);
                return value[..length];
            case '*':
                var count = int.Parse(rest, CultureInfo.InvariantCulture);
                return count < 0 ? null : Enumerable.Range(0, count).Select(_ => Read()).ToArray();
            default:
                throw new InvalidDataException($"{Endpoint}: not a RESP reply: {line}");
        }
    }

    private string ReadLine()
    {
        var bytes = new List<byte>();
        while (true)
        {
            var b = _input.ReadByte();
            if (b < 0)
            {
                throw new IOException("the node closed the connection");
            }

            if (b == '\n' && bytes.Count > 0 && bytes[^1] == '\r')
            {
                return Encoding.UTF8.GetString(bytes.ToArray(), 0, bytes.Count - 1);
            }

            bytes.Add((byte)b);
        }
    }

    public void Dispose()
    {
        _input.Dispose();
        _client.Dispose();
    }
}

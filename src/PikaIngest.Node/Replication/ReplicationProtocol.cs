using System.Globalization;
using System.Net.Sockets;
using PikaIngest.Node.Binlog;
using PikaIngest.Node.Resp;

namespace PikaIngest.Node.Replication;

/// <summary>
/// The replication link (docs/FORMATS.md §20). The slave connects to the master's client port and sends
/// <c>REPLCONF listening-port P</c> and <c>PIKA_SYNC run-id filenum offset</c>; everything the master sends
/// back is a RESP array of bulk strings: <c>CONTINUE run-id</c> or <c>FULLSYNC run-id filenum offset
/// logic-id files</c> + <c>CHUNK path offset bytes</c>… + <c>FULLSYNC_END</c>, then <c>ITEM encoded-item
/// next-position</c> frames and a <c>PING position logic-id</c> every second. The slave answers
/// <c>REPLCONF ACK filenum:offset</c>. A RESP array of bulks is exactly what the request parser reads, so both
/// ends parse the link with it.
/// </summary>
internal static class ReplicationProtocol
{
    public const int ChunkBytes = 1 << 20;

    /// <summary>Largest frame a slave accepts: one binlog item (a value up to 512 MiB plus its header).</summary>
    public static readonly RespLimits LinkLimits = new() { MaxArguments = 8, MaxBulkLength = (512 << 20) + 4096 };

    public static string Format(BinlogPosition position) => position.ToString();

    public static bool TryParsePosition(ReadOnlySpan<byte> text, out BinlogPosition position)
    {
        position = default;
        var colon = text.IndexOf((byte)':');
        if (colon <= 0
            || !uint.TryParse(text[..colon], NumberStyles.None, CultureInfo.InvariantCulture, out var file)
            || !ulong.TryParse(text[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var offset))
        {
            return false;
        }

        position = new BinlogPosition(file, offset);
        return true;
    }

    public static void WriteFrame(RespWriter writer, params ReadOnlySpan<string> parts)
    {
        writer.WriteArrayHeader(parts.Length);
        foreach (var part in parts)
        {
            writer.WriteBulk(part);
        }
    }

    public static async Task SendAsync(Socket socket, RespWriter writer, CancellationToken cancellation)
    {
        var pending = writer.WrittenMemory;
        while (pending.Length > 0)
        {
            var sent = await socket.SendAsync(pending, SocketFlags.None, cancellation).ConfigureAwait(false);
            pending = pending[sent..];
        }

        writer.Reset();
    }
}

/// <summary>
/// Reads RESP arrays of bulk strings from a socket (the replication link, either direction) into a growing
/// buffer; a frame's arguments stay valid until the next read.
/// </summary>
internal sealed class FrameReader
{
    private readonly Socket _socket;
    private readonly RespRequestParser _parser;
    private byte[] _buffer;
    private int _start;
    private int _end;
    private int _frameStart;

    public FrameReader(Socket socket, ReadOnlyMemory<byte> already, RespLimits limits)
    {
        _socket = socket;
        _parser = new RespRequestParser(limits);
        _buffer = new byte[Math.Max(64 << 10, already.Length * 2)];
        already.Span.CopyTo(_buffer);
        _end = already.Length;
    }

    public CommandArguments Arguments { get; } = new();

    /// <summary>The bytes of the last frame (arguments index into it).</summary>
    public ReadOnlySpan<byte> Frame => _buffer.AsSpan(_frameStart, _start - _frameStart);

    public ReadOnlySpan<byte> Arg(int index) => Arguments.Span(index, _buffer.AsSpan(_frameStart));

    public string ArgString(int index) => System.Text.Encoding.UTF8.GetString(Arg(index));

    /// <summary>True when a frame is buffered already (no socket read needed).</summary>
    public bool HasBuffered => _start < _end;

    /// <summary>Reads the next frame; false when the peer closed the connection.</summary>
    public async ValueTask<bool> ReadAsync(CancellationToken cancellation)
    {
        while (true)
        {
            var status = _parser.TryParse(_buffer.AsSpan(_start, _end - _start), Arguments, authenticated: true, out var consumed, out var hint, out var error);
            if (status == ParseStatus.Complete)
            {
                _frameStart = _start;
                _start += consumed;
                if (Arguments.Count == 0)
                {
                    continue;
                }

                return true;
            }

            if (status == ParseStatus.ProtocolError)
            {
                throw new InvalidDataException($"replication link: {error}");
            }

            if (_start > 0)
            {
                _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
                _end -= _start;
                _start = 0;
            }

            if (_end == _buffer.Length || hint > _buffer.Length)
            {
                var larger = new byte[Math.Max(hint, _buffer.Length * 2)];
                _buffer.AsSpan(0, _end).CopyTo(larger);
                _buffer = larger;
            }

            var read = await _socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None, cancellation).ConfigureAwait(false);
            if (read == 0)
            {
                return false;
            }

            _end += read;
        }
    }
}

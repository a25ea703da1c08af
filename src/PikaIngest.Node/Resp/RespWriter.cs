using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Text;
using PikaIngest.Node.Memory;

namespace PikaIngest.Node.Resp;

/// <summary>
/// Writes RESP2 replies into one growable buffer rented from <see cref="ArrayPool{T}"/>, to be sent as
/// <see cref="WrittenMemory"/> and then <see cref="Reset"/>. Numbers are formatted in place, so no reply
/// allocates once the buffer is large enough.
/// </summary>
internal sealed class RespWriter : IDisposable
{
    private const int DefaultCapacity = 4096;

    // After a large reply (a 100 MB GET), Reset hands the big buffer back rather than keep it per connection.
    private const int RetainedCapacity = 1024 * 1024;

    // '$' or '*' or ':', a sign and 19 digits, CR LF.
    private const int MaxHeaderLength = 23;

    private readonly int _initialCapacity;

    // Bulks sent from memory the writer does not own (WriteBulk of a MemoryManager), each after the
    // buffer's first Offset bytes.
    private readonly List<(int Offset, MemoryManager<byte> Value)> _external = [];
    private long _externalLength;
    private byte[] _buffer;
    private int _length;
    private int _pendingBulk = -1;
    private bool _disposed;

    public RespWriter(int initialCapacity = DefaultCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(initialCapacity);
        _initialCapacity = initialCapacity;
        _buffer = LargeBuffers.Rent(initialCapacity);
    }

    /// <summary>The reply's length so far, bulks from <see cref="WriteBulk(MemoryManager{byte})"/> included.</summary>
    public long Length => _length + _externalLength;

    /// <summary>What was written, when no bulk was given as memory of its own (see <see cref="Chunks"/>).</summary>
    public ReadOnlyMemory<byte> WrittenMemory => _external.Count == 0
        ? _buffer.AsMemory(0, _length)
        : throw new InvalidOperationException("The reply holds external bulks: send its Chunks.");

    /// <summary>The reply in send order: parts of the buffer and the external bulks between them.</summary>
    public IEnumerable<ReadOnlyMemory<byte>> Chunks()
    {
        var sent = 0;
        foreach (var (offset, value) in _external)
        {
            yield return _buffer.AsMemory(sent, offset - sent);
            yield return value.Memory;
            sent = offset;
        }

        yield return _buffer.AsMemory(sent, _length - sent);
    }

    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _length);

    public void WriteOk() => WriteRaw("+OK\r\n"u8);

    /// <summary><c>+value</c>. CR and LF become spaces: a simple string cannot hold them.</summary>
    public void WriteSimpleString(ReadOnlySpan<byte> value) => WriteLine((byte)'+', value);

    /// <summary>
    /// <c>-message</c>, the message given with its code and without the '-' (see <see cref="RespErrors"/>).
    /// As Redis's addReplyErrorFormat: CR and LF are trimmed from both ends and become spaces inside.
    /// </summary>
    public void WriteError(string message)
    {
        var text = message.AsSpan().Trim("\r\n");
        var span = Reserve(Encoding.UTF8.GetMaxByteCount(text.Length) + 3);
        span[0] = (byte)'-';
        var length = Encoding.UTF8.GetBytes(text, span[1..]);
        // UTF-8 never puts 0x0D or 0x0A inside a multi-byte character, so the bytes can be mapped as they are.
        span.Slice(1, length).Replace((byte)'\r', (byte)' ');
        span.Slice(1, length).Replace((byte)'\n', (byte)' ');
        span[length + 1] = (byte)'\r';
        span[length + 2] = (byte)'\n';
        _length += length + 3;
    }

    /// <inheritdoc cref="WriteError(string)"/>
    public void WriteError(ReadOnlySpan<byte> message) => WriteLine((byte)'-', message.Trim("\r\n"u8));

    public void WriteInteger(long value) => WriteNumber((byte)':', value);

    /// <summary>An integer as a bulk string (<c>$3\r\n100\r\n</c>): how a command's numeric argument is sent.</summary>
    public void WriteBulkInteger(long value)
    {
        Span<byte> text = stackalloc byte[20];
        value.TryFormat(text, out var length, provider: CultureInfo.InvariantCulture);
        WriteBulk(text[..length]);
    }

    public void WriteBulk(ReadOnlySpan<byte> value)
    {
        value.CopyTo(GetBulkSpan(value.Length));
        AdvanceBulk();
    }

    /// <summary>
    /// A bulk sent from <paramref name="value"/> where it lies (a large value in the storage engine's buffer), not copied
    /// into the reply; the writer owns it from now on and disposes it at <see cref="Reset"/>.
    /// </summary>
    public void WriteBulk(MemoryManager<byte> value)
    {
        var length = value.Memory.Length;
        WriteBulkHeader(length);
        _external.Add((_length, value));
        _externalLength += length;
        WriteRaw("\r\n"u8);
    }

    /// <summary>A bulk of <paramref name="value"/> UTF-8 encoded.</summary>
    public void WriteBulk(string value)
    {
        var length = Encoding.UTF8.GetByteCount(value);
        Encoding.UTF8.GetBytes(value, GetBulkSpan(length));
        AdvanceBulk();
    }

    /// <summary>A bulk's header alone (<c>$length</c> CR LF): its bytes and CR LF are sent by other means.</summary>
    public void WriteBulkHeader(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        WriteNumber((byte)'$', length);
    }

    public void WriteNullBulk() => WriteRaw("$-1\r\n"u8);

    public void WriteArrayHeader(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        WriteNumber((byte)'*', count);
    }

    public void WriteNullArray() => WriteRaw("*-1\r\n"u8);

    /// <summary>
    /// Writes a bulk header for <paramref name="length"/> bytes and returns where those bytes go, so a value
    /// can be copied straight from storage into the reply. Fill it, then call <see cref="AdvanceBulk"/>
    /// before any other write.
    /// </summary>
    public Span<byte> GetBulkSpan(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, Array.MaxLength - MaxHeaderLength - 2);
        var span = Reserve(MaxHeaderLength + length + 2);
        var header = FormatNumber(span, (byte)'$', length);
        _length += header;
        _pendingBulk = length;
        return span.Slice(header, length);
    }

    /// <summary>Ends the bulk begun by <see cref="GetBulkSpan"/>.</summary>
    public void AdvanceBulk()
    {
        if (_pendingBulk < 0)
        {
            throw new InvalidOperationException("AdvanceBulk without GetBulkSpan.");
        }

        var end = _length + _pendingBulk;
        _buffer[end] = (byte)'\r';
        _buffer[end + 1] = (byte)'\n';
        _length = end + 2;
        _pendingBulk = -1;
    }

    /// <summary>Forgets what was written, keeping the buffer unless a large reply grew it.</summary>
    public void Reset()
    {
        _length = 0;
        _pendingBulk = -1;
        ReleaseExternal();
        if (_buffer.Length > RetainedCapacity)
        {
            LargeBuffers.Return(_buffer);
            _buffer = LargeBuffers.Rent(_initialCapacity);
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        ReleaseExternal();
        LargeBuffers.Return(_buffer);
        _buffer = [];
        _length = 0;
    }

    private void ReleaseExternal()
    {
        foreach (var (_, value) in _external)
        {
            ((IDisposable)value).Dispose();
        }

        _external.Clear();
        _externalLength = 0;
    }

    private void WriteRaw(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(Reserve(bytes.Length));
        _length += bytes.Length;
    }

    private void WriteLine(byte prefix, ReadOnlySpan<byte> text)
    {
        var span = Reserve(text.Length + 3);
        span[0] = prefix;
        var body = span.Slice(1, text.Length);
        text.CopyTo(body);
        body.Replace((byte)'\r', (byte)' ');
        body.Replace((byte)'\n', (byte)' ');
        span[text.Length + 1] = (byte)'\r';
        span[text.Length + 2] = (byte)'\n';
        _length += text.Length + 3;
    }

    private void WriteNumber(byte prefix, long value) => _length += FormatNumber(Reserve(MaxHeaderLength), prefix, value);

    private static int FormatNumber(Span<byte> span, byte prefix, long value)
    {
        span[0] = prefix;
        // MaxHeaderLength leaves room for any long, so formatting cannot fail.
        Utf8Formatter.TryFormat(value, span[1..], out var digits);
        span[digits + 1] = (byte)'\r';
        span[digits + 2] = (byte)'\n';
        return digits + 3;
    }

    /// <summary>Room for <paramref name="size"/> bytes after what is written, growing the buffer if needed.</summary>
    private Span<byte> Reserve(int size)
    {
        if (_pendingBulk >= 0)
        {
            throw new InvalidOperationException("A bulk from GetBulkSpan is not finished with AdvanceBulk.");
        }

        if (_buffer.Length - _length < size)
        {
            Grow(size);
        }

        return _buffer.AsSpan(_length, size);
    }

    private void Grow(int size)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var needed = (long)_length + size;
        if (needed > Array.MaxLength)
        {
            throw new InvalidOperationException($"A reply of {needed} bytes does not fit in one buffer.");
        }

        var grown = LargeBuffers.Rent((int)Math.Max(needed, Math.Min(2L * _buffer.Length, Array.MaxLength)));
        _buffer.AsSpan(0, _length).CopyTo(grown);
        LargeBuffers.Return(_buffer);
        _buffer = grown;
    }
}

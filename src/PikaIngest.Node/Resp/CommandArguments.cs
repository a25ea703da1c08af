using System.Text;

namespace PikaIngest.Node.Resp;

/// <summary>
/// The arguments of one command, as (offset, length) ranges into the buffer the parser read them from, so a
/// multibulk command is not copied. One instance serves a connection for its lifetime: it also keeps the
/// progress of a command that has not fully arrived, so that each <see cref="ParseStatus.NeedMore"/> resumes
/// where it stopped instead of re-reading every argument of a large pipelined MSET.
/// </summary>
/// <remarks>
/// Inline arguments may be unescaped (<c>"a\x00b"</c>), so they cannot point into the buffer: an inline
/// command's arguments live in a scratch array owned here and reused.
/// </remarks>
internal sealed class CommandArguments
{
    private const int InitialCapacity = 16;

    // A connection that once sent a huge command should not hold its ranges for the rest of its life;
    // commands up to these sizes never reallocate.
    private const int RetainedCapacity = 4096;
    private const int RetainedScratchLength = 64 * 1024;

    // string2ll rejects a text of LONG_STR_SIZE (21) bytes or more before looking at it.
    private const int MaxInt64Length = 20;

    private Range[] _ranges = new Range[InitialCapacity];
    private byte[] _scratch = [];
    private bool _inScratch;

    /// <summary>How many arguments the command has; meaningful after <see cref="ParseStatus.Complete"/>.</summary>
    public int Count { get; private set; }

    /// <summary>Multibulk arguments still to read of the command in progress; 0 when none is.</summary>
    internal int PendingBulks { get; set; }

    /// <summary>
    /// Multibulk in progress: offset of the next bulk header. Inline: how many bytes were already searched
    /// for the end of the line. 0 when no command is in progress.
    /// </summary>
    internal int ResumeAt { get; set; }

    /// <summary>
    /// Argument <paramref name="index"/>. <paramref name="buffer"/> must be the buffer the command was
    /// parsed from (starting where the parse started); an inline command's arguments ignore it.
    /// </summary>
    public ReadOnlySpan<byte> Span(int index, ReadOnlySpan<byte> buffer)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)Count, nameof(index));
        var (offset, length) = _ranges[index];
        return _inScratch ? _scratch.AsSpan(offset, length) : buffer.Slice(offset, length);
    }

    /// <summary>ASCII case-insensitive comparison, as Redis's strcasecmp on command names and options.</summary>
    public bool EqualsIgnoreCase(int index, ReadOnlySpan<byte> buffer, ReadOnlySpan<byte> ascii) =>
        Ascii.EqualsIgnoreCase(Span(index, buffer), ascii);

    /// <inheritdoc cref="TryParseInt64(ReadOnlySpan{byte}, out long)"/>
    public bool TryParseInt64(int index, ReadOnlySpan<byte> buffer, out long value) =>
        TryParseInt64(Span(index, buffer), out value);

    /// <summary>
    /// Redis's string2ll: optional '-', then "0" alone or a digit 1-9 and more digits, fitting in int64.
    /// No '+', no leading zeros, no spaces, and "-0" is refused.
    /// </summary>
    public static bool TryParseInt64(ReadOnlySpan<byte> text, out long value)
    {
        value = 0;
        if (text.IsEmpty || text.Length > MaxInt64Length)
        {
            return false;
        }

        if (text.Length == 1 && text[0] == '0')
        {
            return true;
        }

        var negative = text[0] == '-';
        var digits = negative ? text[1..] : text;
        if (digits.IsEmpty || digits[0] is < (byte)'1' or > (byte)'9')
        {
            return false;
        }

        ulong magnitude = 0;
        foreach (var digit in digits)
        {
            var d = (uint)(digit - '0');
            // At most 20 bytes: only the last digit can overflow ulong, which the checks catch.
            if (d > 9 || magnitude > (ulong.MaxValue - d) / 10)
            {
                return false;
            }

            magnitude = (magnitude * 10) + d;
        }

        if (negative)
        {
            if (magnitude > (ulong)long.MaxValue + 1)
            {
                return false;
            }

            value = (long)(0 - magnitude);
            return true;
        }

        if (magnitude > long.MaxValue)
        {
            return false;
        }

        value = (long)magnitude;
        return true;
    }

    /// <summary>Forgets the arguments and any command in progress.</summary>
    internal void Reset()
    {
        Count = 0;
        PendingBulks = 0;
        ResumeAt = 0;
        _inScratch = false;
        if (_ranges.Length > RetainedCapacity)
        {
            _ranges = new Range[InitialCapacity];
        }

        if (_scratch.Length > RetainedScratchLength)
        {
            _scratch = [];
        }
    }

    internal void Add(int offset, int length)
    {
        if (Count == _ranges.Length)
        {
            Array.Resize(ref _ranges, _ranges.Length * 2);
        }

        _ranges[Count++] = new Range(offset, length);
    }

    /// <summary>
    /// Switches to scratch-held arguments and returns room for <paramref name="length"/> bytes; ranges added
    /// afterwards are offsets into it. Unescaping never lengthens a line, so its length is enough.
    /// </summary>
    internal Span<byte> BeginScratch(int length)
    {
        if (_scratch.Length < length)
        {
            _scratch = new byte[Math.Max(length, Math.Min(_scratch.Length * 2, Array.MaxLength))];
        }

        _inScratch = true;
        return _scratch.AsSpan(0, length);
    }

    private readonly record struct Range(int Offset, int Length);
}

namespace PikaIngest.Node.Resp;

/// <summary>
/// Reads one request from a receive buffer as Redis 7.0's processMultibulkBuffer and processInlineBuffer do,
/// down to their error texts and leniencies (the two bytes after a header's '\r', and after a bulk, are
/// skipped unread). It is stateless and can be shared; a command's progress lives in its
/// <see cref="CommandArguments"/>.
/// </summary>
/// <remarks>
/// One deliberate difference: Redis finds line ends with strchr, so a zero byte before the end of a header
/// or inline line hides the line end and the connection stalls until 64 KiB arrive. Here a zero byte is an
/// ordinary byte: the header is refused as invalid at once, and an inline argument may contain it.
/// </remarks>
internal sealed class RespRequestParser(RespLimits limits)
{
    /// <summary>
    /// Reads the command at the start of <paramref name="buffer"/> into <paramref name="args"/>.
    /// </summary>
    /// <param name="buffer">
    /// Unconsumed bytes. After <see cref="ParseStatus.NeedMore"/>, the next call must pass the same bytes
    /// (they may have moved) followed by more; any other buffer makes the parse start afresh.
    /// </param>
    /// <param name="consumed">Bytes the command took, on <see cref="ParseStatus.Complete"/>; otherwise 0.</param>
    /// <param name="bytesNeededHint">
    /// On <see cref="ParseStatus.NeedMore"/> inside a bulk, the buffer length that completes that bulk, so a
    /// 100 MB value can be received into a buffer grown once; 0 when nothing is known. Later arguments may
    /// need more.
    /// </param>
    /// <param name="protocolError">On <see cref="ParseStatus.ProtocolError"/>, the reply text (see <see cref="RespErrors"/>).</param>
    public ParseStatus TryParse(ReadOnlySpan<byte> buffer, CommandArguments args, bool authenticated,
        out int consumed, out int bytesNeededHint, out string? protocolError)
    {
        consumed = 0;
        bytesNeededHint = 0;
        protocolError = null;
        if (!CanResume(buffer, args))
        {
            args.Reset();
        }

        if (buffer.IsEmpty)
        {
            return ParseStatus.NeedMore;
        }

        var status = buffer[0] == '*'
            ? ParseMultibulk(buffer, args, authenticated, out consumed, out bytesNeededHint, out protocolError)
            : ParseInline(buffer, args, out consumed, out protocolError);
        if (status == ParseStatus.ProtocolError)
        {
            args.Reset();
        }

        return status;
    }

    private static bool CanResume(ReadOnlySpan<byte> buffer, CommandArguments args)
    {
        if (args.ResumeAt == 0 || args.ResumeAt > buffer.Length)
        {
            return false;
        }

        // A multibulk command in progress began with '*', an inline one did not.
        return (args.PendingBulks > 0) == (buffer[0] == '*');
    }

    private ParseStatus ParseMultibulk(ReadOnlySpan<byte> buffer, CommandArguments args, bool authenticated,
        out int consumed, out int bytesNeededHint, out string? protocolError)
    {
        consumed = 0;
        bytesNeededHint = 0;
        protocolError = null;
        if (args.PendingBulks == 0)
        {
            var status = ReadHeader(buffer, RespErrors.ProtocolTooBigMultibulkCount, out var lineEnd, ref protocolError);
            if (status != ParseStatus.Complete)
            {
                return status;
            }

            if (!CommandArguments.TryParseInt64(buffer[1..lineEnd], out var count) || count > limits.MaxArguments)
            {
                protocolError = RespErrors.ProtocolInvalidMultibulkLength;
                return ParseStatus.ProtocolError;
            }

            if (count > limits.MaxUnauthenticatedArguments && !authenticated)
            {
                protocolError = RespErrors.ProtocolUnauthenticatedMultibulkLength;
                return ParseStatus.ProtocolError;
            }

            if (count <= 0)
            {
                consumed = lineEnd + 2;
                return ParseStatus.Complete;
            }

            args.PendingBulks = (int)count;
            args.ResumeAt = lineEnd + 2;
        }

        var position = args.ResumeAt;
        while (args.PendingBulks > 0)
        {
            var header = buffer[position..];
            var status = ReadHeader(header, RespErrors.ProtocolTooBigBulkCount, out var lineEnd, ref protocolError);
            if (status != ParseStatus.Complete)
            {
                return status;
            }

            if (header[0] != '$')
            {
                protocolError = RespErrors.ExpectedDollar(header[0]);
                return ParseStatus.ProtocolError;
            }

            if (!CommandArguments.TryParseInt64(header[1..lineEnd], out var length) || length < 0 || length > limits.MaxBulkLength)
            {
                protocolError = RespErrors.ProtocolInvalidBulkLength;
                return ParseStatus.ProtocolError;
            }

            if (length > limits.MaxUnauthenticatedBulkLength && !authenticated)
            {
                protocolError = RespErrors.ProtocolUnauthenticatedBulkLength;
                return ParseStatus.ProtocolError;
            }

            var dataStart = position + lineEnd + 2;
            var end = dataStart + length + 2;
            if (end > buffer.Length)
            {
                bytesNeededHint = (int)Math.Min(end, int.MaxValue);
                return ParseStatus.NeedMore;
            }

            args.Add(dataStart, (int)length);
            position = (int)end;
            args.ResumeAt = position;
            args.PendingBulks--;
        }

        args.ResumeAt = 0;
        consumed = position;
        return ParseStatus.Complete;
    }

    /// <summary>
    /// Finds a <c>*N</c> or <c>$len</c> header's '\r' as Redis does: anywhere ahead, with one more byte
    /// after it (not checked to be '\n'). Without it, more than MaxInlineLength waiting bytes are refused.
    /// </summary>
    private ParseStatus ReadHeader(ReadOnlySpan<byte> header, string tooBig, out int lineEnd, ref string? protocolError)
    {
        lineEnd = header.IndexOf((byte)'\r');
        if (lineEnd < 0)
        {
            if (header.Length > limits.MaxInlineLength)
            {
                protocolError = tooBig;
                return ParseStatus.ProtocolError;
            }

            return ParseStatus.NeedMore;
        }

        return lineEnd > header.Length - 2 ? ParseStatus.NeedMore : ParseStatus.Complete;
    }

    private ParseStatus ParseInline(ReadOnlySpan<byte> buffer, CommandArguments args, out int consumed, out string? protocolError)
    {
        consumed = 0;
        protocolError = null;
        var newline = buffer[args.ResumeAt..].IndexOf((byte)'\n');
        if (newline < 0)
        {
            if (buffer.Length > limits.MaxInlineLength)
            {
                protocolError = RespErrors.ProtocolTooBigInline;
                return ParseStatus.ProtocolError;
            }

            args.ResumeAt = buffer.Length;
            return ParseStatus.NeedMore;
        }

        newline += args.ResumeAt;
        args.ResumeAt = 0;
        var lineEnd = newline > 0 && buffer[newline - 1] == '\r' ? newline - 1 : newline;
        if (!InlineSplitter.TrySplit(buffer[..lineEnd], args))
        {
            protocolError = RespErrors.ProtocolUnbalancedQuotes;
            return ParseStatus.ProtocolError;
        }

        consumed = newline + 1;
        return ParseStatus.Complete;
    }
}

namespace PikaIngest.Node.Resp;

/// <summary>
/// Splits an inline request line as Redis's sdssplitargs does: blanks separate arguments; "double quotes"
/// take \n \r \t \b \a \xHH and \&lt;any&gt; escapes; 'single quotes' take only \'; a quote may open inside an
/// argument (<c>ab"c d"</c> is <c>abc d</c>) but must be followed by a blank or the end when it closes.
/// </summary>
/// <remarks>
/// sdssplitargs reads a C string, where the end of the line is the zero byte. Here the end is the end of
/// the span (<see cref="End"/>), and a zero byte inside the line is an ordinary byte.
/// </remarks>
internal static class InlineSplitter
{
    private const int End = -1;

    /// <summary>Fills <paramref name="args"/> from <paramref name="line"/>; false on unbalanced quotes.</summary>
    public static bool TrySplit(ReadOnlySpan<byte> line, CommandArguments args)
    {
        var output = args.BeginScratch(line.Length);
        var written = 0;
        var p = 0;
        while (true)
        {
            while (p < line.Length && IsSpace(line[p]))
            {
                p++;
            }

            if (p == line.Length)
            {
                return true;
            }

            var start = written;
            var inDouble = false;
            var inSingle = false;
            var done = false;
            while (!done)
            {
                var c = At(line, p);
                if (inDouble)
                {
                    if (c == '\\' && At(line, p + 1) == 'x' && IsHexDigit(At(line, p + 2)) && IsHexDigit(At(line, p + 3)))
                    {
                        output[written++] = (byte)((HexValue(line[p + 2]) << 4) | HexValue(line[p + 3]));
                        p += 3;
                    }
                    else if (c == '\\' && At(line, p + 1) != End)
                    {
                        p++;
                        output[written++] = Unescape(line[p]);
                    }
                    else if (c == '"')
                    {
                        if (!ClosesArgument(line, p))
                        {
                            return false;
                        }

                        done = true;
                    }
                    else if (c == End)
                    {
                        return false;
                    }
                    else
                    {
                        output[written++] = (byte)c;
                    }
                }
                else if (inSingle)
                {
                    if (c == '\\' && At(line, p + 1) == '\'')
                    {
                        p++;
                        output[written++] = (byte)'\'';
                    }
                    else if (c == '\'')
                    {
                        if (!ClosesArgument(line, p))
                        {
                            return false;
                        }

                        done = true;
                    }
                    else if (c == End)
                    {
                        return false;
                    }
                    else
                    {
                        output[written++] = (byte)c;
                    }
                }
                else
                {
                    switch (c)
                    {
                        case ' ' or '\n' or '\r' or '\t' or End:
                            done = true;
                            break;
                        case '"':
                            inDouble = true;
                            break;
                        case '\'':
                            inSingle = true;
                            break;
                        default:
                            output[written++] = (byte)c;
                            break;
                    }
                }

                if (p < line.Length)
                {
                    p++;
                }
            }

            args.Add(start, written - start);
        }
    }

    private static int At(ReadOnlySpan<byte> line, int index) => index < line.Length ? line[index] : End;

    // A closing quote must be followed by a blank or the end of the line.
    private static bool ClosesArgument(ReadOnlySpan<byte> line, int quote)
    {
        var next = At(line, quote + 1);
        return next == End || IsSpace((byte)next);
    }

    // C's isspace in the "C" locale, which sdssplitargs skips between arguments.
    private static bool IsSpace(byte c) => c is (byte)' ' or >= (byte)'\t' and <= (byte)'\r';

    private static bool IsHexDigit(int c) => c is >= '0' and <= '9' or >= 'a' and <= 'f' or >= 'A' and <= 'F';

    private static int HexValue(byte c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;

    private static byte Unescape(byte c) => c switch
    {
        (byte)'n' => (byte)'\n',
        (byte)'r' => (byte)'\r',
        (byte)'t' => (byte)'\t',
        (byte)'b' => (byte)'\b',
        (byte)'a' => 0x07,
        _ => c,
    };
}

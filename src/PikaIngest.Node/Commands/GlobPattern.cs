namespace PikaIngest.Node.Commands;

/// <summary>
/// Redis's glob (stringmatchlen): <c>*</c>, <c>?</c>, <c>[abc]</c>, <c>[^a]</c>, <c>[a-z]</c>
/// and <c>\</c> escapes, byte by byte. Every token but <c>*</c> matches exactly one byte, so
/// backtracking to the last star is enough and a hostile pattern cannot make it exponential.
/// </summary>
internal static class GlobPattern
{
    public static bool IsMatch(ReadOnlySpan<byte> pattern, ReadOnlySpan<byte> text)
    {
        int p = 0, t = 0;
        int starP = -1, starT = -1;
        while (t < text.Length)
        {
            if (p < pattern.Length && pattern[p] == (byte)'*')
            {
                while (p < pattern.Length && pattern[p] == (byte)'*')
                {
                    p++;
                }

                if (p == pattern.Length)
                {
                    return true;
                }

                starP = p;
                starT = t;
                continue;
            }

            if (p < pattern.Length && TryMatchOne(pattern, ref p, text[t]))
            {
                t++;
                continue;
            }

            if (starP < 0)
            {
                return false;
            }

            p = starP;
            t = ++starT;
        }

        while (p < pattern.Length && pattern[p] == (byte)'*')
        {
            p++;
        }

        return p == pattern.Length;
    }

    /// <summary>Matches one pattern token at <paramref name="p"/> against <paramref name="c"/>; advances past the token on success.</summary>
    private static bool TryMatchOne(ReadOnlySpan<byte> pattern, ref int p, byte c)
    {
        switch (pattern[p])
        {
            case (byte)'?':
                p++;
                return true;
            case (byte)'[':
                return TryMatchClass(pattern, ref p, c);
            case (byte)'\\' when p + 1 < pattern.Length:
                if (pattern[p + 1] != c)
                {
                    return false;
                }

                p += 2;
                return true;
            default:
                if (pattern[p] != c)
                {
                    return false;
                }

                p++;
                return true;
        }
    }

    private static bool TryMatchClass(ReadOnlySpan<byte> pattern, ref int p, byte c)
    {
        var i = p + 1;
        var negate = i < pattern.Length && pattern[i] == (byte)'^';
        if (negate)
        {
            i++;
        }

        var matched = false;
        while (true)
        {
            if (i >= pattern.Length)
            {
                // Redis treats an unterminated class as ending at the pattern's end.
                break;
            }

            if (pattern[i] == (byte)'\\' && i + 1 < pattern.Length)
            {
                i++;
                matched |= pattern[i] == c;
            }
            else if (pattern[i] == (byte)']')
            {
                i++;
                break;
            }
            else if (i + 2 < pattern.Length && pattern[i + 1] == (byte)'-')
            {
                var (low, high) = pattern[i] <= pattern[i + 2] ? (pattern[i], pattern[i + 2]) : (pattern[i + 2], pattern[i]);
                matched |= c >= low && c <= high;
                i += 2;
            }
            else
            {
                matched |= pattern[i] == c;
            }

            i++;
        }

        if (matched == negate)
        {
            return false;
        }

        p = i;
        return true;
    }
}

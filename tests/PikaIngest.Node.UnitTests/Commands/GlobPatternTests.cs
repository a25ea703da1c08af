using System.Text;
using CsCheck;
using PikaIngest.Node.Commands;

namespace PikaIngest.Node.UnitTests.Commands;

public sealed class GlobPatternTests
{
    [Theory]
    [InlineData("*", "", true)]
    [InlineData("*", "anything", true)]
    [InlineData("h?llo", "hello", true)]
    [InlineData("h?llo", "hllo", false)]
    [InlineData("h*llo", "heeeello", true)]
    [InlineData("h[ae]llo", "hallo", true)]
    [InlineData("h[ae]llo", "hillo", false)]
    [InlineData("h[^e]llo", "hallo", true)]
    [InlineData("h[^e]llo", "hello", false)]
    [InlineData("h[a-b]llo", "hbllo", true)]
    [InlineData("h[b-a]llo", "hallo", true)]
    [InlineData("h\\*llo", "h*llo", true)]
    [InlineData("h\\*llo", "hallo", false)]
    [InlineData("user:*:name", "user:42:name", true)]
    [InlineData("user:*:name", "user:42:age", false)]
    [InlineData("a[", "a[", false)]
    [InlineData("a[bc", "ab", true)]
    [InlineData("**a", "ba", true)]
    public void Matches_like_redis(string pattern, string text, bool expected) =>
        Assert.Equal(expected, GlobPattern.IsMatch(Encoding.UTF8.GetBytes(pattern), Encoding.UTF8.GetBytes(text)));

    [Fact]
    public void Agrees_with_a_naive_recursive_matcher_on_random_inputs()
    {
        var patternChars = Gen.OneOfConst('a', 'b', '*', '?', '[', ']', '^', '-', '\\');
        var textChars = Gen.OneOfConst('a', 'b', '-', ']');
        var patterns = Gen.String[patternChars, 0, 8];
        var texts = Gen.String[textChars, 0, 8];
        Gen.Select(patterns, texts)
            .Sample((pattern, text) => GlobPattern.IsMatch(Encoding.ASCII.GetBytes(pattern), Encoding.ASCII.GetBytes(text)) == Reference(pattern, 0, text, 0), iter: 20_000);
    }

    [Fact]
    public void A_pattern_made_to_backtrack_finishes_quickly()
    {
        var pattern = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("a*", 30)) + "b");
        var text = Encoding.ASCII.GetBytes(new string('a', 10_000));
        Assert.False(GlobPattern.IsMatch(pattern, text));
    }

    /// <summary>A straight transcription of Redis's recursive stringmatchlen, exponential but obviously right.</summary>
    private static bool Reference(string p, int pi, string s, int si)
    {
        while (pi < p.Length)
        {
            switch (p[pi])
            {
                case '*':
                    while (pi + 1 < p.Length && p[pi + 1] == '*')
                    {
                        pi++;
                    }

                    if (pi + 1 == p.Length)
                    {
                        return true;
                    }

                    for (var k = si; k <= s.Length; k++)
                    {
                        if (Reference(p, pi + 1, s, k))
                        {
                            return true;
                        }
                    }

                    return false;
                case '?':
                    if (si == s.Length)
                    {
                        return false;
                    }

                    si++;
                    break;
                case '[':
                    {
                        if (si == s.Length)
                        {
                            return false;
                        }

                        pi++;
                        var not = pi < p.Length && p[pi] == '^';
                        if (not)
                        {
                            pi++;
                        }

                        var match = false;
                        while (true)
                        {
                            if (pi < p.Length && p[pi] == '\\' && pi + 1 < p.Length)
                            {
                                pi++;
                                match |= p[pi] == s[si];
                            }
                            else if (pi < p.Length && p[pi] == ']')
                            {
                                break;
                            }
                            else if (pi >= p.Length)
                            {
                                pi--;
                                break;
                            }
                            else if (pi + 2 < p.Length && p[pi + 1] == '-')
                            {
                                var (lo, hi) = p[pi] <= p[pi + 2] ? (p[pi], p[pi + 2]) : (p[pi + 2], p[pi]);
                                match |= s[si] >= lo && s[si] <= hi;
                                pi += 2;
                            }
                            else
                            {
                                match |= p[pi] == s[si];
                            }

                            pi++;
                        }

                        if (not == match)
                        {
                            return false;
                        }

                        si++;
                        break;
                    }

                case '\\' when pi + 1 < p.Length:
                    pi++;
                    if (si == s.Length || p[pi] != s[si])
                    {
                        return false;
                    }

                    si++;
                    break;
                default:
                    if (si == s.Length || p[pi] != s[si])
                    {
                        return false;
                    }

                    si++;
                    break;
            }

            pi++;
        }

        return si == s.Length;
    }
}

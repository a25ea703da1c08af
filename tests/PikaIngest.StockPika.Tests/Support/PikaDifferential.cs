using System.Globalization;
using System.Text;
using PikaIngest.Node.Tests.Support;

namespace PikaIngest.StockPika.Tests.Support;

/// <summary>
/// A reply on which stock Pika 4.0.1 and pika-node are known to differ: the exact command, the exact reply of each
/// (as <see cref="RawClient"/> renders it) and why pika-node keeps its own.
/// </summary>
public sealed record KnownDifference(string[] Command, string Pika, string Node, string Why)
{
    public string Text => Describe(Command);

    internal static string Describe(string[] command) => string.Join(' ', command.Select(arg => arg.Length == 0 || arg.Any(c => c is ' ' or < ' ') ? $"\"{Escape(arg)}\"" : arg));

    private static string Escape(string arg) => string.Concat(arg.Select(c => c < ' ' ? $"\\x{(int)c:x2}" : c.ToString()));
}

/// <summary>
/// Runs commands in order on a Pika and a pika-node connection and collects every reply pair that differs and is
/// not a listed <see cref="KnownDifference"/> (same command, same two replies), and every listed difference that
/// did not happen (so the list cannot go stale). Only time makes replies differ legitimately: see <see cref="SameInTime"/>.
/// </summary>
internal static class PikaDifferential
{
    public static async Task<string> CompareAsync(RawClient pika, RawClient node, IEnumerable<string[]> commands, IReadOnlyList<KnownDifference> known)
    {
        var report = new StringBuilder();
        var seen = new HashSet<KnownDifference>();
        var unlisted = new StringBuilder();
        var step = 0;
        foreach (var command in commands)
        {
            step++;
            var fromPika = await pika.CallAsync(command);
            var fromNode = await node.CallAsync(command);
            if (fromPika == fromNode || SameInTime(command, fromPika, fromNode))
            {
                continue;
            }

            var listed = known.FirstOrDefault(difference => difference.Command.SequenceEqual(command) && difference.Pika == fromPika && difference.Node == fromNode);
            if (listed is not null)
            {
                seen.Add(listed);
                continue;
            }

            report.Append(CultureInfo.InvariantCulture, $"step {step}: {KnownDifference.Describe(command)}\n  pika:      {fromPika}\n  pika-node: {fromNode}\n");
            unlisted.Append(CultureInfo.InvariantCulture, $"new([{string.Join(", ", command.Select(Literal))}], {Literal(fromPika)}, {Literal(fromNode)}, \"\"),\n");
        }

        foreach (var stale in known.Where(difference => !seen.Contains(difference)))
        {
            report.Append(CultureInfo.InvariantCulture, $"listed but not seen: {stale.Text}\n  pika:      {stale.Pika}\n  pika-node: {stale.Node}\n");
        }

        // The unlisted ones again as entries to paste into the list, once each has been understood.
        return unlisted.Length == 0 ? report.ToString() : report.Append("as entries:\n").Append(unlisted).ToString();
    }

    private static string Literal(string text) =>
        "\"" + string.Concat(text.Select(c => c switch
        {
            '"' => "\\\"",
            '\\' => "\\\\",
            < ' ' or >= '\u007f' => $"\\u{(int)c:x4}",
            _ => c.ToString(),
        })) + "\"";

    /// <summary>
    /// True for replies that differ only because the two servers were asked a moment apart, or round time differently:
    /// TTL (Pika truncates the remaining time, Redis and pika-node round it: 99 against 100 right after EX 100) within a
    /// second, PTTL within two seconds, and TIME's seconds within two.
    /// </summary>
    public static bool SameInTime(string[] command, string pika, string node)
    {
        switch (command[0].ToUpperInvariant())
        {
            case "TTL" when Integer(pika) is > 0 and var a && Integer(node) is > 0 and var b:
                return Math.Abs(a - b) <= 1;
            case "PTTL" when Integer(pika) is > 0 and var a && Integer(node) is > 0 and var b:
                return Math.Abs(a - b) <= 2000;
            case "TIME":
                return TimeSeconds(pika) is { } p && TimeSeconds(node) is { } n && Math.Abs(p - n) <= 2;
            default:
                return false;
        }
    }

    private static long? Integer(string reply) =>
        reply.StartsWith(':') && long.TryParse(reply.AsSpan(1), CultureInfo.InvariantCulture, out var value) ? value : null;

    /// <summary>The seconds of a TIME reply (<c>*2[$s,$us]</c>) when the microseconds are a number under a million.</summary>
    private static long? TimeSeconds(string reply)
    {
        if (!reply.StartsWith("*2[$", StringComparison.Ordinal) || !reply.EndsWith(']'))
        {
            return null;
        }

        var parts = reply[4..^1].Split(",$");
        return parts.Length == 2 && long.TryParse(parts[0], CultureInfo.InvariantCulture, out var seconds)
            && long.TryParse(parts[1], CultureInfo.InvariantCulture, out var micros) && micros is >= 0 and < 1_000_000
            ? seconds
            : null;
    }
}

using System.Globalization;

namespace PikaIngest.Cli;

/// <summary>Byte sizes on the command line: a number with an optional K/M/G/T suffix (powers of 1024).</summary>
internal static class Sizes
{
    public static long Parse(string text)
    {
        var trimmed = text.Trim();
        if (trimmed.EndsWith("iB", StringComparison.OrdinalIgnoreCase))
        {
            trimmed = trimmed[..^2];
        }
        else if (trimmed.EndsWith('B') || trimmed.EndsWith('b'))
        {
            trimmed = trimmed[..^1];
        }

        var multiplier = 1L;
        if (trimmed.Length > 0 && char.IsLetter(trimmed[^1]))
        {
            multiplier = char.ToUpperInvariant(trimmed[^1]) switch
            {
                'K' => 1L << 10,
                'M' => 1L << 20,
                'G' => 1L << 30,
                'T' => 1L << 40,
                _ => throw new FormatException($"invalid size '{text}': use a number with an optional K, M, G or T suffix"),
            };
            trimmed = trimmed[..^1];
        }

        if (!double.TryParse(trimmed, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number) || number < 0)
        {
            throw new FormatException($"invalid size '{text}': use a number with an optional K, M, G or T suffix");
        }

        return checked((long)Math.Round(number * multiplier));
    }

    public static string Format(double bytes) => bytes switch
    {
        >= 1L << 40 => $"{bytes / (1L << 40):0.0} TiB",
        >= 1L << 30 => $"{bytes / (1L << 30):0.0} GiB",
        >= 1L << 20 => $"{bytes / (1L << 20):0.0} MiB",
        >= 1L << 10 => $"{bytes / (1L << 10):0.0} KiB",
        _ => $"{bytes:0} B",
    };

    /// <summary>Throughput in decimal MB/s, the unit the native references print.</summary>
    public static string Rate(long bytes, TimeSpan elapsed) =>
        $"{bytes / 1e6 / Math.Max(elapsed.TotalSeconds, 1e-9):0.0} MB/s";
}

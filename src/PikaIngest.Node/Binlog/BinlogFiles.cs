using System.Globalization;

namespace PikaIngest.Node.Binlog;

/// <summary>File names inside a binlog directory (Pika's kBinlogPrefix and kManifest).</summary>
internal static class BinlogFiles
{
    public const string Prefix = "write2file";

    public const string ManifestName = "manifest";

    public static string DataPath(string directory, uint fileNum) =>
        Path.Combine(directory, Prefix + fileNum.ToString(CultureInfo.InvariantCulture));

    public static string ManifestPath(string directory) => Path.Combine(directory, ManifestName);

    /// <summary>The numbers of the <c>write2file&lt;N&gt;</c> files present, ascending.</summary>
    public static List<uint> List(string directory)
    {
        var numbers = new List<uint>();
        if (!Directory.Exists(directory))
        {
            return numbers;
        }

        foreach (var path in Directory.EnumerateFiles(directory, Prefix + "*"))
        {
            var suffix = Path.GetFileName(path.AsSpan())[Prefix.Length..];

            // Only plain decimal numbers: "write2file1.tmp" or "write2file+1" are not binlog files.
            if (suffix.Length > 0 && !suffix.ContainsAnyExceptInRange('0', '9')
                && uint.TryParse(suffix, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
            {
                numbers.Add(number);
            }
        }

        numbers.Sort();
        return numbers;
    }
}

using System.Globalization;
using System.Text.RegularExpressions;

namespace PikaIngest.Core.Layout;

/// <summary>A shard file found on disk, with the batch it belongs to.</summary>
public sealed record LocalShard(string Path, string BatchId, int Seq, string? DescriptorPath)
{
    /// <summary>Object key of the shard when it lives in the layout, else its file name.</summary>
    public string SourceKey => DescriptorPath is null ? System.IO.Path.GetFileName(Path) : ObjectLayout.Shard(BatchId, Seq);
}

/// <summary>Finds shards in a local folder laid out like the bucket, or loose shard files.</summary>
public static partial class LocalShards
{
    /// <summary>
    /// Accepts a store root (holding <c>incoming/</c>), an <c>incoming</c> folder, one batch folder,
    /// a folder of loose shard files, or a single file. Loose files get the batch
    /// <paramref name="looseBatch"/> (default: their folder's name) and the number in their name as seq.
    /// </summary>
    public static IReadOnlyList<LocalShard> Find(string input, string? looseBatch = null)
    {
        if (File.Exists(input))
        {
            return [FromFile(Path.GetFullPath(input), looseBatch)];
        }

        if (!Directory.Exists(input))
        {
            throw new FileNotFoundException($"{input}: no such file or folder", input);
        }

        var folder = Path.GetFullPath(input);
        var incoming = Path.Combine(folder, "incoming");
        if (Directory.Exists(incoming))
        {
            return FromIncoming(incoming);
        }

        if (File.Exists(Path.Combine(folder, ObjectLayout.DescriptorName)))
        {
            return FromBatchFolder(folder).ToList();
        }

        if (Path.GetFileName(folder) == "incoming")
        {
            return FromIncoming(folder);
        }

        var loose = Directory.EnumerateFiles(folder)
            .Where(f => f.EndsWith(".jsonl", StringComparison.Ordinal) || f.EndsWith(".json", StringComparison.Ordinal))
            .Select(f => FromFile(f, looseBatch ?? SafeBatchName(Path.GetFileName(folder))))
            .OrderBy(s => s.Seq)
            .ToList();
        RejectDuplicateSeqs(loose);
        return loose;
    }

    private static List<LocalShard> FromIncoming(string incoming) =>
        Directory.EnumerateDirectories(incoming)
            .Order(StringComparer.Ordinal)
            .SelectMany(FromBatchFolder)
            .ToList();

    private static IEnumerable<LocalShard> FromBatchFolder(string folder)
    {
        var batch = Path.GetFileName(folder);
        if (!ObjectLayout.IsValidBatchId(batch))
        {
            return [];
        }

        var descriptor = Path.Combine(folder, ObjectLayout.DescriptorName);
        return Directory.EnumerateFiles(folder, "*" + ObjectLayout.ShardSuffix)
            .Select(f => (Path: f, Ok: ObjectLayout.TryParseShard($"incoming/{batch}/{Path.GetFileName(f)}", out _, out var seq), Seq: seq))
            .Where(x => x.Ok)
            .OrderBy(x => x.Seq)
            .Select(x => new LocalShard(x.Path, batch, x.Seq, File.Exists(descriptor) ? descriptor : null))
            .ToList();
    }

    private static LocalShard FromFile(string path, string? looseBatch)
    {
        var folder = Path.GetDirectoryName(path)!;
        var batch = Path.GetFileName(folder);
        var descriptor = Path.Combine(folder, ObjectLayout.DescriptorName);
        if (Path.GetFileName(Path.GetDirectoryName(folder)) == "incoming"
            && ObjectLayout.TryParseShard($"incoming/{batch}/{Path.GetFileName(path)}", out _, out var seq))
        {
            return new LocalShard(path, batch, seq, File.Exists(descriptor) ? descriptor : null);
        }

        var digits = Digits().Match(Path.GetFileNameWithoutExtension(path));
        var looseSeq = digits.Success && int.TryParse(digits.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : 1;
        return new LocalShard(path, looseBatch ?? SafeBatchName(batch), looseSeq, null);
    }

    private static string SafeBatchName(string name)
    {
        var cleaned = Unsafe().Replace(name, "-").TrimStart('.');
        return ObjectLayout.IsValidBatchId(cleaned) ? cleaned : "local";
    }

    private static void RejectDuplicateSeqs(List<LocalShard> shards)
    {
        var clash = shards.GroupBy(s => s.Seq).FirstOrDefault(g => g.Count() > 1);
        if (clash is not null)
        {
            throw new FormatException($"shards {string.Join(", ", clash.Select(s => Path.GetFileName(s.Path)))} would all be shard {clash.Key}: name loose shards with distinct numbers");
        }
    }

    [GeneratedRegex("[0-9]+$")]
    private static partial Regex Digits();

    [GeneratedRegex("[^A-Za-z0-9._-]")]
    private static partial Regex Unsafe();
}

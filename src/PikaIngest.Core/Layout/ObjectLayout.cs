using System.Globalization;
using System.Text.RegularExpressions;

namespace PikaIngest.Core.Layout;

/// <summary>Object keys of the bucket layout (DESIGN.md, "Object layout"). Every trigger has its own prefix.</summary>
public static partial class ObjectLayout
{
    public const string IncomingPrefix = "incoming/";
    public const string SstPrefix = "sst/";
    public const string StatePrefix = "state/";
    public const string ManifestsPrefix = "manifests/";
    public const string ResultsPrefix = "results/";
    public const string DescriptorName = "_batch.json";
    public const string ShardSuffix = ".jsonl";

    /// <summary>Width of the zero-padded shard sequence number, so names sort in shard order.</summary>
    public const int SeqDigits = 6;

    public static string Seq(int seq) => seq.ToString("D" + SeqDigits, CultureInfo.InvariantCulture);

    public static string Descriptor(string batch) => $"{IncomingPrefix}{batch}/{DescriptorName}";

    public static string Shard(string batch, int seq) => $"{IncomingPrefix}{batch}/{Seq(seq)}{ShardSuffix}";

    public static string SstFile(string batch, int seq, int instance) => $"{SstPrefix}{batch}/{Seq(seq)}-{instance.ToString(CultureInfo.InvariantCulture)}.sst";

    public static string SstFolder(string batch) => $"{SstPrefix}{batch}/";

    public static string Done(string batch, int seq) => $"{StatePrefix}{batch}/done/{Seq(seq)}.json";

    /// <summary>
    /// Held while a shard is being converted, so a duplicate event waits instead of converting again and
    /// overwriting SSTs that another invocation's completion record describes (.lock: no trigger fires on it).
    /// </summary>
    public static string Lease(string batch, int seq) => $"{StatePrefix}{batch}/lease/{Seq(seq)}.lock";

    public static string Failed(string batch, int seq) => $"{StatePrefix}{batch}/failed/{Seq(seq)}.json";

    public static string Manifest(string batch) => $"{ManifestsPrefix}{batch}.json";

    public static string Result(string batch) => $"{ResultsPrefix}{batch}.json";

    /// <summary>Batch ids become path segments and object keys: letters, digits, '.', '_', '-', not starting with '.'.</summary>
    public static bool IsValidBatchId(string? batch) => batch is { Length: > 0 and <= 128 } && BatchIdPattern().IsMatch(batch);

    public static string RequireBatchId(string? batch) =>
        IsValidBatchId(batch) ? batch! : throw new FormatException($"invalid batch id '{batch}': use 1-128 of [A-Za-z0-9._-], not starting with '.'");

    /// <summary>Matches <c>incoming/&lt;batch&gt;/&lt;seq&gt;.jsonl</c>.</summary>
    public static bool TryParseShard(string key, out string batch, out int seq)
    {
        var match = ShardKeyPattern().Match(key);
        batch = match.Success ? match.Groups["batch"].Value : "";
        seq = match.Success ? int.Parse(match.Groups["seq"].Value, CultureInfo.InvariantCulture) : 0;
        return match.Success && IsValidBatchId(batch) && seq > 0;
    }

    // \z, not $: $ also matches before a final newline, which would let "b\n" through.
    [GeneratedRegex(@"^[A-Za-z0-9_-][A-Za-z0-9._-]*\z")]
    private static partial Regex BatchIdPattern();

    [GeneratedRegex(@"^incoming/(?<batch>[^/]+)/(?<seq>[0-9]{1,9})\.jsonl\z")]
    private static partial Regex ShardKeyPattern();
}

using System.Globalization;
using System.Text.RegularExpressions;

namespace PikaIngest.Core.Layout;

/// <summary>Object keys of the bucket layout (docs/ARCHITECTURE.md §3.1). Every trigger has its own prefix.</summary>
public static partial class ObjectLayout
{
    public const string IncomingPrefix = "incoming/";
    public const string SstPrefix = "sst/";
    public const string StatePrefix = "state/";
    public const string ManifestsPrefix = "manifests/";
    public const string ResultsPrefix = "results/";
    public const string RunsPrefix = "runs/";
    public const string PlansPrefix = "plans/";
    public const string TasksPrefix = "tasks/";
    public const string TaskSuffix = ".json";
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

    /// <summary>A shard's sorted run for one instance (multi-shard batches), read by the merges.</summary>
    public static string RunFile(string batch, int seq, int instance) => $"{RunsPrefix}{batch}/{Seq(seq)}-{instance.ToString(CultureInfo.InvariantCulture)}.run";

    public static string RunsFolder(string batch) => $"{RunsPrefix}{batch}/";

    public static string Mapped(string batch, int seq) => $"{StatePrefix}{batch}/mapped/{Seq(seq)}.json";

    public static string MappedFolder(string batch) => $"{StatePrefix}{batch}/mapped/";

    public static string DoneFolder(string batch) => $"{StatePrefix}{batch}/done/";

    /// <summary>Failure records of the batch's shards and merge tasks.</summary>
    public static string FailedFolder(string batch) => $"{StatePrefix}{batch}/failed/";

    /// <summary>Every record of the batch under <c>state/</c>.</summary>
    public static string StateFolder(string batch) => $"{StatePrefix}{batch}/";

    /// <summary>How a merge task is named in keys and messages: <c>i&lt;instance&gt;-&lt;range&gt;</c>, ranges from 1.</summary>
    public static string TaskName(int instance, int range) => $"i{instance.ToString(CultureInfo.InvariantCulture)}-{Seq(range)}";

    public static string Plan(string batch) => $"{PlansPrefix}{batch}.json";

    public static string Task(string batch, int instance, int range) => $"{TasksPrefix}{batch}/{TaskName(instance, range)}{TaskSuffix}";

    public static string RangeSstFile(string batch, int instance, int range) => $"{SstPrefix}{batch}/{TaskName(instance, range)}.sst";

    public static string Merged(string batch, int instance, int range) => $"{StatePrefix}{batch}/merged/{TaskName(instance, range)}.json";

    public static string MergedFolder(string batch) => $"{StatePrefix}{batch}/merged/";

    public static string MergeFailed(string batch, int instance, int range) => $"{StatePrefix}{batch}/failed/{TaskName(instance, range)}.json";

    public static string MergeLease(string batch, int instance, int range) => $"{StatePrefix}{batch}/lease/{TaskName(instance, range)}.lock";

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

    /// <summary>The batch of a key under <c>state/&lt;batch&gt;/</c> (a record the manifest function fires on).</summary>
    public static bool TryParseStateBatch(string key, out string batch)
    {
        batch = key.StartsWith(StatePrefix, StringComparison.Ordinal) && key.Split('/') is [_, var folder, _, ..] ? folder : "";
        return IsValidBatchId(batch);
    }

    /// <summary>Matches <c>tasks/&lt;batch&gt;/i&lt;instance&gt;-&lt;range&gt;.json</c>.</summary>
    public static bool TryParseTask(string key, out string batch, out int instance, out int range)
    {
        var match = TaskKeyPattern().Match(key);
        batch = match.Success ? match.Groups["batch"].Value : "";
        instance = match.Success ? int.Parse(match.Groups["instance"].Value, CultureInfo.InvariantCulture) : 0;
        range = match.Success ? int.Parse(match.Groups["range"].Value, CultureInfo.InvariantCulture) : 0;
        return match.Success && IsValidBatchId(batch) && range > 0;
    }

    // \z, not $: $ also matches before a final newline, which would let "b\n" through.
    [GeneratedRegex(@"^[A-Za-z0-9_-][A-Za-z0-9._-]*\z")]
    private static partial Regex BatchIdPattern();

    [GeneratedRegex(@"^incoming/(?<batch>[^/]+)/(?<seq>[0-9]{1,9})\.jsonl\z")]
    private static partial Regex ShardKeyPattern();

    [GeneratedRegex(@"^tasks/(?<batch>[^/]+)/i(?<instance>[0-9]{1,4})-(?<range>[0-9]{6,9})\.json\z")]
    private static partial Regex TaskKeyPattern();
}

using System.Text.RegularExpressions;
using PikaIngest.Core.Formats;

namespace PikaIngest.Core.Layout;

/// <summary>
/// <c>manifests/&lt;batch&gt;.json</c> (docs/FORMATS.md §6): what <c>INGEST_S3</c> ingests, in order. Version 1
/// lists one file per (shard, instance); version 2 lists one file per (instance, key range), the
/// ranges of an instance disjoint and ascending, so a node can put them all in one level.
/// </summary>
public sealed record Manifest
{
    /// <summary>One file per (shard, instance): what a one-shard batch writes.</summary>
    public const int ShardsVersion = 1;

    /// <summary>One file per (instance, key range): what a multi-shard batch writes. Both versions are current.</summary>
    public const int RangesVersion = 2;

    public int Version { get; init; } = ShardsVersion;

    public required string BatchId { get; init; }

    /// <summary>The batch descriptor's creation time, so the manifest is a pure function of the batch.</summary>
    public required DateTimeOffset CreatedAt { get; init; }

    public required string Format { get; init; }

    public required int Instances { get; init; }

    /// <summary>
    /// Version 1: ordered by (shard, instance), the ingest order; a later file wins for the same key.
    /// Version 2: ordered by (instance, range); no two files of an instance share a key.
    /// </summary>
    public required IReadOnlyList<SstFileEntry> Files { get; init; }

    public required ManifestTotals Totals { get; init; }
}

public sealed record ManifestTotals
{
    public required int Shards { get; init; }

    public required int Files { get; init; }

    public required long Entries { get; init; }

    public required long Bytes { get; init; }
}

/// <summary>Limits a manifest reader enforces before trusting anything in it.</summary>
public sealed record ManifestLimits
{
    public int MaxFiles { get; init; } = 100_000;

    public long MaxFileBytes { get; init; } = 64L << 30;

    public long MaxTotalBytes { get; init; } = 16L << 40;

    public int MaxManifestBytes { get; init; } = 64 << 20;
}

/// <summary>Builds manifests from completion records and validates manifests read from anywhere.</summary>
public static partial class Manifests
{
    /// <summary>
    /// The manifest of a batch whose every shard is done. Deterministic: the same done records give
    /// the same bytes, so a store without conditional writes can only rewrite an identical manifest.
    /// </summary>
    public static Manifest Build(BatchDescriptor descriptor, IEnumerable<DoneRecord> done)
    {
        var records = done.OrderBy(d => d.Shard).ToList();
        var expected = Enumerable.Range(1, descriptor.Shards);
        if (!records.Select(r => r.Shard).SequenceEqual(expected))
        {
            var missing = expected.Except(records.Select(r => r.Shard)).Take(10);
            throw new InvalidDataException($"batch {descriptor.BatchId}: done records do not cover shards 1..{descriptor.Shards} exactly (missing: {string.Join(", ", missing)})");
        }

        if (records.FirstOrDefault(r => r.BatchId != descriptor.BatchId) is { } stranger)
        {
            throw new InvalidDataException($"batch {descriptor.BatchId}: done record of shard {stranger.Shard} names batch '{stranger.BatchId}'");
        }

        var files = records
            .SelectMany(r => r.Files.Select(f => f.Shard == r.Shard ? f : throw new InvalidDataException($"batch {descriptor.BatchId}: shard {r.Shard} lists a file of shard {f.Shard}")))
            .OrderBy(f => f.Shard)
            .ThenBy(f => f.Instance)
            .ToList();
        return Validated(descriptor, Manifest.ShardsVersion, files);
    }

    /// <summary>
    /// The manifest of a multi-shard batch whose every merge task is done: one file per (instance, range),
    /// as the plan lists the tasks. Deterministic like <see cref="Build"/>.
    /// </summary>
    public static Manifest BuildRanges(BatchDescriptor descriptor, MergePlan plan, IEnumerable<MergedRecord> merged)
    {
        var byTask = merged.ToDictionary(m => (m.Instance, m.Range));
        var files = new List<SstFileEntry>();
        foreach (var task in plan.Tasks)
        {
            if (!byTask.TryGetValue((task.Instance, task.Range), out var record) || record.TaskSha256 != task.Sha256 || record.BatchId != descriptor.BatchId)
            {
                throw new InvalidDataException($"batch {descriptor.BatchId}: no merge record for task {task.Key} of the plan");
            }

            var file = record.File;
            if (file.Instance != task.Instance || file.Range != task.Range || file.Shard is not null)
            {
                throw new InvalidDataException($"batch {descriptor.BatchId}: the merge record of {task.Key} lists {file.Key}, not its own range");
            }

            files.Add(file);
        }

        return Validated(descriptor, Manifest.RangesVersion, files);
    }

    private static Manifest Validated(BatchDescriptor descriptor, int version, List<SstFileEntry> files)
    {
        var manifest = new Manifest
        {
            Version = version,
            BatchId = descriptor.BatchId,
            CreatedAt = descriptor.CreatedAt,
            Format = descriptor.Format,
            Instances = descriptor.Instances,
            Files = files,
            Totals = new ManifestTotals { Shards = descriptor.Shards, Files = files.Count, Entries = files.Sum(f => f.Entries), Bytes = files.Sum(f => f.Size) },
        };
        Validate(manifest, TargetFormats.Parse(descriptor.Format), descriptor.Instances, new ManifestLimits());
        return manifest;
    }

    public static byte[] Serialize(Manifest manifest) => LayoutJson.Serialize(manifest);

    /// <summary>Parses and validates a manifest for a node serving <paramref name="format"/> with <paramref name="instances"/> instances.</summary>
    public static Manifest Parse(ReadOnlySpan<byte> json, string source, TargetFormat format, int instances, ManifestLimits limits)
    {
        if (json.Length > limits.MaxManifestBytes)
        {
            throw new InvalidDataException($"{source}: manifest is {json.Length} bytes, more than the {limits.MaxManifestBytes} allowed");
        }

        var manifest = LayoutJson.Deserialize<Manifest>(json, source);
        try
        {
            Validate(manifest, format, instances, limits);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{source}: {e.Message}", e);
        }

        return manifest;
    }

    /// <summary>Rejects anything a node must not act on: wrong format or instance count, keys outside the batch, bad sizes, counts, hashes or order.</summary>
    public static void Validate(Manifest manifest, TargetFormat format, int instances, ManifestLimits limits)
    {
        if (manifest.Version is not (Manifest.ShardsVersion or Manifest.RangesVersion))
        {
            throw new InvalidDataException($"unsupported manifest version {manifest.Version}");
        }

        if (!ObjectLayout.IsValidBatchId(manifest.BatchId))
        {
            throw new InvalidDataException($"invalid batch id '{manifest.BatchId}'");
        }

        if (!TargetFormats.TryParse(manifest.Format, out var declared) || declared != format)
        {
            throw new InvalidDataException($"manifest format '{manifest.Format}' does not match this node's {format.Name()}");
        }

        if (manifest.Instances != instances)
        {
            throw new InvalidDataException($"manifest is for {manifest.Instances} instances; this node has {instances}");
        }

        if (manifest.Files.Count > limits.MaxFiles)
        {
            throw new InvalidDataException($"manifest lists {manifest.Files.Count} files, more than the {limits.MaxFiles} allowed");
        }

        var keys = new HashSet<string>(StringComparer.Ordinal);
        SstFileEntry? previous = null;
        foreach (var file in manifest.Files)
        {
            if (file.Instance < 0 || file.Instance >= instances)
            {
                throw new InvalidDataException($"file {file.Key}: instance {file.Instance} out of range");
            }

            if (manifest.Version == Manifest.ShardsVersion)
            {
                ValidateShardFile(manifest.BatchId, file, previous);
            }
            else
            {
                ValidateRangeFile(manifest.BatchId, file, previous);
            }

            if (!keys.Add(file.Key))
            {
                throw new InvalidDataException($"file key '{file.Key}' is listed twice");
            }

            if (file.Size <= 0 || file.Size > limits.MaxFileBytes || file.Entries <= 0)
            {
                throw new InvalidDataException($"file {file.Key}: size {file.Size} / entries {file.Entries} out of range");
            }

            if (!Sha256Hex().IsMatch(file.Sha256))
            {
                throw new InvalidDataException($"file {file.Key}: sha256 must be 64 lower-case hex digits");
            }

            previous = file;
        }

        var totalBytes = manifest.Files.Sum(f => f.Size);
        if (totalBytes > limits.MaxTotalBytes)
        {
            throw new InvalidDataException($"manifest totals {totalBytes} bytes, more than the {limits.MaxTotalBytes} allowed");
        }

        var totals = manifest.Totals;
        if (totals.Files != manifest.Files.Count || totals.Bytes != totalBytes || totals.Entries != manifest.Files.Sum(f => f.Entries))
        {
            throw new InvalidDataException("manifest totals do not match its file list");
        }
    }

    private static void ValidateShardFile(string batch, SstFileEntry file, SstFileEntry? previous)
    {
        if (file.Shard is not { } shard || shard < 1 || file.Range is not null)
        {
            throw new InvalidDataException($"file {file.Key}: a version 1 manifest lists shard files (shard >= 1, no range)");
        }

        var expectedKey = ObjectLayout.SstFile(batch, shard, file.Instance);
        if (file.Key != expectedKey)
        {
            throw new InvalidDataException($"file key '{file.Key}' is not {expectedKey} (every file must be sst/<batch>/<seq>-<instance>.sst, once)");
        }

        if (previous is { Shard: { } p } && (p > shard || (p == shard && previous.Instance >= file.Instance)))
        {
            throw new InvalidDataException($"file {file.Key} is out of (shard, instance) order");
        }
    }

    private static void ValidateRangeFile(string batch, SstFileEntry file, SstFileEntry? previous)
    {
        if (file.Range is not { } range || range < 1 || file.Shard is not null)
        {
            throw new InvalidDataException($"file {file.Key}: a version 2 manifest lists range files (range >= 1, no shard)");
        }

        var expectedKey = ObjectLayout.RangeSstFile(batch, file.Instance, range);
        if (file.Key != expectedKey)
        {
            throw new InvalidDataException($"file key '{file.Key}' is not {expectedKey} (every file must be sst/<batch>/i<instance>-<range>.sst, once)");
        }

        var smallest = DecodeKey(file, file.SmallestKey);
        if (smallest.AsSpan().SequenceCompareTo(DecodeKey(file, file.LargestKey)) > 0)
        {
            throw new InvalidDataException($"file {file.Key}: smallest key above its largest");
        }

        if (previous is { Range: { } p } && (previous.Instance > file.Instance || (previous.Instance == file.Instance && p >= range)))
        {
            throw new InvalidDataException($"file {file.Key} is out of (instance, range) order");
        }

        if (previous?.Instance == file.Instance && DecodeKey(previous, previous.LargestKey).AsSpan().SequenceCompareTo(smallest) >= 0)
        {
            throw new InvalidDataException($"file {file.Key} overlaps {previous.Key}: the ranges of an instance must be disjoint and ascending");
        }
    }

    private static byte[] DecodeKey(SstFileEntry file, string base64)
    {
        try
        {
            return Convert.FromBase64String(base64);
        }
        catch (FormatException)
        {
            throw new InvalidDataException($"file {file.Key}: key bound '{base64}' is not base64");
        }
    }

    [GeneratedRegex("^[0-9a-f]{64}$")]
    private static partial Regex Sha256Hex();
}

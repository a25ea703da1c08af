using System.Text.RegularExpressions;
using PikaIngest.Core.Formats;

namespace PikaIngest.Core.Layout;

/// <summary><c>manifests/&lt;batch&gt;.json</c> (FORMATS.md §6): what <c>INGEST_S3</c> ingests, in order.</summary>
public sealed record Manifest
{
    public const int CurrentVersion = 1;

    public int Version { get; init; } = CurrentVersion;

    public required string BatchId { get; init; }

    /// <summary>The batch descriptor's creation time, so the manifest is a pure function of the batch.</summary>
    public required DateTimeOffset CreatedAt { get; init; }

    public required string Format { get; init; }

    public required int Instances { get; init; }

    /// <summary>Ordered by (shard, instance): the ingest order; a later file wins for the same key.</summary>
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
        var manifest = new Manifest
        {
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

    /// <summary>Rejects anything a node must not act on: wrong format or instance count, keys outside the batch, bad sizes, counts or hashes.</summary>
    public static void Validate(Manifest manifest, TargetFormat format, int instances, ManifestLimits limits)
    {
        if (manifest.Version != Manifest.CurrentVersion)
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

        var prefix = ObjectLayout.SstFolder(manifest.BatchId);
        (int Shard, int Instance)? previous = null;
        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in manifest.Files)
        {
            var expectedKey = ObjectLayout.SstFile(manifest.BatchId, file.Shard, file.Instance);
            if (!file.Key.StartsWith(prefix, StringComparison.Ordinal) || file.Key != expectedKey || !keys.Add(file.Key))
            {
                throw new InvalidDataException($"file key '{file.Key}' is not {expectedKey} (every file must be sst/<batch>/<seq>-<instance>.sst, once)");
            }

            if (file.Shard < 1 || file.Instance < 0 || file.Instance >= instances)
            {
                throw new InvalidDataException($"file {file.Key}: shard {file.Shard} / instance {file.Instance} out of range");
            }

            if (previous is { } p && (p.Shard > file.Shard || (p.Shard == file.Shard && p.Instance >= file.Instance)))
            {
                throw new InvalidDataException($"file {file.Key} is out of (shard, instance) order");
            }

            if (file.Size <= 0 || file.Size > limits.MaxFileBytes || file.Entries <= 0)
            {
                throw new InvalidDataException($"file {file.Key}: size {file.Size} / entries {file.Entries} out of range");
            }

            if (!Sha256Hex().IsMatch(file.Sha256))
            {
                throw new InvalidDataException($"file {file.Key}: sha256 must be 64 lower-case hex digits");
            }

            previous = (file.Shard, file.Instance);
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

    [GeneratedRegex("^[0-9a-f]{64}$")]
    private static partial Regex Sha256Hex();
}

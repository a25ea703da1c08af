namespace PikaIngest.Core.Layout;

/// <summary>A point of a run's key sample: a key and the compressed run bytes from it to the next point.</summary>
public sealed record RunSample(string Key, long Bytes);

/// <summary>One sorted run object (<c>runs/&lt;batch&gt;/&lt;seq&gt;-&lt;instance&gt;.run</c>) as the map stage records it.</summary>
public sealed record RunFileEntry
{
    public required string Key { get; init; }

    public required int Shard { get; init; }

    public required int Instance { get; init; }

    public required long Size { get; init; }

    public required long Records { get; init; }

    /// <summary>Base64 of the smallest user key.</summary>
    public required string SmallestKey { get; init; }

    /// <summary>Base64 of the largest user key.</summary>
    public required string LargestKey { get; init; }

    public required long IndexOffset { get; init; }

    public required int IndexLength { get; init; }

    /// <summary>XXH3-64 of the index bytes, 16 lower-case hex digits: ties a merge's reads to this exact run.</summary>
    public required string IndexChecksum { get; init; }

    /// <summary>At most <see cref="MaxSamples"/> points, in key order, whose bytes add up to the run's block bytes.</summary>
    public required IReadOnlyList<RunSample> Samples { get; init; }

    public const int MaxSamples = 128;
}

/// <summary><c>state/&lt;batch&gt;/mapped/&lt;seq&gt;.json</c>: a shard of a multi-shard batch sorted into one run per instance.</summary>
public sealed record MappedRecord
{
    public const int CurrentVersion = 1;

    public int Version { get; init; } = CurrentVersion;

    public required string BatchId { get; init; }

    public required int Shard { get; init; }

    public required SourceObject Source { get; init; }

    public required long RecordsRead { get; init; }

    public required long UniqueKeys { get; init; }

    public required long ElapsedMs { get; init; }

    public required IReadOnlyList<RunFileEntry> Runs { get; init; }
}

/// <summary>A run a merge task reads: where its index is and which shard it came from (a later shard wins).</summary>
public sealed record MergeTaskRun
{
    public required string Key { get; init; }

    public required int Shard { get; init; }

    public required long Size { get; init; }

    public required long IndexOffset { get; init; }

    public required int IndexLength { get; init; }

    public required string IndexChecksum { get; init; }
}

/// <summary>
/// <c>tasks/&lt;batch&gt;/i&lt;instance&gt;-&lt;range&gt;.json</c>: one key range of one instance to merge into
/// one SST. Self-contained (a merge needs nothing else), and listed in the plan by its SHA-256.
/// </summary>
public sealed record MergeTask
{
    public const int CurrentVersion = 1;

    public int Version { get; init; } = CurrentVersion;

    public required string BatchId { get; init; }

    public required string Format { get; init; }

    public required int Instances { get; init; }

    public required string Compression { get; init; }

    public required int SstFormatVersion { get; init; }

    public required DateTimeOffset CreatedAt { get; init; }

    public required int Instance { get; init; }

    /// <summary>1-based position of the range in the instance's key order.</summary>
    public required int Range { get; init; }

    /// <summary>Base64 of the inclusive lower bound (null: from the start).</summary>
    public string? LowerKey { get; init; }

    /// <summary>Base64 of the exclusive upper bound (null: to the end).</summary>
    public string? UpperKey { get; init; }

    public required long EstimatedBytes { get; init; }

    /// <summary>The runs whose key span meets the range, by shard.</summary>
    public required IReadOnlyList<MergeTaskRun> Runs { get; init; }
}

/// <summary>A task as the plan lists it.</summary>
public sealed record PlannedTask(int Instance, int Range, string Key, string Sha256, long EstimatedBytes);

/// <summary>
/// <c>plans/&lt;batch&gt;.json</c>: the merge tasks of a multi-shard batch, a pure function of its
/// descriptor and mapped records (the same records give the same bytes).
/// </summary>
public sealed record MergePlan
{
    public const int CurrentVersion = 1;

    public int Version { get; init; } = CurrentVersion;

    public required string BatchId { get; init; }

    public required int Shards { get; init; }

    public required long TargetFileBytes { get; init; }

    /// <summary>Ordered by (instance, range).</summary>
    public required IReadOnlyList<PlannedTask> Tasks { get; init; }
}

/// <summary><c>state/&lt;batch&gt;/merged/i&lt;instance&gt;-&lt;range&gt;.json</c>: a merge task's SST, written after the SST.</summary>
public sealed record MergedRecord
{
    public const int CurrentVersion = 1;

    public int Version { get; init; } = CurrentVersion;

    public required string BatchId { get; init; }

    public required int Instance { get; init; }

    public required int Range { get; init; }

    /// <summary>SHA-256 of the task object merged: ties the record to one plan.</summary>
    public required string TaskSha256 { get; init; }

    /// <summary>Records read from the runs in the range, before later shards replaced earlier ones.</summary>
    public required long RecordsIn { get; init; }

    public required long ElapsedMs { get; init; }

    public required SstFileEntry File { get; init; }
}

using PikaIngest.Core.Formats;

namespace PikaIngest.Core.Mock;

public enum DuplicateDistribution
{
    /// <summary>Every key emitted so far is equally likely.</summary>
    Uniform,

    /// <summary>Keys near the middle of the emitted sequence are most likely (σ = one sixth of it).</summary>
    Normal,

    /// <summary>Recently emitted keys are most likely: rank k back from the newest with probability ∝ 1/k.</summary>
    Zipf,
}

public enum TimestampTarget
{
    None,

    /// <summary>Appends the batch's creation time (Unix ms) to every key, so duplicates still match.</summary>
    Key,

    /// <summary>Appends the record's generation time (Unix ms) to every value.</summary>
    Value,
}

/// <summary>What <c>pika-ingest mock</c> generates.</summary>
public sealed record MockOptions
{
    public required long TotalBytes { get; init; }

    /// <summary>Store root: shards go to <c>incoming/&lt;batch&gt;/</c> under it.</summary>
    public required string OutputRoot { get; init; }

    public required string BatchId { get; init; }

    public int Threads { get; init; } = Environment.ProcessorCount;

    public long MaxFileSize { get; init; } = 64L << 20;

    /// <summary>Fraction of records that reuse a key already emitted in the batch.</summary>
    public double DupRatio { get; init; } = 0.1;

    public string KeyPrefix { get; init; } = "key_";

    /// <summary>Key length including the prefix.</summary>
    public int KeySize { get; init; } = 16;

    public string ValuePrefix { get; init; } = "value_";

    /// <summary>Average value length including the prefix.</summary>
    public int ValueSize { get; init; } = 24;

    /// <summary>When set, value lengths spread uniformly over [2·ValueSize − max, max].</summary>
    public int? ValueSizeMax { get; init; }

    public DuplicateDistribution Distribution { get; init; } = DuplicateDistribution.Uniform;

    /// <summary>Fraction of records given an absolute "expire".</summary>
    public double ExpireRatio { get; init; }

    /// <summary>Expiry of those records: seconds after the batch's creation time.</summary>
    public long ExpireAfterSeconds { get; init; } = 3600;

    public TimestampTarget Timestamp { get; init; } = TimestampTarget.None;

    public ulong Seed { get; init; } = 1;

    public TargetFormat Format { get; init; } = TargetFormat.PikaV4;

    public int Instances { get; init; } = 3;

    public string Compression { get; init; } = "lz4";

    /// <summary>Size of the merged range SSTs, recorded in the descriptor (null: the default, 256 MiB).</summary>
    public long? TargetFileBytes { get; init; }

    /// <summary>Keep the sorted runs after the ingest, recorded in the descriptor (null: remove them).</summary>
    public bool? KeepRuns { get; init; }

    /// <summary>Batch creation time: written to the descriptor and the base of expiries and key timestamps.</summary>
    public DateTimeOffset CreatedAt { get; init; } = DateTimeOffset.UtcNow;
}

/// <summary>What a mock run produced.</summary>
public sealed record MockResult(string BatchFolder, int Shards, long Bytes, long Records, long Duplicates, long WithExpire, TimeSpan Elapsed)
{
    public double DuplicateFraction => Records == 0 ? 0 : (double)Duplicates / Records;
}

namespace PikaIngest.Cli.Run;

/// <summary>Where the functions of a run execute.</summary>
internal enum FunctionsMode
{
    /// <summary>In this process, driven by the local emulation of S3 events (no cloud account needed).</summary>
    Local,

    /// <summary>Deployed Lambda functions react to the uploaded shards; the run only watches for the result.</summary>
    Deployed,
}

/// <summary>What <c>pika-ingest run</c> does; the defaults are the embedded local demo.</summary>
internal sealed record RunOptions
{
    public long Size { get; init; } = 256L << 20;

    /// <summary>Number of shards the mock batch is cut into (default: 64 MiB shards).</summary>
    public int? Shards { get; init; }

    /// <summary>A folder of the user's own shards (or a batch folder with _batch.json) used instead of mock data.</summary>
    public string? Source { get; init; }

    /// <summary><c>s3://bucket</c>; null for the embedded folder store in the work folder.</summary>
    public string? Store { get; init; }

    public FunctionsMode Functions { get; init; } = FunctionsMode.Local;

    /// <summary>An existing master (host:port); null to start a master and a slave as child processes.</summary>
    public string? Master { get; init; }

    /// <summary>Existing slaves to wait for and verify (with <see cref="Master"/>).</summary>
    public IReadOnlyList<string> Slaves { get; init; } = [];

    public string? Password { get; init; }

    public int Instances { get; init; } = 3;

    /// <summary>Size of the merged range SSTs of a multi-shard batch (null: the default, 256 MiB).</summary>
    public long? TargetFileBytes { get; init; }

    public double DupRatio { get; init; } = 0.1;

    public double ExpireRatio { get; init; } = 0.05;

    public int Sample { get; init; } = 1000;

    /// <summary>Work folder (shards, store, node data, logs); default a new folder under the temp folder.</summary>
    public string? Work { get; init; }

    /// <summary>Keep the work folder after a successful run (a failed run always keeps it, for its logs).</summary>
    public bool Keep { get; init; }

    public TimeSpan Timeout { get; init; } = TimeSpan.FromHours(1);
}

using PikaIngest.Node.Binlog;
using PikaIngest.Node.Memory;
using PikaIngest.Node.Storage;

namespace PikaIngest.Node;

/// <summary>Everything pika-node is started with (docs/ARCHITECTURE.md §5.1); defaults serve a local demo.</summary>
internal sealed record NodeOptions
{
    public int Port { get; init; } = 9221;

    /// <summary>Loopback by default, like Redis's protected mode: exposing a node is a decision.</summary>
    public string Bind { get; init; } = "127.0.0.1";

    public string DataFolder { get; init; } = "pika-node-data";

    public int Instances { get; init; } = 3;

    /// <summary>MiB of RocksDB block cache, shared by the instances.</summary>
    public int BlockCacheMb { get; init; } = RocksStringStore.DefaultBlockCacheMb;

    public string? RequirePass { get; init; }

    /// <summary>Where INGEST_S3 reads: <c>s3</c> or <c>file:///ROOT</c> (bucket B is ROOT/B).</summary>
    public string ObjectStore { get; init; } = "file://store";

    /// <summary>Buckets INGEST_S3 may read; nothing else is fetched.</summary>
    public IReadOnlySet<string> AllowedBuckets { get; init; } = new HashSet<string>(["local"], StringComparer.Ordinal);

    public (string Host, int Port)? SlaveOf { get; init; }

    public string? MasterAuth { get; init; }

    public BinlogSyncPolicy BinlogSync { get; init; } = BinlogSyncPolicy.EverySecond;

    public long BinlogFileSize { get; init; } = 100L << 20;

    /// <summary>Binlog files a master keeps beyond what connected slaves still read.</summary>
    public int BinlogKeepFiles { get; init; } = 10;

    /// <summary>Binlog bytes kept (0: no limit), counted from the newest file, beyond what connected slaves read.</summary>
    public long BinlogKeepBytes { get; init; }

    /// <summary>How long binlog files are kept (zero: no limit), beyond what connected slaves read.</summary>
    public TimeSpan BinlogKeepAge { get; init; }

    /// <summary>Binlog files kept at most, even if a slave still needs older ones (it will full-sync).</summary>
    public int BinlogMaxFiles { get; init; } = 1000;

    /// <summary>A long, as CONFIG SET maxclients takes up to 2^32-1 like Redis.</summary>
    public long MaxClients { get; init; } = 10_000;

    /// <summary>
    /// maxmemory: bytes of resident memory past which commands that may grow memory are refused (0: no limit). The
    /// default is half the memory available, so a few clients writing huge values cannot take the host.
    /// </summary>
    public long MaxMemory { get; init; } = MemoryBudget.DefaultMaxMemory;

    /// <summary>A process whose exit stops the node (a supervisor that may die without stopping it, such as <c>pika-ingest run</c>).</summary>
    public int? ParentProcessId { get; init; }

    /// <summary>How often the background sweep looks for expired keys, and how many it removes per pass.</summary>
    public TimeSpan ExpireSweepInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    public int ExpireSweepBatch { get; init; } = 1000;

    public string BinlogFolder => Path.Combine(DataFolder, "log_db0");

    public string IngestFolder => Path.Combine(DataFolder, "ingest");

    /// <summary>Batches whose unfinished ingest intent is dropped at start-up instead of finished (the operator's way out).</summary>
    public IReadOnlySet<string> DiscardIngestIntents { get; init; } = new HashSet<string>(StringComparer.Ordinal);
}

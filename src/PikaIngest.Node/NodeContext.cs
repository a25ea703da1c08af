using System.Globalization;
using System.Text;
using PikaIngest.Core.Layout;
using PikaIngest.Core.Storage;
using PikaIngest.Node.Binlog;
using PikaIngest.Node.Ingest;
using PikaIngest.Node.Resp;
using PikaIngest.Node.Storage;

namespace PikaIngest.Node;

/// <summary>Everything a command handler may reach: storage, the write gate, ingest, settings and counters.</summary>
internal sealed class NodeContext : IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly DateTimeOffset _started;
    private readonly AppliedBatches _applied;

    private NodeContext(NodeOptions options, IStringStore store, WriteGate gate, AppliedBatches applied, IngestService ingest, TimeProvider clock, Action<string> log)
    {
        Options = options;
        Store = store;
        Gate = gate;
        _applied = applied;
        Ingest = ingest;
        Clock = clock;
        Log = log;
        _started = clock.GetUtcNow();
        Port = options.Port;
    }

    public NodeOptions Options { get; }

    public IStringStore Store { get; }

    public WriteGate Gate { get; }

    public IngestService Ingest { get; }

    public TimeProvider Clock { get; }

    public Action<string> Log { get; }

    public NodeStats Stats { get; } = new();

    public RespLimits Limits { get; } = new();

    /// <summary>The port actually listened on (differs from the option when it was 0).</summary>
    public int Port { get; set; }

    public TimeSpan Uptime => Clock.GetUtcNow() - _started;

    public CancellationToken Stopping => _stopping.Token;

    public static ReadOnlySpan<byte> Role => "master"u8;

    public long ReplicationOffset => (long)Gate.LastLogicId;

    public long NowMs => Clock.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>Opens storage, binlog and the applied-batch log; the object store opens lazily on the first INGEST_S3.</summary>
    public static NodeContext Open(NodeOptions options, TimeProvider clock, Action<string> log, IObjectStoreProvider? stores = null)
    {
        Directory.CreateDirectory(options.DataFolder);
        var store = RocksStringStore.Open(options.DataFolder, options.Instances);
        BinlogWriter? binlog = null;
        AppliedBatches? applied = null;
        try
        {
            binlog = BinlogWriter.Open(options.BinlogFolder, new BinlogOptions { FileSizeLimit = options.BinlogFileSize, Sync = options.BinlogSync }, log);
            var gate = new WriteGate(binlog, store);
            applied = AppliedBatches.Open(Path.Combine(options.IngestFolder, "applied.jsonl"), log);
            var settings = new IngestSettings(options.AllowedBuckets, Path.Combine(options.IngestFolder, "staging"), new ManifestLimits());
            var ingest = new IngestService(stores ?? new LazyStoreProvider(options.ObjectStore), store, gate, applied, settings, log);
            return new NodeContext(options, store, gate, applied, ingest, clock, log);
        }
        catch
        {
            applied?.Dispose();
            binlog?.Dispose();
            store.Dispose();
            throw;
        }
    }

    public void RequestShutdown(string reason)
    {
        if (!_stopping.IsCancellationRequested)
        {
            Log($"shutting down: {reason}");
            _stopping.Cancel();
        }
    }

    public void WriteReplicationInfo(StringBuilder info)
    {
        info.Append("# Replication\r\n")
            .Append("role:master\r\n")
            .Append("connected_slaves:0\r\n")
            .Append("master_repl_offset:").Append(ReplicationOffset).Append("\r\n")
            .Append("binlog_position:").Append(Gate.Position.ToString()).Append("\r\n");
    }

    /// <summary>What CONFIG GET reports: the settings clients and tools look for, with the node's values.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> ConfigValues()
    {
        var inv = CultureInfo.InvariantCulture;
        return
        [
            new("port", Port.ToString(inv)),
            new("bind", Options.Bind),
            new("dir", Path.GetFullPath(Options.DataFolder)),
            new("databases", "1"),
            new("instances", Options.Instances.ToString(inv)),
            new("requirepass", Options.RequirePass ?? ""),
            new("maxclients", Options.MaxClients.ToString(inv)),
            new("appendonly", "no"),
            new("save", ""),
            new("binlog-sync", Options.BinlogSync == BinlogSyncPolicy.Always ? "always" : "everysec"),
            new("binlog-file-size", Options.BinlogFileSize.ToString(inv)),
            new("slave-read-only", "yes"),
            new("replica-read-only", "yes"),
            new("proto-max-bulk-len", Limits.MaxBulkLength.ToString(inv)),
            new("object-store", Options.ObjectStore),
            new("ingest-allow-bucket", string.Join(' ', Options.AllowedBuckets.Order(StringComparer.Ordinal))),
        ];
    }

    public void Dispose()
    {
        _stopping.Cancel();
        Ingest.Dispose();
        Gate.Dispose();
        _applied.Dispose();
        Store.Dispose();
        _stopping.Dispose();
    }

    /// <summary>Opens the object store on first use, so a node that never ingests needs no S3 credentials.</summary>
    private sealed class LazyStoreProvider(string uri) : IObjectStoreProvider
    {
        private readonly Lazy<IObjectStoreProvider> _provider = new(() => ObjectStores.OpenProvider(uri));

        public string Location => uri;

        public IObjectStore Bucket(string name) => _provider.Value.Bucket(name);
    }
}

using System.Text;
using PikaIngest.Core.Layout;
using PikaIngest.Core.Storage;
using PikaIngest.Node.Binlog;
using PikaIngest.Node.Ingest;
using PikaIngest.Node.Memory;
using PikaIngest.Node.Replication;
using PikaIngest.Node.Resp;
using PikaIngest.Node.Storage;

namespace PikaIngest.Node;

/// <summary>Everything a command handler may reach: storage, the write gate, ingest, settings and counters.</summary>
internal sealed class NodeContext : IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _optionsLock = new();
    private NodeOptions _options;

    private NodeContext(NodeOptions options, IStringStore store, WriteGate gate, AppliedBatches applied, IngestService ingest, TimeProvider clock, Action<string> log)
    {
        _options = options;
        Store = store;
        Gate = gate;
        GroupCommit = GroupCommit.Start(gate);
        Applied = applied;
        Ingest = ingest;
        Clock = clock;
        Log = log;
        Started = clock.GetUtcNow();
        Port = options.Port;
    }

    /// <summary>The settings in force: those the node started with, as CONFIG SET has changed them since.</summary>
    public NodeOptions Options => Volatile.Read(ref _options);

    public DateTimeOffset Started { get; }

    /// <summary>The client connections being served, for CLIENT LIST and CLIENT KILL.</summary>
    public ClientRegistry Clients { get; } = new();

    public IStringStore Store { get; }

    public WriteGate Gate { get; }

    /// <summary>Publishes the writes of every connection served in one pass of the socket engine at once, before their replies.</summary>
    public GroupCommit GroupCommit { get; }

    public IngestService Ingest { get; }

    public AppliedBatches Applied { get; }

    public ReplicationManager Replication { get; private set; } = null!;

    public TimeProvider Clock { get; }

    public Action<string> Log { get; }

    public NodeStats Stats { get; } = new();

    public RespLimits Limits { get; } = new();

    /// <summary>The maxmemory guard's view of the process's memory.</summary>
    public MemoryBudget Memory { get; } = new();

    /// <summary>The port actually listened on (differs from the option when it was 0).</summary>
    public int Port { get; set; }

    public TimeSpan Uptime => Clock.GetUtcNow() - Started;

    public CancellationToken Stopping => _stopping.Token;


    public long NowMs => Clock.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>Opens storage, binlog and the applied-batch log; the object store opens lazily on the first INGEST_S3.</summary>
    public static NodeContext Open(NodeOptions options, TimeProvider clock, Action<string> log, IObjectStoreProvider? stores = null)
    {
        Directory.CreateDirectory(options.DataFolder);
        var store = RocksStringStore.Open(options.DataFolder, options.Instances, options.BlockCacheMb);
        BinlogWriter? binlog = null;
        AppliedBatches? applied = null;
        try
        {
            binlog = BinlogWriter.Open(options.BinlogFolder, new BinlogOptions { FileSizeLimit = options.BinlogFileSize, Sync = options.BinlogSync }, log);
            var gate = new WriteGate(binlog, store);
            applied = AppliedBatches.Open(Path.Combine(options.IngestFolder, "applied.jsonl"), log);
            var settings = new IngestSettings(options.AllowedBuckets, Path.Combine(options.IngestFolder, "staging"), Path.Combine(options.IngestFolder, "intents"), new ManifestLimits());
            var ingest = new IngestService(stores ?? new LazyStoreProvider(options.ObjectStore), store, gate, applied, settings, log, IngestFaults.FromEnvironment(settings.StagingFolder, log));

            // A batch a crash left half-ingested is finished before anything else can read or write.
            ingest.Recover(options.DiscardIngestIntents);
            var node = new NodeContext(options, store, gate, applied, ingest, clock, log);
            node.Replication = new ReplicationManager(node);
            return node;
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

    /// <summary>
    /// Replaces the whole keyspace and the applied-batch log with a full sync's copy (in <paramref name="incoming"/>:
    /// <c>db0/&lt;i&gt;</c> and <c>ingest/applied.jsonl</c>), under the write gate.
    /// </summary>
    public void InstallFullSync(string incoming)
    {
        using (Gate.Enter())
        {
            Gate.Publish();
            Store.ReplaceWith(Path.Combine(incoming, "db0"));
            Applied.ReplaceWith(Path.Combine(incoming, "ingest", "applied.jsonl"));
        }

        Directory.Delete(incoming, recursive: true);
    }

    /// <summary>Applies CONFIG SET's changes as one: a reader sees the settings from before or after, never a mix.</summary>
    public void UpdateOptions(Func<NodeOptions, NodeOptions> change)
    {
        lock (_optionsLock)
        {
            Volatile.Write(ref _options, change(_options));
        }
    }

    public void Dispose()
    {
        _stopping.Cancel();
        GroupCommit.Dispose();
        Ingest.Dispose();
        Gate.Dispose();
        Applied.Dispose();
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

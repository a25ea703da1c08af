using PikaIngest.Core.Layout;
using PikaIngest.Core.Mock;
using PikaIngest.Core.Pipeline;
using PikaIngest.Core.Storage;

namespace PikaIngest.Functions.UnitTests;

/// <summary>A folder store with one mock batch, the three functions wired to it, and a RESP listener as the master.</summary>
public sealed class FlowFixture : IAsyncDisposable
{
    public const string BucketName = "local";

    private readonly List<string> _log = [];

    public FlowFixture(int shards = 3, string batch = "b1")
    {
        Root = Path.Combine(Path.GetTempPath(), "pika-functions-" + Guid.NewGuid().ToString("N"));
        Batch = batch;
        Stores = new LocalFolderStoreProvider(Root);
        Store = Stores.Bucket(BucketName);
        new MockGenerator(new MockOptions
        {
            TotalBytes = shards * 200_000L,
            MaxFileSize = 200_000,
            OutputRoot = Path.Combine(Root, BucketName),
            BatchId = batch,
            DupRatio = 0.2,
            Seed = 5,
            CreatedAt = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000),
        }).Run();
        Pika = new RespListener();
        Ingest = new RedisIngestClient(Pika.Endpoint, null, TimeSpan.FromSeconds(10));
        SstOptions = new SstStageOptions { WorkDirectory = Path.Combine(Root, "work"), Parallelism = 1 };
        Sst = new SstFunction(Stores, SstOptions, Log);
        Merge = new MergeFunction(Stores, SstOptions, Log);
        Manifest = new ManifestFunction(Stores, Ingest, Log);
    }

    public string Root { get; }

    public string Batch { get; }

    public IObjectStoreProvider Stores { get; }

    public IObjectStore Store { get; }

    public RespListener Pika { get; }

    public RedisIngestClient Ingest { get; }

    public SstStageOptions SstOptions { get; }

    public SstFunction Sst { get; }

    public MergeFunction Merge { get; }

    public ManifestFunction Manifest { get; }

    public IReadOnlyList<string> LogLines
    {
        get
        {
            lock (_log)
            {
                return [.. _log];
            }
        }
    }

    /// <summary>The folder holding IngestFunctions.sln (template.yaml, Makefile and events/ live there).</summary>
    public static string RepositoryRoot()
    {
        var folder = new DirectoryInfo(AppContext.BaseDirectory);
        while (folder is not null && !File.Exists(Path.Combine(folder.FullName, "IngestFunctions.sln")))
        {
            folder = folder.Parent;
        }

        return folder?.FullName ?? throw new InvalidOperationException("repository root not found above " + AppContext.BaseDirectory);
    }

    public string PathOf(string key) => Path.Combine(Root, BucketName, key);

    public LocalEventRouter Router(LocalEventRouterOptions? options = null) =>
        new(
            Store,
            (payload, _) => Sst.HandleAsync(new MemoryStream(payload)),
            (payload, _) => Manifest.HandleAsync(new MemoryStream(payload)),
            (payload, _) => Merge.HandleAsync(new MemoryStream(payload)),
            options ?? new LocalEventRouterOptions { RetryDelay = TimeSpan.FromMilliseconds(50) },
            Log);

    /// <summary>Runs the router until the batch has a result (or the deadline passes).</summary>
    public async Task<BatchResult?> RunUntilResultAsync(LocalEventRouter router, TimeSpan? deadline = null)
    {
        using var timeout = new CancellationTokenSource(deadline ?? TimeSpan.FromSeconds(60));
        await router.RunAsync(async token => await ResultAsync() is not null || router.DeadLetters.Count > 0, timeout.Token);
        return await ResultAsync();
    }

    public async Task<BatchResult?> ResultAsync() =>
        await Store.HeadAsync(ObjectLayout.Result(Batch)) is null
            ? null
            : LayoutJson.Deserialize<BatchResult>(await Store.GetBytesAsync(ObjectLayout.Result(Batch), 1 << 20), "result");

    public static byte[] EventFor(string key, long size = 0) => S3Event.Create(BucketName, key, size, null, DateTimeOffset.UtcNow);

    public void Log(string line)
    {
        lock (_log)
        {
            _log.Add(line);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Ingest.DisposeAsync();
        await Pika.DisposeAsync();
        if (Directory.Exists(Root))
        {
            Directory.Delete(Root, recursive: true);
        }
    }
}

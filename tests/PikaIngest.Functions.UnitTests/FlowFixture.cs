using PikaIngest.Core.Layout;
using PikaIngest.Core.Mock;
using PikaIngest.Core.Pipeline;
using PikaIngest.Core.Storage;

namespace PikaIngest.Functions.UnitTests;

/// <summary>
/// A folder store with one mock batch, the three functions wired to it, and a RESP listener as the master. Each function
/// sees the store through its own role's policy from template.yaml (<see cref="PolicyEnforcingStore"/>), as on AWS;
/// <see cref="Stores"/> and <see cref="Store"/> are the bucket itself, as the test and S3's event notifications see it.
/// </summary>
public sealed class FlowFixture : IAsyncDisposable
{
    /// <summary>The bucket template.yaml names with its default prefix in account <see cref="SamTemplate.AccountId"/>, region <see cref="SamTemplate.Region"/>.</summary>
    public const string BucketName = "pika-ingest-123456789012-us-east-1";

    private readonly List<string> _log = [];

    /// <param name="policyOf">Each function's policy by its template name; the template's own when null.</param>
    /// <param name="leaseTimeout">When a lease left behind is taken over; the stage's default (longer than any test) when null.</param>
    public FlowFixture(int shards = 3, string batch = "b1", Func<string, IamPolicy>? policyOf = null, TimeSpan? leaseTimeout = null)
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
        SstOptions = leaseTimeout is { } timeout ? SstOptions with { LeaseTimeout = timeout } : SstOptions;
        policyOf ??= SamTemplate.Deployed.PolicyOf;
        SstStores = new PolicyEnforcingStoreProvider(Stores, policyOf(nameof(SstFunction)));
        MergeStores = new PolicyEnforcingStoreProvider(Stores, policyOf(nameof(MergeFunction)));
        ManifestStores = new PolicyEnforcingStoreProvider(Stores, policyOf(nameof(ManifestFunction)));
        Sst = new SstFunction(SstStores, SstOptions, Log);
        Merge = new MergeFunction(MergeStores, SstOptions, Log);
        Manifest = new ManifestFunction(ManifestStores, Ingest, Log);
    }

    public string Root { get; }

    public string Batch { get; }

    public IObjectStoreProvider Stores { get; }

    public IObjectStore Store { get; }

    /// <summary>The store as SstFunction's role may use it.</summary>
    public IObjectStoreProvider SstStores { get; }

    public IObjectStoreProvider MergeStores { get; }

    public IObjectStoreProvider ManifestStores { get; }

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

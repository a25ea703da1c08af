using PikaIngest.Core.Pipeline;
using PikaIngest.Core.Storage;

namespace PikaIngest.Functions;

/// <summary>
/// Lambda entry point <c>PikaIngest.Functions::PikaIngest.Functions.ManifestFunction::HandleAsync</c>:
/// fires on completion and failure records (<c>state/&lt;batch&gt;/…json</c>); when every shard of
/// the batch is done it writes the manifest once and calls INGEST_S3 on the Pika master through
/// one connection shared by all invocations of the container. An ingest error or timeout is
/// rethrown: Lambda retries and finally sends the event to the on-failure destination. A permanent
/// error (<see cref="PermanentFailures"/>: a refused store request, a damaged plan) fails the batch
/// in <c>results/&lt;batch&gt;.json</c> and returns.
/// </summary>
public sealed class ManifestFunction
{
    private readonly ManifestStage _stage;
    private readonly FailureGuard _guard;
    private readonly Action<string> _log;

    /// <summary>Used by the Lambda runtime: settings from the environment, read once per container.</summary>
    public ManifestFunction()
        : this(FunctionEnvironment.Read())
    {
    }

    public ManifestFunction(FunctionEnvironment environment)
        : this(environment.OpenStore(), environment.IngestClient(), FunctionLog.Write)
    {
    }

    /// <summary>For tests and the local emulation: explicit dependencies (no ingest client: write manifests only).</summary>
    public ManifestFunction(IObjectStoreProvider stores, IIngestClient? ingest, Action<string> log)
    {
        _guard = new FailureGuard(stores, log);
        _stage = new ManifestStage(stores, ingest, log);
        _log = log;
    }

    public async Task<Stream> HandleAsync(Stream input)
    {
        var events = await FunctionJson.ReadEventsAsync(input, "ManifestFunction", _log).ConfigureAwait(false);
        // One batch may appear in several records of one event; handle each batch once.
        var results = new List<BatchStageResult>();
        foreach (var created in events.DistinctBy(e => (e.Bucket, BatchOf(e.Key))))
        {
            results.Add(await _guard.RunAsync(created, _stage.ProcessAsync, reason => new BatchStageResult(created.Bucket, BatchOf(created.Key), BatchOutcome.Failed, reason)).ConfigureAwait(false));
        }

        return FunctionJson.Reply(results);
    }

    private static string BatchOf(string key) => key.Split('/') is [_, var batch, ..] ? batch : key;
}

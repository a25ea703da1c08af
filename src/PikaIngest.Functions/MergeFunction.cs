using PikaIngest.Core.Pipeline;
using PikaIngest.Core.Storage;

namespace PikaIngest.Functions;

/// <summary>
/// Lambda entry point <c>PikaIngest.Functions::PikaIngest.Functions.MergeFunction::HandleAsync</c>:
/// an S3 ObjectCreated event for a merge task (<c>tasks/&lt;batch&gt;/i&lt;instance&gt;-&lt;range&gt;.json</c>,
/// written by the manifest function when every shard is mapped) merges that key range of every
/// shard's sorted run into one SST. Transient errors are rethrown so Lambda retries; a bad task or
/// run, or another permanent error (<see cref="PermanentFailures"/>), ends in a failure record (which
/// fails the batch) and a normal return.
/// </summary>
public sealed class MergeFunction
{
    private readonly MergeStage _stage;
    private readonly FailureGuard _guard;
    private readonly Action<string> _log;

    /// <summary>Used by the Lambda runtime: settings from the environment, read once per container.</summary>
    public MergeFunction()
        : this(FunctionEnvironment.Read())
    {
    }

    public MergeFunction(FunctionEnvironment environment)
        : this(environment.OpenStore(), environment.Sst, FunctionLog.Write)
    {
    }

    /// <summary>For tests and the local emulation: explicit dependencies.</summary>
    public MergeFunction(IObjectStoreProvider stores, SstStageOptions options, Action<string> log)
    {
        _guard = new FailureGuard(stores, log);
        _stage = new MergeStage(stores, options, log);
        _log = log;
    }

    public async Task<Stream> HandleAsync(Stream input)
    {
        var events = await FunctionJson.ReadEventsAsync(input, "MergeFunction", _log).ConfigureAwait(false);
        var results = new List<MergeStageResult>();
        foreach (var created in events)
        {
            results.Add(await _guard.RunAsync(created, _stage.ProcessAsync, reason => new MergeStageResult(created.Bucket, created.Key, MergeOutcome.Failed, reason)).ConfigureAwait(false));
        }

        return FunctionJson.Reply(results);
    }
}

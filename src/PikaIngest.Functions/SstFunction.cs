using PikaIngest.Core.Pipeline;
using PikaIngest.Core.Storage;

namespace PikaIngest.Functions;

/// <summary>
/// Lambda entry point <c>PikaIngest.Functions::PikaIngest.Functions.SstFunction::HandleAsync</c>:
/// an S3 ObjectCreated event for <c>incoming/&lt;batch&gt;/&lt;seq&gt;.jsonl</c> converts that shard
/// into SST files. Parses the event, calls Core, logs, returns a summary; transient errors are
/// rethrown so Lambda retries, bad data and permanent errors (<see cref="PermanentFailures"/>) end in a
/// failure record and a normal return.
/// </summary>
public sealed class SstFunction
{
    private readonly SstStage _stage;
    private readonly FailureGuard _guard;
    private readonly Action<string> _log;

    /// <summary>Used by the Lambda runtime: settings from the environment, read once per container.</summary>
    public SstFunction()
        : this(FunctionEnvironment.Read())
    {
    }

    public SstFunction(FunctionEnvironment environment)
        : this(environment.OpenStore(), environment.Sst, FunctionLog.Write)
    {
    }

    /// <summary>For tests and the local emulation: explicit dependencies.</summary>
    public SstFunction(IObjectStoreProvider stores, SstStageOptions options, Action<string> log)
    {
        _guard = new FailureGuard(stores, log);
        _stage = new SstStage(stores, options, log);
        _log = log;
    }

    public async Task<Stream> HandleAsync(Stream input)
    {
        var events = await FunctionJson.ReadEventsAsync(input, "SstFunction", _log).ConfigureAwait(false);
        var results = new List<SstStageResult>();
        foreach (var created in events)
        {
            results.Add(await _guard.RunAsync(created, _stage.ProcessAsync, reason => new SstStageResult(created.Bucket, created.Key, SstOutcome.Failed, reason)).ConfigureAwait(false));
        }

        return FunctionJson.Reply(results);
    }
}

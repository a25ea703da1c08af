using PikaIngest.Core.Layout;
using PikaIngest.Core.Storage;

namespace PikaIngest.Core.Pipeline;

/// <summary>Re-issues the ObjectCreated event of one object to the function its key triggers.</summary>
public interface IEventIssuer
{
    /// <summary>
    /// Whether issuing runs the function to completion here, so that the events its records would raise must be
    /// issued too (in-process handlers); false when the store's own notifications carry the batch onward (deployed).
    /// </summary>
    bool RunsHandlers { get; }

    Task IssueAsync(IObjectStore store, ObjectInfo trigger, CancellationToken cancellation);
}

/// <summary>
/// Runs the functions in this process on S3-shaped events, as <c>watch</c> and <c>invoke</c> do (a folder store has no
/// event source of its own). Each handler takes the event payload, like <see cref="LocalEventRouter"/>'s.
/// </summary>
public sealed class HandlerEventIssuer(
    Func<byte[], CancellationToken, Task> sstHandler,
    Func<byte[], CancellationToken, Task> manifestHandler,
    Func<byte[], CancellationToken, Task> mergeHandler) : IEventIssuer
{
    public bool RunsHandlers => true;

    public Task IssueAsync(IObjectStore store, ObjectInfo trigger, CancellationToken cancellation)
    {
        var handler = trigger.Key.StartsWith(ObjectLayout.IncomingPrefix, StringComparison.Ordinal) ? sstHandler
            : trigger.Key.StartsWith(ObjectLayout.TasksPrefix, StringComparison.Ordinal) ? mergeHandler
            : manifestHandler;
        return handler(S3Event.Create(store.Bucket, trigger.Key, trigger.Size, trigger.ETag, DateTimeOffset.UtcNow), cancellation);
    }
}

/// <summary>
/// Writes the trigger object again with its own bytes: S3 sends an ObjectCreated event for every PUT, identical bytes
/// included, to the bucket's deployed triggers (<c>s3:ObjectCreated:*</c> in template.yaml); a watched folder store sees a
/// new modification time. The Lambda SDK is not among this project's packages, so the functions are not invoked directly.
/// </summary>
public sealed class RewriteEventIssuer(string workDirectory) : IEventIssuer
{
    public bool RunsHandlers => false;

    public async Task IssueAsync(IObjectStore store, ObjectInfo trigger, CancellationToken cancellation)
    {
        Directory.CreateDirectory(workDirectory);
        var copy = Path.Combine(workDirectory, $"pika-redrive-{Guid.NewGuid():N}");
        try
        {
            var downloaded = await store.DownloadAsync(trigger.Key, copy, cancellation).ConfigureAwait(false);
            await store.UploadAsync(trigger.Key, copy, downloaded.Sha256, cancellation: cancellation).ConfigureAwait(false);
        }
        finally
        {
            File.Delete(copy);
        }
    }
}

public sealed record RedriveOptions
{
    public TimeSpan StallAfter { get; init; } = BatchStatusReader.DefaultStallAfter;

    /// <summary>Remove the batch's failure records (and a failed result) first, and re-issue the failed shards' and tasks' events too.</summary>
    public bool RetryFailed { get; init; }

    public bool DryRun { get; init; }

    /// <summary>Rounds of re-issuing when the handlers run here (upload, map, plan, merge, manifest need at most four).</summary>
    public int MaxRounds { get; init; } = 8;
}

/// <summary>What a redrive did: the status before and after, the trigger keys re-issued, and why it stopped or refused.</summary>
public sealed record RedriveReport
{
    public required BatchStatus Before { get; init; }

    public required BatchStatus After { get; init; }

    public required IReadOnlyList<string> Issued { get; init; }

    /// <summary>Events whose handler threw (handlers run here only).</summary>
    public required IReadOnlyList<string> Errors { get; init; }

    /// <summary>Why nothing was re-issued, when nothing was.</summary>
    public string? Refused { get; init; }
}

/// <summary>
/// <c>pika-ingest redrive</c>: re-issues the events of the stage where a batch stopped. Safe because every function is
/// idempotent: a shard whose mapped record names its ETag, a task whose merge record names its SHA-256 and a batch
/// already ingested are skipped, and leases keep two invocations from doing one piece of work at once.
/// </summary>
public sealed class BatchRedrive(IObjectStore store, IEventIssuer issuer, Action<string> log)
{
    public async Task<RedriveReport> RunAsync(string batch, RedriveOptions options, CancellationToken cancellation = default)
    {
        var reader = new BatchStatusReader(store, log);
        var before = await ReadAsync(reader, batch, options, cancellation).ConfigureAwait(false);
        if (Refusal(before, options) is { } refused)
        {
            return new RedriveReport { Before = before, After = before, Issued = [], Errors = [], Refused = refused };
        }

        var current = before;
        if (options.RetryFailed && before.State == BatchState.Failed)
        {
            foreach (var record in before.FailureRecords)
            {
                log($"{(options.DryRun ? "would remove" : "removing")} {record}");
                if (!options.DryRun)
                {
                    await store.DeleteAsync(record, cancellation).ConfigureAwait(false);
                }
            }

            // A dry run has removed nothing: its plan counts the failed shards and tasks as pending.
            current = options.DryRun ? WithoutFailures(before) : await ReadAsync(reader, batch, options, cancellation).ConfigureAwait(false);
        }

        var issued = new List<string>();
        var errors = new List<string>();
        for (var round = 1; round <= options.MaxRounds; round++)
        {
            var (triggers, why) = Triggers(current);
            if (triggers.Count == 0)
            {
                if (issued.Count == 0)
                {
                    return new RedriveReport { Before = before, After = current, Issued = issued, Errors = errors, Refused = why };
                }

                break;
            }

            log($"batch {batch}, stage {current.Stage}: {(options.DryRun ? "would re-issue" : "re-issuing")} {triggers.Count} event(s): {string.Join(", ", triggers.Take(5))}{(triggers.Count > 5 ? ", …" : "")}");
            if (options.DryRun)
            {
                issued.AddRange(triggers);
                break;
            }

            foreach (var key in triggers)
            {
                if (await IssueAsync(key, cancellation).ConfigureAwait(false) is { } error)
                {
                    errors.Add(error);
                }

                issued.Add(key);
            }

            var next = await ReadAsync(reader, batch, options, cancellation).ConfigureAwait(false);
            var stuck = next.Stage == current.Stage && next.Missing.SequenceEqual(current.Missing);
            current = next;
            // Reaching the ingest stage here means the manifest function just ran: it ingested, or it had no master to ingest with.
            if (!issuer.RunsHandlers || stuck || current.State is BatchState.Ingested or BatchState.Failed || current.Stage == "ingest")
            {
                break;
            }
        }

        return new RedriveReport { Before = before, After = current, Issued = issued, Errors = errors };
    }

    /// <summary>The trigger objects whose events move the batch on from where it is, or why there are none.</summary>
    public static (IReadOnlyList<string> Triggers, string? Why) Triggers(BatchStatus status) =>
        status.State is BatchState.Ingested ? ([], "the batch is ingested; nothing to redrive")
        : status.PendingShards.Count > 0 ? (status.PendingShards, null)
        : status.PendingTasks.Count > 0 ? (status.PendingTasks, null)
        : status.Stage is "plan" or "manifest" or "ingest" && status.LatestRecord is { } record ? ([record], null)
        : ([], status.Missing.Count > 0 ? $"no event of the batch can supply what is missing: {string.Join("; ", status.Missing)}" : "nothing is missing");

    private static string? Refusal(BatchStatus status, RedriveOptions options) => status.State switch
    {
        BatchState.Ingested => "the batch is ingested; nothing to redrive",
        BatchState.Failed when !options.RetryFailed =>
            $"the batch failed ({string.Join("; ", status.Failures.Select(f => $"{f.What}: {f.Reason}"))}). A bad shard is fixed by uploading it again, " +
            "which triggers its conversion by itself; when the cause was outside the data (a permission, since granted) use --retry-failed, " +
            "which removes the failure records and re-issues those events",
        BatchState.InProgress => $"the batch is still moving (last progress {BatchStatusReader.FormatAge(status.Age ?? TimeSpan.Zero)} ago, under the stall threshold of " +
            $"{BatchStatusReader.FormatAge(options.StallAfter)}); wait, or pass a shorter --stall-after",
        _ => null,
    };

    /// <summary>The status a retry of the failures would start from: the failed shards and tasks pending again.</summary>
    private static BatchStatus WithoutFailures(BatchStatus status) => status with
    {
        State = BatchState.Stalled,
        PendingShards = [.. status.PendingShards, .. status.FailureRecords.Select(TriggerOfFailure).OfType<string>().Where(k => k.StartsWith(ObjectLayout.IncomingPrefix, StringComparison.Ordinal))],
        PendingTasks = [.. status.PendingTasks, .. status.FailureRecords.Select(TriggerOfFailure).OfType<string>().Where(k => k.StartsWith(ObjectLayout.TasksPrefix, StringComparison.Ordinal))],
    };

    /// <summary>The object whose event a failure record answered: its shard or its task (null for the batch's result).</summary>
    private static string? TriggerOfFailure(string record)
    {
        if (record.Split('/') is not [_, var batch, "failed", var file] || !file.EndsWith(".json", StringComparison.Ordinal))
        {
            return null;
        }

        var name = file[..^".json".Length];
        return name.StartsWith('i') ? $"{ObjectLayout.TasksPrefix}{batch}/{name}{ObjectLayout.TaskSuffix}" : $"{ObjectLayout.IncomingPrefix}{batch}/{name}{ObjectLayout.ShardSuffix}";
    }

    private async Task<BatchStatus> ReadAsync(BatchStatusReader reader, string batch, RedriveOptions options, CancellationToken cancellation) =>
        (await reader.ReadAsync(batch, DateTimeOffset.UtcNow, options.StallAfter, cancellation).ConfigureAwait(false)) is [var status]
            ? status
            : throw new InvalidOperationException($"{store.Location}: no object of batch {batch} (incoming/{batch}/, state/{batch}/, tasks/{batch}/, results/{batch}.json)");

    /// <summary>Issues one event; returns the error when its handler threw (the others are still issued).</summary>
    private async Task<string?> IssueAsync(string key, CancellationToken cancellation)
    {
        var trigger = await store.HeadAsync(key, cancellation).ConfigureAwait(false);
        if (trigger is null)
        {
            log($"{store.Location}/{key} is gone; its event cannot be re-issued");
            return $"{key}: gone";
        }

        try
        {
            await issuer.IssueAsync(store, trigger, cancellation).ConfigureAwait(false);
            return null;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            log($"event for {store.Location}/{key} failed: {e.Message}");
            return $"{key}: {e.Message}";
        }
    }
}

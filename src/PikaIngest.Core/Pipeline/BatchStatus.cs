using System.Globalization;
using System.Text.Json.Serialization;
using PikaIngest.Core.Layout;
using PikaIngest.Core.Storage;

namespace PikaIngest.Core.Pipeline;

/// <summary>Where a batch is, as its objects in the store show it.</summary>
public enum BatchState
{
    /// <summary>Not finished, and something of it changed within the stall threshold.</summary>
    InProgress,

    /// <summary>Not finished, and nothing of it changed for longer than the stall threshold: an event was lost, or a function keeps failing.</summary>
    Stalled,

    /// <summary>A shard, a merge or the manifest function recorded a failure: not ingested.</summary>
    Failed,

    /// <summary>INGEST_S3 answered OK (<c>results/&lt;batch&gt;.json</c>).</summary>
    Ingested,
}

/// <summary>One failure record of a batch: what failed, the record that says so, and why.</summary>
public sealed record BatchFailure(string What, string Record, string Reason, DateTimeOffset? At);

/// <summary>A batch's progress through the stages, and what is missing for the next one.</summary>
public sealed record BatchStatus
{
    public required string BatchId { get; init; }

    /// <summary>The stage the batch is in: upload, map, plan, merge, manifest, ingest, or done.</summary>
    public required string Stage { get; init; }

    public required BatchState State { get; init; }

    /// <summary>Shards the descriptor declares (null: no readable descriptor).</summary>
    public int? Shards { get; init; }

    public int ShardsSeen { get; init; }

    /// <summary>Shards with a mapped record (multi-shard batch) or a completion record (one-shard batch).</summary>
    public int ShardsMapped { get; init; }

    public int ShardsFailed { get; init; }

    public bool Planned { get; init; }

    /// <summary>Merge tasks the plan lists (null: no plan; a one-shard batch has none).</summary>
    public int? Ranges { get; init; }

    public int RangesMerged { get; init; }

    public int RangesFailed { get; init; }

    public bool Manifest { get; init; }

    /// <summary><c>succeeded</c> or <c>failed</c> from <c>results/&lt;batch&gt;.json</c>; null when there is none.</summary>
    public string? Result { get; init; }

    /// <summary>The master's reply to INGEST_S3, and when it was recorded (the store holds no reply of a slave).</summary>
    public string? IngestReply { get; init; }

    public long? IngestMs { get; init; }

    public DateTimeOffset? ResultAt { get; init; }

    /// <summary>The newest LastModified of the batch's objects (shards, records, leases, tasks, plan, manifest, result).</summary>
    public DateTimeOffset? LastProgress { get; init; }

    [JsonIgnore]
    public TimeSpan? Age { get; init; }

    /// <summary>Seconds since <see cref="LastProgress"/> when the status was read.</summary>
    public double? AgeSeconds => Age is { } age ? Math.Round(age.TotalSeconds, 3) : null;

    public required IReadOnlyList<BatchFailure> Failures { get; init; }

    /// <summary>What the batch still needs before its next stage, one line each ("shard 000003 has no mapped record").</summary>
    public required IReadOnlyList<string> Missing { get; init; }

    /// <summary>Shards uploaded but neither mapped (or done) nor failed: their events are the ones to re-issue.</summary>
    public required IReadOnlyList<string> PendingShards { get; init; }

    /// <summary>Task objects with neither a merge record nor a failure record.</summary>
    public required IReadOnlyList<string> PendingTasks { get; init; }

    /// <summary>The newest mapped, merged or done record: the event that makes the manifest function look at the batch again.</summary>
    public string? LatestRecord { get; init; }

    /// <summary>Keys of the failure records (shards, tasks) and of a failed result, for a redrive after the cause was fixed.</summary>
    public required IReadOnlyList<string> FailureRecords { get; init; }
}

/// <summary>
/// Reads batches' state from a store with LISTs (one per area and batch, or one per area for every batch) and a few
/// small GETs (descriptor, plan, result, failure records), never a mapped or merged record: a batch of 1,600 shards
/// costs a handful of requests.
/// </summary>
public sealed class BatchStatusReader(IObjectStore store, Action<string> log, int maxRecordBytes = 1 << 20)
{
    /// <summary>
    /// No change for this long means stalled: a function runs at most 15 minutes, and Lambda retries a failed asynchronous
    /// invocation twice, one and then two minutes later (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html).
    /// Throttled events may wait in Lambda's queue for up to 6 hours; redriving one of those only repeats idempotent work.
    /// </summary>
    public static readonly TimeSpan DefaultStallAfter = TimeSpan.FromMinutes(20);

    /// <summary>The status of <paramref name="batch"/>, or of every batch in the store (ordered by id) when null.</summary>
    public async Task<IReadOnlyList<BatchStatus>> ReadAsync(string? batch, DateTimeOffset now, TimeSpan stallAfter, CancellationToken cancellation = default)
    {
        var objects = new Dictionary<string, List<ObjectInfo>>(StringComparer.Ordinal);
        foreach (var area in new[] { ObjectLayout.IncomingPrefix, ObjectLayout.StatePrefix, ObjectLayout.TasksPrefix })
        {
            await foreach (var info in store.ListAsync(batch is null ? area : $"{area}{batch}/", cancellation).ConfigureAwait(false))
            {
                if (info.Key.Split('/') is [_, var id, _, ..] && ObjectLayout.IsValidBatchId(id))
                {
                    Add(objects, id, info);
                }
            }
        }

        foreach (var area in new[] { ObjectLayout.PlansPrefix, ObjectLayout.ManifestsPrefix, ObjectLayout.ResultsPrefix })
        {
            await foreach (var info in store.ListAsync(batch is null ? area : $"{area}{batch}.json", cancellation).ConfigureAwait(false))
            {
                var id = info.Key[area.Length..];
                if (id.EndsWith(".json", StringComparison.Ordinal) && ObjectLayout.IsValidBatchId(id = id[..^".json".Length]) && (batch is null || id == batch))
                {
                    Add(objects, id, info);
                }
            }
        }

        var statuses = new List<BatchStatus>();
        foreach (var (id, found) in objects.OrderBy(b => b.Key, StringComparer.Ordinal))
        {
            statuses.Add(await StatusAsync(id, found.ToDictionary(o => o.Key, StringComparer.Ordinal), now, stallAfter, cancellation).ConfigureAwait(false));
        }

        return statuses;
    }

    private static void Add(Dictionary<string, List<ObjectInfo>> objects, string batch, ObjectInfo info)
    {
        if (!objects.TryGetValue(batch, out var list))
        {
            objects[batch] = list = [];
        }

        list.Add(info);
    }

    private async Task<BatchStatus> StatusAsync(string batch, Dictionary<string, ObjectInfo> objects, DateTimeOffset now, TimeSpan stallAfter, CancellationToken cancellation)
    {
        var missing = new List<string>();
        var failures = new List<BatchFailure>();
        var failureRecords = new List<string>();
        var descriptor = objects.ContainsKey(ObjectLayout.Descriptor(batch)) ? await ReadAsync<BatchDescriptor>(ObjectLayout.Descriptor(batch), cancellation).ConfigureAwait(false) : null;
        var result = objects.ContainsKey(ObjectLayout.Result(batch)) ? await ReadAsync<BatchResult>(ObjectLayout.Result(batch), cancellation).ConfigureAwait(false) : null;
        var plan = objects.ContainsKey(ObjectLayout.Plan(batch)) ? await ReadAsync<MergePlan>(ObjectLayout.Plan(batch), cancellation, MergeStage.MaxTaskBytes).ConfigureAwait(false) : null;

        foreach (var key in objects.Keys.Where(k => k.StartsWith(ObjectLayout.FailedFolder(batch), StringComparison.Ordinal) && k.EndsWith(".json", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            failureRecords.Add(key);
            var failed = await ReadAsync<FailedRecord>(key, cancellation).ConfigureAwait(false);
            var what = failed is null ? Path.GetFileNameWithoutExtension(key) : failed.Task is { } task ? $"merge {task}" : $"shard {ObjectLayout.Seq(failed.Shard)}";
            failures.Add(new BatchFailure(what, key, failed is null ? "unreadable failure record" : failed.Reason + (failed.Line is { } line ? $" (line {line})" : ""), failed?.FailedAt));
        }

        if (result is { Status: BatchResult.Failed })
        {
            failureRecords.Add(ObjectLayout.Result(batch));

            // The result repeats the shard and merge failures; only a failure of its own (plan, manifest) is news.
            foreach (var failed in result.FailedShards ?? [])
            {
                if (failed.Task is { } own && !own.StartsWith('i'))
                {
                    failures.Add(new BatchFailure(own, ObjectLayout.Result(batch), failed.Reason, result.At));
                }
            }

            if (failures.Count == 0)
            {
                failures.Add(new BatchFailure("batch", ObjectLayout.Result(batch), "the result records a failure whose records are gone (fixed since?); the next state event re-evaluates the batch", result.At));
            }
        }

        var oneShard = descriptor is { Shards: <= 1 };
        var recordFolder = oneShard ? "done" : "mapped";
        var pendingShards = new List<string>();
        int shardsSeen = 0, shardsMapped = 0, shardsFailed = 0;
        var stage = "upload";
        if (descriptor is null)
        {
            missing.Add($"{ObjectLayout.Descriptor(batch)} is {(objects.ContainsKey(ObjectLayout.Descriptor(batch)) ? "unreadable" : "missing")}: upload it before the shards");
        }
        else
        {
            for (var seq = 1; seq <= descriptor.Shards; seq++)
            {
                var shard = ObjectLayout.Shard(batch, seq);
                var mapped = objects.ContainsKey(oneShard ? ObjectLayout.Done(batch, seq) : ObjectLayout.Mapped(batch, seq));
                var failed = objects.ContainsKey(ObjectLayout.Failed(batch, seq));
                shardsSeen += objects.ContainsKey(shard) ? 1 : 0;
                shardsMapped += mapped ? 1 : 0;
                shardsFailed += failed ? 1 : 0;
                if (!objects.ContainsKey(shard))
                {
                    missing.Add($"shard {ObjectLayout.Seq(seq)} is not uploaded ({shard})");
                }
                else if (!mapped && !failed)
                {
                    missing.Add($"shard {ObjectLayout.Seq(seq)} has no {recordFolder} record ({(oneShard ? ObjectLayout.Done(batch, seq) : ObjectLayout.Mapped(batch, seq))})");
                    pendingShards.Add(shard);
                }
            }

            stage = shardsSeen < descriptor.Shards ? "upload" : shardsMapped < descriptor.Shards ? "map" : oneShard ? "manifest" : "plan";
        }

        var pendingTasks = new List<string>();
        int rangesMerged = 0, rangesFailed = 0;
        if (stage == "plan")
        {
            if (plan is null)
            {
                missing.Add($"all {descriptor!.Shards} shards mapped but no plan ({ObjectLayout.Plan(batch)})");
            }
            else
            {
                var tasksWritten = 0;
                foreach (var task in plan.Tasks)
                {
                    var name = ObjectLayout.TaskName(task.Instance, task.Range);
                    var merged = objects.ContainsKey(ObjectLayout.Merged(batch, task.Instance, task.Range));
                    var failed = objects.ContainsKey(ObjectLayout.MergeFailed(batch, task.Instance, task.Range));
                    rangesMerged += merged ? 1 : 0;
                    rangesFailed += failed ? 1 : 0;
                    if (!objects.ContainsKey(task.Key))
                    {
                        missing.Add($"task {name} is not written ({task.Key})");
                    }
                    else
                    {
                        tasksWritten++;
                        if (!merged && !failed)
                        {
                            missing.Add($"task {name} has no merged record ({ObjectLayout.Merged(batch, task.Instance, task.Range)})");
                            pendingTasks.Add(task.Key);
                        }
                    }
                }

                stage = tasksWritten < plan.Tasks.Count ? "plan" : rangesMerged < plan.Tasks.Count ? "merge" : "manifest";
            }
        }

        var manifest = objects.ContainsKey(ObjectLayout.Manifest(batch));
        if (stage == "manifest")
        {
            if (!manifest)
            {
                missing.Add(oneShard ? $"the shard is done but there is no manifest ({ObjectLayout.Manifest(batch)})" : $"all ranges merged but no manifest ({ObjectLayout.Manifest(batch)})");
            }
            else
            {
                stage = "ingest";
                if (result is null)
                {
                    missing.Add($"{ObjectLayout.Manifest(batch)} is written but there is no result ({ObjectLayout.Result(batch)}): INGEST_S3 is not confirmed " +
                        "(none is recorded when the manifest function runs without a master, for pika-ingest apply)");
                }
            }
        }

        var ingested = result is { Status: BatchResult.Succeeded };
        var lastProgress = objects.Count == 0 ? (DateTimeOffset?)null : objects.Values.Max(o => o.LastModified);
        var age = lastProgress is { } last ? now - last : (TimeSpan?)null;
        var state = ingested ? BatchState.Ingested
            : failures.Count > 0 ? BatchState.Failed
            : age is { } idle && idle > stallAfter ? BatchState.Stalled
            : BatchState.InProgress;
        if (ingested)
        {
            stage = "done";
            missing.Clear();
        }

        return new BatchStatus
        {
            BatchId = batch,
            Stage = stage,
            State = state,
            Shards = descriptor?.Shards,
            ShardsSeen = shardsSeen,
            ShardsMapped = shardsMapped,
            ShardsFailed = shardsFailed,
            Planned = plan is not null,
            Ranges = plan?.Tasks.Count,
            RangesMerged = rangesMerged,
            RangesFailed = rangesFailed,
            Manifest = manifest,
            Result = result?.Status,
            IngestReply = result?.Reply,
            IngestMs = result?.IngestMs,
            ResultAt = result?.At,
            LastProgress = lastProgress,
            Age = age,
            Failures = failures,
            Missing = missing,
            PendingShards = ingested ? [] : pendingShards,
            PendingTasks = ingested ? [] : pendingTasks,
            LatestRecord = objects.Values
                .Where(o => o.Key.StartsWith(ObjectLayout.StateFolder(batch), StringComparison.Ordinal) && o.Key.Split('/') is [_, _, "mapped" or "merged" or "done", _])
                .OrderBy(o => o.LastModified).ThenBy(o => o.Key, StringComparer.Ordinal).LastOrDefault()?.Key,
            FailureRecords = failureRecords,
        };
    }

    private Task<T?> ReadAsync<T>(string key, CancellationToken cancellation, int? maxBytes = null)
        where T : class =>
        StageObjects.ReadRecordAsync<T>(store, key, maxBytes ?? maxRecordBytes, log, cancellation);

    /// <summary>An age as an operator reads it: 42s, 7m05s, 3h12m, 2d04h.</summary>
    public static string FormatAge(TimeSpan age) =>
        age.TotalSeconds < 60 ? $"{Math.Max(0, (int)age.TotalSeconds)}s"
        : age.TotalHours < 1 ? string.Create(CultureInfo.InvariantCulture, $"{(int)age.TotalMinutes}m{age.Seconds:00}s")
        : age.TotalDays < 1 ? string.Create(CultureInfo.InvariantCulture, $"{(int)age.TotalHours}h{age.Minutes:00}m")
        : string.Create(CultureInfo.InvariantCulture, $"{(int)age.TotalDays}d{age.Hours:00}h");
}

using System.Diagnostics;
using System.Text.RegularExpressions;
using PikaIngest.Core.Layout;
using PikaIngest.Core.Storage;

namespace PikaIngest.Core.Pipeline;

public enum BatchOutcome
{
    /// <summary>Not every shard is done (or mapped), or not every range merged, yet.</summary>
    Waiting,

    /// <summary>Every shard is mapped: the plan and its merge tasks were written (now, or completed now).</summary>
    Planned,

    /// <summary>A shard failed: the batch was recorded as failed and not ingested.</summary>
    Failed,

    /// <summary>INGEST_S3 answered OK (now, or in an earlier invocation).</summary>
    Ingested,

    /// <summary>No Pika master to ingest: the manifest is written for <c>pika-ingest apply</c> into a stopped stock Pika.</summary>
    ManifestWritten,

    AlreadyIngested,

    /// <summary>Not a state record, or a batch without a usable descriptor.</summary>
    Ignored,
}

public sealed record BatchStageResult(string Bucket, string BatchId, BatchOutcome Outcome, string Detail);

/// <summary>
/// The manifest function's work for one state-record event. A one-shard batch: when the shard is
/// done, build the manifest (a pure function of the completion record). A multi-shard batch: when
/// every shard is mapped, write the plan and one task object per key range (which trigger the
/// merges); when every range is merged, build the manifest from the merge records. Then create the
/// manifest if absent, call INGEST_S3 and record the outcome once. A failed shard or merge fails the
/// batch without an ingest.
/// An ingest error or timeout throws, so the platform retries and finally routes the event to the
/// on-failure destination; nothing claims success that the node did not confirm. Without an ingest
/// client (no master configured) the batch ends at its manifest, for <c>pika-ingest apply</c>.
/// </summary>
public sealed partial class ManifestStage(IObjectStoreProvider stores, IIngestClient? ingest, Action<string> log, int maxRecordBytes = 1 << 20)
{
    public async Task<BatchStageResult> ProcessAsync(S3ObjectEvent created, CancellationToken cancellation = default)
    {
        var match = StateKey().Match(created.Key);
        if (!match.Success || !ObjectLayout.IsValidBatchId(match.Groups["batch"].Value))
        {
            log($"ignoring s3://{created.Bucket}/{created.Key}: not state/<batch>/(done|mapped|merged|failed)/<name>.json");
            return new BatchStageResult(created.Bucket, "", BatchOutcome.Ignored, "not a state record");
        }

        var batch = match.Groups["batch"].Value;
        var store = stores.Bucket(created.Bucket);
        var resultKey = ObjectLayout.Result(batch);
        var previous = await ReadAsync<BatchResult>(store, resultKey, cancellation).ConfigureAwait(false);
        if (previous?.Status == BatchResult.Succeeded)
        {
            log($"batch {batch}: already ingested ({resultKey})");
            return new BatchStageResult(created.Bucket, batch, BatchOutcome.AlreadyIngested, resultKey);
        }

        var descriptor = await ReadAsync<BatchDescriptor>(store, ObjectLayout.Descriptor(batch), cancellation).ConfigureAwait(false);
        if (descriptor is null || descriptor.BatchId != batch)
        {
            log($"batch {batch}: no usable descriptor at {ObjectLayout.Descriptor(batch)}; nothing to do");
            return new BatchStageResult(created.Bucket, batch, BatchOutcome.Ignored, "no descriptor");
        }

        var failed = await ReadAllAsync<FailedRecord>(store, ObjectLayout.FailedFolder(batch), cancellation).ConfigureAwait(false);
        if (failed.Count > 0)
        {
            return await FailBatchAsync(store, batch, [.. failed.OrderBy(f => f.Shard).ThenBy(f => f.Task, StringComparer.Ordinal).Select(f => new FailedShard(f.Shard, f.Reason, f.Line, f.Task))], cancellation).ConfigureAwait(false);
        }

        if (descriptor.Shards <= 1)
        {
            var done = await ReadAllAsync<DoneRecord>(store, ObjectLayout.DoneFolder(batch), cancellation).ConfigureAwait(false);
            if (done.Count < descriptor.Shards)
            {
                log($"batch {batch}: {done.Count} of {descriptor.Shards} shards done; waiting");
                return new BatchStageResult(created.Bucket, batch, BatchOutcome.Waiting, $"{done.Count}/{descriptor.Shards}");
            }

            return await IngestAsync(store, batch, Manifests.Serialize(Manifests.Build(descriptor, done)), previous, $"all {descriptor.Shards} shards done", cancellation).ConfigureAwait(false);
        }

        var mapped = await StageObjects.CountAsync(store, ObjectLayout.MappedFolder(batch), ".json", cancellation).ConfigureAwait(false);
        if (mapped < descriptor.Shards)
        {
            log($"batch {batch}: {mapped} of {descriptor.Shards} shards mapped; waiting");
            return new BatchStageResult(created.Bucket, batch, BatchOutcome.Waiting, $"{mapped}/{descriptor.Shards} mapped");
        }

        var planKey = ObjectLayout.Plan(batch);
        var stored = await ReadBytesAsync(store, planKey, MergeStage.MaxTaskBytes, cancellation).ConfigureAwait(false);
        var plan = stored is null ? null : LayoutJson.Deserialize<MergePlan>(stored, $"{store.Location}/{planKey}");
        var tasks = plan is null ? 0 : await StageObjects.CountAsync(store, ObjectLayout.TasksPrefix + batch + "/", ObjectLayout.TaskSuffix, cancellation).ConfigureAwait(false);

        // A mapped event after planning is a duplicate, or a shard that changed after the plan was made: check which.
        if (plan is null || tasks < plan.Tasks.Count || match.Groups["kind"].Value == "mapped")
        {
            var records = await ReadAllAsync<MappedRecord>(store, ObjectLayout.MappedFolder(batch), cancellation).ConfigureAwait(false);
            MergePlan fresh;
            IReadOnlyList<PlannedTaskObject> taskObjects;
            try
            {
                (fresh, taskObjects) = MergePlanner.Plan(descriptor, records);
            }
            catch (Exception e) when (e is InvalidDataException or FormatException)
            {
                return await FailBatchAsync(store, batch, [new FailedShard(0, e.Message, null, "plan")], cancellation).ConfigureAwait(false);
            }

            var planBytes = LayoutJson.Serialize(fresh);
            if (stored is null && await store.CreateIfAbsentAsync(planKey, planBytes, cancellation).ConfigureAwait(false) == CreateOutcome.AlreadyExists)
            {
                stored = await ReadBytesAsync(store, planKey, MergeStage.MaxTaskBytes, cancellation).ConfigureAwait(false);
            }

            if (stored is not null && !stored.AsSpan().SequenceEqual(planBytes))
            {
                return await FailBatchAsync(store, batch, [new FailedShard(0, $"{planKey} does not match the mapped records (a shard changed after the batch was planned); send the batch again under a new id", null, "plan")], cancellation).ConfigureAwait(false);
            }

            if (plan is null || tasks < fresh.Tasks.Count)
            {
                await Parallel.ForEachAsync(taskObjects, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellation }, async (task, token) =>
                    await store.CreateIfAbsentAsync(task.Key, task.Body, token).ConfigureAwait(false)).ConfigureAwait(false);
                log($"batch {batch}: all {descriptor.Shards} shards mapped; planned {fresh.Tasks.Count} merge tasks over {descriptor.Instances} instances ({planKey})");
                return new BatchStageResult(created.Bucket, batch, BatchOutcome.Planned, $"{fresh.Tasks.Count} tasks");
            }

            plan = fresh;
        }

        var merged = await StageObjects.CountAsync(store, ObjectLayout.MergedFolder(batch), ".json", cancellation).ConfigureAwait(false);
        if (merged < plan.Tasks.Count)
        {
            log($"batch {batch}: {merged} of {plan.Tasks.Count} ranges merged; waiting");
            return new BatchStageResult(created.Bucket, batch, BatchOutcome.Waiting, $"{merged}/{plan.Tasks.Count} merged");
        }

        byte[] manifest;
        try
        {
            manifest = Manifests.Serialize(Manifests.BuildRanges(descriptor, plan, await ReadAllAsync<MergedRecord>(store, ObjectLayout.MergedFolder(batch), cancellation).ConfigureAwait(false)));
        }
        catch (InvalidDataException e)
        {
            return await FailBatchAsync(store, batch, [new FailedShard(0, e.Message, null, "plan")], cancellation).ConfigureAwait(false);
        }

        var outcome = await IngestAsync(store, batch, manifest, previous, $"all {plan.Tasks.Count} ranges merged", cancellation).ConfigureAwait(false);
        if (descriptor.KeepRuns != true)
        {
            var removed = 0;
            await foreach (var run in store.ListAsync(ObjectLayout.RunsFolder(batch), cancellation).ConfigureAwait(false))
            {
                await store.DeleteAsync(run.Key, cancellation).ConfigureAwait(false);
                removed++;
            }

            if (removed > 0)
            {
                log($"batch {batch}: removed its {removed} sorted runs ({ObjectLayout.RunsFolder(batch)})");
            }
        }

        return outcome;
    }

    /// <summary>Creates the manifest (or finds the identical one), calls INGEST_S3 and records the success once.</summary>
    private async Task<BatchStageResult> IngestAsync(IObjectStore store, string batch, byte[] manifest, BatchResult? previous, string why, CancellationToken cancellation)
    {
        var manifestKey = ObjectLayout.Manifest(batch);
        var resultKey = ObjectLayout.Result(batch);
        if (await store.CreateIfAbsentAsync(manifestKey, manifest, cancellation).ConfigureAwait(false) == CreateOutcome.AlreadyExists)
        {
            var existing = await store.GetBytesAsync(manifestKey, manifest.Length + 1, cancellation).ConfigureAwait(false);
            if (!existing.AsSpan().SequenceEqual(manifest))
            {
                throw new InvalidDataException($"{store.Location}/{manifestKey} differs from the manifest the completion records give: a shard changed after the batch completed");
            }
        }
        else
        {
            log($"batch {batch}: {why}; wrote {manifestKey}");
        }

        if (ingest is null)
        {
            log($"batch {batch}: {manifestKey} is ready; no Pika master is configured, so it is not ingested: load it into each stopped stock Pika with "
                + $"pika-ingest apply --manifest {store.Location}/{manifestKey} --pika-data <db-path> --instances <n>");
            return new BatchStageResult(store.Bucket, batch, BatchOutcome.ManifestWritten, manifestKey);
        }

        var stopwatch = Stopwatch.StartNew();
        var reply = await ingest.IngestAsync(store.Bucket, manifestKey, cancellation).ConfigureAwait(false);
        var success = new BatchResult
        {
            BatchId = batch,
            Status = BatchResult.Succeeded,
            Manifest = manifestKey,
            Reply = reply,
            IngestMs = stopwatch.ElapsedMilliseconds,
            At = DateTimeOffset.UtcNow,
        };

        // Exactly one success record per batch, even when two invocations ingest at once (the node deduplicates the ingest itself).
        var recorded = previous is null
            ? await store.CreateIfAbsentAsync(resultKey, LayoutJson.Serialize(success), cancellation).ConfigureAwait(false)
            : await ReplaceAsync(store, resultKey, success, cancellation).ConfigureAwait(false);
        log($"batch {batch}: INGEST_S3 {store.Bucket} {manifestKey} -> {reply} in {stopwatch.ElapsedMilliseconds} ms" +
            (recorded == CreateOutcome.Created ? $"; recorded in {resultKey}" : "; success already recorded by another invocation"));
        return new BatchStageResult(store.Bucket, batch, BatchOutcome.Ingested, reply);
    }

    private async Task<BatchStageResult> FailBatchAsync(IObjectStore store, string batch, List<FailedShard> failures, CancellationToken cancellation)
    {
        var resultKey = ObjectLayout.Result(batch);
        var result = new BatchResult { BatchId = batch, Status = BatchResult.Failed, FailedShards = failures, At = DateTimeOffset.UtcNow };
        await store.PutBytesAsync(resultKey, LayoutJson.Serialize(result), cancellation).ConfigureAwait(false);
        log($"batch {batch}: FAILED, {failures.Count} failure(s) (first: {failures[0].Describe()}: {failures[0].Reason}); not ingested -> {resultKey}");
        return new BatchStageResult(store.Bucket, batch, BatchOutcome.Failed, failures[0].Reason);
    }

    private static async Task<byte[]?> ReadBytesAsync(IObjectStore store, string key, long maxBytes, CancellationToken cancellation)
    {
        try
        {
            return await store.GetBytesAsync(key, maxBytes, cancellation).ConfigureAwait(false);
        }
        catch (ObjectNotFoundException)
        {
            return null;
        }
    }

    private static async Task<CreateOutcome> ReplaceAsync(IObjectStore store, string key, BatchResult result, CancellationToken cancellation)
    {
        await store.PutBytesAsync(key, LayoutJson.Serialize(result), cancellation).ConfigureAwait(false);
        return CreateOutcome.Created;
    }

    private async Task<List<T>> ReadAllAsync<T>(IObjectStore store, string prefix, CancellationToken cancellation)
        where T : class
    {
        var records = new List<T>();
        await foreach (var info in store.ListAsync(prefix, cancellation).ConfigureAwait(false))
        {
            if (info.Key.EndsWith(".json", StringComparison.Ordinal) && await ReadAsync<T>(store, info.Key, cancellation).ConfigureAwait(false) is { } record)
            {
                records.Add(record);
            }
        }

        return records;
    }

    private async Task<T?> ReadAsync<T>(IObjectStore store, string key, CancellationToken cancellation)
        where T : class
    {
        try
        {
            var bytes = await store.GetBytesAsync(key, maxRecordBytes, cancellation).ConfigureAwait(false);
            return LayoutJson.Deserialize<T>(bytes, $"{store.Location}/{key}");
        }
        catch (ObjectNotFoundException)
        {
            return null;
        }
    }

    [GeneratedRegex(@"^state/(?<batch>[^/]+)/(?<kind>done|mapped|merged|failed)/([0-9]{1,9}|i[0-9]{1,4}-[0-9]{6,9})\.json\z")]
    private static partial Regex StateKey();
}

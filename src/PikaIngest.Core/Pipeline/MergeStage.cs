using System.Diagnostics;
using System.Security.Cryptography;
using PikaIngest.Core.Layout;
using PikaIngest.Core.Sst;
using PikaIngest.Core.Storage;

namespace PikaIngest.Core.Pipeline;

public enum MergeOutcome
{
    Merged,

    /// <summary>A merge record for this exact task exists (a duplicate or late event).</summary>
    AlreadyDone,

    /// <summary>A bad task or run: a failure record was written, which fails the batch.</summary>
    Failed,

    /// <summary>Not a task key, a task that no longer exists, or a batch already ingested.</summary>
    Ignored,
}

public sealed record MergeStageResult(string Bucket, string Key, MergeOutcome Outcome, string Detail);

/// <summary>
/// The merge function's work for one task-created event (<c>tasks/&lt;batch&gt;/i&lt;instance&gt;-&lt;range&gt;.json</c>):
/// check the task against the batch's plan, range-GET its slice of every run, merge them (a later
/// shard wins), upload the range's SST, then its merge record. A task the plan does not list, a run
/// that is missing, damaged or not the one recorded ends in a failure record naming the object,
/// which fails the batch; store errors throw so the platform retries.
/// </summary>
public sealed class MergeStage(IObjectStoreProvider stores, SstStageOptions options, Action<string> log)
{
    /// <summary>Largest task object read (one run reference is ~200 bytes: 80,000 shards fit).</summary>
    public const int MaxTaskBytes = 16 << 20;

    public async Task<MergeStageResult> ProcessAsync(S3ObjectEvent created, CancellationToken cancellation = default)
    {
        if (!ObjectLayout.TryParseTask(created.Key, out var batch, out var instance, out var range) || created.Key != ObjectLayout.Task(batch, instance, range))
        {
            log($"ignoring s3://{created.Bucket}/{created.Key}: not tasks/<batch>/i<instance>-<range>.json");
            return new MergeStageResult(created.Bucket, created.Key, MergeOutcome.Ignored, "not a task key");
        }

        var store = stores.Bucket(created.Bucket);
        var name = $"{store.Location}/{created.Key}";
        byte[] body;
        try
        {
            body = await store.GetBytesAsync(created.Key, MaxTaskBytes, cancellation).ConfigureAwait(false);
        }
        catch (ObjectNotFoundException)
        {
            log($"ignoring {name}: the task no longer exists");
            return new MergeStageResult(created.Bucket, created.Key, MergeOutcome.Ignored, "task gone");
        }

        var sha256 = Convert.ToHexStringLower(SHA256.HashData(body));
        var mergedKey = ObjectLayout.Merged(batch, instance, range);
        if (await IsMergedAsync(store, mergedKey, sha256, cancellation).ConfigureAwait(false))
        {
            log($"{name}: already merged ({mergedKey}); skipping");
            return new MergeStageResult(created.Bucket, created.Key, MergeOutcome.AlreadyDone, mergedKey);
        }

        if (await ReadAsync<BatchResult>(store, ObjectLayout.Result(batch), cancellation).ConfigureAwait(false) is { Status: BatchResult.Succeeded })
        {
            log($"ignoring {name}: batch {batch} is already ingested");
            return new MergeStageResult(created.Bucket, created.Key, MergeOutcome.Ignored, "batch ingested");
        }

        var plan = await StageObjects.ReadRecordAsync<MergePlan>(store, ObjectLayout.Plan(batch), MaxTaskBytes, log, cancellation).ConfigureAwait(false);
        var planned = plan?.Tasks.FirstOrDefault(t => t.Instance == instance && t.Range == range);
        MergeTask? task = null;
        string? problem;
        try
        {
            task = LayoutJson.Deserialize<MergeTask>(body, name);
            problem = plan is null ? $"batch {batch} has no plan at {ObjectLayout.Plan(batch)}"
                : planned is null ? $"{created.Key} is not a task of the plan {ObjectLayout.Plan(batch)} (unknown range)"
                : planned.Sha256 != sha256 ? $"{created.Key} differs from the task the plan {ObjectLayout.Plan(batch)} lists (sha256 {sha256}, plan {planned.Sha256})"
                : task.BatchId != batch || task.Instance != instance || task.Range != range ? $"{created.Key} describes batch {task.BatchId} task {ObjectLayout.TaskName(task.Instance, task.Range)}"
                : task.Runs.FirstOrDefault(r => r.Key != ObjectLayout.RunFile(batch, r.Shard, instance)) is { } stray ? $"{created.Key} names {stray.Key}, which is not a run of this batch and instance"
                : null;
        }
        catch (FormatException e)
        {
            problem = e.Message;
        }

        if (problem is not null)
        {
            return await FailAsync(store, created.Key, body.Length, batch, instance, range, problem, cancellation).ConfigureAwait(false);
        }

        // Two merges of one task would upload different SST bytes (RocksDB embeds unique ids): one merges, the other waits.
        var lease = ObjectLayout.MergeLease(batch, instance, range);
        await StageObjects.AcquireLeaseAsync(store, lease, name, options.LeaseTimeout, options.LeasePollInterval, log, cancellation).ConfigureAwait(false);
        var work = Path.Combine(options.WorkDirectory, $"pika-merge-{Guid.NewGuid():N}");
        try
        {
            if (await IsMergedAsync(store, mergedKey, sha256, cancellation).ConfigureAwait(false))
            {
                log($"{name}: merged meanwhile by another invocation ({mergedKey}); skipping");
                return new MergeStageResult(created.Bucket, created.Key, MergeOutcome.AlreadyDone, mergedKey);
            }

            var stopwatch = Stopwatch.StartNew();
            RangeMergeResult merged;
            try
            {
                merged = await RangeMerger.MergeAsync(task!, store, work, cancellation: cancellation).ConfigureAwait(false);
            }
            catch (ObjectNotFoundException e)
            {
                return await FailAsync(store, created.Key, body.Length, batch, instance, range, $"run object {e.Location} is missing", cancellation).ConfigureAwait(false);
            }
            catch (Exception e) when (e is InvalidDataException or FormatException)
            {
                return await FailAsync(store, created.Key, body.Length, batch, instance, range, e.Message, cancellation).ConfigureAwait(false);
            }

            var mergedAt = stopwatch.Elapsed;
            await store.UploadAsync(merged.File.Key, Path.Combine(work, merged.File.Key), merged.File.Sha256, cancellation: cancellation).ConfigureAwait(false);
            var record = merged.ToRecord(task!, sha256, stopwatch.Elapsed);
            await store.DeleteAsync(ObjectLayout.MergeFailed(batch, instance, range), cancellation).ConfigureAwait(false);
            await store.PutBytesAsync(mergedKey, LayoutJson.Serialize(record), cancellation).ConfigureAwait(false);
            log($"{name}: {task!.Runs.Count} runs, {merged.RecordsIn:N0} records in -> {merged.File.Entries:N0} keys, {merged.File.Key} ({merged.File.Size:N0} bytes); " +
                $"merge {mergedAt.TotalSeconds:0.00} s, upload {(stopwatch.Elapsed - mergedAt).TotalSeconds:0.00} s");
            return new MergeStageResult(created.Bucket, created.Key, MergeOutcome.Merged, mergedKey);
        }
        finally
        {
            if (Directory.Exists(work))
            {
                Directory.Delete(work, recursive: true);
            }

            await store.DeleteAsync(lease, CancellationToken.None).ConfigureAwait(false);
        }
    }

    private async Task<bool> IsMergedAsync(IObjectStore store, string mergedKey, string taskSha256, CancellationToken cancellation) =>
        (await ReadAsync<MergedRecord>(store, mergedKey, cancellation).ConfigureAwait(false))?.TaskSha256 == taskSha256;

    private async Task<MergeStageResult> FailAsync(IObjectStore store, string taskKey, long taskSize, string batch, int instance, int range, string reason, CancellationToken cancellation)
    {
        var failedKey = ObjectLayout.MergeFailed(batch, instance, range);
        var record = new FailedRecord
        {
            BatchId = batch,
            Shard = 0,
            Task = ObjectLayout.TaskName(instance, range),
            Source = new SourceObject { Key = taskKey, Size = taskSize },
            Reason = reason,
            FailedAt = DateTimeOffset.UtcNow,
        };
        await store.DeleteAsync(ObjectLayout.Merged(batch, instance, range), cancellation).ConfigureAwait(false);
        await store.PutBytesAsync(failedKey, LayoutJson.Serialize(record), cancellation).ConfigureAwait(false);
        log($"{store.Location}/{taskKey}: FAILED, {reason} -> {failedKey}");
        return new MergeStageResult(store.Bucket, taskKey, MergeOutcome.Failed, reason);
    }

    private Task<T?> ReadAsync<T>(IObjectStore store, string key, CancellationToken cancellation)
        where T : class =>
        StageObjects.ReadRecordAsync<T>(store, key, options.MaxRecordBytes, log, cancellation);
}

using System.Diagnostics;
using System.Text.RegularExpressions;
using PikaIngest.Core.Layout;
using PikaIngest.Core.Storage;

namespace PikaIngest.Core.Pipeline;

public enum BatchOutcome
{
    /// <summary>Not every shard is done yet.</summary>
    Waiting,

    /// <summary>A shard failed: the batch was recorded as failed and not ingested.</summary>
    Failed,

    /// <summary>INGEST_S3 answered OK (now, or in an earlier invocation).</summary>
    Ingested,

    AlreadyIngested,

    /// <summary>Not a state record, or a batch without a usable descriptor.</summary>
    Ignored,
}

public sealed record BatchStageResult(string Bucket, string BatchId, BatchOutcome Outcome, string Detail);

/// <summary>
/// The manifest function's work for one state-record event: when every shard of the batch is
/// done, build the manifest (a pure function of the completion records), create it if absent,
/// call INGEST_S3 and record the outcome once. A failed shard fails the batch without an ingest.
/// An ingest error or timeout throws, so the platform retries and finally routes the event to the
/// on-failure destination; nothing claims success that the node did not confirm.
/// </summary>
public sealed partial class ManifestStage(IObjectStoreProvider stores, IIngestClient ingest, Action<string> log, int maxRecordBytes = 1 << 20)
{
    public async Task<BatchStageResult> ProcessAsync(S3ObjectEvent created, CancellationToken cancellation = default)
    {
        var match = StateKey().Match(created.Key);
        if (!match.Success || !ObjectLayout.IsValidBatchId(match.Groups["batch"].Value))
        {
            log($"ignoring s3://{created.Bucket}/{created.Key}: not state/<batch>/(done|failed)/<seq>.json");
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

        var failed = await ReadAllAsync<FailedRecord>(store, $"{ObjectLayout.StatePrefix}{batch}/failed/", cancellation).ConfigureAwait(false);
        if (failed.Count > 0)
        {
            var result = new BatchResult
            {
                BatchId = batch,
                Status = BatchResult.Failed,
                FailedShards = failed.OrderBy(f => f.Shard).Select(f => new FailedShard(f.Shard, f.Reason, f.Line)).ToList(),
                At = DateTimeOffset.UtcNow,
            };
            await store.PutBytesAsync(resultKey, LayoutJson.Serialize(result), cancellation).ConfigureAwait(false);
            log($"batch {batch}: FAILED, {failed.Count} shard(s) failed (first: shard {result.FailedShards[0].Shard}: {result.FailedShards[0].Reason}); not ingested -> {resultKey}");
            return new BatchStageResult(created.Bucket, batch, BatchOutcome.Failed, result.FailedShards[0].Reason);
        }

        var done = await ReadAllAsync<DoneRecord>(store, $"{ObjectLayout.StatePrefix}{batch}/done/", cancellation).ConfigureAwait(false);
        if (done.Count < descriptor.Shards)
        {
            log($"batch {batch}: {done.Count} of {descriptor.Shards} shards done; waiting");
            return new BatchStageResult(created.Bucket, batch, BatchOutcome.Waiting, $"{done.Count}/{descriptor.Shards}");
        }

        var manifestKey = ObjectLayout.Manifest(batch);
        var manifest = Manifests.Serialize(Manifests.Build(descriptor, done));
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
            log($"batch {batch}: all {descriptor.Shards} shards done; wrote {manifestKey}");
        }

        var stopwatch = Stopwatch.StartNew();
        var reply = await ingest.IngestAsync(created.Bucket, manifestKey, cancellation).ConfigureAwait(false);
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
        log($"batch {batch}: INGEST_S3 {created.Bucket} {manifestKey} -> {reply} in {stopwatch.ElapsedMilliseconds} ms" +
            (recorded == CreateOutcome.Created ? $"; recorded in {resultKey}" : "; success already recorded by another invocation"));
        return new BatchStageResult(created.Bucket, batch, BatchOutcome.Ingested, reply);
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

    [GeneratedRegex(@"^state/(?<batch>[^/]+)/(done|failed)/[0-9]{1,9}\.json\z")]
    private static partial Regex StateKey();
}

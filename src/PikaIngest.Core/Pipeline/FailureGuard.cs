using System.Runtime.ExceptionServices;
using PikaIngest.Core.Layout;
using PikaIngest.Core.Storage;

namespace PikaIngest.Core.Pipeline;

/// <summary>
/// What every function does with an error its stage did not handle. A permanent one (<see cref="PermanentFailures"/>)
/// ends in the batch's failure record for the event's object, then a normal return: retrying cannot help, and a
/// failure Lambda dropped after its retries would leave the batch stopped with no record anywhere. A transient one is
/// rethrown for Lambda to retry and finally hand to the on-failure destination; so is a permanent one whose failure
/// record cannot be written (the store refusing that too), so that the event is not lost either way.
/// </summary>
public sealed class FailureGuard(IObjectStoreProvider stores, Action<string> log)
{
    /// <summary>Runs <paramref name="process"/> on one event; on a permanent error records it and returns <paramref name="gaveUp"/>(reason).</summary>
    public async Task<T> RunAsync<T>(S3ObjectEvent created, Func<S3ObjectEvent, CancellationToken, Task<T>> process, Func<string, T> gaveUp, CancellationToken cancellation = default)
    {
        try
        {
            return await process(created, cancellation).ConfigureAwait(false);
        }
        catch (Exception error) when (PermanentFailures.IsPermanent(error))
        {
            var reason = PermanentFailures.Describe(error);
            string? recordKey = null;
            string? notRecorded;
            try
            {
                recordKey = await RecordAsync(created, reason, cancellation).ConfigureAwait(false);
                notRecorded = recordKey is null ? "the key belongs to no batch, so there is no failure record to write" : null;
            }
            catch (Exception recordError) when (recordError is not OperationCanceledException)
            {
                notRecorded = $"could not write its failure record ({PermanentFailures.Describe(recordError)})";
            }

            if (recordKey is null)
            {
                log($"s3://{created.Bucket}/{created.Key}: gave up ({reason}) but {notRecorded}; rethrowing for the on-failure destination");
                ExceptionDispatchInfo.Throw(error);
            }

            log($"s3://{created.Bucket}/{created.Key}: GAVE UP, permanent error, not retried: {reason} -> {recordKey}");
            return gaveUp(reason);
        }
    }

    /// <summary>
    /// Writes the failure record of the event's shard, merge task or (a state record's) batch, and returns its key. An
    /// existing record is kept: the first failure is the cause, a later one of the same event usually its echo.
    /// </summary>
    private async Task<string?> RecordAsync(S3ObjectEvent created, string reason, CancellationToken cancellation)
    {
        var store = stores.Bucket(created.Bucket);
        var now = DateTimeOffset.UtcNow;
        var source = new SourceObject { Key = created.Key, Size = Math.Max(0, created.Size), ETag = created.ETag };
        string key;
        byte[] record;
        if (ObjectLayout.TryParseShard(created.Key, out var batch, out var seq))
        {
            key = ObjectLayout.Failed(batch, seq);
            record = LayoutJson.Serialize(new FailedRecord { BatchId = batch, Shard = seq, Source = source, Reason = reason, FailedAt = now });
        }
        else if (ObjectLayout.TryParseTask(created.Key, out batch, out var instance, out var range))
        {
            key = ObjectLayout.MergeFailed(batch, instance, range);
            record = LayoutJson.Serialize(new FailedRecord { BatchId = batch, Shard = 0, Task = ObjectLayout.TaskName(instance, range), Source = source, Reason = reason, FailedAt = now });
        }
        else if (ObjectLayout.TryParseStateBatch(created.Key, out batch))
        {
            // The manifest function's failure is the batch's: a failed result, which a later success replaces.
            key = ObjectLayout.Result(batch);
            record = LayoutJson.Serialize(new BatchResult { BatchId = batch, Status = BatchResult.Failed, FailedShards = [new FailedShard(0, reason, null, ManifestTask)], At = now });
        }
        else
        {
            return null;
        }

        if (await store.CreateIfAbsentAsync(key, record, cancellation).ConfigureAwait(false) == CreateOutcome.AlreadyExists)
        {
            log($"{store.Location}/{key} already records a failure; keeping that first one");
        }

        return key;
    }

    /// <summary>How a failed result names a failure of the manifest function itself (not of a shard or merge).</summary>
    public const string ManifestTask = "manifest";
}

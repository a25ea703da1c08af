using System.Diagnostics;
using PikaIngest.Core.Formats;
using PikaIngest.Core.Layout;
using PikaIngest.Core.Shards;
using PikaIngest.Core.Sst;
using PikaIngest.Core.Storage;

namespace PikaIngest.Core.Pipeline;

/// <summary>Settings of the SST stage, read once by its host (the Lambda function or the local runner).</summary>
public sealed record SstStageOptions
{
    /// <summary>Folder for the shard download and the SSTs (Lambda: /tmp, its ephemeral storage).</summary>
    public string WorkDirectory { get; init; } = Path.GetTempPath();

    /// <summary>Largest shard accepted: the shard plus its SSTs must fit the work folder.</summary>
    public long MaxShardBytes { get; init; } = 4L << 30;

    public long MemoryBudget { get; init; } = ShardConverter.DefaultMemoryBudget;

    public int Parallelism { get; init; } = Environment.ProcessorCount;

    /// <summary>Largest descriptor or record read back from the store.</summary>
    public int MaxRecordBytes { get; init; } = 1 << 20;

    /// <summary>A conversion lease older than this is taken over (its holder died): longer than any conversion runs.</summary>
    public TimeSpan LeaseTimeout { get; init; } = TimeSpan.FromMinutes(15);

    public TimeSpan LeasePollInterval { get; init; } = TimeSpan.FromMilliseconds(250);
}

public enum SstOutcome
{
    Converted,

    /// <summary>A completion record for this exact source object exists (a duplicate event).</summary>
    AlreadyDone,

    /// <summary>Bad data or a bad batch: a failure record was written; retrying cannot help.</summary>
    Failed,

    /// <summary>Not a shard key (or not an object-created event): nothing to do.</summary>
    Ignored,
}

public sealed record SstStageResult(string Bucket, string Key, SstOutcome Outcome, string Detail);

/// <summary>
/// The SST function's work for one shard-created event: read the batch descriptor, convert the
/// shard, upload its SST files (one-shard batch) or sorted runs (the map of a multi-shard batch),
/// then its completion or mapped record — in that order, so a record always points at files that exist. Deterministic failures (bad data, a shard the
/// descriptor does not declare, a shard too large) end in a failure record and a normal return;
/// anything else (store errors) throws so the platform retries.
/// </summary>
public sealed class SstStage(IObjectStoreProvider stores, SstStageOptions options, Action<string> log)
{
    public async Task<SstStageResult> ProcessAsync(S3ObjectEvent created, CancellationToken cancellation = default)
    {
        if (!ObjectLayout.TryParseShard(created.Key, out var batch, out var seq))
        {
            log($"ignoring s3://{created.Bucket}/{created.Key}: not incoming/<batch>/<seq>.jsonl");
            return new SstStageResult(created.Bucket, created.Key, SstOutcome.Ignored, "not a shard key");
        }

        var store = stores.Bucket(created.Bucket);
        var head = await store.HeadAsync(created.Key, cancellation).ConfigureAwait(false);
        if (head is null)
        {
            // Deleted (or replaced and then deleted) after the event was sent: nothing left to convert.
            log($"ignoring {store.Location}/{created.Key}: the object no longer exists");
            return new SstStageResult(created.Bucket, created.Key, SstOutcome.Ignored, "object gone");
        }

        var source = new SourceObject { Key = created.Key, Size = head.Size, ETag = head.ETag };
        var descriptor = await ReadRecordAsync<BatchDescriptor>(store, ObjectLayout.Descriptor(batch), cancellation).ConfigureAwait(false);

        // A batch of several shards is mapped into sorted runs that the merges cut into disjoint key ranges;
        // a batch of one shard is already sorted per instance and converts straight into its SSTs.
        var map = descriptor is { Shards: > 1 };
        var recordKey = map ? ObjectLayout.Mapped(batch, seq) : ObjectLayout.Done(batch, seq);
        if (await IsRecordedAsync(store, recordKey, map, head.ETag, cancellation).ConfigureAwait(false))
        {
            log($"{store.Location}/{created.Key}: already converted ({recordKey}, same ETag {head.ETag}); skipping");
            return new SstStageResult(created.Bucket, created.Key, SstOutcome.AlreadyDone, recordKey);
        }

        var problem = descriptor is null ? $"batch descriptor {ObjectLayout.Descriptor(batch)} is missing (it must be written before the shards)"
            : descriptor.BatchId != batch ? $"batch descriptor names batch '{descriptor.BatchId}', not '{batch}'"
            : seq > descriptor.Shards ? $"shard {seq} is beyond the {descriptor.Shards} shards the batch descriptor declares"
            : !TargetFormats.TryParse(descriptor.Format, out _) ? $"batch descriptor has unknown format '{descriptor.Format}'"
            : head.Size > options.MaxShardBytes ? $"shard is {head.Size} bytes; this function accepts at most {options.MaxShardBytes} (its ephemeral storage)"
            : null;
        if (problem is not null)
        {
            return await FailAsync(store, batch, seq, source, problem, null, cancellation).ConfigureAwait(false);
        }

        // SST bytes differ between two conversions of the same shard (RocksDB embeds unique ids), so two
        // invocations racing on a duplicate event must not both upload: one converts, the other waits for it.
        var lease = ObjectLayout.Lease(batch, seq);
        await StageObjects.AcquireLeaseAsync(store, lease, $"{store.Location}/{created.Key}", options.LeaseTimeout, options.LeasePollInterval, log, cancellation).ConfigureAwait(false);
        if (await IsRecordedAsync(store, recordKey, map, head.ETag, cancellation).ConfigureAwait(false))
        {
            await store.DeleteAsync(lease, cancellation).ConfigureAwait(false);
            log($"{store.Location}/{created.Key}: converted meanwhile by another invocation ({recordKey}); skipping");
            return new SstStageResult(created.Bucket, created.Key, SstOutcome.AlreadyDone, recordKey);
        }

        var work = Path.Combine(options.WorkDirectory, $"pika-sst-{Guid.NewGuid():N}");
        Directory.CreateDirectory(work);
        try
        {
            var stopwatch = Stopwatch.StartNew();
            var shardPath = Path.Combine(work, "shard.jsonl");
            await store.DownloadAsync(created.Key, shardPath, cancellation).ConfigureAwait(false);
            var download = stopwatch.Elapsed;
            ConvertResult result;
            try
            {
                result = ShardConverter.Convert(new ConvertRequest
                {
                    ShardPath = shardPath,
                    SourceName = $"{store.Location}/{created.Key}",
                    BatchId = batch,
                    Seq = seq,
                    Format = TargetFormats.Parse(descriptor!.Format),
                    Instances = descriptor.Instances,
                    Sst = new SstOptions { Compression = SstOptions.ParseCompression(descriptor.Compression), FormatVersion = descriptor.SstFormatVersion },
                    CreatedUnixMs = descriptor.CreatedAt.ToUnixTimeMilliseconds(),
                    OutputRoot = Path.Combine(work, "out"),
                    MemoryBudget = options.MemoryBudget,
                    Parallelism = options.Parallelism,
                    TempDirectory = work,
                    WriteRuns = map,
                });
            }
            catch (ShardFormatException e)
            {
                return await FailAsync(store, batch, seq, source, e.Message, e.Line > 0 ? e.Line : null, cancellation).ConfigureAwait(false);
            }

            var converted = stopwatch.Elapsed;
            foreach (var file in result.Files)
            {
                await store.UploadAsync(file.Key, Path.Combine(work, "out", file.Key), file.Sha256, cancellation: cancellation).ConfigureAwait(false);
            }

            foreach (var run in result.Runs)
            {
                await store.UploadAsync(run.Key, Path.Combine(work, "out", run.Key), cancellation: cancellation).ConfigureAwait(false);
            }

            var elapsedMs = (long)stopwatch.Elapsed.TotalMilliseconds;
            var record = map
                ? LayoutJson.Serialize(new MappedRecord { BatchId = batch, Shard = seq, Source = source, RecordsRead = result.RecordsRead, UniqueKeys = result.UniqueKeys, ElapsedMs = elapsedMs, Runs = result.Runs })
                : LayoutJson.Serialize(new DoneRecord { BatchId = batch, Shard = seq, Source = source, RecordsRead = result.RecordsRead, UniqueKeys = result.UniqueKeys, ElapsedMs = elapsedMs, Files = result.Files });
            await store.DeleteAsync(ObjectLayout.Failed(batch, seq), cancellation).ConfigureAwait(false);
            await store.PutBytesAsync(recordKey, record, cancellation).ConfigureAwait(false);
            var (count, bytes, kind) = map ? (result.Runs.Count, result.Runs.Sum(r => r.Size), "sorted runs") : (result.Files.Count, result.Files.Sum(f => f.Size), "SST files");
            log($"{store.Location}/{created.Key}: {result.RecordsRead:N0} records, {result.UniqueKeys:N0} unique -> {count} {kind} " +
                $"({bytes:N0} bytes); download {download.TotalSeconds:0.00} s, convert {(converted - download).TotalSeconds:0.00} s, upload {(stopwatch.Elapsed - converted).TotalSeconds:0.00} s");
            return new SstStageResult(created.Bucket, created.Key, SstOutcome.Converted, recordKey);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
            await store.DeleteAsync(lease, CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>Whether the shard's completion (or mapped) record names this exact source object.</summary>
    private async Task<bool> IsRecordedAsync(IObjectStore store, string recordKey, bool map, string? eTag, CancellationToken cancellation)
    {
        var recorded = map
            ? (await ReadRecordAsync<MappedRecord>(store, recordKey, cancellation).ConfigureAwait(false))?.Source.ETag
            : (await ReadRecordAsync<DoneRecord>(store, recordKey, cancellation).ConfigureAwait(false))?.Source.ETag;
        return eTag is not null && recorded == eTag;
    }

    private async Task<SstStageResult> FailAsync(IObjectStore store, string batch, int seq, SourceObject source, string reason, long? line, CancellationToken cancellation)
    {
        var failedKey = ObjectLayout.Failed(batch, seq);
        var record = new FailedRecord { BatchId = batch, Shard = seq, Source = source, Reason = reason, Line = line, FailedAt = DateTimeOffset.UtcNow };

        // A stale completion from an earlier version of this shard must not let the batch through.
        await store.DeleteAsync(ObjectLayout.Done(batch, seq), cancellation).ConfigureAwait(false);
        await store.DeleteAsync(ObjectLayout.Mapped(batch, seq), cancellation).ConfigureAwait(false);
        await store.PutBytesAsync(failedKey, LayoutJson.Serialize(record), cancellation).ConfigureAwait(false);
        log($"{store.Location}/{source.Key}: FAILED, {reason} -> {failedKey}");
        return new SstStageResult(store.Bucket, source.Key, SstOutcome.Failed, reason);
    }

    private Task<T?> ReadRecordAsync<T>(IObjectStore store, string key, CancellationToken cancellation)
        where T : class =>
        StageObjects.ReadRecordAsync<T>(store, key, options.MaxRecordBytes, log, cancellation);
}

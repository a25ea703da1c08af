using System.Text;
using System.Text.Json;
using PikaIngest.Core.Layout;
using PikaIngest.Core.Pipeline;
using PikaIngest.Core.Storage;

namespace PikaIngest.Node.UnitTests.Support;

/// <summary>One line of a hand-written shard.</summary>
internal sealed record TestRecord(string Key, string Value, long ExpireUnixSeconds = 0);

/// <summary>
/// Builds a batch the way production does — shards in the folder store, the SST stage per shard,
/// the manifest stage, the merge stage per key range — so node tests ingest exactly what the functions produce.
/// </summary>
internal static class TestBatch
{
    public static async Task<string> BuildAsync(string storeRoot, string bucket, string batchId, IReadOnlyList<IReadOnlyList<TestRecord>> shards, int instances, long? targetFileBytes = null)
    {
        var stores = new LocalFolderStoreProvider(storeRoot);
        var store = stores.Bucket(bucket);
        var descriptor = new BatchDescriptor
        {
            BatchId = batchId,
            Shards = shards.Count,
            Format = "pika-v4",
            Instances = instances,
            CreatedAt = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000),
            TargetFileBytes = targetFileBytes,
        };
        await store.PutBytesAsync(ObjectLayout.Descriptor(batchId), LayoutJson.Serialize(descriptor));
        for (var i = 0; i < shards.Count; i++)
        {
            var lines = new StringBuilder();
            foreach (var record in shards[i])
            {
                lines.Append(JsonSerializer.Serialize(new { key = record.Key, value = record.Value, expire = record.ExpireUnixSeconds })).Append('\n');
            }

            await store.PutBytesAsync(ObjectLayout.Shard(batchId, i + 1), Encoding.UTF8.GetBytes(lines.ToString()));
        }

        var work = Path.Combine(storeRoot, ".work");
        var sst = new SstStage(stores, new SstStageOptions { WorkDirectory = work, Parallelism = 1 }, _ => { });
        for (var i = 0; i < shards.Count; i++)
        {
            var key = ObjectLayout.Shard(batchId, i + 1);
            var result = await sst.ProcessAsync(new S3ObjectEvent("ObjectCreated:Put", bucket, key, 0, null));
            if (result.Outcome != SstOutcome.Converted)
            {
                throw new InvalidOperationException($"shard {key}: {result.Outcome} {result.Detail}");
            }
        }

        // One shard: its done record completes the batch. Several: the last mapped record plans the merges, and the
        // last merge record completes it.
        var manifest = new ManifestStage(stores, new NoIngest(), _ => { });
        var last = shards.Count == 1 ? ObjectLayout.Done(batchId, 1) : ObjectLayout.Mapped(batchId, shards.Count);
        var outcome = await manifest.ProcessAsync(new S3ObjectEvent("ObjectCreated:Put", bucket, last, 0, null));
        if (outcome.Outcome == BatchOutcome.Planned)
        {
            var merge = new MergeStage(stores, new SstStageOptions { WorkDirectory = work }, _ => { });
            var plan = LayoutJson.Deserialize<MergePlan>(await store.GetBytesAsync(ObjectLayout.Plan(batchId), 1 << 24), "plan");
            foreach (var task in plan.Tasks)
            {
                var merged = await merge.ProcessAsync(new S3ObjectEvent("ObjectCreated:Put", bucket, task.Key, 0, null));
                if (merged.Outcome != MergeOutcome.Merged)
                {
                    throw new InvalidOperationException($"task {task.Key}: {merged.Outcome} {merged.Detail}");
                }
            }

            var lastTask = plan.Tasks[^1];
            await manifest.ProcessAsync(new S3ObjectEvent("ObjectCreated:Put", bucket, ObjectLayout.Merged(batchId, lastTask.Instance, lastTask.Range), 0, null));
        }

        var manifestKey = ObjectLayout.Manifest(batchId);
        if (await store.HeadAsync(manifestKey) is null)
        {
            throw new InvalidOperationException($"batch {batchId}: no manifest was written");
        }

        Directory.Delete(work, recursive: true);
        return manifestKey;
    }

    /// <summary>The batch's expected contents: later shards and later lines win.</summary>
    public static Dictionary<string, TestRecord> Expected(IEnumerable<IReadOnlyList<TestRecord>> shards)
    {
        var expected = new Dictionary<string, TestRecord>(StringComparer.Ordinal);
        foreach (var record in shards.SelectMany(s => s))
        {
            expected[record.Key] = record;
        }

        return expected;
    }

    private sealed class NoIngest : IIngestClient
    {
        public Task<string> IngestAsync(string bucket, string manifestKey, CancellationToken cancellation = default) => Task.FromResult("OK");
    }
}

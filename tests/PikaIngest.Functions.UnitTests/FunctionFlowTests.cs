using System.Security.Cryptography;
using System.Text.Json;
using PikaIngest.Core.Layout;
using PikaIngest.Core.Mock;
using PikaIngest.Core.Pipeline;

namespace PikaIngest.Functions.UnitTests;

/// <summary>The two functions driven by the local S3 event emulation over a folder store; a RESP listener stands in for the master.</summary>
public sealed class FunctionFlowTests
{
    private static async Task<JsonElement> Invoke(Func<Stream, Task<Stream>> handler, byte[] payload)
    {
        using var output = await handler(new MemoryStream(payload));
        return JsonDocument.Parse(output).RootElement.GetProperty("results");
    }

    [Fact]
    public async Task A_batch_delivered_twice_and_out_of_order_is_converted_manifested_and_ingested_exactly_once()
    {
        await using var flow = new FlowFixture(shards: 4);
        var router = flow.Router(new LocalEventRouterOptions { DuplicateRate = 0.5, Shuffle = true, Seed = 3, MaxConcurrency = 3, RetryDelay = TimeSpan.FromMilliseconds(50) });

        var result = await flow.RunUntilResultAsync(router);

        Assert.NotNull(result);
        Assert.Equal(BatchResult.Succeeded, result.Status);
        Assert.Equal("OK", result.Reply);

        // Duplicate events may race to INGEST_S3 (the node turns repeats into no-ops); the success is recorded once.
        Assert.NotEmpty(flow.Pika.Ingests);
        Assert.All(flow.Pika.Ingests, ingest => Assert.Equal(["INGEST_S3", FlowFixture.BucketName, ObjectLayout.Manifest(flow.Batch)], ingest));
        Assert.Single(flow.LogLines, l => l.Contains($"recorded in {ObjectLayout.Result(flow.Batch)}", StringComparison.Ordinal));
        Assert.Empty(router.DeadLetters);
        var ingestsBefore = flow.Pika.Ingests.Count;

        var manifest = LayoutJson.Deserialize<Manifest>(File.ReadAllBytes(flow.PathOf(ObjectLayout.Manifest(flow.Batch))), "manifest");
        Assert.Equal(4, manifest.Totals.Shards);
        Assert.Equal(Manifest.RangesVersion, manifest.Version);
        Assert.Equal(manifest.Files.OrderBy(f => f.Instance).ThenBy(f => f.Range).Select(f => f.Key), manifest.Files.Select(f => f.Key));
        Assert.All(manifest.Files, f => Assert.Null(f.Shard));
        foreach (var file in manifest.Files)
        {
            var bytes = File.ReadAllBytes(flow.PathOf(file.Key));
            Assert.Equal(file.Size, bytes.Length);
            Assert.Equal(file.Sha256, Convert.ToHexStringLower(SHA256.HashData(bytes)));
        }

        // Later deliveries of anything in the batch change nothing.
        await router.PollOnceAsync();
        var again = await Invoke(flow.Manifest.HandleAsync, FlowFixture.EventFor(ObjectLayout.Done(flow.Batch, 1)));
        Assert.Equal("alreadyIngested", again[0].GetProperty("outcome").GetString());
        Assert.Equal(ingestsBefore, flow.Pika.Ingests.Count);
    }

    /// <summary>Stock Pika has no INGEST_S3: with no master configured the batch ends at its manifest, which <c>pika-ingest apply</c> loads.</summary>
    [Fact]
    public async Task Without_a_pika_master_the_batch_ends_at_its_manifest_and_nothing_is_ingested()
    {
        await using var flow = new FlowFixture(shards: 3);
        var manifestOnly = new ManifestFunction(flow.ManifestStores, null, flow.Log);
        var router = new LocalEventRouter(
            flow.Store,
            (payload, _) => flow.Sst.HandleAsync(new MemoryStream(payload)),
            (payload, _) => manifestOnly.HandleAsync(new MemoryStream(payload)),
            (payload, _) => flow.Merge.HandleAsync(new MemoryStream(payload)),
            new LocalEventRouterOptions { RetryDelay = TimeSpan.FromMilliseconds(50) },
            flow.Log);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));

        await router.RunAsync(async token => await flow.Store.HeadAsync(ObjectLayout.Manifest(flow.Batch), token) is not null || router.DeadLetters.Count > 0, timeout.Token);
        await router.PollOnceAsync();

        Assert.Empty(router.DeadLetters);
        var manifest = LayoutJson.Deserialize<Manifest>(File.ReadAllBytes(flow.PathOf(ObjectLayout.Manifest(flow.Batch))), "manifest");
        Assert.Equal(3, manifest.Totals.Shards);
        Assert.Empty(flow.Pika.Ingests);
        Assert.Null(await flow.ResultAsync());
        Assert.Contains(flow.LogLines, l => l.Contains($"pika-ingest apply --manifest {flow.Store.Location}/{ObjectLayout.Manifest(flow.Batch)}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_router_told_to_handle_one_batch_leaves_the_other_batches_of_the_bucket_alone()
    {
        await using var flow = new FlowFixture(shards: 2);
        new MockGenerator(new MockOptions { TotalBytes = 100_000, OutputRoot = Path.Combine(flow.Root, FlowFixture.BucketName), BatchId = "other", Seed = 9 }).Run();
        var router = flow.Router(new LocalEventRouterOptions { OnlyBatch = flow.Batch, RetryDelay = TimeSpan.FromMilliseconds(50) });

        var result = await flow.RunUntilResultAsync(router);

        Assert.Equal(BatchResult.Succeeded, result?.Status);
        Assert.True(File.Exists(flow.PathOf(ObjectLayout.Mapped(flow.Batch, 2))));
        Assert.False(Directory.Exists(flow.PathOf(ObjectLayout.SstFolder("other"))), "the other batch was converted");
        Assert.All(flow.Pika.Ingests, ingest => Assert.Equal(ObjectLayout.Manifest(flow.Batch), ingest[2]));
    }

    [Fact]
    public async Task Manifest_concurrency_bounds_the_manifest_invocations_and_not_the_conversions()
    {
        await using var flow = new FlowFixture(shards: 4);
        var running = new int[2];
        var most = new int[2];
        async Task Observe(int kind, Func<Task> invoke)
        {
            var now = Interlocked.Increment(ref running[kind]);
            lock (most)
            {
                most[kind] = Math.Max(most[kind], now);
            }

            try
            {
                await Task.Delay(50); // long enough for invocations that may overlap to do so
                await invoke();
            }
            finally
            {
                Interlocked.Decrement(ref running[kind]);
            }
        }

        var router = new LocalEventRouter(
            flow.Store,
            (payload, _) => Observe(0, () => flow.Sst.HandleAsync(new MemoryStream(payload))),
            (payload, _) => Observe(1, () => flow.Manifest.HandleAsync(new MemoryStream(payload))),
            (payload, _) => Observe(0, () => flow.Merge.HandleAsync(new MemoryStream(payload))),
            new LocalEventRouterOptions { MaxConcurrency = 4, ManifestConcurrency = 1, DuplicateRate = 1, RetryDelay = TimeSpan.FromMilliseconds(50) },
            flow.Log);

        var result = await flow.RunUntilResultAsync(router);

        Assert.Equal(BatchResult.Succeeded, result?.Status);
        Assert.Equal(1, most[1]);
        Assert.True(most[0] > 1, $"conversions ran one at a time ({most[0]})");
    }

    [Fact]
    public async Task A_bad_shard_fails_the_batch_with_its_line_and_nothing_is_ingested()
    {
        await using var flow = new FlowFixture(shards: 3);
        var shard = flow.PathOf(ObjectLayout.Shard(flow.Batch, 2));
        var lines = File.ReadAllLines(shard);
        lines[9] = "{\"key\":\"k\",\"value\":\"v\",\"expire\":-1}";
        File.WriteAllLines(shard, lines);

        var result = await flow.RunUntilResultAsync(flow.Router());

        Assert.NotNull(result);
        Assert.Equal(BatchResult.Failed, result.Status);
        var failed = Assert.Single(result.FailedShards!);
        Assert.Equal(2, failed.Shard);
        Assert.Equal(10, failed.Line);
        Assert.Empty(flow.Pika.Ingests);
        Assert.False(File.Exists(flow.PathOf(ObjectLayout.Manifest(flow.Batch))));
        Assert.False(File.Exists(flow.PathOf(ObjectLayout.Plan(flow.Batch))), "a batch with a failed shard must not be planned");
        Assert.False(Directory.Exists(flow.PathOf("sst/" + flow.Batch)));
        Assert.False(Directory.EnumerateFiles(flow.PathOf(ObjectLayout.RunsFolder(flow.Batch)), "000002-*").Any());
    }

    [Fact]
    public async Task The_last_two_shards_and_the_last_two_merges_finishing_at_once_give_one_plan_one_manifest_and_one_recorded_success()
    {
        await using var flow = new FlowFixture(shards: 2);
        await Invoke(flow.Sst.HandleAsync, FlowFixture.EventFor(ObjectLayout.Shard(flow.Batch, 1)));
        await Invoke(flow.Sst.HandleAsync, FlowFixture.EventFor(ObjectLayout.Shard(flow.Batch, 2)));

        var planning = await Task.WhenAll(Enumerable.Range(1, 2).Select(seq =>
            Task.Run(() => Invoke(flow.Manifest.HandleAsync, FlowFixture.EventFor(ObjectLayout.Mapped(flow.Batch, seq))))));

        Assert.All(planning, r => Assert.Equal("planned", r[0].GetProperty("outcome").GetString()));
        var plan = LayoutJson.Deserialize<MergePlan>(File.ReadAllBytes(flow.PathOf(ObjectLayout.Plan(flow.Batch))), "plan");
        Assert.Equal(plan.Tasks.Select(t => t.Key).Order(StringComparer.Ordinal), Directory.GetFiles(flow.PathOf("tasks/" + flow.Batch)).Select(f => $"tasks/{flow.Batch}/{Path.GetFileName(f)}").Order(StringComparer.Ordinal));
        foreach (var task in plan.Tasks)
        {
            await Invoke(flow.Merge.HandleAsync, FlowFixture.EventFor(task.Key));
        }

        var racing = await Task.WhenAll(plan.Tasks.TakeLast(2).Select(task =>
            Task.Run(() => Invoke(flow.Manifest.HandleAsync, FlowFixture.EventFor(ObjectLayout.Merged(flow.Batch, task.Instance, task.Range))))));

        Assert.All(racing, r => Assert.True(r[0].GetProperty("outcome").GetString() is "ingested" or "alreadyIngested", r.ToString()));
        Assert.Single(Directory.GetFiles(flow.PathOf("manifests")));
        Assert.Equal(BatchResult.Succeeded, (await flow.ResultAsync())!.Status);
        Assert.Single(flow.LogLines, l => l.Contains($"recorded in {ObjectLayout.Result(flow.Batch)}", StringComparison.Ordinal));
        Assert.InRange(flow.Pika.Ingests.Count, 1, 2);
        Assert.False(Directory.Exists(flow.PathOf(ObjectLayout.RunsFolder(flow.Batch))) && Directory.EnumerateFiles(flow.PathOf(ObjectLayout.RunsFolder(flow.Batch))).Any(), "runs are removed after the ingest");
    }

    [Fact]
    public async Task An_ingest_error_is_rethrown_for_the_platform_to_retry_and_success_is_recorded_only_after_a_later_ok()
    {
        await using var flow = new FlowFixture(shards: 1);
        await Invoke(flow.Sst.HandleAsync, FlowFixture.EventFor(ObjectLayout.Shard(flow.Batch, 1)));
        flow.Pika.Reply = command => command[0] == "INGEST_S3" ? "-ERR manifest sst/b1/000001-0.sst: sha256 mismatch" : RespListener.Default(command);

        var error = await Assert.ThrowsAsync<IngestFailedException>(() => Invoke(flow.Manifest.HandleAsync, FlowFixture.EventFor(ObjectLayout.Done(flow.Batch, 1))));

        Assert.Contains("sha256 mismatch", error.Message, StringComparison.Ordinal);
        Assert.Null(await flow.ResultAsync());
        flow.Pika.Reply = RespListener.Default;
        await Invoke(flow.Manifest.HandleAsync, FlowFixture.EventFor(ObjectLayout.Done(flow.Batch, 1)));
        Assert.Equal(BatchResult.Succeeded, (await flow.ResultAsync())!.Status);
        Assert.Equal(2, flow.Pika.Ingests.Count);
    }

    [Fact]
    public async Task A_node_that_does_not_answer_in_time_fails_the_invocation()
    {
        await using var flow = new FlowFixture(shards: 1);
        await Invoke(flow.Sst.HandleAsync, FlowFixture.EventFor(ObjectLayout.Shard(flow.Batch, 1)));
        await using var slow = new RedisIngestClient("127.0.0.1:1", null, TimeSpan.FromSeconds(2));
        var manifest = new ManifestFunction(flow.ManifestStores, slow, flow.Log);

        await Assert.ThrowsAsync<IngestFailedException>(() => Invoke(manifest.HandleAsync, FlowFixture.EventFor(ObjectLayout.Done(flow.Batch, 1))));

        Assert.Null(await flow.ResultAsync());
    }

    [Fact]
    public async Task A_duplicate_shard_event_after_completion_is_skipped_without_rewriting_anything()
    {
        await using var flow = new FlowFixture(shards: 1);
        var shardEvent = FlowFixture.EventFor(ObjectLayout.Shard(flow.Batch, 1));
        await Invoke(flow.Sst.HandleAsync, shardEvent);
        var done = flow.PathOf(ObjectLayout.Done(flow.Batch, 1));
        var written = File.GetLastWriteTimeUtc(done);
        var sstTimes = Directory.GetFiles(flow.PathOf("sst/" + flow.Batch)).Select(File.GetLastWriteTimeUtc).ToList();

        var second = await Invoke(flow.Sst.HandleAsync, shardEvent);

        Assert.Equal("alreadyDone", second[0].GetProperty("outcome").GetString());
        Assert.Equal(written, File.GetLastWriteTimeUtc(done));
        Assert.Equal(sstTimes, Directory.GetFiles(flow.PathOf("sst/" + flow.Batch)).Select(File.GetLastWriteTimeUtc).ToList());
    }

    [Fact]
    public async Task Duplicate_shard_events_handled_at_once_convert_once_and_the_record_matches_the_stored_files()
    {
        await using var flow = new FlowFixture(shards: 1);
        var shardEvent = FlowFixture.EventFor(ObjectLayout.Shard(flow.Batch, 1));

        var replies = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => Invoke(flow.Sst.HandleAsync, shardEvent))));

        var outcomes = replies.Select(r => r[0].GetProperty("outcome").GetString()).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(["alreadyDone", "alreadyDone", "alreadyDone", "converted"], outcomes);
        var done = LayoutJson.Deserialize<DoneRecord>(File.ReadAllBytes(flow.PathOf(ObjectLayout.Done(flow.Batch, 1))), "done");
        Assert.All(done.Files, f => Assert.Equal(f.Sha256, Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(flow.PathOf(f.Key))))));
        Assert.False(File.Exists(flow.PathOf(ObjectLayout.Lease(flow.Batch, 1))), "the lease must be released");
    }

    [Theory]
    [InlineData("missing-descriptor", "batch descriptor incoming/b1/_batch.json is missing")]
    [InlineData("beyond-descriptor", "shard 4 is beyond the 3 shards the batch descriptor declares")]
    [InlineData("too-large", "this function accepts at most")]
    public async Task Bad_batches_get_a_failure_record_naming_the_problem_and_no_sst(string problem, string expected)
    {
        await using var flow = new FlowFixture(shards: 3);
        var seq = 1;
        var sst = flow.Sst;
        switch (problem)
        {
            case "missing-descriptor":
                File.Delete(flow.PathOf(ObjectLayout.Descriptor(flow.Batch)));
                break;
            case "beyond-descriptor":
                seq = 4;
                File.Copy(flow.PathOf(ObjectLayout.Shard(flow.Batch, 1)), flow.PathOf(ObjectLayout.Shard(flow.Batch, 4)));
                break;
            default:
                sst = new SstFunction(flow.SstStores, flow.SstOptions with { MaxShardBytes = 1000 }, flow.Log);
                break;
        }

        var result = await Invoke(sst.HandleAsync, FlowFixture.EventFor(ObjectLayout.Shard(flow.Batch, seq)));

        Assert.Equal("failed", result[0].GetProperty("outcome").GetString());
        var failed = LayoutJson.Deserialize<FailedRecord>(File.ReadAllBytes(flow.PathOf(ObjectLayout.Failed(flow.Batch, seq))), "failed");
        Assert.Contains(expected, failed.Reason, StringComparison.Ordinal);
        Assert.False(Directory.Exists(flow.PathOf("sst")));
        Assert.Contains(flow.LogLines, l => l.Contains(ObjectLayout.Shard(flow.Batch, seq), StringComparison.Ordinal) && l.Contains("FAILED", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("not json")]
    [InlineData("{\"Service\":\"Amazon S3\",\"Event\":\"s3:TestEvent\",\"Bucket\":\"local\"}")]
    [InlineData("{\"Records\":[{\"eventName\":\"ObjectRemoved:Delete\",\"s3\":{\"bucket\":{\"name\":\"local\"},\"object\":{\"key\":\"incoming/b1/000001.jsonl\"}}}]}")]
    [InlineData("{\"Records\":[{\"eventName\":\"ObjectCreated:Put\",\"s3\":{\"bucket\":{\"name\":\"local\"},\"object\":{\"key\":\"sst/b1/000001-0.sst\"}}}]}")]
    public async Task Events_of_other_shapes_or_keys_are_logged_and_ignored(string payload)
    {
        await using var flow = new FlowFixture(shards: 1);

        var sst = await Invoke(flow.Sst.HandleAsync, System.Text.Encoding.UTF8.GetBytes(payload));
        var manifest = await Invoke(flow.Manifest.HandleAsync, System.Text.Encoding.UTF8.GetBytes(payload));

        Assert.All(sst.EnumerateArray().Concat(manifest.EnumerateArray()), r => Assert.Equal("ignored", r.GetProperty("outcome").GetString()));
        Assert.NotEmpty(flow.LogLines);
        Assert.False(Directory.Exists(flow.PathOf("sst")));
        Assert.Empty(flow.Pika.Commands);
    }
}

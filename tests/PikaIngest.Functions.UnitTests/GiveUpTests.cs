using Amazon.S3;
using PikaIngest.Core.Layout;
using PikaIngest.Core.Pipeline;
using PikaIngest.Core.Storage;

namespace PikaIngest.Functions.UnitTests;

/// <summary>
/// What a function does with an error its stage does not handle: a permanent one (a refused request, a damaged object)
/// ends in a failure record and a normal return; a transient one is rethrown for Lambda to retry.
/// </summary>
public sealed class GiveUpTests
{
    /// <summary>S3 without s3:ListBucket: a read of a key that does not exist is refused with 403, not answered with 404.</summary>
    private static FaultyStores WithoutListBucket(FlowFixture flow, string message = "Access Denied") =>
        new(flow.Stores, (operation, key, exists) => operation is "GET" or "HEAD" && !exists ? FaultyStores.AccessDenied(message) : null);

    private static async Task<PlannedTask> PlannedBatchAsync(FlowFixture flow)
    {
        await BatchSteps.MapAsync(flow, 3);
        return BatchSteps.Plan(flow).Tasks[0];
    }

    [Fact]
    public async Task A_merge_refused_a_missing_record_gives_up_with_a_record_naming_the_object_and_permission_and_the_batch_is_not_ingested()
    {
        await using var flow = new FlowFixture(shards: 3);
        var task = await PlannedBatchAsync(flow);
        var merge = new MergeFunction(WithoutListBucket(flow), flow.SstOptions, flow.Log);

        var outcome = await BatchSteps.OutcomeAsync(merge.HandleAsync, task.Key);

        Assert.Equal("failed", outcome);
        var merged = ObjectLayout.Merged(flow.Batch, task.Instance, task.Range);
        var reason = BatchSteps.Failure(flow, ObjectLayout.MergeFailed(flow.Batch, task.Instance, task.Range)).Reason;
        Assert.StartsWith($"s3://{flow.Store.Bucket}/{merged}: access denied to s3:GetObject", reason, StringComparison.Ordinal);
        Assert.Contains("s3:ListBucket", reason, StringComparison.Ordinal);
        Assert.False(File.Exists(flow.PathOf(ObjectLayout.RangeSstFile(flow.Batch, task.Instance, task.Range))));
        Assert.Contains(flow.LogLines, l => l.Contains("GAVE UP", StringComparison.Ordinal) && l.Contains(merged, StringComparison.Ordinal));

        await BatchSteps.MergeAsync(flow, dropped: task);
        Assert.Equal(BatchResult.Failed, (await flow.ResultAsync())!.Status);
        Assert.Empty(flow.Pika.Ingests);
        var status = await BatchSteps.StatusAsync(flow);
        Assert.Equal(BatchState.Failed, status.State);
        Assert.Contains(status.Failures, f => f.What == $"merge {ObjectLayout.TaskName(task.Instance, task.Range)}" && f.Reason.Contains(merged, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_failure_record_already_there_is_kept_the_first_cause_is_the_one_reported()
    {
        await using var flow = new FlowFixture(shards: 3);
        var task = await PlannedBatchAsync(flow);

        Assert.Equal("failed", await BatchSteps.OutcomeAsync(new MergeFunction(WithoutListBucket(flow, "first refusal"), flow.SstOptions, flow.Log).HandleAsync, task.Key));
        Assert.Equal("failed", await BatchSteps.OutcomeAsync(new MergeFunction(WithoutListBucket(flow, "second refusal"), flow.SstOptions, flow.Log).HandleAsync, task.Key));

        var reason = BatchSteps.Failure(flow, ObjectLayout.MergeFailed(flow.Batch, task.Instance, task.Range)).Reason;
        Assert.Contains("first refusal", reason, StringComparison.Ordinal);
        Assert.Contains(flow.LogLines, l => l.Contains("keeping that first one", StringComparison.Ordinal));
    }

    [Fact]
    public async Task When_the_failure_record_cannot_be_written_either_the_original_error_is_rethrown()
    {
        await using var flow = new FlowFixture(shards: 3);
        var task = await PlannedBatchAsync(flow);
        var deniedEverything = new FaultyStores(flow.Stores, (operation, key, exists) =>
            operation == "PUT" ? FaultyStores.AccessDenied("write refused") : operation is "GET" or "HEAD" && !exists ? FaultyStores.AccessDenied("read refused") : null);
        var merge = new MergeFunction(deniedEverything, flow.SstOptions, flow.Log);

        var error = await Assert.ThrowsAsync<ObjectStoreAccessDeniedException>(() => merge.HandleAsync(new MemoryStream(FlowFixture.EventFor(task.Key))));

        Assert.Equal(S3Actions.GetObject, error.Action);
        Assert.Contains("read refused", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(flow.PathOf(ObjectLayout.MergeFailed(flow.Batch, task.Instance, task.Range))));
        Assert.Contains(flow.LogLines, l => l.Contains("could not write its failure record", StringComparison.Ordinal) && l.Contains("write refused", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_transient_error_is_rethrown_for_a_retry_and_leaves_no_failure_record()
    {
        await using var flow = new FlowFixture(shards: 3);
        var mapped = ObjectLayout.Mapped(flow.Batch, 2);
        var throttled = 0;
        var stores = new FaultyStores(flow.Stores, (operation, key, _) =>
            operation == "PUT" && key == mapped && Interlocked.Increment(ref throttled) == 1 ? FaultyStores.SlowDown() : null);
        var sst = new SstFunction(stores, flow.SstOptions, flow.Log);

        var error = await Assert.ThrowsAsync<AmazonS3Exception>(() => sst.HandleAsync(new MemoryStream(FlowFixture.EventFor(ObjectLayout.Shard(flow.Batch, 2)))));

        Assert.Equal(System.Net.HttpStatusCode.ServiceUnavailable, error.StatusCode);
        Assert.False(File.Exists(flow.PathOf(ObjectLayout.Failed(flow.Batch, 2))));
        Assert.False(File.Exists(flow.PathOf(mapped)));

        // Lambda's retry succeeds.
        Assert.Equal("converted", await BatchSteps.OutcomeAsync(sst.HandleAsync, ObjectLayout.Shard(flow.Batch, 2)));
        Assert.True(File.Exists(flow.PathOf(mapped)));
        Assert.False(File.Exists(flow.PathOf(ObjectLayout.Failed(flow.Batch, 2))));
    }

    [Fact]
    public async Task A_shard_the_function_may_not_read_fails_naming_the_shard_and_permission()
    {
        await using var flow = new FlowFixture(shards: 3);
        var shard = ObjectLayout.Shard(flow.Batch, 2);
        var sst = new SstFunction(new FaultyStores(flow.Stores, (operation, key, _) => operation == "GET" && key == shard ? FaultyStores.AccessDenied() : null), flow.SstOptions, flow.Log);

        Assert.Equal("failed", await BatchSteps.OutcomeAsync(sst.HandleAsync, shard));

        var failure = BatchSteps.Failure(flow, ObjectLayout.Failed(flow.Batch, 2));
        Assert.Equal(shard, failure.Source.Key);
        Assert.StartsWith($"s3://{flow.Store.Bucket}/{shard}: access denied to s3:GetObject", failure.Reason, StringComparison.Ordinal);
        Assert.False(File.Exists(flow.PathOf(ObjectLayout.Mapped(flow.Batch, 2))));
        Assert.False(Directory.Exists(flow.PathOf("runs/" + flow.Batch)), "nothing of the shard may be uploaded");
    }

    [Fact]
    public async Task A_manifest_function_refused_a_listing_fails_the_batch_in_its_result()
    {
        await using var flow = new FlowFixture(shards: 3);
        await BatchSteps.MapAsync(flow, 3);
        var failedFolder = $"state/{flow.Batch}/failed/";
        var manifest = new ManifestFunction(new FaultyStores(flow.Stores, (operation, key, _) => operation == "LIST" && key == failedFolder ? FaultyStores.AccessDenied() : null), flow.Ingest, flow.Log);

        Assert.Equal("failed", await BatchSteps.OutcomeAsync(manifest.HandleAsync, ObjectLayout.Mapped(flow.Batch, 3)));

        var result = (await flow.ResultAsync())!;
        Assert.Equal(BatchResult.Failed, result.Status);
        var failure = Assert.Single(result.FailedShards!);
        Assert.Equal(FailureGuard.ManifestTask, failure.Task);
        Assert.StartsWith($"listing s3://{flow.Store.Bucket}/ under '{failedFolder}': access denied to s3:ListBucket", failure.Reason, StringComparison.Ordinal);
        var status = await BatchSteps.StatusAsync(flow);
        Assert.Equal(BatchState.Failed, status.State);
        Assert.Contains(status.Failures, f => f.What == FailureGuard.ManifestTask && f.Reason.Contains("s3:ListBucket", StringComparison.Ordinal));
        Assert.Empty(flow.Pika.Ingests);
    }

    [Fact]
    public async Task A_truncated_run_fails_its_merge_without_a_throw_and_status_names_the_run_nothing_ingested()
    {
        await using var flow = new FlowFixture(shards: 3);
        var task = await PlannedBatchAsync(flow);
        var run = ObjectLayout.RunFile(flow.Batch, 2, task.Instance);
        var bytes = File.ReadAllBytes(flow.PathOf(run));
        File.WriteAllBytes(flow.PathOf(run), bytes[..(bytes.Length / 2)]);

        await BatchSteps.MergeAsync(flow, dropped: task);
        Assert.Equal("failed", await BatchSteps.OutcomeAsync(flow.Merge.HandleAsync, task.Key));
        await BatchSteps.OutcomeAsync(flow.Manifest.HandleAsync, ObjectLayout.MergeFailed(flow.Batch, task.Instance, task.Range));

        var status = await BatchSteps.StatusAsync(flow);
        Assert.Equal(BatchState.Failed, status.State);
        Assert.Equal(1, status.RangesFailed);
        Assert.Contains(status.Failures, f => f.Reason.Contains(run, StringComparison.Ordinal));
        Assert.Equal(BatchResult.Failed, (await flow.ResultAsync())!.Status);
        Assert.Empty(flow.Pika.Ingests);
        Assert.False(File.Exists(flow.PathOf(ObjectLayout.Manifest(flow.Batch))));
    }
}

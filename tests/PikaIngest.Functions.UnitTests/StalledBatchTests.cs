using PikaIngest.Core.Layout;
using PikaIngest.Core.Pipeline;

namespace PikaIngest.Functions.UnitTests;

/// <summary>
/// A batch whose event was lost (S3 did not deliver it, or Lambda dropped it after its retries): status names what is
/// missing and calls the batch stalled; redrive re-issues the events of the stage that stopped and the batch completes.
/// </summary>
public sealed class StalledBatchTests
{
    private static readonly RedriveOptions Now = new() { StallAfter = TimeSpan.Zero };

    [Fact]
    public async Task A_dropped_map_event_stalls_the_batch_at_that_shard_and_redrive_completes_and_ingests_it()
    {
        await using var flow = new FlowFixture(shards: 3);
        await BatchSteps.MapAsync(flow, 3, dropped: 2);

        var stalled = await BatchSteps.StatusAsync(flow);
        var moving = await BatchSteps.StatusAsync(flow, TimeSpan.FromHours(1));

        Assert.Equal((BatchState.Stalled, "map"), (stalled.State, stalled.Stage));
        Assert.Equal(BatchState.InProgress, moving.State);
        Assert.Equal((3, 3, 2, 0), (stalled.Shards, stalled.ShardsSeen, stalled.ShardsMapped, stalled.ShardsFailed));
        Assert.Equal([$"shard 000002 has no mapped record ({ObjectLayout.Mapped(flow.Batch, 2)})"], stalled.Missing);
        Assert.Equal([ObjectLayout.Shard(flow.Batch, 2)], stalled.PendingShards);
        Assert.Null(stalled.Ranges);

        var report = await BatchSteps.Redrive(flow).RunAsync(flow.Batch, Now);

        Assert.Null(report.Refused);
        Assert.Empty(report.Errors);
        Assert.Equal(ObjectLayout.Shard(flow.Batch, 2), report.Issued[0]);
        Assert.Equal(BatchState.Ingested, report.After.State);
        Assert.Equal(BatchResult.Succeeded, (await flow.ResultAsync())!.Status);
        Assert.Single(flow.Pika.Ingests);
        var done = await BatchSteps.StatusAsync(flow);
        Assert.Equal(("done", BatchState.Ingested, "OK"), (done.Stage, done.State, done.IngestReply));
        Assert.Empty(done.Missing);
    }

    [Fact]
    public async Task A_dropped_merge_event_stalls_the_batch_at_that_range_and_redrive_completes_and_ingests_it()
    {
        await using var flow = new FlowFixture(shards: 3);
        await BatchSteps.MapAsync(flow, 3);
        var dropped = BatchSteps.Plan(flow).Tasks[^1];
        await BatchSteps.MergeAsync(flow, dropped);

        var stalled = await BatchSteps.StatusAsync(flow);

        var name = ObjectLayout.TaskName(dropped.Instance, dropped.Range);
        Assert.Equal((BatchState.Stalled, "merge"), (stalled.State, stalled.Stage));
        Assert.Equal(BatchSteps.Plan(flow).Tasks.Count, stalled.Ranges);
        Assert.Equal(stalled.Ranges - 1, stalled.RangesMerged);
        Assert.Equal([$"task {name} has no merged record ({ObjectLayout.Merged(flow.Batch, dropped.Instance, dropped.Range)})"], stalled.Missing);
        Assert.Equal([dropped.Key], stalled.PendingTasks);
        Assert.Null(await flow.ResultAsync());

        var report = await BatchSteps.Redrive(flow).RunAsync(flow.Batch, Now);

        Assert.Equal(dropped.Key, report.Issued[0]);
        Assert.Equal(BatchState.Ingested, report.After.State);
        Assert.Equal(BatchResult.Succeeded, (await flow.ResultAsync())!.Status);
        Assert.Single(flow.Pika.Ingests);
    }

    [Fact]
    public async Task Everything_merged_but_no_manifest_is_redriven_with_the_last_state_event()
    {
        await using var flow = new FlowFixture(shards: 2);
        await BatchSteps.MapAsync(flow, 2);
        foreach (var task in BatchSteps.Plan(flow).Tasks)
        {
            Assert.Equal("merged", await BatchSteps.OutcomeAsync(flow.Merge.HandleAsync, task.Key));
        }

        var stalled = await BatchSteps.StatusAsync(flow);
        Assert.Equal("manifest", stalled.Stage);
        Assert.Equal([$"all ranges merged but no manifest ({ObjectLayout.Manifest(flow.Batch)})"], stalled.Missing);

        var report = await BatchSteps.Redrive(flow).RunAsync(flow.Batch, Now);

        Assert.Equal([stalled.LatestRecord!], report.Issued);
        Assert.StartsWith($"state/{flow.Batch}/merged/", stalled.LatestRecord, StringComparison.Ordinal);
        Assert.Equal(BatchState.Ingested, report.After.State);
    }

    /// <summary>Against a bucket with its own triggers, redrive rewrites the trigger object; here the watcher (watch's router) sees it as new.</summary>
    [Fact]
    public async Task Redrive_by_rewriting_the_trigger_object_reaches_a_watcher_that_had_lost_the_event()
    {
        await using var flow = new FlowFixture(shards: 3);
        var lost = ObjectLayout.Shard(flow.Batch, 2);
        var dropped = 0;
        var router = new LocalEventRouter(
            flow.Store,
            (payload, _) => System.Text.Encoding.UTF8.GetString(payload).Contains(lost, StringComparison.Ordinal) && Interlocked.Increment(ref dropped) == 1
                ? Task.CompletedTask
                : flow.Sst.HandleAsync(new MemoryStream(payload)),
            (payload, _) => flow.Manifest.HandleAsync(new MemoryStream(payload)),
            (payload, _) => flow.Merge.HandleAsync(new MemoryStream(payload)),
            new LocalEventRouterOptions { PollInterval = TimeSpan.FromMilliseconds(50) },
            flow.Log);
        while (await router.PollOnceAsync() > 0)
        {
        }

        Assert.Equal([lost], (await BatchSteps.StatusAsync(flow)).PendingShards);
        var report = await new BatchRedrive(flow.Store, new RewriteEventIssuer(Path.Combine(flow.Root, "work")), flow.Log).RunAsync(flow.Batch, Now);
        Assert.Equal([lost], report.Issued);

        var result = await flow.RunUntilResultAsync(router);

        Assert.Equal(BatchResult.Succeeded, result?.Status);
        Assert.Empty(router.DeadLetters);
    }

    [Fact]
    public async Task A_failed_batch_is_redriven_only_with_retry_failed_which_clears_the_records_and_completes_it_once_the_cause_is_gone()
    {
        await using var flow = new FlowFixture(shards: 3);
        await BatchSteps.MapAsync(flow, 3);
        var task = BatchSteps.Plan(flow).Tasks[0];
        var withoutListBucket = new FaultyStores(flow.Stores, (operation, _, exists) => operation is "GET" or "HEAD" && !exists ? FaultyStores.AccessDenied() : null);
        Assert.Equal("failed", await BatchSteps.OutcomeAsync(new MergeFunction(withoutListBucket, flow.SstOptions, flow.Log).HandleAsync, task.Key));
        await BatchSteps.MergeAsync(flow, dropped: task);
        Assert.Equal(BatchResult.Failed, (await flow.ResultAsync())!.Status);

        var refused = await BatchSteps.Redrive(flow).RunAsync(flow.Batch, Now);

        Assert.Contains("--retry-failed", refused.Refused, StringComparison.Ordinal);
        Assert.Empty(refused.Issued);
        Assert.True(File.Exists(flow.PathOf(ObjectLayout.MergeFailed(flow.Batch, task.Instance, task.Range))));

        var dryRun = await BatchSteps.Redrive(flow).RunAsync(flow.Batch, Now with { RetryFailed = true, DryRun = true });
        Assert.Equal([task.Key], dryRun.Issued);
        Assert.True(File.Exists(flow.PathOf(ObjectLayout.MergeFailed(flow.Batch, task.Instance, task.Range))), "a dry run removes nothing");

        var report = await BatchSteps.Redrive(flow).RunAsync(flow.Batch, Now with { RetryFailed = true });

        Assert.Equal(task.Key, report.Issued[0]);
        Assert.Equal(BatchState.Ingested, report.After.State);
        Assert.Equal(BatchResult.Succeeded, (await flow.ResultAsync())!.Status);
        Assert.False(File.Exists(flow.PathOf(ObjectLayout.MergeFailed(flow.Batch, task.Instance, task.Range))));
    }

    [Fact]
    public async Task A_batch_still_moving_or_already_ingested_is_not_redriven()
    {
        await using var flow = new FlowFixture(shards: 2);
        await BatchSteps.MapAsync(flow, 2, dropped: 1);

        var moving = await BatchSteps.Redrive(flow).RunAsync(flow.Batch, new RedriveOptions { StallAfter = TimeSpan.FromHours(1) });

        Assert.Contains("still moving", moving.Refused, StringComparison.Ordinal);
        Assert.Empty(moving.Issued);
        Assert.False(File.Exists(flow.PathOf(ObjectLayout.Mapped(flow.Batch, 1))));

        Assert.Equal(BatchState.Ingested, (await BatchSteps.Redrive(flow).RunAsync(flow.Batch, Now)).After.State);
        var again = await BatchSteps.Redrive(flow).RunAsync(flow.Batch, Now);
        Assert.Contains("ingested", again.Refused, StringComparison.Ordinal);
        Assert.Single(flow.Pika.Ingests);
    }
}

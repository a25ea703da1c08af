using System.Security.Cryptography;
using System.Text.Json;
using PikaIngest.Core.Layout;

namespace PikaIngest.Functions.UnitTests;

/// <summary>The merge stage of a multi-shard batch: duplicated, late and bad task events, damaged and missing runs.</summary>
public sealed class MergeFlowTests
{
    private static async Task<JsonElement> Invoke(Func<Stream, Task<Stream>> handler, byte[] payload)
    {
        using var output = await handler(new MemoryStream(payload));
        return JsonDocument.Parse(output).RootElement.GetProperty("results");
    }

    private static string Outcome(JsonElement results) => results[0].GetProperty("outcome").GetString()!;

    /// <summary>Maps every shard and lets the manifest function plan the batch; returns the plan.</summary>
    private static async Task<MergePlan> PlanAsync(FlowFixture flow, int shards)
    {
        for (var seq = 1; seq <= shards; seq++)
        {
            await Invoke(flow.Sst.HandleAsync, FlowFixture.EventFor(ObjectLayout.Shard(flow.Batch, seq)));
        }

        Assert.Equal("planned", Outcome(await Invoke(flow.Manifest.HandleAsync, FlowFixture.EventFor(ObjectLayout.Mapped(flow.Batch, shards)))));
        return LayoutJson.Deserialize<MergePlan>(File.ReadAllBytes(flow.PathOf(ObjectLayout.Plan(flow.Batch))), "plan");
    }

    private static async Task<BatchResult> FinishAsync(FlowFixture flow, MergePlan plan)
    {
        foreach (var task in plan.Tasks)
        {
            await Invoke(flow.Merge.HandleAsync, FlowFixture.EventFor(task.Key));
        }

        var last = plan.Tasks[^1];
        await Invoke(flow.Manifest.HandleAsync, FlowFixture.EventFor(ObjectLayout.Merged(flow.Batch, last.Instance, last.Range)));
        return (await flow.ResultAsync())!;
    }

    private static FailedRecord MergeFailure(FlowFixture flow, PlannedTask task) =>
        LayoutJson.Deserialize<FailedRecord>(File.ReadAllBytes(flow.PathOf(ObjectLayout.MergeFailed(flow.Batch, task.Instance, task.Range))), "failed");

    [Fact]
    public async Task Duplicate_task_events_at_once_merge_once_and_the_record_matches_the_stored_sst()
    {
        await using var flow = new FlowFixture(shards: 3);
        var plan = await PlanAsync(flow, 3);
        var task = plan.Tasks[0];

        var replies = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => Invoke(flow.Merge.HandleAsync, FlowFixture.EventFor(task.Key)))));

        Assert.Equal(["alreadyDone", "alreadyDone", "alreadyDone", "merged"], replies.Select(Outcome).Order(StringComparer.Ordinal));
        var record = LayoutJson.Deserialize<MergedRecord>(File.ReadAllBytes(flow.PathOf(ObjectLayout.Merged(flow.Batch, task.Instance, task.Range))), "merged");
        Assert.Equal(record.File.Sha256, Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(flow.PathOf(record.File.Key)))));
        Assert.Equal(task.Sha256, record.TaskSha256);
        Assert.False(File.Exists(flow.PathOf(ObjectLayout.MergeLease(flow.Batch, task.Instance, task.Range))), "the lease must be released");
    }

    [Fact]
    public async Task A_missing_run_object_fails_the_merge_with_a_record_naming_it_and_the_batch_is_not_ingested()
    {
        await using var flow = new FlowFixture(shards: 3);
        var plan = await PlanAsync(flow, 3);
        var run = ObjectLayout.RunFile(flow.Batch, 2, plan.Tasks[0].Instance);
        File.Delete(flow.PathOf(run));

        var result = await FinishAsync(flow, plan);

        Assert.Matches($"run object .*{run} is missing", MergeFailure(flow, plan.Tasks[0]).Reason);
        Assert.Equal(BatchResult.Failed, result.Status);
        var failure = Assert.Single(result.FailedShards!, f => f.Task == ObjectLayout.TaskName(plan.Tasks[0].Instance, plan.Tasks[0].Range));
        Assert.Contains(run, failure.Reason, StringComparison.Ordinal);
        Assert.Empty(flow.Pika.Ingests);
        Assert.False(File.Exists(flow.PathOf(ObjectLayout.Manifest(flow.Batch))));
    }

    [Fact]
    public async Task A_damaged_run_block_fails_the_merge_naming_the_run_and_block()
    {
        await using var flow = new FlowFixture(shards: 3);
        var plan = await PlanAsync(flow, 3);
        var task = plan.Tasks[0];
        var run = flow.PathOf(ObjectLayout.RunFile(flow.Batch, 1, task.Instance));
        var bytes = File.ReadAllBytes(run);
        bytes[40] ^= 0x10; // inside the first block, after the 16-byte header
        File.WriteAllBytes(run, bytes);

        var reply = await Invoke(flow.Merge.HandleAsync, FlowFixture.EventFor(task.Key));

        Assert.Equal("failed", Outcome(reply));
        var reason = MergeFailure(flow, task).Reason;
        Assert.Contains(ObjectLayout.RunFile(flow.Batch, 1, task.Instance), reason, StringComparison.Ordinal);
        Assert.Contains("corrupt run block 0", reason, StringComparison.Ordinal);
        Assert.False(File.Exists(flow.PathOf(ObjectLayout.RangeSstFile(flow.Batch, task.Instance, task.Range))));
    }

    [Fact]
    public async Task A_truncated_run_fails_the_merge()
    {
        await using var flow = new FlowFixture(shards: 2);
        var plan = await PlanAsync(flow, 2);
        var task = plan.Tasks[0];
        var run = flow.PathOf(ObjectLayout.RunFile(flow.Batch, 2, task.Instance));
        var bytes = File.ReadAllBytes(run);
        File.WriteAllBytes(run, bytes[..(bytes.Length / 2)]);

        Assert.Equal("failed", Outcome(await Invoke(flow.Merge.HandleAsync, FlowFixture.EventFor(task.Key))));
        Assert.Contains(ObjectLayout.RunFile(flow.Batch, 2, task.Instance), MergeFailure(flow, task).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_task_the_plan_does_not_list_that_differs_from_it_or_that_names_other_objects_fails_and_fails_the_batch()
    {
        await using var flow = new FlowFixture(shards: 2);
        var plan = await PlanAsync(flow, 2);
        var real = plan.Tasks[0];
        var task = LayoutJson.Deserialize<MergeTask>(File.ReadAllBytes(flow.PathOf(real.Key)), "task");
        var unknown = ObjectLayout.Task(flow.Batch, real.Instance, 99);
        File.WriteAllBytes(flow.PathOf(unknown), LayoutJson.Serialize(task with { Range = 99 }));
        File.WriteAllBytes(flow.PathOf(real.Key), LayoutJson.Serialize(task with { EstimatedBytes = task.EstimatedBytes + 1 }));

        var strayTask = ObjectLayout.Task(flow.Batch, real.Instance, 98);
        File.WriteAllBytes(flow.PathOf(strayTask), LayoutJson.Serialize(task with { Range = 98, Runs = [task.Runs[0] with { Key = ObjectLayout.Shard(flow.Batch, 1) }] }));
        var plan98 = plan with { Tasks = [.. plan.Tasks, real with { Range = 98, Key = strayTask, Sha256 = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(flow.PathOf(strayTask)))) }] };
        File.WriteAllBytes(flow.PathOf(ObjectLayout.Plan(flow.Batch)), LayoutJson.Serialize(plan98));

        var strayReply = await Invoke(flow.Merge.HandleAsync, FlowFixture.EventFor(strayTask));
        var unknownReply = await Invoke(flow.Merge.HandleAsync, FlowFixture.EventFor(unknown));
        var alteredReply = await Invoke(flow.Merge.HandleAsync, FlowFixture.EventFor(real.Key));

        Assert.Equal("failed", Outcome(strayReply));
        Assert.Contains($"names {ObjectLayout.Shard(flow.Batch, 1)}, which is not a run of this batch", MergeFailure(flow, real with { Range = 98 }).Reason, StringComparison.Ordinal);
        Assert.Equal("failed", Outcome(unknownReply));
        Assert.Contains("unknown range", MergeFailure(flow, real with { Range = 99 }).Reason, StringComparison.Ordinal);
        Assert.Equal("failed", Outcome(alteredReply));
        Assert.Contains("differs from the task the plan", MergeFailure(flow, real).Reason, StringComparison.Ordinal);
        Assert.Equal(BatchResult.Failed, (await FinishAsync(flow, plan)).Status);
        Assert.Empty(flow.Pika.Ingests);
    }

    [Fact]
    public async Task A_shard_that_changes_after_planning_fails_the_batch_naming_the_plan()
    {
        await using var flow = new FlowFixture(shards: 3);
        var plan = await PlanAsync(flow, 3);
        var mappedPath = flow.PathOf(ObjectLayout.Mapped(flow.Batch, 2));
        var mapped = LayoutJson.Deserialize<MappedRecord>(File.ReadAllBytes(mappedPath), "mapped");
        File.WriteAllBytes(mappedPath, LayoutJson.Serialize(mapped with { Runs = [.. mapped.Runs.Select(r => r with { Samples = [.. r.Samples.Select(s => s with { Bytes = s.Bytes * 3 })] })] }));

        var reply = await Invoke(flow.Manifest.HandleAsync, FlowFixture.EventFor(ObjectLayout.Mapped(flow.Batch, 2)));

        Assert.Equal("failed", Outcome(reply));
        var result = (await flow.ResultAsync())!;
        Assert.Equal(BatchResult.Failed, result.Status);
        Assert.Contains($"{ObjectLayout.Plan(flow.Batch)} does not match the mapped records", result.FailedShards![0].Reason, StringComparison.Ordinal);
        Assert.Empty(flow.Pika.Ingests);
        Assert.Equal(plan.Tasks.Count, Directory.GetFiles(flow.PathOf("tasks/" + flow.Batch)).Length);
    }

    [Fact]
    public async Task Late_and_repeated_events_after_the_ingest_change_nothing()
    {
        await using var flow = new FlowFixture(shards: 3);
        var plan = await PlanAsync(flow, 3);
        Assert.Equal(BatchResult.Succeeded, (await FinishAsync(flow, plan)).Status);
        var ingests = flow.Pika.Ingests.Count;
        var sstTimes = Directory.GetFiles(flow.PathOf("sst/" + flow.Batch)).ToDictionary(f => f, File.GetLastWriteTimeUtc);

        var lateMerge = await Invoke(flow.Merge.HandleAsync, FlowFixture.EventFor(plan.Tasks[0].Key));
        var lateShard = await Invoke(flow.Sst.HandleAsync, FlowFixture.EventFor(ObjectLayout.Shard(flow.Batch, 1)));
        var lateMapped = await Invoke(flow.Manifest.HandleAsync, FlowFixture.EventFor(ObjectLayout.Mapped(flow.Batch, 1)));

        Assert.Equal("alreadyDone", Outcome(lateMerge));
        Assert.Equal("alreadyDone", Outcome(lateShard));
        Assert.Equal("alreadyIngested", Outcome(lateMapped));
        Assert.Equal(ingests, flow.Pika.Ingests.Count);
        Assert.Equal(sstTimes, Directory.GetFiles(flow.PathOf("sst/" + flow.Batch)).ToDictionary(f => f, File.GetLastWriteTimeUtc));
        Assert.False(Directory.Exists(flow.PathOf($"state/{flow.Batch}/failed")));
    }
}

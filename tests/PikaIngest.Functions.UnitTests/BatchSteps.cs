using System.Text.Json;
using PikaIngest.Core.Layout;
using PikaIngest.Core.Pipeline;

namespace PikaIngest.Functions.UnitTests;

/// <summary>Drives one batch of a <see cref="FlowFixture"/> stage by stage, each event delivered by hand, so a test can leave one out.</summary>
public static class BatchSteps
{
    public static async Task<string> OutcomeAsync(Func<Stream, Task<Stream>> handler, string key)
    {
        using var output = await handler(new MemoryStream(FlowFixture.EventFor(key)));
        return JsonDocument.Parse(output).RootElement.GetProperty("results")[0].GetProperty("outcome").GetString()!;
    }

    /// <summary>Delivers the shard events of every shard but <paramref name="dropped"/>, then each mapped record's event to the manifest function.</summary>
    public static async Task MapAsync(FlowFixture flow, int shards, int? dropped = null)
    {
        for (var seq = 1; seq <= shards; seq++)
        {
            if (seq != dropped)
            {
                Assert.Equal("converted", await OutcomeAsync(flow.Sst.HandleAsync, ObjectLayout.Shard(flow.Batch, seq)));
                await OutcomeAsync(flow.Manifest.HandleAsync, ObjectLayout.Mapped(flow.Batch, seq));
            }
        }
    }

    public static MergePlan Plan(FlowFixture flow) => LayoutJson.Deserialize<MergePlan>(File.ReadAllBytes(flow.PathOf(ObjectLayout.Plan(flow.Batch))), "plan");

    /// <summary>Delivers every task event but the one of <paramref name="dropped"/>, then each merged record's event.</summary>
    public static async Task MergeAsync(FlowFixture flow, PlannedTask? dropped = null)
    {
        foreach (var task in Plan(flow).Tasks.Where(t => t != dropped))
        {
            Assert.Equal("merged", await OutcomeAsync(flow.Merge.HandleAsync, task.Key));
            await OutcomeAsync(flow.Manifest.HandleAsync, ObjectLayout.Merged(flow.Batch, task.Instance, task.Range));
        }
    }

    public static async Task<BatchStatus> StatusAsync(FlowFixture flow, TimeSpan? stallAfter = null) =>
        Assert.Single(await new BatchStatusReader(flow.Store, flow.Log).ReadAsync(flow.Batch, DateTimeOffset.UtcNow, stallAfter ?? TimeSpan.Zero));

    /// <summary>Redrive through the fixture's own functions, run in-process as <c>pika-ingest redrive --via handlers</c> does.</summary>
    public static BatchRedrive Redrive(FlowFixture flow) =>
        new(
            flow.Store,
            new HandlerEventIssuer(
                (payload, _) => flow.Sst.HandleAsync(new MemoryStream(payload)),
                (payload, _) => flow.Manifest.HandleAsync(new MemoryStream(payload)),
                (payload, _) => flow.Merge.HandleAsync(new MemoryStream(payload))),
            flow.Log);

    public static FailedRecord Failure(FlowFixture flow, string key) => LayoutJson.Deserialize<FailedRecord>(File.ReadAllBytes(flow.PathOf(key)), key);
}

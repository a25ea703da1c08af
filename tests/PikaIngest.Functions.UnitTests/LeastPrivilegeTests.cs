using System.Globalization;
using System.Text;
using System.Text.Json;
using PikaIngest.Core.Layout;
using PikaIngest.Core.Pipeline;
using PikaIngest.Core.Storage;
using Xunit.Abstractions;

namespace PikaIngest.Functions.UnitTests;

/// <summary>
/// template.yaml's S3 permissions proven by running the functions' flows under them: every flow passes with the
/// template's policies, and taking away any one S3 grant of any function makes some flow of it fail on an access
/// denial. So the template grants exactly what the handlers use, and a handler that starts needing more fails here.
/// </summary>
public sealed class LeastPrivilegeTests(ITestOutputHelper output)
{
    private static readonly SamTemplate Template = SamTemplate.Deployed;

    /// <summary>
    /// Events in any order but each once: a duplicate racing its original waits on the original's lease, and a role that
    /// may not delete it would leave the duplicate waiting for the lease to age (the flow tests cover racing duplicates).
    /// </summary>
    private static readonly LocalEventRouterOptions Shuffled = new() { Shuffle = true, RetryDelay = TimeSpan.FromMilliseconds(10) };

    /// <summary>
    /// The flows, each on a fresh batch: between them every path of every handler that touches the store (map, plan,
    /// merge, manifest, ingest, duplicate and late events, a manifest found already written, failed shards and merges).
    /// </summary>
    private static readonly (string Name, int Shards, Func<FlowFixture, Task> Run)[] Flows =
    [
        ("a 3-shard batch through the router, then late events", 3, async flow =>
        {
            var router = flow.Router(Shuffled);
            Assert.Equal(BatchResult.Succeeded, (await flow.RunUntilResultAsync(router))?.Status);
            RequireNoFailedInvocation(flow, router);
            var plan = LayoutJson.Deserialize<MergePlan>(await flow.Store.GetBytesAsync(ObjectLayout.Plan(flow.Batch), 1 << 20), "plan");
            Assert.Equal("alreadyDone", await OutcomeAsync(flow.Sst.HandleAsync, ObjectLayout.Shard(flow.Batch, 1)));
            Assert.Equal("alreadyDone", await OutcomeAsync(flow.Merge.HandleAsync, plan.Tasks[0].Key));
            Assert.Equal("alreadyIngested", await OutcomeAsync(flow.Manifest.HandleAsync, ObjectLayout.Mapped(flow.Batch, 1)));
            Assert.Empty(await flow.Store.ListAsync(ObjectLayout.RunsFolder(flow.Batch)).ToListAsync());
            Assert.DoesNotContain(await flow.Store.ListAsync(ObjectLayout.StatePrefix).ToListAsync(), o => o.Key.Contains("/lease/", StringComparison.Ordinal));
        }),
        ("a shard and a range whose leases another invocation holds for a moment", 2, async flow =>
        {
            await WhileLeaseIsHeldAsync(flow, ObjectLayout.Lease(flow.Batch, 1), () => OutcomeAsync(flow.Sst.HandleAsync, ObjectLayout.Shard(flow.Batch, 1)), "converted");
            Assert.Equal("converted", await OutcomeAsync(flow.Sst.HandleAsync, ObjectLayout.Shard(flow.Batch, 2)));
            Assert.Equal("planned", await OutcomeAsync(flow.Manifest.HandleAsync, ObjectLayout.Mapped(flow.Batch, 2)));
            var task = LayoutJson.Deserialize<MergePlan>(await flow.Store.GetBytesAsync(ObjectLayout.Plan(flow.Batch), 1 << 20), "plan").Tasks[0];
            await WhileLeaseIsHeldAsync(flow, ObjectLayout.MergeLease(flow.Batch, task.Instance, task.Range), () => OutcomeAsync(flow.Merge.HandleAsync, task.Key), "merged");
        }),
        ("a 1-shard batch through the router", 1, async flow =>
        {
            var router = flow.Router(Shuffled);
            Assert.Equal(BatchResult.Succeeded, (await flow.RunUntilResultAsync(router))?.Status);
            RequireNoFailedInvocation(flow, router);
            Assert.NotEmpty(await flow.Store.ListAsync(ObjectLayout.SstFolder(flow.Batch)).ToListAsync());
        }),
        ("a 1-shard batch without a Pika master, its done event twice", 1, async flow =>
        {
            var manifestOnly = new ManifestFunction(flow.ManifestStores, null, flow.Log);
            Assert.Equal("converted", await OutcomeAsync(flow.Sst.HandleAsync, ObjectLayout.Shard(flow.Batch, 1)));
            Assert.Equal("manifestWritten", await OutcomeAsync(manifestOnly.HandleAsync, ObjectLayout.Done(flow.Batch, 1)));
            Assert.Equal("manifestWritten", await OutcomeAsync(manifestOnly.HandleAsync, ObjectLayout.Done(flow.Batch, 1)));
        }),
        ("a batch with a bad shard", 3, async flow =>
        {
            var shard = flow.PathOf(ObjectLayout.Shard(flow.Batch, 2));
            var lines = await File.ReadAllLinesAsync(shard);
            lines[3] = "not json";
            await File.WriteAllLinesAsync(shard, lines);
            var router = flow.Router(Shuffled);
            Assert.Equal(BatchResult.Failed, (await flow.RunUntilResultAsync(router))?.Status);
            RequireNoFailedInvocation(flow, router);
        }),
        ("a batch whose run goes missing before its merge", 2, async flow =>
        {
            Assert.Equal("converted", await OutcomeAsync(flow.Sst.HandleAsync, ObjectLayout.Shard(flow.Batch, 1)));
            Assert.Equal("converted", await OutcomeAsync(flow.Sst.HandleAsync, ObjectLayout.Shard(flow.Batch, 2)));
            Assert.Equal("planned", await OutcomeAsync(flow.Manifest.HandleAsync, ObjectLayout.Mapped(flow.Batch, 2)));
            var task = LayoutJson.Deserialize<MergePlan>(await flow.Store.GetBytesAsync(ObjectLayout.Plan(flow.Batch), 1 << 20), "plan").Tasks[0];
            await flow.Store.DeleteAsync(ObjectLayout.RunFile(flow.Batch, 2, task.Instance));
            Assert.Equal("failed", await OutcomeAsync(flow.Merge.HandleAsync, task.Key));
            Assert.Equal("failed", await OutcomeAsync(flow.Manifest.HandleAsync, ObjectLayout.MergeFailed(flow.Batch, task.Instance, task.Range)));
        }),
    ];

    public static TheoryData<string, string, string> S3Grants()
    {
        var grants = new TheoryData<string, string, string>();
        foreach (var function in Template.FunctionNames)
        {
            foreach (var grant in Template.PolicyOf(function).Grants().Where(g => g.Action.StartsWith("s3:", StringComparison.OrdinalIgnoreCase)))
            {
                grants.Add(function, grant.Action, grant.Resource);
            }
        }

        return grants;
    }

    [Fact]
    public async Task Every_flow_passes_under_the_template_policies()
    {
        Assert.Null(await FirstFailureAsync(Template.PolicyOf));
    }

    [Theory]
    [MemberData(nameof(S3Grants))]
    public async Task Every_s3_grant_in_the_template_is_needed_by_some_flow_of_its_function(string function, string action, string resource)
    {
        var reduced = Template.PolicyOf(function).Without(new IamGrant(action, resource));

        var failure = await FirstFailureAsync(name => name == function ? reduced : Template.PolicyOf(name));

        Assert.True(failure is not null, $"no flow of {function} needs {action} on {resource}: template.yaml grants more than the handler uses");
        output.WriteLine($"{function} without {action} on {resource}: '{failure.Value.Flow}' fails: {failure.Value.Error}");
        // S3 reports a missing s3:ListBucket as a denied GET of the missing key.
        Assert.Contains(action == S3Actions.ListBucket ? $"when {action} on the bucket is not granted" : $"access denied to {action}", failure.Value.Error, StringComparison.Ordinal);
    }

    /// <summary>
    /// Issue 17's bug as it was deployed: the merge role could read objects but not list the bucket, so S3 answered its
    /// look-up of the missing merged record with 403. The merge gives up at once with a failure record naming the object
    /// and the permission, and the batch fails without an ingest instead of stopping with nothing recorded.
    /// </summary>
    [Fact]
    public async Task Without_list_bucket_every_merge_is_denied_its_missing_record_and_the_batch_fails_naming_it_with_no_ingest()
    {
        IamPolicy PolicyOf(string name) => name == nameof(MergeFunction) ? Template.PolicyOf(name).Without(S3Actions.ListBucket) : Template.PolicyOf(name);
        await using var flow = new FlowFixture(shards: 3, policyOf: PolicyOf);
        var router = flow.Router(new LocalEventRouterOptions { RetryDelay = TimeSpan.FromMilliseconds(10) });

        var result = await flow.RunUntilResultAsync(router);

        Assert.Equal(BatchResult.Failed, result?.Status);
        Assert.Empty(router.DeadLetters);
        var failures = await flow.Store.ListAsync(ObjectLayout.FailedFolder(flow.Batch)).ToListAsync();
        Assert.NotEmpty(failures);
        foreach (var failed in failures)
        {
            var record = LayoutJson.Deserialize<FailedRecord>(await flow.Store.GetBytesAsync(failed.Key, 1 << 20), failed.Key);
            Assert.True(ObjectLayout.TryParseTask(record.Source.Key, out var batch, out var instance, out var range), record.Source.Key);
            Assert.StartsWith($"s3://{FlowFixture.BucketName}/{ObjectLayout.Merged(batch, instance, range)}: access denied to s3:GetObject", record.Reason, StringComparison.Ordinal);
            Assert.Contains("s3:ListBucket on the bucket", record.Reason, StringComparison.Ordinal);
        }

        Assert.Contains(flow.LogLines, l => l.Contains("GAVE UP", StringComparison.Ordinal));
        Assert.Empty(flow.Pika.Ingests);
        Assert.Empty(await flow.Store.ListAsync(ObjectLayout.ManifestsPrefix).ToListAsync());
        Assert.Empty(await flow.Store.ListAsync(ObjectLayout.SstFolder(flow.Batch)).ToListAsync());
        Assert.Empty(await flow.Store.ListAsync(ObjectLayout.MergedFolder(flow.Batch)).ToListAsync());
    }

    private static async Task<(string Flow, string Error)?> FirstFailureAsync(Func<string, IamPolicy> policyOf)
    {
        foreach (var (name, shards, run) in Flows)
        {
            // A role that may not delete a lease leaves it behind; the retry takes it over soon instead of after 15 minutes.
            await using var flow = new FlowFixture(shards, policyOf: policyOf, leaseTimeout: TimeSpan.FromSeconds(2));
            string? error = null;
            try
            {
                await run(flow);
            }
            catch (Exception e)
            {
                error = e.Message;
            }

            // A denied request is permanent: the function gives up with a failure record, which a flow may not notice.
            var gaveUp = flow.LogLines.Where(l => l.Contains("GAVE UP", StringComparison.Ordinal)).ToList();
            if (error is not null || gaveUp.Count > 0)
            {
                var denials = flow.LogLines.Where(l => l.Contains("access denied", StringComparison.Ordinal)).Distinct().Take(3);
                return (name, string.Join(" | ", [error ?? "a function gave up", .. denials]));
            }
        }

        return null;
    }

    /// <summary>A handler that threw was retried by the router (Lambda) and may have succeeded later; under the right policy none throws.</summary>
    private static void RequireNoFailedInvocation(FlowFixture flow, LocalEventRouter router)
    {
        Assert.Empty(router.DeadLetters);
        Assert.DoesNotContain(flow.LogLines, l => l.Contains("failed (attempt", StringComparison.Ordinal));
    }

    /// <summary>Runs an invocation while a lease it needs is held, as by a duplicate racing it, and releases the lease once the invocation waits for it.</summary>
    private static async Task WhileLeaseIsHeldAsync(FlowFixture flow, string lease, Func<Task<string>> invoke, string outcome)
    {
        static int Waits(FlowFixture flow) => flow.LogLines.Count(l => l.Contains("another invocation is working on this", StringComparison.Ordinal));
        var waitsBefore = Waits(flow);
        await flow.Store.PutBytesAsync(lease, Encoding.UTF8.GetBytes(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)));
        var invocation = invoke();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!invocation.IsCompleted && Waits(flow) == waitsBefore)
        {
            await Task.Delay(20, deadline.Token);
        }

        await flow.Store.DeleteAsync(lease);
        Assert.Equal(outcome, await invocation);
    }

    private static async Task<string> OutcomeAsync(Func<Stream, Task<Stream>> handler, string key)
    {
        using var reply = await handler(new MemoryStream(FlowFixture.EventFor(key)));
        return JsonDocument.Parse(reply).RootElement.GetProperty("results")[0].GetProperty("outcome").GetString()!;
    }
}

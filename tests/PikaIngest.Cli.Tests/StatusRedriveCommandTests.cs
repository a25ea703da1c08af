using System.Text.Json;
using PikaIngest.Core.Layout;
using PikaIngest.Core.Pipeline;

namespace PikaIngest.Cli.Tests;

/// <summary><c>pika-ingest status</c> and <c>redrive</c> as processes, on a folder store whose batch lost a shard's event, with a real pika-node.</summary>
public sealed class StatusRedriveCommandTests : IDisposable
{
    private const string Batch = "b1";

    private readonly TempFolder _temp = new();
    private NodeProcess? _node;

    private string StoreRoot => _temp["store"];

    private string Bucket => Path.Combine(StoreRoot, "local");

    public void Dispose()
    {
        _node?.Dispose();
        _temp.Dispose();
    }

    /// <summary>Three shards uploaded; the SST function ran on shards 1 and 3 only: the event of shard 2 was lost.</summary>
    private void BatchWithALostShardEvent()
    {
        var mock = ProcessRunner.PikaIngest("mock", "--size", "600K", "--max-file-size", "200K", "--out", Bucket, "--batch", Batch, "--seed", "7");
        Assert.True(mock.ExitCode == 0, mock.ToString());
        foreach (var seq in new[] { 1, 3 })
        {
            var eventFile = _temp[$"event-{seq}.json"];
            File.WriteAllBytes(eventFile, S3Event.Create("local", ObjectLayout.Shard(Batch, seq), 0, null, DateTimeOffset.UtcNow));
            var invoke = ProcessRunner.PikaIngest("invoke", "sst", "--event", eventFile, "--store", "file://" + StoreRoot);
            Assert.True(invoke.ExitCode == 0, invoke.ToString());
        }
    }

    [Fact]
    public void Status_names_the_shard_whose_event_was_lost_and_redrive_completes_the_batch_on_a_real_node()
    {
        BatchWithALostShardEvent();

        var moving = ProcessRunner.PikaIngest("status", "--store", Bucket);
        var stalled = ProcessRunner.PikaIngest("status", "--store", Bucket, "--stall-after", "0");
        var detail = ProcessRunner.PikaIngest("status", "--store", Bucket, "--batch", Batch, "--stall-after", "0", "--json");

        Assert.True(moving.ExitCode == 0, moving.ToString());
        Assert.Contains("in progress: map", moving.Stdout, StringComparison.Ordinal);
        Assert.True(stalled.ExitCode == 1, stalled.ToString());
        Assert.Contains("STALLED at map", stalled.Stdout, StringComparison.Ordinal);
        Assert.Contains($"{Batch}: missing: shard 000002 has no mapped record ({ObjectLayout.Mapped(Batch, 2)})", stalled.Stdout, StringComparison.Ordinal);
        Assert.Equal(1, detail.ExitCode);
        var status = JsonDocument.Parse(detail.Stdout).RootElement[0];
        Assert.Equal("stalled", status.GetProperty("state").GetString());
        Assert.Equal(2, status.GetProperty("shardsMapped").GetInt32());
        Assert.Equal(ObjectLayout.Shard(Batch, 2), status.GetProperty("pendingShards")[0].GetString());

        var dryRun = ProcessRunner.PikaIngest("redrive", "--store", Bucket, "--batch", Batch, "--stall-after", "0", "--dry-run");

        Assert.True(dryRun.ExitCode == 0, dryRun.ToString());
        Assert.Contains($"would re-issue 1 event(s) of batch {Batch} (STALLED at map):\n  {ObjectLayout.Shard(Batch, 2)}\n", dryRun.Stdout, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(Bucket, ObjectLayout.Mapped(Batch, 2))), "a dry run changes nothing");

        _node = NodeProcess.Start(_temp["node"], StoreRoot);
        var redrive = ProcessRunner.PikaIngest("redrive", "--store", Bucket, "--batch", Batch, "--stall-after", "0", "--pika", _node.Endpoint);

        Assert.True(redrive.ExitCode == 0, redrive.ToString());
        Assert.Contains($"batch {Batch} is now ingested", redrive.Stdout, StringComparison.Ordinal);
        var verify = ProcessRunner.PikaIngest("verify", "--source", Bucket, "--node", _node.Endpoint, "--sample", "200");
        Assert.True(verify.ExitCode == 0, verify.ToString());
        var done = ProcessRunner.PikaIngest("status", "--store", Bucket, "--batch", Batch, "--json");
        Assert.True(done.ExitCode == 0, done.ToString());
        Assert.Equal("ingested", JsonDocument.Parse(done.Stdout).RootElement[0].GetProperty("state").GetString());

        var again = ProcessRunner.PikaIngest("redrive", "--store", Bucket, "--batch", Batch, "--stall-after", "0", "--pika", _node.Endpoint);
        Assert.Equal(1, again.ExitCode);
        Assert.Contains("nothing to redrive", again.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_batch_is_a_one_line_error()
    {
        Directory.CreateDirectory(Bucket);

        var status = ProcessRunner.PikaIngest("status", "--store", Bucket, "--batch", "nope");
        var redrive = ProcessRunner.PikaIngest("redrive", "--store", Bucket, "--batch", "nope", "--dry-run");

        Assert.Equal(2, status.ExitCode);
        Assert.StartsWith($"error: {Bucket}: no object of batch nope", status.Stderr, StringComparison.Ordinal);
        Assert.Equal(2, redrive.ExitCode);
        Assert.StartsWith($"error: {Bucket}: no object of batch nope", redrive.Stderr, StringComparison.Ordinal);
    }
}

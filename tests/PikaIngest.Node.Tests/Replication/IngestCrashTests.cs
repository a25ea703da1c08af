using System.Net;
using System.Net.Sockets;
using System.Text;
using PikaIngest.Core.Formats;
using PikaIngest.Node.Binlog;
using PikaIngest.Node.Ingest;
using PikaIngest.Node.Tests.Support;
using PikaIngest.Node.UnitTests.Support;

namespace PikaIngest.Node.Tests.Replication;

/// <summary>
/// A master or a slave killed (SIGKILL, from a test-only fault point) at each step of an ingest finishes the batch
/// when it starts again: both end with the batch's exact contents, the batch applied once, and one INGEST_SST item
/// in each binlog.
/// </summary>
[Collection(ReplicationProcesses.Name)]
public sealed class IngestCrashTests : IDisposable
{
    private const string Bucket = "local";
    private const string FaultVariable = "PIKA_NODE_INGEST_FAULT";
    private readonly string _root = Path.Combine(Path.GetTempPath(), "pika-node-crash-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    private string Store => Path.Combine(_root, "store");

    private string MasterData => Path.Combine(_root, "master");

    private string SlaveData => Path.Combine(_root, "slave");

    private static readonly IReadOnlyList<IReadOnlyList<TestRecord>> Shards =
    [
        .. Enumerable.Range(0, 3).Select(s => (IReadOnlyList<TestRecord>)[.. Enumerable.Range(s * 300, 500).Select(i => new TestRecord($"user:{i}", $"shard {s} value {i}", i % 7 == 0 ? 4_102_444_800 : 0))]),
    ];

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static Dictionary<string, string> Fault(string? step) => step is null ? [] : new() { [FaultVariable] = step };

    private Task<NodeProcess> StartMasterAsync(int port, string? fault = null) =>
        NodeProcess.StartAsync(MasterData, Fault(fault), "--port", Repl.Text(port), "--object-store", "file://" + Store);

    private Task<NodeProcess> StartSlaveAsync(int masterPort, string? fault = null) =>
        NodeProcess.StartAsync(SlaveData, Fault(fault), "--object-store", "file://" + Store, "--slaveof", "127.0.0.1", Repl.Text(masterPort));

    private static string ExpectedDigest()
    {
        var digest = new LogicalDigest();
        foreach (var record in TestBatch.Expected(Shards).Values)
        {
            digest.Add(Encoding.UTF8.GetBytes(record.Key), Encoding.UTF8.GetBytes(record.Value), record.ExpireUnixSeconds * 1000);
        }

        return "$" + digest.ToHex();
    }

    /// <summary>INGEST_SST items of <paramref name="batch"/> in a data folder's binlog, from its first file.</summary>
    private static int IngestItems(string dataFolder, string batch)
    {
        var folder = Path.Combine(dataFolder, "log_db0");
        using var reader = BinlogReader.Open(folder, new BinlogPosition(BinlogFiles.List(folder).Min(), 0));
        var count = 0;
        while (reader.TryRead(out var item) == BinlogReadStatus.Item)
        {
            count += item.Type == BinlogItemType.IngestSst && IngestSstRecord.Decode(item.Content.Span).BatchId == batch ? 1 : 0;
        }

        return count;
    }

    private static int AppliedRecords(string dataFolder, string batch) =>
        File.ReadLines(Path.Combine(dataFolder, "ingest", "applied.jsonl")).Count(l => l.Contains($"\"batchId\":\"{batch}\"", StringComparison.Ordinal));

    private static async Task AssertConvergedAsync(NodeProcess master, NodeProcess slave, string masterData, string slaveData)
    {
        await Repl.WaitCaughtUpAsync(master, slave);
        var expected = ExpectedDigest();
        Assert.Equal(expected, await Repl.CallAsync(master, "DEBUG", "DIGEST"));
        Assert.Equal(expected, await Repl.CallAsync(slave, "DEBUG", "DIGEST"));
        foreach (var data in (string[])[masterData, slaveData])
        {
            Assert.Equal(1, IngestItems(data, "b1"));
            Assert.Equal(1, AppliedRecords(data, "b1"));
            Assert.Empty(Directory.Exists(Path.Combine(data, "ingest", "intents")) ? Directory.GetFiles(Path.Combine(data, "ingest", "intents")) : []);
        }
    }

    /// <summary>Starts the master with a fault point and sends INGEST_S3, which the fault point cuts short.</summary>
    private async Task KillMasterDuringIngestAsync(int port, string manifest, string step)
    {
        await using var dying = await StartMasterAsync(port, step);
        try
        {
            await Repl.CallAsync(port, TimeSpan.FromSeconds(30), "INGEST_S3", Bucket, manifest);
        }
        catch (IOException)
        {
            // The connection drops when the process dies: that is the point.
        }

        await dying.WaitForExitAsync(TimeSpan.FromSeconds(30));
        Assert.True(dying.HasExited, $"the fault point {step} should have killed the master");
    }

    [Theory]
    [InlineData("after-verify")]
    [InlineData("after-instance-0")]
    [InlineData("after-last-instance")]
    [InlineData("after-binlog")]
    [InlineData("after-applied")]
    public async Task A_master_killed_at_a_step_of_an_ingest_finishes_the_batch_when_it_restarts_and_its_slave_converges(string step)
    {
        var manifest = await TestBatch.BuildAsync(Store, Bucket, "b1", Shards, 3);
        var port = FreePort();
        await using var slaveless = await StartMasterAsync(port, step);
        await using var slave = await StartSlaveAsync(port);
        await Repl.WaitForAsync("the slave is linked", async () => Repl.Field(await Repl.InfoAsync(slave), "master_link_status") == "up", slaveless, slave);

        // The master dies in the middle of the command: the client sees the connection drop, not +OK.
        try
        {
            Assert.NotEqual("+OK", await Repl.CallAsync(port, TimeSpan.FromSeconds(30), "INGEST_S3", Bucket, manifest));
        }
        catch (IOException)
        {
        }

        await slaveless.WaitForExitAsync(TimeSpan.FromSeconds(30));
        Assert.True(slaveless.HasExited, "the fault point should have killed the master");

        await using var master = await StartMasterAsync(port);
        Assert.Equal("+OK", await Repl.CallAsync(master, "INGEST_S3", Bucket, manifest)); // what the manifest function's retry sends
        await AssertConvergedAsync(master, slave, MasterData, SlaveData);
    }

    [Theory]
    [InlineData("after-verify")]
    [InlineData("after-instance-1")]
    [InlineData("after-last-instance")]
    [InlineData("after-binlog")]
    [InlineData("after-applied")]
    public async Task A_slave_killed_at_a_step_of_its_replay_finishes_the_batch_when_it_restarts(string step)
    {
        var manifest = await TestBatch.BuildAsync(Store, Bucket, "b1", Shards, 3);
        var port = FreePort();
        await using var master = await StartMasterAsync(port);
        await using var dying = await StartSlaveAsync(port, step);
        await Repl.WaitForAsync("the slave is linked", async () => Repl.Field(await Repl.InfoAsync(dying), "master_link_status") == "up", master, dying);

        Assert.Equal("+OK", await Repl.CallAsync(master, "INGEST_S3", Bucket, manifest));
        await dying.WaitForExitAsync(TimeSpan.FromSeconds(60));
        Assert.True(dying.HasExited, "the fault point should have killed the slave");

        await using var slave = await StartSlaveAsync(port);
        await AssertConvergedAsync(master, slave, MasterData, SlaveData);
    }

    [Fact]
    public async Task A_damaged_intent_stops_the_node_from_starting_until_it_is_discarded_by_name()
    {
        var manifest = await TestBatch.BuildAsync(Store, Bucket, "b1", Shards, 3);
        var port = FreePort();
        await KillMasterDuringIngestAsync(port, manifest, "after-instance-0");

        var intent = Path.Combine(MasterData, "ingest", "intents", "b1" + IngestIntents.Suffix);
        var bytes = File.ReadAllBytes(intent);
        bytes[20] ^= 0x20;
        File.WriteAllBytes(intent, bytes);

        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => StartMasterAsync(port));
        Assert.Contains(intent, refused.Message, StringComparison.Ordinal);
        Assert.Contains("torn or damaged", refused.Message, StringComparison.Ordinal);
        Assert.Contains("--discard-ingest-intent b1", refused.Message, StringComparison.Ordinal);

        await using var master = await NodeProcess.StartAsync(MasterData, "--port", Repl.Text(port), "--object-store", "file://" + Store, "--discard-ingest-intent", "b1");
        Assert.Equal("+OK", await Repl.CallAsync(master, "INGEST_S3", Bucket, manifest));
        Assert.Equal(ExpectedDigest(), await Repl.CallAsync(master, "DEBUG", "DIGEST"));
        Assert.Equal(1, IngestItems(MasterData, "b1"));
    }

    [Fact]
    public async Task Staged_files_lost_with_a_crash_are_fetched_again_and_a_node_that_cannot_fetch_them_serves_with_the_batch_reported_and_data_refused()
    {
        var manifest = await TestBatch.BuildAsync(Store, Bucket, "b1", Shards, 3);
        var port = FreePort();
        await KillMasterDuringIngestAsync(port, manifest, "after-instance-0");

        var staging = Path.Combine(MasterData, "ingest", "staging");
        Directory.Delete(staging, recursive: true);
        var manifestJson = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(Store, Bucket, manifest)))!;
        var instance2 = manifestJson["files"]!.AsArray().First(f => (int)f!["instance"]! == 2)!["key"]!.GetValue<string>();
        var objectPath = Path.Combine(Store, Bucket, instance2);
        File.Move(objectPath, objectPath + ".away");

        await using (var held = await StartMasterAsync(port))
        {
            await AssertHeldAsync(held, $"needs {instance2} for instance 2, which is neither staged nor fetchable intact");
        }

        File.Move(objectPath + ".away", objectPath);
        await using var master = await StartMasterAsync(port);
        Assert.Equal(ExpectedDigest(), await Repl.CallAsync(master, "DEBUG", "DIGEST"));
        Assert.Equal("+OK", await Repl.CallAsync(master, "INGEST_S3", Bucket, manifest));
        Assert.Equal(1, IngestItems(MasterData, "b1"));
        Assert.Equal(1, AppliedRecords(MasterData, "b1"));
    }

    /// <summary>
    /// Issue 18 item 2: a staged file that changes underneath after the intent (here: replaced by random bytes while
    /// instance 0 holds its files) is a permanent refusal. The batch is held, not retried forever with the gate
    /// closed: INGEST_S3 says so, data commands are refused with the batch and the safe command, the node restarts
    /// and opens its port, and once the file can be had intact again a restart finishes the batch.
    /// </summary>
    [Fact]
    public async Task A_staged_file_corrupted_after_the_intent_holds_the_batch_unfinished_and_a_restart_finishes_it_once_the_file_is_intact()
    {
        var manifest = await TestBatch.BuildAsync(Store, Bucket, "b1", Shards, 3);
        var port = FreePort();
        var manifestJson = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(Store, Bucket, manifest)))!;
        var instance1 = manifestJson["files"]!.AsArray().Select((f, i) => (File: f!, Index: i)).First(x => (int)x.File["instance"]! == 1);
        var objectPath = Path.Combine(Store, Bucket, instance1.File["key"]!.GetValue<string>());

        await using (var master = await StartMasterAsync(port, "pause-after-instance-0"))
        {
            var ingest = Repl.CallAsync(port, TimeSpan.FromSeconds(120), "INGEST_S3", Bucket, manifest);
            var marker = Path.Combine(MasterData, "ingest", "paused");
            await Repl.WaitForAsync("instance 0 is in", () => Task.FromResult(File.Exists(marker)), master);

            // A new file under the staged name: the bucket's object (which the staged name was linked to) stays intact.
            var staged = Directory.GetFiles(Path.Combine(MasterData, "ingest", "staging"), $"{instance1.Index:D6}.sst", SearchOption.AllDirectories).Single();
            File.Delete(staged);
            File.WriteAllBytes(staged, System.Security.Cryptography.RandomNumberGenerator.GetBytes(5000));
            File.Delete(marker);

            var reply = await ingest;
            Assert.StartsWith("-ERR batch b1 is unfinished: could not ingest the files of instance 1", reply, StringComparison.Ordinal);
            Assert.Contains("a permanent refusal", reply, StringComparison.Ordinal);
            await AssertHeldAsync(master, "could not ingest the files of instance 1");

            // Until a restart, this object is also what a restart would find: moved away, the node must still start.
            File.Move(objectPath, objectPath + ".away");
        }

        await using (var held = await StartMasterAsync(port))
        {
            await AssertHeldAsync(held, "neither staged nor fetchable intact");
        }

        File.Move(objectPath + ".away", objectPath);
        await using var finished = await StartMasterAsync(port);
        Assert.Equal(ExpectedDigest(), await Repl.CallAsync(finished, "DEBUG", "DIGEST"));
        Assert.Equal("", Repl.Field(await Repl.InfoAsync(finished, "ingest"), "ingest_unfinished"));
        Assert.Equal("+OK", await Repl.CallAsync(finished, "SET", "after", "flows"));
        Assert.Equal(1, IngestItems(MasterData, "b1"));
        Assert.Equal(1, AppliedRecords(MasterData, "b1"));
    }

    /// <summary>A node holding b1 unfinished: it answers, INFO ingest says why, reads and writes are refused with the safe command.</summary>
    private static async Task AssertHeldAsync(NodeProcess node, string why)
    {
        var unfinished = Repl.Field(await Repl.InfoAsync(node, "ingest"), "ingest_unfinished");
        Assert.StartsWith("batch b1 is unfinished: ", unfinished, StringComparison.Ordinal);
        Assert.True(unfinished.Contains(why, StringComparison.Ordinal), unfinished);
        Assert.Contains("--discard-ingest-intent b1 and repeat INGEST_S3 local manifests/b1.json", unfinished, StringComparison.Ordinal);
        Assert.Equal("+PONG", await Repl.CallAsync(node, "PING"));
        Assert.Equal("-ERR INGEST " + unfinished, await Repl.CallAsync(node, "SET", "k", "v"));
        Assert.Equal("-ERR INGEST " + unfinished, await Repl.CallAsync(node, "GET", "user:1"));
        Assert.Equal("-ERR INGEST " + unfinished, await Repl.CallAsync(node, "DBSIZE"));
        Assert.Equal("-ERR INGEST " + unfinished, await Repl.CallAsync(node, "INGEST_S3", Bucket, "manifests/b1.json"));
        Assert.Single(Directory.GetFiles(Path.Combine(node.DataFolder, "ingest", "intents")));
    }

    [Fact]
    public async Task A_disk_that_fills_during_an_ingest_holds_the_batch_until_space_returns_and_nothing_is_served_half_applied()
    {
        var manifest = await TestBatch.BuildAsync(Store, Bucket, "b1", Shards, 3);
        Directory.CreateDirectory(MasterData);
        if (!TryMountTmpfs(MasterData, "160m"))
        {
            Assert.Fail("cannot mount a tmpfs (this test needs root, as CI has)");
        }

        try
        {
            var port = FreePort();
            await using var master = await StartMasterAsync(port, "pause-after-instance-0");
            await using var slave = await StartSlaveAsync(port);
            await Repl.WaitForAsync("the slave is linked", async () => Repl.Field(await Repl.InfoAsync(slave), "master_link_status") == "up", master, slave);
            var ingest = Repl.CallAsync(port, TimeSpan.FromSeconds(120), "INGEST_S3", Bucket, manifest);
            var marker = Path.Combine(MasterData, "ingest", "paused");
            await Repl.WaitForAsync("instance 0 is in", () => Task.FromResult(File.Exists(marker)), master);

            // Instance 0 holds its files; now the disk fills, then the ingest goes on.
            var filler = Path.Combine(MasterData, "filler");
            Fill(filler);
            File.Delete(marker);
            await Repl.WaitForAsync(
                "the master says why it waits",
                async () => Repl.Field(await Repl.InfoAsync(master, "ingest"), "ingest_waiting").Contains("batch b1", StringComparison.Ordinal),
                master);
            Assert.False(ingest.IsCompleted, "INGEST_S3 must not answer while the batch is half in");
            Assert.Equal("$" + new LogicalDigest().ToHex(), await Repl.CallAsync(slave, "DEBUG", "DIGEST"));

            File.Delete(filler);
            Assert.Equal("+OK", await ingest);
            await AssertConvergedAsync(master, slave, MasterData, SlaveData);
            Assert.Equal("", Repl.Field(await Repl.InfoAsync(master, "ingest"), "ingest_waiting"));
        }
        finally
        {
            Unmount(MasterData);
        }
    }

    private static bool TryMountTmpfs(string folder, string size) => Run("mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", folder) == 0;

    private static void Unmount(string folder) => Run("umount", "-l", folder);

    private static int Run(string program, params string[] arguments)
    {
        using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(program, arguments) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        process.WaitForExit();
        return process.ExitCode;
    }

    /// <summary>Writes until the file system has no space left.</summary>
    private static void Fill(string path)
    {
        var chunk = new byte[1 << 16];
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1);
        try
        {
            while (true)
            {
                file.Write(chunk);
            }
        }
        catch (IOException)
        {
            // No space left: the point.
        }
    }
}

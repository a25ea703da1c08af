using System.Diagnostics;
using System.Text.Json.Nodes;
using PikaIngest.Node.Tests.Support;
using PikaIngest.Node.UnitTests.Support;
using Xunit.Abstractions;

namespace PikaIngest.Node.Tests.Replication;

/// <summary>
/// A master and a slave as real pika-node processes over one folder object store: ingest replay, full sync,
/// crashes and restarts on either side, a faulty link, a missing object, and a purged binlog. Every scenario
/// ends with the slave at the master's offset and the same DEBUG DIGEST on both.
/// </summary>
[Collection(ReplicationProcesses.Name)]
public sealed class ReplicationTests : IDisposable
{
    private const string Bucket = "local";
    private const string ReadOnlyError = "-READONLY You can't write against a read only replica.";

    private readonly ITestOutputHelper _output;
    private readonly string _root = Path.Combine(Path.GetTempPath(), "pika-node-repl-" + Guid.NewGuid().ToString("N"));

    public ReplicationTests(ITestOutputHelper output)
    {
        _output = output;
    }

    private string Store => Path.Combine(_root, "store");

    private string MasterData => Path.Combine(_root, "master");

    private string SlaveData => Path.Combine(_root, "slave");

    private string[] StoreArgs => ["--object-store", "file://" + Store];

    private Task<NodeProcess> StartMasterAsync(params string[] extra) => NodeProcess.StartAsync(MasterData, [.. StoreArgs, .. extra]);

    private Task<NodeProcess> StartSlaveAsync(int masterPort, params string[] extra) =>
        NodeProcess.StartAsync(SlaveData, [.. StoreArgs, "--slaveof", "127.0.0.1", Repl.Text(masterPort), .. extra]);

    /// <summary>
    /// <paramref name="shards"/> shards of <paramref name="perShard"/> records; shard s holds keys
    /// user:(s·stride)…, so neighbouring shards overlap when stride &lt; perShard and later shards win. Every
    /// 97th key has an expiry far in the future. Values are at least <paramref name="valueBytes"/> long,
    /// padded with pseudo-random letters so the SST files do not compress away.
    /// </summary>
    private static IReadOnlyList<IReadOnlyList<TestRecord>> Shards(string batch, int shards, int perShard, int stride, int valueBytes = 0) =>
    [
        .. Enumerable.Range(0, shards).Select(s =>
        {
            var random = new Random((s * 7919) + perShard);
            var pad = new char[Math.Max(0, valueBytes)];
            return (IReadOnlyList<TestRecord>)
            [
                .. Enumerable.Range(s * stride, perShard).Select(i =>
                {
                    var value = $"{batch}/{s}/{i}/";
                    if (value.Length < valueBytes)
                    {
                        for (var c = 0; c < valueBytes - value.Length; c++)
                        {
                            pad[c] = (char)('a' + random.Next(26));
                        }

                        value += new string(pad, 0, valueBytes - value.Length);
                    }

                    return new TestRecord($"user:{i}", value, i % 97 == 0 ? 4_102_444_800 : 0);
                }),
            ];
        }),
    ];

    private async Task<(string Manifest, Dictionary<string, TestRecord> Expected)> BuildAsync(string batch, IReadOnlyList<IReadOnlyList<TestRecord>> shards, long? targetFileBytes = null)
    {
        var watch = Stopwatch.StartNew();
        var manifest = await TestBatch.BuildAsync(Store, Bucket, batch, shards, 3, targetFileBytes);
        _output.WriteLine($"built batch {batch}: {shards.Sum(s => s.Count)} records in {watch.Elapsed.TotalSeconds:0.0} s");
        return (manifest, TestBatch.Expected(shards));
    }

    internal static async Task WaitSlaveOnlineAsync(NodeProcess master, NodeProcess slave) =>
        await Repl.WaitForAsync(
            $"the master lists the slave on port {slave.Port} as online",
            async () =>
            {
                var info = await Repl.InfoAsync(master);
                return info.GetValueOrDefault("connected_slaves") == "1"
                    && info.TryGetValue("slave0", out var slave0)
                    && Repl.ParseList(slave0) is var fields
                    && fields.GetValueOrDefault("port") == Repl.Text(slave.Port)
                    && fields.GetValueOrDefault("state") == "online";
            },
            master,
            slave);

    private static async Task<string> FieldAsync(NodeProcess node, string name) => Repl.Field(await Repl.InfoAsync(node), name);

    private static async Task SetManyAsync(NodeProcess node, int count, string prefix, int valueBytes = 8)
    {
        using var client = await RawClient.ConnectAsync(node.Port);
        var value = new string('v', valueBytes);
        for (var start = 0; start < count; start += 100)
        {
            var end = Math.Min(count, start + 100);
            var pipeline = new List<byte>();
            for (var i = start; i < end; i++)
            {
                pipeline.AddRange(RawClient.Encode("SET", $"{prefix}{i}", $"{i}:{value}"));
            }

            await client.SendAsync([.. pipeline]);
            for (var i = start; i < end; i++)
            {
                Assert.Equal("+OK", await client.ReadReplyAsync());
            }
        }
    }

    /// <summary>What each instance's RocksDB LOG says about ingests and compactions (the LOG outlives the process).</summary>
    private static (List<int> IngestLevels, int L0Compactions) ReadLogs(string dataFolder, int instance)
    {
        var folder = Path.Combine(dataFolder, "db0", Repl.Text(instance));
        var lines = Directory.GetFiles(folder, "LOG*").SelectMany(File.ReadLines).ToList();
        var levels = lines.Select(l => System.Text.RegularExpressions.Regex.Match(l, @"External SST file .* was ingested in L(\d+)"))
            .Where(m => m.Success).Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        return (levels, lines.Count(l => l.Contains("\"compaction_reason\": \"LevelL0FilesNum\"", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Sixteen_shard_batches_land_below_L0_each_in_one_level_on_master_and_slave_and_start_no_L0_compaction()
    {
        // Neighbouring shards share a third of their keys, so every shard's keys overlap the next one's; the second
        // batch rewrites most of the first one's keys.
        const long target = 64 << 10;
        var (first, _) = await BuildAsync("b16", Shards("b16", 16, 3000, 2000, valueBytes: 40), target);
        var (second, expected) = await BuildAsync("c16", Shards("c16", 16, 3000, 2000, valueBytes: 40), target);
        await using (var master = await StartMasterAsync())
        await using (var slave = await StartSlaveAsync(master.Port))
        {
            await WaitSlaveOnlineAsync(master, slave);
            await Repl.IngestAsync(master, first);
            await Repl.IngestAsync(master, second);
            await Repl.WaitCaughtUpAsync(master, slave);
            Assert.Equal(":" + Repl.Text(expected.Count), await Repl.CallAsync(slave, "DBSIZE"));
            Assert.Equal(await Repl.CallAsync(master, "DEBUG", "DIGEST"), await Repl.CallAsync(slave, "DEBUG", "DIGEST"));
            foreach (var node in (NodeProcess[])[master, slave])
            {
                var rocksdb = await Repl.InfoAsync(node, "rocksdb");
                Assert.Equal("0", rocksdb["total_level0_files"]);
                Assert.Equal("0", rocksdb["total_compaction_pending_bytes"]);
                Assert.Equal("0", rocksdb["total_compaction_read_bytes"]);
                Assert.Equal("0", rocksdb["total_write_stall_count"]);
            }

            // A clean stop closes RocksDB, which flushes its LOG.
            Assert.Equal(0, await slave.StopAsync());
            Assert.Equal(0, await master.StopAsync());
        }

        var manifests = new[] { first, second }.Select(m => LayoutJsonOf(m)).ToList();
        foreach (var data in (string[])[MasterData, SlaveData])
        {
            foreach (var instance in Enumerable.Range(0, 3))
            {
                var (levels, l0Compactions) = ReadLogs(data, instance);
                var inFirst = manifests[0].Files.Count(f => f.Instance == instance);
                var inSecond = manifests[1].Files.Count(f => f.Instance == instance);
                Assert.True(inFirst >= 2, $"instance {instance}: {inFirst} files; the batch should span several ranges");
                Assert.Equal(inFirst + inSecond, levels.Count);
                Assert.All(levels.Take(inFirst), level => Assert.Equal(6, level));
                var secondLevels = levels.Skip(inFirst).Distinct().ToList();
                Assert.True(secondLevels is [> 0], $"{data} instance {instance}: the second batch landed in levels {string.Join(", ", secondLevels)}");
                Assert.Equal(0, l0Compactions);
            }
        }
    }

    private Core.Layout.Manifest LayoutJsonOf(string manifestKey) =>
        Core.Layout.LayoutJson.Deserialize<Core.Layout.Manifest>(File.ReadAllBytes(Path.Combine(Store, Bucket, manifestKey)), manifestKey);

    [Fact]
    public async Task An_ingest_on_the_master_reaches_a_connected_slave_which_serves_reads_and_refuses_writes()
    {
        var (manifest, expected) = await BuildAsync("b1", Shards("b1", 3, 1000, 700));
        await using var master = await StartMasterAsync();
        await using var slave = await StartSlaveAsync(master.Port);
        await WaitSlaveOnlineAsync(master, slave);
        Assert.Equal("+OK", await Repl.CallAsync(master, "SET", "user:5", "written before the ingest"));
        Assert.Equal("+OK", await Repl.CallAsync(master, "SET", "plain", "written before the ingest"));

        await Repl.IngestAsync(master, manifest);
        await Repl.WaitCaughtUpAsync(master, slave);

        foreach (var key in (string[])["user:0", "user:5", "user:699", "user:700", "user:1000", "user:1400", "user:2399"])
        {
            Assert.Equal("$" + expected[key].Value, await Repl.CallAsync(slave, "GET", key));
        }

        Assert.Equal("$written before the ingest", await Repl.CallAsync(slave, "GET", "plain"));
        Assert.Equal("$nil", await Repl.CallAsync(slave, "GET", "user:2400"));
        Assert.Equal(await Repl.CallAsync(master, "DBSIZE"), await Repl.CallAsync(slave, "DBSIZE"));
        Assert.Equal($":{expected.Count + 1}", await Repl.CallAsync(slave, "DBSIZE"));
        Assert.Equal(await Repl.CallAsync(master, "TTL", "user:97"), await Repl.CallAsync(slave, "TTL", "user:97"));

        var digest = await Repl.DigestAsync(slave);
        Assert.Equal(ReadOnlyError, await Repl.CallAsync(slave, "SET", "user:0", "x"));
        Assert.Equal(ReadOnlyError, await Repl.CallAsync(slave, "DEL", "user:0"));
        Assert.Equal(ReadOnlyError, await Repl.CallAsync(slave, "INCR", "counter"));
        Assert.Equal(ReadOnlyError, await Repl.CallAsync(slave, "INGEST_S3", Bucket, manifest));
        Assert.Equal(digest, await Repl.DigestAsync(slave));

        var masterInfo = await Repl.InfoAsync(master);
        Assert.Equal("master", Repl.Field(masterInfo, "role"));
        Assert.Equal("1", Repl.Field(masterInfo, "connected_slaves"));
        Assert.Matches("^[0-9a-f]{40}$", Repl.Field(masterInfo, "master_run_id"));
        var slave0 = Repl.ParseList(Repl.Field(masterInfo, "slave0"));
        Assert.Equal("127.0.0.1", slave0["ip"]);
        Assert.Equal(Repl.Text(slave.Port), slave0["port"]);
        Assert.Equal("online", slave0["state"]);
        Assert.Matches(@"^\d+:\d+$", slave0["position"]);
        Assert.Matches(@"^\d+$", slave0["lag_items"]);
        var masterOffset = Repl.Field(masterInfo, "master_repl_offset");
        var masterPosition = Repl.Field(masterInfo, "binlog_position");

        var slaveInfo = await Repl.InfoAsync(slave);
        Assert.Equal("slave", Repl.Field(slaveInfo, "role"));
        Assert.Equal("127.0.0.1", Repl.Field(slaveInfo, "master_host"));
        Assert.Equal(Repl.Text(master.Port), Repl.Field(slaveInfo, "master_port"));
        Assert.Equal("up", Repl.Field(slaveInfo, "master_link_status"));
        Assert.Equal("incremental", Repl.Field(slaveInfo, "master_sync_state"));
        Assert.Equal(masterOffset, Repl.Field(slaveInfo, "slave_repl_offset"));
        Assert.Equal(masterPosition, Repl.Field(slaveInfo, "slave_position"));
        Assert.Equal("0", Repl.Field(slaveInfo, "slave_lag_items"));
        Assert.Equal("1", Repl.Field(slaveInfo, "full_syncs"));
        Assert.Equal("", Repl.Field(slaveInfo, "ingest_replay_batch"));
        Assert.Equal("", Repl.Field(slaveInfo, "ingest_replay_last_error"));

        // The master learns the slave's position from its acks, which may trail the apply by a moment.
        await Repl.WaitForAsync(
            "the master's view of the slave reaches its own position",
            async () =>
            {
                var info = await Repl.InfoAsync(master);
                var fields = Repl.ParseList(Repl.Field(info, "slave0"));
                return fields["position"] == masterPosition && fields["lag_items"] == "0";
            },
            master,
            slave);
        await Repl.WaitForAsync(
            "ROLE on the master lists the slave at the master's offset",
            async () => await Repl.CallAsync(master, "ROLE") == $"*3[$master,:{masterOffset},*1[*3[$127.0.0.1,${slave.Port},${masterOffset}]]]",
            master,
            slave);
        Assert.Equal($"*5[$slave,$127.0.0.1,:{master.Port},$connected,:{masterOffset}]", await Repl.CallAsync(slave, "ROLE"));
    }

    [Fact]
    public async Task A_slave_started_after_three_ingests_gets_a_full_sync_then_replays_the_fourth_incrementally()
    {
        var batches = new List<string>();
        for (var b = 1; b <= 4; b++)
        {
            var (manifest, _) = await BuildAsync($"b{b}", Shards($"b{b}", 3, 700, 400 + (b * 50)));
            batches.Add(manifest);
        }

        await using var master = await StartMasterAsync();
        await Repl.IngestAsync(master, batches[0]);
        await SetManyAsync(master, 300, "after-b1:");
        Assert.Equal("+OK", await Repl.CallAsync(master, "SET", "user:3", "overrides b1", "EX", "100000"));
        await Repl.IngestAsync(master, batches[1]);
        Assert.Equal(":1", await Repl.CallAsync(master, "DEL", "user:10"));
        Assert.Equal(":5", await Repl.CallAsync(master, "INCRBY", "counter", "5"));
        await Repl.IngestAsync(master, batches[2]);
        Assert.Equal("+OK", await Repl.CallAsync(master, "SET", "user:4", "overrides b3"));

        await using var slave = await StartSlaveAsync(master.Port);
        await Repl.WaitCaughtUpAsync(master, slave);
        Assert.Equal("1", await FieldAsync(slave, "full_syncs"));
        Assert.Equal("$overrides b3", await Repl.CallAsync(slave, "GET", "user:4"));
        Assert.Equal("$5", await Repl.CallAsync(slave, "GET", "counter"));
        Assert.Equal(await Repl.CallAsync(master, "DBSIZE"), await Repl.CallAsync(slave, "DBSIZE"));

        await Repl.IngestAsync(master, batches[3]);
        Assert.Equal("+OK", await Repl.CallAsync(master, "SET", "after-b4", "1"));
        await Repl.WaitCaughtUpAsync(master, slave);
        Assert.Equal("$1", await Repl.CallAsync(slave, "GET", "after-b4"));
        var info = await Repl.InfoAsync(slave);
        Assert.Equal("1", Repl.Field(info, "full_syncs"));
        Assert.Equal("incremental", Repl.Field(info, "master_sync_state"));
        Assert.Equal("up", Repl.Field(info, "master_link_status"));
    }

    [Fact]
    public async Task A_slave_killed_during_an_ingest_replay_converges_after_a_restart()
    {
        // About 50 MB of shard data, so the slave's download, verification and ingest take a moment.
        var (manifest, expected) = await BuildAsync("big", Shards("big", 8, 40_000, 30_000, valueBytes: 150));
        await using var master = await StartMasterAsync();
        await using var slave = await StartSlaveAsync(master.Port);
        await WaitSlaveOnlineAsync(master, slave);
        await SetManyAsync(master, 100, "before:");
        await Repl.WaitCaughtUpAsync(master, slave);

        var ingest = Repl.IngestAsync(master, manifest);
        var duringReplay = false;
        await Repl.WaitForAsync(
            "the slave replays the batch, or has replayed it already",
            async () =>
            {
                var info = await Repl.InfoAsync(slave);
                if (Repl.Field(info, "ingest_replay_batch") == "big")
                {
                    duringReplay = true;
                    return true;
                }

                return ingest.IsCompleted && Repl.Field(info, "slave_repl_offset") == await FieldAsync(master, "master_repl_offset");
            },
            Repl.Deadline,
            TimeSpan.FromMilliseconds(10),
            master,
            slave);
        await slave.KillAsync();
        _output.WriteLine(duringReplay ? "killed the slave during the replay" : "the replay finished before the kill");
        await ingest;
        Assert.Equal("+OK", await Repl.CallAsync(master, "SET", "after", "the kill"));

        await using var restarted = await StartSlaveAsync(master.Port);
        await Repl.WaitCaughtUpAsync(master, restarted);
        Assert.Equal($":{expected.Count + 101}", await Repl.CallAsync(restarted, "DBSIZE"));
        foreach (var key in (string[])["user:0", "user:29999", "user:30000", "user:249999"])
        {
            Assert.Equal("$" + expected[key].Value, await Repl.CallAsync(restarted, "GET", key));
        }

        Assert.Equal("$the kill", await Repl.CallAsync(restarted, "GET", "after"));
    }

    [Fact]
    public async Task A_master_restarted_on_its_port_is_found_again_and_later_writes_replicate()
    {
        var (manifest, _) = await BuildAsync("b1", Shards("b1", 3, 800, 500));
        await using var master = await StartMasterAsync();
        var port = master.Port;
        await using var slave = await StartSlaveAsync(port);
        await SetManyAsync(master, 200, "first:");
        await Repl.WaitCaughtUpAsync(master, slave);

        // Writes the slave may or may not have received when the master goes away.
        await SetManyAsync(master, 500, "last-before-stop:");
        Assert.Equal(0, await master.StopAsync());
        await Repl.WaitForAsync("the slave sees the link down", async () => await FieldAsync(slave, "master_link_status") == "down", master, slave);
        Assert.Equal("slave", await FieldAsync(slave, "role"));

        await using var again = await Repl.StartOnPortAsync(MasterData, port, StoreArgs);
        await Repl.WaitForAsync("the slave sees the link up again", async () => await FieldAsync(slave, "master_link_status") == "up", again, slave);
        await SetManyAsync(again, 300, "after-restart:");
        Assert.Equal(":3", await Repl.CallAsync(again, "INCRBY", "counter", "3"));
        await Repl.IngestAsync(again, manifest);
        Assert.Equal(":1", await Repl.CallAsync(again, "DEL", "first:0"));

        await Repl.WaitCaughtUpAsync(again, slave);
        Assert.Equal("$499:vvvvvvvv", await Repl.CallAsync(slave, "GET", "last-before-stop:499"));
        Assert.Equal("$299:vvvvvvvv", await Repl.CallAsync(slave, "GET", "after-restart:299"));
        Assert.Equal("$nil", await Repl.CallAsync(slave, "GET", "first:0"));
        Assert.Equal("$3", await Repl.CallAsync(slave, "GET", "counter"));
    }

    [Fact]
    public async Task A_full_sync_cut_half_way_resumes_from_the_bytes_already_received()
    {
        var (manifest, _) = await BuildAsync("big", Shards("big", 4, 20_000, 20_000, valueBytes: 200));
        await using var master = await StartMasterAsync();
        await Repl.IngestAsync(master, manifest);
        await using var proxy = TcpProxy.Start(master.Port);
        proxy.Delay = TimeSpan.FromMilliseconds(20);
        await using var slave = await StartSlaveAsync(proxy.Port);

        // Cut the link once the slave holds part of the copy, then let it reconnect at full speed.
        await Repl.WaitForAsync("part of the full sync to arrive", async () =>
        {
            var info = await Repl.InfoAsync(slave);
            return info.TryGetValue("full_sync_bytes", out var bytes) && long.Parse(bytes, System.Globalization.CultureInfo.InvariantCulture) > 2_000_000;
        }, TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(20), master, slave);
        var received = Repl.Number(await Repl.InfoAsync(slave), "full_sync_bytes");
        proxy.CutAll();
        proxy.Delay = TimeSpan.Zero;

        await Repl.WaitCaughtUpAsync(master, slave);
        Assert.Equal(1, Repl.Number(await Repl.InfoAsync(slave), "full_syncs"));
        var resumed = System.Text.RegularExpressions.Regex.Match(master.Log, @"resumed, (\d+) bytes already there");
        Assert.True(resumed.Success, "the master did not resume the full sync:\n" + Repl.Tail(master));
        Assert.True(long.Parse(resumed.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) >= received, $"resumed from {resumed.Groups[1].Value} bytes; {received} had arrived before the cut");
    }

    [Fact]
    public async Task A_link_cut_and_delayed_by_a_proxy_during_writes_and_an_ingest_still_ends_equal()
    {
        var (manifest, _) = await BuildAsync("b1", Shards("b1", 3, 1000, 700));
        await using var master = await StartMasterAsync();
        await using var proxy = TcpProxy.Start(master.Port);
        await using var slave = await StartSlaveAsync(proxy.Port);
        await SetManyAsync(master, 100, "seed:");
        await Repl.WaitCaughtUpAsync(master, slave);

        var writer = Task.Run(async () =>
        {
            using var client = await RawClient.ConnectAsync(master.Port);
            for (var i = 0; i < 5000; i++)
            {
                if (i == 2500)
                {
                    await client.SendCommandAsync("INGEST_S3", Bucket, manifest);
                    Assert.Equal("+OK", await client.ReadReplyAsync(Repl.Deadline));
                }

                var reply = i % 3 == 0
                    ? await client.CallAsync("INCR", $"counter:{i % 7}")
                    : await client.CallAsync("SET", $"user:{i * 13 % 2600}", $"w{i}");
                Assert.True(reply is "+OK" || reply.StartsWith(':'), $"write {i}: {reply}");
            }
        });

        var deadline = DateTime.UtcNow + Repl.Deadline;
        var round = 0;
        var cutRounds = 0;
        while (!writer.IsCompleted || cutRounds < 4)
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"only {cutRounds} rounds with a cut in {Repl.Deadline.TotalSeconds} s, writer done: {writer.IsCompleted}\n" + await Repl.DescribeAsync(master, slave));
            }

            await Task.Delay(150 + (round % 3 * 100));
            proxy.Delay = round % 2 == 0 ? TimeSpan.FromMilliseconds(3) : TimeSpan.Zero;
            if (round % 4 == 3)
            {
                proxy.Paused = true;
                await Task.Delay(400);
                proxy.Paused = false;
            }

            if (proxy.CutAll() > 0)
            {
                cutRounds++;
            }

            round++;
        }

        await writer;
        proxy.Delay = TimeSpan.Zero;
        proxy.Paused = false;
        _output.WriteLine($"{round} rounds, {cutRounds} with a cut, {proxy.Accepted} connections through the proxy");

        await Repl.WaitCaughtUpAsync(master, slave);
        Assert.True(proxy.Accepted >= 2, "the slave must have reconnected through the proxy");

        // The last cut may have come after the slave caught up: it reconnects with backoff.
        await Repl.WaitForAsync("the link to come back up", async () => await FieldAsync(slave, "master_link_status") == "up", master, slave);
        Assert.Equal(await Repl.CallAsync(master, "GET", "counter:3"), await Repl.CallAsync(slave, "GET", "counter:3"));
    }

    [Fact]
    public async Task A_slave_missing_an_object_keeps_retrying_that_batch_reports_it_and_converges_once_it_is_back()
    {
        var (first, _) = await BuildAsync("b1", Shards("b1", 3, 600, 400));
        var (second, _) = await BuildAsync("b2", Shards("b2", 3, 600, 300));
        await using var master = await StartMasterAsync();
        await using (var slave = await StartSlaveAsync(master.Port))
        {
            await Repl.IngestAsync(master, first);
            await Repl.WaitCaughtUpAsync(master, slave);
            Assert.Equal(0, await slave.StopAsync());
        }

        await Repl.IngestAsync(master, second);
        Assert.Equal("+OK", await Repl.CallAsync(master, "SET", "after-b2", "written after the ingest"));
        var manifest = JsonNode.Parse(await File.ReadAllBytesAsync(Path.Combine(Store, Bucket, second)))!;
        var missingKey = (string)manifest["files"]![0]!["key"]!;
        var missingPath = Path.Combine(Store, Bucket, missingKey);
        var aside = Path.Combine(_root, "aside.sst");
        File.Move(missingPath, aside);

        await using var restarted = await StartSlaveAsync(master.Port);
        var masterDigest = await Repl.DigestAsync(master);
        Dictionary<string, string> stuck = [];
        await Repl.WaitForAsync(
            $"the slave reports that it cannot fetch {missingKey} and retries",
            async () =>
            {
                stuck = await Repl.InfoAsync(restarted);
                return Repl.Field(stuck, "ingest_replay_batch") == "b2"
                    && Repl.Number(stuck, "ingest_replay_attempts") >= 2
                    && Repl.Field(stuck, "ingest_replay_last_error").Contains(Path.GetFileName(missingKey), StringComparison.Ordinal);
            },
            master,
            restarted);
        _output.WriteLine("while stuck: ingest_replay_last_error:" + stuck["ingest_replay_last_error"]);

        // Nothing after the batch is applied before it: the slave never skips a record.
        Assert.NotEqual(masterDigest, await Repl.DigestAsync(restarted));
        Assert.Equal("$nil", await Repl.CallAsync(restarted, "GET", "after-b2"));
        Assert.NotEqual(await FieldAsync(master, "master_repl_offset"), await FieldAsync(restarted, "slave_repl_offset"));

        File.Move(aside, missingPath);
        await Repl.WaitCaughtUpAsync(master, restarted);
        var info = await Repl.InfoAsync(restarted);
        Assert.True(
            Repl.Field(info, "ingest_replay_last_error").Length == 0 || Repl.Field(info, "ingest_replay_batch") != "b2",
            "after converging the slave must not still report b2 as failing:\n" + string.Join('\n', info.Select(kv => $"{kv.Key}:{kv.Value}")));
        Assert.Equal("0", Repl.Field(info, "full_syncs"));
        Assert.Equal("$written after the ingest", await Repl.CallAsync(restarted, "GET", "after-b2"));
    }

    [Fact]
    public async Task Writes_on_the_master_while_an_ingest_runs_replicate_in_the_same_order()
    {
        var (manifest, _) = await BuildAsync("b1", Shards("b1", 3, 1000, 700));
        await using var master = await StartMasterAsync();
        await using var slave = await StartSlaveAsync(master.Port);
        await WaitSlaveOnlineAsync(master, slave);

        using var stop = new CancellationTokenSource();
        var written = 0;
        var writer = Task.Run(async () =>
        {
            using var client = await RawClient.ConnectAsync(master.Port);
            for (var n = 0; !stop.IsCancellationRequested; n++)
            {
                // Keys the batch also writes, so the order of the writes around the ingest decides the result.
                var key = $"user:{n * 7 % 3000}";
                var reply = (n % 10) switch
                {
                    3 => await client.CallAsync("DEL", key),
                    7 => await client.CallAsync("APPEND", key, "+"),
                    9 => await client.CallAsync("INCR", "writes"),
                    _ => await client.CallAsync("SET", key, $"writer {n}"),
                };
                Assert.True(reply is "+OK" || reply.StartsWith(':'), $"write {n}: {reply}");
                Interlocked.Increment(ref written);
            }
        });

        await Repl.WaitForAsync("the writer is under way", () => Task.FromResult(Volatile.Read(ref written) >= 100 || writer.IsCompleted), master);
        var before = Volatile.Read(ref written);
        await Repl.IngestAsync(master, manifest);
        var during = Volatile.Read(ref written) - before;
        await Repl.WaitForAsync("the writer goes on after the ingest", () => Task.FromResult(Volatile.Read(ref written) >= before + during + 200 || writer.IsCompleted), master);
        await stop.CancelAsync();
        await writer;
        _output.WriteLine($"{Volatile.Read(ref written)} writes, {during} of them while INGEST_S3 ran");

        await Repl.WaitCaughtUpAsync(master, slave);
        Assert.Equal(await Repl.CallAsync(master, "GET", "writes"), await Repl.CallAsync(slave, "GET", "writes"));
        Assert.Equal(await Repl.CallAsync(master, "DBSIZE"), await Repl.CallAsync(slave, "DBSIZE"));
    }

    [Fact]
    public async Task A_slave_whose_position_was_purged_from_the_binlog_gets_a_full_sync()
    {
        await using var master = await StartMasterAsync("--binlog-file-size", "65536", "--binlog-keep-files", "2");
        await using (var slave = await StartSlaveAsync(master.Port))
        {
            await SetManyAsync(master, 100, "early:");
            await Repl.WaitCaughtUpAsync(master, slave);
            Assert.Equal(0, await slave.StopAsync());
        }

        await Repl.WaitForAsync("the master drops the stopped slave", async () => await FieldAsync(master, "connected_slaves") == "0", master);
        // About 3 MB of binlog: some 45 files of 64 KB, of which the master keeps 2 beyond the one it writes.
        await SetManyAsync(master, 3000, "bulk:", valueBytes: 1000);
        await Repl.WaitForAsync(
            "the master purges its old binlog files",
            async () => Repl.Number(await Repl.InfoAsync(master), "binlog_files") <= 4,
            master);

        await using var restarted = await StartSlaveAsync(master.Port);
        await Repl.WaitCaughtUpAsync(master, restarted);
        Assert.True(Repl.Number(await Repl.InfoAsync(restarted), "full_syncs") >= 1, "a purged position needs a full sync");
        Assert.Equal("$2999:" + new string('v', 1000), await Repl.CallAsync(restarted, "GET", "bulk:2999"));
        Assert.Equal("$0:vvvvvvvv", await Repl.CallAsync(restarted, "GET", "early:0"));

        Assert.Equal("+OK", await Repl.CallAsync(master, "SET", "after", "the full sync"));
        await Repl.WaitCaughtUpAsync(master, restarted);
        Assert.Equal("$the full sync", await Repl.CallAsync(restarted, "GET", "after"));
    }

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }
}

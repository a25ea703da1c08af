using System.Globalization;
using System.Text;
using PikaIngest.Core.Layout;
using PikaIngest.Node.Tests.Support;
using PikaIngest.Node.UnitTests.Support;

namespace PikaIngest.Node.Tests;

/// <summary>The real pika-node binary driven by Debian's redis-cli: start, pipe, ingest, shut down, crash, restart.</summary>
public sealed class ProcessTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "pika-node-process-" + Guid.NewGuid().ToString("N"));

    private string Data => Path.Combine(_root, "data");

    private string Store => Path.Combine(_root, "store");

    private static async Task<string> Cli(NodeProcess node, params string[] args)
    {
        var (exit, stdout, stderr) = await RedisCli.RunAsync(node.Port, args);
        Assert.True(exit == 0, $"redis-cli {string.Join(' ', args)}: exit {exit}\n{stderr}\n{node.Log}");
        return stdout.TrimEnd('\n');
    }

    [Fact]
    public async Task Redis_cli_pipes_writes_and_they_survive_shutdown_and_restart()
    {
        var commands = new StringBuilder();
        for (var i = 0; i < 20_000; i++)
        {
            commands.Append(Encoding.ASCII.GetString(RawClient.Encode("SET", $"key:{i}", $"value:{i}")));
        }

        string position;
        string digest;
        await using (var node = await NodeProcess.StartAsync(Data))
        {
            var (exit, stdout, stderr) = await RedisCli.RunAsync(node.Port, ["--pipe"], Encoding.ASCII.GetBytes(commands.ToString()));
            Assert.True(exit == 0, stdout + stderr);
            Assert.Contains("errors: 0, replies: 20000", stdout, StringComparison.Ordinal);
            Assert.Equal("20000", await Cli(node, "DBSIZE"));
            Assert.Equal("value:123", await Cli(node, "GET", "key:123"));
            digest = await Cli(node, "DEBUG", "DIGEST");
            position = Line(await Cli(node, "INFO", "server"), "binlog_position");

            await RedisCli.RunAsync(node.Port, ["SHUTDOWN"]);
            await node.WaitForExitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(0, node.ExitCode);
            Assert.Contains("pika-node stopped", node.Log, StringComparison.Ordinal);
        }

        await using (var node = await NodeProcess.StartAsync(Data))
        {
            Assert.Equal(digest, await Cli(node, "DEBUG", "DIGEST"));
            Assert.Equal(position, Line(await Cli(node, "INFO", "server"), "binlog_position"));
            Assert.Equal("OK", await Cli(node, "SET", "after", "restart"));
            Assert.NotEqual(position, Line(await Cli(node, "INFO", "server"), "binlog_position"));
            Assert.Equal(0, await node.StopAsync());
        }
    }

    /// <summary>
    /// Group commit: connections whose pipelines run in one pass share one binlog write and one WAL write, made
    /// before any of their replies. So every reply means the write is with the OS: a SIGKILL right after the
    /// last reply loses none of them. INFO stats counts the commits and the replies they covered.
    /// </summary>
    [Fact]
    public async Task Writes_acknowledged_to_many_connections_at_once_share_commits_and_survive_a_kill()
    {
        const int Connections = 16, Pipelines = 40, PerPipeline = 16;
        string digest;
        await using (var node = await NodeProcess.StartAsync(Data))
        {
            await Task.WhenAll(Enumerable.Range(0, Connections).Select(c => Task.Run(async () =>
            {
                using var client = await RawClient.ConnectAsync(node.Port);
                for (var p = 0; p < Pipelines; p++)
                {
                    var pipeline = Enumerable.Range(0, PerPipeline).SelectMany(i => RawClient.Encode("SET", $"c{c}:p{p}:{i}", $"value {c} {p} {i}")).ToArray();
                    await client.SendAsync(pipeline);
                    for (var i = 0; i < PerPipeline; i++)
                    {
                        Assert.Equal("+OK", await client.ReadReplyAsync());
                    }
                }
            })));

            var stats = await Cli(node, "INFO", "stats");
            digest = await Cli(node, "DEBUG", "DIGEST");
            await node.KillAsync();

            var commits = long.Parse(Line(stats, "group_commits"), CultureInfo.InvariantCulture);
            var replies = long.Parse(Line(stats, "group_commit_replies"), CultureInfo.InvariantCulture);
            // At least one per pipeline (one that arrives in two segments is two receives, so two replies).
            Assert.True(replies >= Connections * Pipelines, $"{replies} replies waited for a commit");
            Assert.True(commits < replies, $"{commits} commits for {replies} replies: no commit was shared");
        }

        await using (var node = await NodeProcess.StartAsync(Data))
        {
            Assert.Equal((Connections * Pipelines * PerPipeline).ToString(CultureInfo.InvariantCulture), await Cli(node, "DBSIZE"));
            Assert.Equal(digest, await Cli(node, "DEBUG", "DIGEST"));
            Assert.Equal("value 15 39 15", await Cli(node, "GET", "c15:p39:15"));
            Assert.Equal(0, await node.StopAsync());
        }
    }

    [Fact]
    public async Task A_torn_binlog_tail_after_a_crash_is_cut_and_the_node_starts()
    {
        await using (var node = await NodeProcess.StartAsync(Data))
        {
            for (var i = 0; i < 10; i++)
            {
                await Cli(node, "SET", $"k{i}", "v");
            }

            await node.KillAsync();
        }

        var binlog = Path.Combine(Data, "log_db0", "write2file0");
        var intact = new FileInfo(binlog).Length;
        // Half of an item: a fragment header promising 100 bytes, and only 20 of them.
        await File.AppendAllBytesAsync(binlog, [100, 0, 0, 1, 2, 3, 4, 1, .. new byte[20]]);

        await using (var node = await NodeProcess.StartAsync(Data))
        {
            Assert.Contains("torn tail", node.Log, StringComparison.Ordinal);
            Assert.Equal(intact, new FileInfo(binlog).Length);
            Assert.Equal("10", await Cli(node, "DBSIZE"));
            Assert.Equal("OK", await Cli(node, "SET", "after", "crash"));
            Assert.Equal(0, await node.StopAsync());
        }
    }

    [Fact]
    public async Task Ingest_through_redis_cli_and_sigterm_stops_cleanly()
    {
        IReadOnlyList<IReadOnlyList<TestRecord>> shards =
        [
            [.. Enumerable.Range(0, 1000).Select(i => new TestRecord($"user:{i}", $"first {i}"))],
            [.. Enumerable.Range(500, 1000).Select(i => new TestRecord($"user:{i}", $"second {i}"))],
        ];
        var manifest = await TestBatch.BuildAsync(Store, "local", "proc-b1", shards, 3);
        await using var node = await NodeProcess.StartAsync(Data, "--object-store", "file://" + Store);

        Assert.Equal("OK", await Cli(node, "INGEST_S3", "local", manifest));
        Assert.Equal("1500", await Cli(node, "DBSIZE"));
        Assert.Equal("first 10", await Cli(node, "GET", "user:10"));
        Assert.Equal("second 700", await Cli(node, "GET", "user:700"));
        Assert.Equal("OK", await Cli(node, "INGEST_S3", "local", manifest));
        Assert.Contains("ingest_batches_repeated:1", await Cli(node, "INFO", "ingest"), StringComparison.Ordinal);
        Assert.StartsWith("ERR bucket 'elsewhere' is not allowed", await Cli(node, "INGEST_S3", "elsewhere", manifest), StringComparison.Ordinal);

        Assert.Equal(0, await node.StopAsync());
        Assert.Contains("shutting down: SIGTERM", node.Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Info_rocksdb_gives_every_instances_levels_and_compaction_state_and_their_totals()
    {
        IReadOnlyList<IReadOnlyList<TestRecord>> shards =
        [
            [.. Enumerable.Range(0, 1000).Select(i => new TestRecord($"user:{i}", $"first {i}"))],
            [.. Enumerable.Range(500, 1000).Select(i => new TestRecord($"user:{i}", $"second {i}"))],
        ];
        var manifestKey = await TestBatch.BuildAsync(Store, "local", "info-b1", shards, 3);
        var manifest = LayoutJson.Deserialize<Manifest>(await File.ReadAllBytesAsync(Path.Combine(Store, "local", manifestKey)), manifestKey);
        await using var node = await NodeProcess.StartAsync(Data, "--object-store", "file://" + Store);
        Assert.Equal("OK", await Cli(node, "INGEST_S3", "local", manifestKey));

        var info = await Cli(node, "INFO", "rocksdb");

        Assert.StartsWith("# RocksDB\r\n", info, StringComparison.Ordinal);
        var fields = info.Split('\n').Select(l => l.TrimEnd('\r').Split(':')).Where(f => f.Length == 2)
            .Select(f => (Name: f[0], Value: long.Parse(f[1], System.Globalization.CultureInfo.InvariantCulture))).ToList();
        string[] names =
        [
            .. Enumerable.Range(0, 7).SelectMany(level => new[] { $"level{level}_files", $"level{level}_bytes" }),
            "compaction_pending", "compaction_pending_bytes", "num_running_compactions", "compaction_read_bytes",
            "compaction_write_bytes", "write_stall_count", "write_stop_count", "write_stall_micros", "write_stopped",
        ];
        Assert.Equal([.. Enumerable.Range(0, 3).SelectMany(i => names.Select(n => $"db0_{i}_{n}")), .. names.Select(n => $"total_{n}")], fields.Select(f => f.Name));
        long Field(string name) => fields.Single(f => f.Name == name).Value;
        long Levels(string prefix, string what) => Enumerable.Range(0, 7).Sum(level => Field($"{prefix}level{level}_{what}"));
        Assert.All(names, name => Assert.Equal(Enumerable.Range(0, 3).Sum(i => Field($"db0_{i}_{name}")), Field($"total_{name}")));

        // Two files per instance stay below the compaction trigger: every ingested file is in the tree, as it was built.
        for (var i = 0; i < 3; i++)
        {
            var files = manifest.Files.Where(f => f.Instance == i).ToList();
            Assert.Equal(files.Count, Levels($"db0_{i}_", "files"));
            Assert.Equal(files.Sum(f => f.Size), Levels($"db0_{i}_", "bytes"));
        }

        Assert.Equal(0, Field("total_write_stopped"));
        Assert.DoesNotContain("# RocksDB", await Cli(node, "INFO"), StringComparison.Ordinal);
        Assert.Contains("# RocksDB", await Cli(node, "INFO", "all"), StringComparison.Ordinal);
        Assert.Equal(0, await node.StopAsync());
    }

    [Fact]
    public async Task A_pipeline_of_commands_run_on_the_event_thread_and_on_the_pool_is_executed_and_answered_in_order()
    {
        // The real binary runs short commands on the socket's event thread and moves the others (DBSIZE, KEYS) to the
        // pool; every reply still reflects all the writes before it, in the pipeline's order.
        await using var node = await NodeProcess.StartAsync(Data);
        using var client = await RawClient.ConnectAsync(node.Port);
        const int Rounds = 300;
        var pipeline = new List<byte>();
        for (var i = 0; i < Rounds; i++)
        {
            pipeline.AddRange(RawClient.Encode("SET", $"k{i}", $"v{i}"));
            pipeline.AddRange(RawClient.Encode("DBSIZE"));
            pipeline.AddRange(RawClient.Encode("INCR", "count"));
            pipeline.AddRange(RawClient.Encode("KEYS", $"k{i}"));
            pipeline.AddRange(RawClient.Encode("GET", $"k{i}"));
        }

        await client.SendAsync([.. pipeline]);
        for (var i = 0; i < Rounds; i++)
        {
            Assert.Equal("+OK", await client.ReadReplyAsync());
            Assert.Equal($":{(i == 0 ? 1 : i + 2)}", await client.ReadReplyAsync());
            Assert.Equal($":{i + 1}", await client.ReadReplyAsync());
            Assert.Equal($"*1[$k{i}]", await client.ReadReplyAsync());
            Assert.Equal($"$v{i}", await client.ReadReplyAsync());
        }

        Assert.Equal(0, await node.StopAsync());
    }

    [Fact]
    public async Task The_block_cache_is_sized_by_a_flag_that_config_get_reports()
    {
        await using var node = await NodeProcess.StartAsync(Data, "--block-cache-mb", "64");
        Assert.Equal("block-cache-mb\n64", await Cli(node, "CONFIG", "GET", "block-cache-mb"));
        Assert.Contains("capacity : 67108864", await File.ReadAllTextAsync(Path.Combine(Data, "db0", "0", "LOG")), StringComparison.Ordinal);
        Assert.Equal(0, await node.StopAsync());
    }

    [Fact]
    public async Task Bad_flags_and_a_busy_port_fail_with_a_clear_message()
    {
        await using var first = await NodeProcess.StartAsync(Data);
        var busy = await Assert.ThrowsAsync<InvalidOperationException>(() => NodeProcess.StartAsync(Path.Combine(_root, "other"), "--port", first.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Contains("cannot listen", busy.Message, StringComparison.Ordinal);
        await first.StopAsync();

        var instances = await Assert.ThrowsAsync<InvalidOperationException>(() => NodeProcess.StartAsync(Data, "--instances", "2"));
        Assert.Contains("holds 3 instances but --instances is 2", instances.Message, StringComparison.Ordinal);
        var threads = await Assert.ThrowsAsync<InvalidOperationException>(() => NodeProcess.StartAsync(Data, "--io-threads", "0"));
        Assert.Contains("--io-threads must be 1-64", threads.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new string[0], 1)]
    [InlineData(new[] { "--io-threads", "3" }, 3)]
    public async Task Io_threads_sets_how_many_socket_event_threads_serve_the_connections(string[] flags, int expected)
    {
        await using var node = await NodeProcess.StartAsync(Data, flags);
        var clients = new List<RawClient>();
        for (var i = 0; i < 8; i++)
        {
            clients.Add(await RawClient.ConnectAsync(node.Port));
            Assert.Equal("+OK", await clients[^1].CallAsync("SET", $"k{i}", "v"));
        }

        Assert.Equal(expected, node.ThreadNames.Count(name => name == ".NET Sockets"));
        clients.ForEach(client => client.Dispose());
    }

    [Fact]
    public async Task A_node_given_a_parent_pid_stops_cleanly_when_that_process_dies()
    {
        using var parent = System.Diagnostics.Process.Start("sleep", "300");
        await using var node = await NodeProcess.StartAsync(Data, "--parent-pid", parent.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));

        // Past a few of the once-a-second checks, a living parent keeps the node up.
        await Task.Delay(TimeSpan.FromSeconds(3.5));
        Assert.Equal("OK", await Cli(node, "SET", "k", "v"));
        Assert.DoesNotContain("shutting down", node.Log, StringComparison.Ordinal);

        parent.Kill();
        await node.WaitForExitAsync(TimeSpan.FromSeconds(20));

        Assert.Equal(0, node.ExitCode);
        Assert.Contains($"shutting down: parent process {parent.Id} exited", node.Log, StringComparison.Ordinal);
        Assert.Contains("pika-node stopped", node.Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_parent_pid_that_is_not_running_is_refused_at_start()
    {
        using var gone = System.Diagnostics.Process.Start("true");
        await gone.WaitForExitAsync();

        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => NodeProcess.StartAsync(Data, "--parent-pid", gone.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)));

        Assert.Contains($"--parent-pid {gone.Id}: no such process", refused.Message, StringComparison.Ordinal);
    }

    private static string Line(string info, string name) =>
        info.Split('\n').Select(l => l.TrimEnd('\r')).Single(l => l.StartsWith(name + ":", StringComparison.Ordinal))[(name.Length + 1)..];

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }
}

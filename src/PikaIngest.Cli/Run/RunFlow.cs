using System.Diagnostics;
using System.Globalization;
using System.Text;
using PikaIngest.Cli.Commands;
using PikaIngest.Core.Formats;
using PikaIngest.Core.Layout;
using PikaIngest.Core.Mock;
using PikaIngest.Core.Pipeline;
using PikaIngest.Core.Storage;
using PikaIngest.Functions;

namespace PikaIngest.Cli.Run;

/// <summary>
/// <c>pika-ingest run</c>: the whole flow on one machine — nodes (started as children, or existing ones), a batch
/// (mock or the user's shards) placed in the store, the SST and manifest functions driven by the local event
/// emulation (or deployed ones), INGEST_S3 on the master, replay on every slave, and a verification of every
/// node against the batch's expected contents. Prints a stage table; exit 0 only when verification passed.
/// </summary>
internal sealed class RunFlow(RunOptions options)
{
    private const string LocalBucket = "local";

    /// <summary>Exit code after Ctrl-C, as shells report a SIGINT death.</summary>
    private const int Interrupted = 130;
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);
    private readonly List<NodeChild> _children = [];
    private readonly Stopwatch _total = Stopwatch.StartNew();
    private string _work = "";
    private IReadOnlyList<string> _shardSources = [];

    public async Task<int> RunAsync(CancellationToken cancellation)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        deadline.CancelAfter(options.Timeout);
        var token = deadline.Token;
        _work = Path.GetFullPath(options.Work ?? Path.Combine(Path.GetTempPath(), "pika-ingest-run-" + Guid.NewGuid().ToString("N")[..8]));
        // The folder is removed at the end: never take one that holds anything already.
        if (Directory.Exists(_work) && Directory.EnumerateFileSystemEntries(_work).Any())
        {
            throw new IOException($"--work {_work} is not empty: give a new or empty folder (the run removes it when done)");
        }

        Directory.CreateDirectory(_work);
        Say($"work folder {_work}");
        var outcome = "failed";
        try
        {
            var exit = await RunStagesAsync(token).ConfigureAwait(false);
            outcome = exit == CliErrors.Ok ? "succeeded" : "failed";
            return exit;
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            outcome = "interrupted";
            Console.Error.WriteLine("interrupted: stopping the nodes this run started");
            return Interrupted;
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            throw new TimeoutException($"the run did not finish within {options.Timeout.TotalSeconds:0} s (--timeout)");
        }
        finally
        {
            await StopChildrenAsync().ConfigureAwait(false);
            // A failed run keeps its logs and data for a look; a finished or interrupted one cleans up unless told otherwise.
            if (options.Keep || (outcome == "failed" && Directory.EnumerateFileSystemEntries(_work).Any()))
            {
                Say($"run {outcome}; kept {_work} (shards, store, node data and logs)");
            }
            else
            {
                Directory.Delete(_work, recursive: true);
            }
        }
    }

    private async Task<int> RunStagesAsync(CancellationToken token)
    {
        var (provider, bucket) = OpenStore();
        var store = provider.Bucket(bucket);
        await CheckStoreAsync(store, token).ConfigureAwait(false);
        var folder = provider as LocalFolderStoreProvider;
        var (master, slaves, fresh) = await StartOrReachNodesAsync(folder is null ? "s3" : "file://" + folder.Root, bucket, token).ConfigureAwait(false);

        var shardsRoot = folder is null ? Path.Combine(_work, "shards") : Path.Combine(folder.Root, bucket);
        var batch = PrepareBatch(shardsRoot, out var dataBytes, out var table);
        var batchFolder = Path.Combine(shardsRoot, "incoming", batch.BatchId);

        // The expected contents come from the shards alone; work them out while the pipeline runs.
        var expected = Task.Run(() => Timed(() => VerifyCommand.Expected(shardsRoot, [batch.BatchId], options.Sample, seed: 1, out _)), token);

        if (provider is not LocalFolderStoreProvider)
        {
            var uploading = Stopwatch.StartNew();
            await UploadCommand.UploadAsync(batchFolder, store, 4, token).ConfigureAwait(false);
            table.AddData("upload", uploading.Elapsed, $"to {store.Location}");
        }

        var pipeline = await RunPipelineAsync(provider, store, batch, master, token).ConfigureAwait(false);
        if (pipeline.Failed is { } failure)
        {
            Console.Error.WriteLine($"error: batch {batch.BatchId} was not ingested: {failure}");
            return CliErrors.PartialFailure;
        }

        var functions = $"({options.Functions.ToString().ToLowerInvariant()} functions)";
        if (pipeline.Merges > 0)
        {
            table.AddData("map", pipeline.Convert, $"{Shards(batch.Shards)} -> sorted runs, one per shard and instance {functions}");
            table.AddData("merge", pipeline.Merge, $"{pipeline.Merges} key ranges -> {pipeline.SstFiles} non-overlapping SST files, {Sizes.Format(pipeline.SstBytes)}");
        }
        else
        {
            table.AddData("convert", pipeline.Convert, $"{Shards(batch.Shards)} -> {pipeline.SstFiles} SST files, {Sizes.Format(pipeline.SstBytes)} {functions}");
        }

        if (options.Functions == FunctionsMode.Local)
        {
            table.Add("manifest", pipeline.Manifest, null, $"last SST to INGEST_S3 sent: manifests/{batch.BatchId}.json");
            table.AddData("ingest on master", pipeline.Ingest, $"INGEST_S3 round trip on {master}");
        }
        else
        {
            table.AddData("manifest + ingest on master", pipeline.Manifest + pipeline.Ingest, $"last SST to result recorded, INGEST_S3 {pipeline.Ingest.TotalMilliseconds:0} ms on {master}");
        }

        foreach (var slave in slaves)
        {
            var lag = await WaitForSlaveAsync(master, slave, pipeline.MasterOffset, token).ConfigureAwait(false);
            var (own, detail) = SlaveIngest(slave);
            table.AddData("ingest on slave", own, $"{slave}: {detail}; had the batch {lag.TotalSeconds:0.00} s after the master's +OK");
        }

        var (contents, computing) = await expected.ConfigureAwait(false);
        var verifying = Stopwatch.StartNew();
        var failures = VerifyCommand.CheckNodes([.. slaves.Prepend(master)], options.Password, contents, options.Sample, wholeDatabase: fresh, line => Say("verify " + line));

        table.Add("verify", verifying.Elapsed, null, (fresh ? $"{contents.Count:N0} keys: DEBUG DIGEST and " : "existing data: ") +
            $"{Math.Min(options.Sample, contents.Count)} sampled values on {slaves.Count + 1} node(s); expected contents from the shards in {computing.TotalSeconds:0.00} s alongside");
        Console.WriteLine();
        Console.Write(table.Render(_total.Elapsed));
        Console.WriteLine();
        if (failures > 0)
        {
            Console.Error.WriteLine($"error: {failures} node(s) differ from batch {batch.BatchId}'s expected contents");
            return CliErrors.PartialFailure;
        }

        Say($"ok: batch {batch.BatchId} verified on {string.Join(", ", slaves.Prepend(master))}");
        return CliErrors.Ok;
    }

    private (IObjectStoreProvider Provider, string Bucket) OpenStore()
    {
        if (options.Store is null)
        {
            return (new LocalFolderStoreProvider(Path.Combine(_work, "store")), LocalBucket);
        }

        var (bucket, prefix) = ObjectStores.ParseS3Location(options.Store);
        if (prefix.Length > 0)
        {
            throw new ArgumentException($"--store {options.Store}: the functions' triggers work on the bucket's root (incoming/, state/); give s3://bucket without a prefix");
        }

        return (ObjectStores.OpenProvider("s3"), bucket);
    }

    private static async Task CheckStoreAsync(IObjectStore store, CancellationToken token)
    {
        try
        {
            await store.ListAsync(ObjectLayout.ResultsPrefix, token).GetAsyncEnumerator(token).MoveNextAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (CliErrors.IsStoreFailure(e))
        {
            throw CliErrors.StoreUnreachable(store.Location, e);
        }
    }

    /// <summary>The nodes the run works with; ones it starts read <paramref name="bucket"/> from <paramref name="storeUri"/>.</summary>
    private async Task<(string Master, List<string> Slaves, bool Fresh)> StartOrReachNodesAsync(string storeUri, string bucket, CancellationToken token)
    {
        if (options.Master is { } external)
        {
            var keysBefore = 0L;
            foreach (var endpoint in options.Slaves.Prepend(external))
            {
                using var node = RespConnection.Open(endpoint, options.Password, TimeSpan.FromSeconds(10));
                var keys = (long)node.Call("DBSIZE")!;
                keysBefore += keys;
                Say($"{(endpoint == external ? "master" : "slave")} {endpoint}: reachable, {keys:N0} keys");
            }

            return (external, [.. options.Slaves], keysBefore == 0);
        }

        string[] common = ["--instances", options.Instances.ToString(CultureInfo.InvariantCulture), "--object-store", storeUri, "--ingest-allow-bucket", bucket];
        var master = await StartChildAsync("master", [.. common, "--data", Path.Combine(_work, "master")], token).ConfigureAwait(false);
        var slave = await StartChildAsync("slave", [.. common, "--data", Path.Combine(_work, "slave"), "--slaveof", "127.0.0.1", master.Port.ToString(CultureInfo.InvariantCulture)], token).ConfigureAwait(false);
        return (master.Endpoint, [slave.Endpoint], true);
    }

    private async Task<NodeChild> StartChildAsync(string name, string[] arguments, CancellationToken token)
    {
        var child = await NodeChild.StartAsync(name, arguments, Path.Combine(_work, name + ".log"), token).ConfigureAwait(false);
        _children.Add(child);
        Say($"{name}: pika-node pid {child.ProcessId} on {child.Endpoint} (log {child.LogPath})");
        return child;
    }

    private async Task StopChildrenAsync()
    {
        foreach (var child in Enumerable.Reverse(_children))
        {
            await child.DisposeAsync().ConfigureAwait(false);
            Say($"{child.Name}: stopped");
        }

        _children.Clear();
    }

    /// <summary>Puts the batch's shards under <paramref name="root"/>/incoming/&lt;batch&gt;: mock data, or the user's shards.</summary>
    private BatchDescriptor PrepareBatch(string root, out long dataBytes, out StageTable table)
    {
        var created = DateTimeOffset.UtcNow;
        var started = Stopwatch.StartNew();
        if (options.Source is { } source)
        {
            var (descriptor, sources) = SourceBatch.Place(source, root, options.Instances, options.TargetFileBytes, MockCommand.NewBatchId(created));
            _shardSources = sources;
            dataBytes = Directory.EnumerateFiles(Path.Combine(root, "incoming", descriptor.BatchId), "*" + ObjectLayout.ShardSuffix).Sum(f => new FileInfo(f).Length);
            table = new StageTable(dataBytes);
            table.AddData("shards", started.Elapsed, $"{Shards(descriptor.Shards)} of {source}, batch {descriptor.BatchId}");
            return descriptor;
        }

        var mock = new MockOptions
        {
            TotalBytes = options.Size,
            OutputRoot = root,
            BatchId = MockCommand.NewBatchId(created),
            MaxFileSize = options.Shards is { } shards ? Math.Max(1, (options.Size + shards - 1) / shards) : 64L << 20,
            DupRatio = options.DupRatio,
            ExpireRatio = options.ExpireRatio,
            Instances = options.Instances,
            TargetFileBytes = options.TargetFileBytes,
            CreatedAt = created,
        };
        var generator = new MockGenerator(mock);
        var result = ProgressView.Run("mock", mock.TotalBytes, report => generator.Run(report));
        dataBytes = result.Bytes;
        table = new StageTable(dataBytes);
        table.AddData("mock", result.Elapsed, $"{Shards(result.Shards)}, {Sizes.Format(result.Bytes)}, {result.Records:N0} records ({result.Duplicates:N0} duplicates, {result.WithExpire:N0} expiring), batch {mock.BatchId}");
        return generator.Descriptor;
    }

    /// <summary>Stage times of the functions: convert (or map) of every shard, merge of every range (multi-shard batches), manifest, ingest.</summary>
    private sealed record PipelineOutcome(TimeSpan Convert, TimeSpan Merge, TimeSpan Manifest, TimeSpan Ingest, int Merges, int SstFiles, long SstBytes, long MasterOffset, string? Failed);

    private async Task<PipelineOutcome> RunPipelineAsync(IObjectStoreProvider provider, IObjectStore store, BatchDescriptor batch, string master, CancellationToken token)
    {
        var functionsLog = new StreamWriter(Path.Combine(_work, "functions.log")) { AutoFlush = true };
        await using var logFile = functionsLog.ConfigureAwait(false);
        void Log(string message)
        {
            lock (functionsLog)
            {
                functionsLog.WriteLine($"{DateTimeOffset.UtcNow:HH:mm:ss.fff} {message}");
            }
        }

        var started = Stopwatch.StartNew();
        var timing = new TimedIngestClient(new RedisIngestClient(master, options.Password, options.Timeout), started);
        await using var client = timing.ConfigureAwait(false);
        var lastShardDone = TimeSpan.Zero;
        var lastMergeDone = TimeSpan.Zero;
        var shardsDone = 0;
        var mergesDone = 0;
        BatchResult? result;
        if (options.Functions == FunctionsMode.Local)
        {
            var conditionalCreates = await store.SupportsConditionalCreateAsync(token).ConfigureAwait(false);
            if (!conditionalCreates)
            {
                Say($"note: {store.Location} ignores conditional writes (If-None-Match), so the manifest function runs one invocation at a time");
            }

            var concurrency = Math.Max(1, Environment.ProcessorCount);
            var stageOptions = new SstStageOptions { WorkDirectory = Path.Combine(_work, "functions") };
            var sst = new SstFunction(provider, stageOptions, Log);
            var merge = new MergeFunction(provider, stageOptions, Log);
            var manifest = new ManifestFunction(provider, timing, Log);
            var router = new LocalEventRouter(
                store,
                async (payload, _) =>
                {
                    await sst.HandleAsync(new MemoryStream(payload)).ConfigureAwait(false);
                    var done = Interlocked.Increment(ref shardsDone);
                    lock (store)
                    {
                        lastShardDone = started.Elapsed;
                    }

                    Say($"{(batch.Shards > 1 ? "map" : "convert")}: {Math.Min(done, batch.Shards)} of {batch.Shards} shards");
                },
                (payload, _) => manifest.HandleAsync(new MemoryStream(payload)),
                async (payload, _) =>
                {
                    await merge.HandleAsync(new MemoryStream(payload)).ConfigureAwait(false);
                    var done = Interlocked.Increment(ref mergesDone);
                    lock (store)
                    {
                        lastMergeDone = started.Elapsed;
                    }

                    Say($"merge: {done} key ranges");
                },
                new LocalEventRouterOptions { MaxConcurrency = concurrency, ManifestConcurrency = conditionalCreates ? null : 1, PollInterval = TimeSpan.FromMilliseconds(100), OnlyBatch = batch.BatchId },
                Log);
            result = null;
            await router.RunAsync(
                async t =>
                {
                    ThrowIfAChildDied();
                    result = await ReadResultAsync(store, batch.BatchId, t).ConfigureAwait(false);
                    return result is not null || router.DeadLetters.Count > 0;
                },
                token).ConfigureAwait(false);
            if (result is null)
            {
                var (key, error) = router.DeadLetters[0];
                throw new IngestFailedException($"the function handling {store.Location}/{key} failed every attempt: {error.Message} (log: {Path.Combine(_work, "functions.log")})");
            }
        }
        else
        {
            Say($"waiting for the deployed functions to convert and ingest batch {batch.BatchId} ({store.Location}/{ObjectLayout.Result(batch.BatchId)})");
            while ((result = await ReadResultAsync(store, batch.BatchId, token).ConfigureAwait(false)) is null)
            {
                var shardsSeen = (await SumAsync(store, ObjectLayout.DoneFolder(batch.BatchId), token).ConfigureAwait(false)).Files
                    + (await SumAsync(store, ObjectLayout.MappedFolder(batch.BatchId), token).ConfigureAwait(false)).Files;
                if (shardsSeen > shardsDone)
                {
                    shardsDone = shardsSeen;
                    lastShardDone = started.Elapsed;
                    Say($"{(batch.Shards > 1 ? "map" : "convert")}: {shardsDone} of {batch.Shards} shards");
                }

                var mergesSeen = (await SumAsync(store, ObjectLayout.MergedFolder(batch.BatchId), token).ConfigureAwait(false)).Files;
                if (mergesSeen > mergesDone)
                {
                    mergesDone = mergesSeen;
                    lastMergeDone = started.Elapsed;
                    Say($"merge: {mergesDone} key ranges");
                }

                await Task.Delay(TimeSpan.FromSeconds(1), token).ConfigureAwait(false);
            }
        }

        var finished = started.Elapsed;
        if (result.Status != BatchResult.Succeeded)
        {
            var shards = result.FailedShards ?? [];
            return new PipelineOutcome(finished, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero, 0, 0, 0, 0,
                $"{shards.Count} failure(s): " + string.Join("; ", shards.Take(5).Select(s => $"{s.Describe()}{(s.Task is null ? SourceOf(s.Shard) : "")}: {s.Reason}")));
        }

        var (files, bytes) = await SumAsync(store, ObjectLayout.SstFolder(batch.BatchId), token).ConfigureAwait(false);
        using var masterConnection = RespConnection.Open(master, options.Password, TimeSpan.FromSeconds(30));
        var offset = InfoNumber(masterConnection, "replication", "master_repl_offset") ?? 0;
        Say($"ingest: {master} answered {result.Reply} for batch {batch.BatchId}");
        var merging = mergesDone > 0 ? lastMergeDone - lastShardDone : TimeSpan.Zero;
        var converted = lastShardDone + merging;
        if (options.Functions == FunctionsMode.Local)
        {
            var ingestStart = timing.Started ?? finished;
            return new PipelineOutcome(lastShardDone, merging, ingestStart - converted, timing.Elapsed, mergesDone, files, bytes, offset, null);
        }

        // Deployed: the function recorded its INGEST_S3 round trip in the result; the rest since the last merge (or shard) is the manifest's.
        var recorded = TimeSpan.FromMilliseconds(result.IngestMs ?? 0);
        return new PipelineOutcome(lastShardDone, merging, finished - converted - recorded, recorded, mergesDone, files, bytes, offset, null);
    }

    private async Task<TimeSpan> WaitForSlaveAsync(string master, string slave, long target, CancellationToken token)
    {
        var waiting = Stopwatch.StartNew();
        using var connection = RespConnection.Open(slave, options.Password, TimeSpan.FromSeconds(30));
        var reported = "";
        while (true)
        {
            var info = Info(connection, "replication");
            if (Field(info, "slave_repl_offset") is { } applied && long.Parse(applied, CultureInfo.InvariantCulture) >= target)
            {
                return waiting.Elapsed;
            }

            var problem = Field(info, "ingest_replay_last_error") is { Length: > 0 } replay ? $"ingest replay: {replay}"
                : Field(info, "master_link_status") == "down" && waiting.Elapsed > TimeSpan.FromSeconds(5) ? $"link to {master} down: {Field(info, "master_last_error")}"
                : "";
            if (problem.Length > 0 && problem != reported)
            {
                Say($"slave {slave}: {problem} (still trying)");
                reported = problem;
            }

            ThrowIfAChildDied();
            await Task.Delay(PollInterval, token).ConfigureAwait(false);
        }
    }

    /// <summary>The slave's own replay of the batch: download, verify and ingest, as its INFO ingest reports them.</summary>
    private (TimeSpan Elapsed, string Detail) SlaveIngest(string slave)
    {
        using var connection = RespConnection.Open(slave, options.Password, TimeSpan.FromSeconds(30));
        var info = Info(connection, "ingest");
        long Ms(string field) => long.TryParse(Field(info, field), NumberStyles.None, CultureInfo.InvariantCulture, out var ms) ? ms : 0;
        var (download, verify, ingest) = (Ms("ingest_last_download_ms"), Ms("ingest_last_verify_ms"), Ms("ingest_last_ingest_ms"));
        return (TimeSpan.FromMilliseconds(download + verify + ingest), $"download {download} ms, verify {verify} ms, ingest {ingest} ms");
    }

    private static async Task<BatchResult?> ReadResultAsync(IObjectStore store, string batch, CancellationToken token)
    {
        try
        {
            var key = ObjectLayout.Result(batch);
            return LayoutJson.Deserialize<BatchResult>(await store.GetBytesAsync(key, 1 << 20, token).ConfigureAwait(false), $"{store.Location}/{key}");
        }
        catch (ObjectNotFoundException)
        {
            return null;
        }
    }

    private static async Task<(int Files, long Bytes)> SumAsync(IObjectStore store, string prefix, CancellationToken token)
    {
        var (files, bytes) = (0, 0L);
        await foreach (var info in store.ListAsync(prefix, token).ConfigureAwait(false))
        {
            files++;
            bytes += info.Size;
        }

        return (files, bytes);
    }

    private static string Info(RespConnection connection, string section) => Encoding.UTF8.GetString((byte[])connection.Call("INFO", section)!);

    private static long? InfoNumber(RespConnection connection, string section, string field) =>
        Field(Info(connection, section), field) is { } text && long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : null;

    private static string? Field(string info, string field) =>
        info.Split("\r\n").FirstOrDefault(l => l.StartsWith(field + ":", StringComparison.Ordinal))?[(field.Length + 1)..];

    private string SourceOf(int shard) => shard >= 1 && shard <= _shardSources.Count ? $" (your {_shardSources[shard - 1]})" : "";

    private void ThrowIfAChildDied()
    {
        if (_children.FirstOrDefault(c => !c.IsRunning) is { } dead)
        {
            throw new InvalidOperationException(dead.ExitDescription);
        }
    }

    private static (T Value, TimeSpan Elapsed) Timed<T>(Func<T> work)
    {
        var stopwatch = Stopwatch.StartNew();
        var value = work();
        return (value, stopwatch.Elapsed);
    }

    private static string Shards(int count) => count == 1 ? "1 shard" : $"{count} shards";

    private void Say(string message) => Console.WriteLine($"{_total.Elapsed.TotalSeconds,7:0.00}s  {message}");

    /// <summary>Times the INGEST_S3 round trip the manifest function makes.</summary>
    private sealed class TimedIngestClient(RedisIngestClient inner, Stopwatch clock) : IIngestClient, IAsyncDisposable
    {
        public TimeSpan? Started { get; private set; }

        public TimeSpan Elapsed { get; private set; }

        public async Task<string> IngestAsync(string bucket, string manifestKey, CancellationToken cancellation = default)
        {
            var start = clock.Elapsed;
            var reply = await inner.IngestAsync(bucket, manifestKey, cancellation).ConfigureAwait(false);
            Started ??= start;
            Elapsed = clock.Elapsed - start;
            return reply;
        }

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}

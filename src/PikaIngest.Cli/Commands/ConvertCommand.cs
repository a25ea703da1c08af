using System.CommandLine;
using System.Diagnostics;
using PikaIngest.Core.Formats;
using PikaIngest.Core.Layout;
using PikaIngest.Core.Pipeline;
using PikaIngest.Core.Shards;
using PikaIngest.Core.Sst;
using PikaIngest.Core.Storage;

namespace PikaIngest.Cli.Commands;

/// <summary>
/// <c>pika-ingest convert</c>: local shards → SST files and records in the object layout, with the
/// functions' Core code. A one-shard batch converts straight into one SST per instance; a batch of
/// several shards is mapped into sorted runs, planned and merged into non-overlapping key ranges,
/// exactly as the SST, manifest and merge functions do it in the bucket.
/// </summary>
internal static class ConvertCommand
{
    public static Command Create()
    {
        var input = new Option<string>("--in") { Description = "A store root, an incoming/ folder, a batch folder, a folder of shard files, or one shard file", Required = true };
        var output = new Option<string?>("--out") { Description = "Store root that receives sst/ and state/ (default: the store root the shards are in, else ./out)" };
        var format = new Option<string?>("--format") { Description = "pika-v4, pika-v3.5 or raw (default: the batch descriptor's, else pika-v4)" };
        var instances = new Option<int?>("--instances") { Description = "RocksDB instances of the target (default: the batch descriptor's, else 3)" };
        var compression = new Option<string?>("--compression") { Description = "lz4, zstd or none (default: the batch descriptor's, else lz4)" };
        var sstFormatVersion = new Option<int?>("--sst-format-version") { Description = "Block-based table format_version (default 5: readable by RocksDB 6.6+)" };
        var threads = new Option<int>("--threads") { Description = "Worker threads", DefaultValueFactory = _ => Environment.ProcessorCount };
        var memory = new Option<string?>("--memory") { Description = "Memory budget for all workers (e.g. 4G); larger shards are sorted on disk" };
        var batch = new Option<string?>("--batch") { Description = "Batch id for shard files outside the layout (default: their folder's name)" };
        var temp = new Option<string?>("--temp") { Description = "Folder for spilled sorted runs (default: system temp)" };
        var targetFileSize = new Option<string?>("--target-file-size") { Description = "Size of the merged range SSTs of a multi-shard batch without a descriptor (default 256M; a descriptor's targetFileBytes wins)" };
        var command = new Command("convert", "Convert JSON shards into Pika-format SST files and records: one shard -> sst/<batch>/<seq>-<i>.sst; several -> runs, then non-overlapping sst/<batch>/i<i>-<range>.sst")
        {
            input, output, format, instances, compression, sstFormatVersion, threads, memory, batch, temp, targetFileSize,
        };
        command.SetAction(result => CliErrors.Run(() => Run(new Settings(
            result.GetValue(input)!,
            result.GetValue(output),
            result.GetValue(format) is { } f ? TargetFormats.Parse(f) : null,
            result.GetValue(instances),
            result.GetValue(compression) is { } c ? SstOptions.ParseCompression(c) : null,
            result.GetValue(sstFormatVersion),
            Math.Max(1, result.GetValue(threads)),
            result.GetValue(memory) is { } m ? Sizes.Parse(m) : null,
            result.GetValue(batch),
            result.GetValue(temp),
            result.GetValue(targetFileSize) is { } t ? Sizes.Parse(t) : null))));
        return command;
    }

    private sealed record Settings(
        string Input, string? Output, TargetFormat? Format, int? Instances, SstCompression? Compression, int? SstFormatVersion,
        int Threads, long? Memory, string? Batch, string? Temp, long? TargetFileBytes);

    /// <summary>
    /// How one batch is converted: the descriptor's settings, checked against the flags (or, for loose
    /// shards, the flags' own, as a descriptor); <see cref="Map"/> when it has several shards.
    /// </summary>
    private sealed record BatchPlan(BatchDescriptor Descriptor, TargetFormat Format, SstOptions Sst, int? DeclaredShards, bool Map)
    {
        public int Instances => Descriptor.Instances;

        public long CreatedUnixMs => Descriptor.CreatedAt.ToUnixTimeMilliseconds();
    }

    private sealed record Outcome(LocalShard Shard, ConvertResult? Result, string? Error);

    private static int Run(Settings settings)
    {
        if (settings.Batch is not null)
        {
            ObjectLayout.RequireBatchId(settings.Batch);
        }

        if (settings.Instances is < 1 or > 1024)
        {
            throw new FormatException("--instances must be between 1 and 1024");
        }

        var shards = LocalShards.Find(settings.Input, settings.Batch);
        if (shards.Count == 0)
        {
            throw new FileNotFoundException($"{settings.Input}: no shards found (expected incoming/<batch>/<seq>.jsonl or *.jsonl / *.json files)");
        }

        var outputRoot = Path.GetFullPath(settings.Output ?? DefaultOutput(shards[0]));
        EnsureWritable(outputRoot);
        var plans = shards.GroupBy(s => s.BatchId).ToDictionary(g => g.Key, g => Plan(g.Key, g.First(), g.Count(), settings));
        var concurrency = Math.Min(settings.Threads, shards.Count);
        var perShard = Math.Max(1, settings.Threads / concurrency);
        var budget = (settings.Memory ?? DefaultMemory()) / concurrency;
        var totalBytes = shards.Sum(s => new FileInfo(s.Path).Length);
        var stopwatch = Stopwatch.StartNew();
        var outcomes = ProgressView.Run("convert", totalBytes, report =>
        {
            var results = new Outcome[shards.Count];
            Parallel.For(0, shards.Count, new ParallelOptions { MaxDegreeOfParallelism = concurrency }, i =>
                results[i] = ConvertOne(shards[i], plans[shards[i].BatchId], outputRoot, budget, perShard, settings.Temp, report));
            return results;
        });
        stopwatch.Stop();

        foreach (var failed in outcomes.Where(o => o.Error is not null))
        {
            Console.Error.WriteLine($"error: {failed.Error}");
        }

        var converted = outcomes.Where(o => o.Result is not null).ToList();
        var files = converted.SelectMany(o => o.Result!.Files).ToList();
        var merges = 0;
        foreach (var (batchId, plan) in plans.Where(p => p.Value.Map))
        {
            var mapped = converted.Count(o => o.Shard.BatchId == batchId);
            if (mapped < plan.Descriptor.Shards)
            {
                Console.Error.WriteLine($"batch {batchId}: {mapped} of {plan.Descriptor.Shards} shards mapped into sorted runs; not merged");
                continue;
            }

            var merged = Merge(plan.Descriptor, outputRoot, settings.Memory ?? DefaultMemory(), settings.Threads);
            merges += merged.Count;
            files.AddRange(merged);
        }

        Console.WriteLine(
            $"converted {converted.Count} of {shards.Count} shards ({Sizes.Format(totalBytes)}, {converted.Sum(o => o.Result!.RecordsRead):N0} records, " +
            $"{converted.Sum(o => o.Result!.UniqueKeys):N0} unique keys within their shards) into {files.Count} SST files ({Sizes.Format(files.Sum(f => f.Size))})" +
            (merges > 0 ? $", {merges} of them merged key ranges," : "") +
            $" in {stopwatch.Elapsed.TotalSeconds:0.00} s: {Sizes.Rate(totalBytes, stopwatch.Elapsed)}; output {outputRoot}");
        return converted.Count == shards.Count ? CliErrors.Ok : CliErrors.PartialFailure;
    }

    /// <summary>
    /// Plans a mapped batch and merges every key range (the manifest and merge functions' work), writing the plan,
    /// the task objects and the merge records beside the SSTs. Merges run side by side as far as memory allows:
    /// each holds its range of every run in memory.
    /// </summary>
    private static List<SstFileEntry> Merge(BatchDescriptor descriptor, string outputRoot, long memory, int threads)
    {
        var store = new LocalFolderStore(outputRoot);
        var mapped = Enumerable.Range(1, descriptor.Shards)
            .Select(seq => LayoutJson.Deserialize<MappedRecord>(File.ReadAllBytes(store.PathOf(ObjectLayout.Mapped(descriptor.BatchId, seq))), ObjectLayout.Mapped(descriptor.BatchId, seq)))
            .ToList();
        var (plan, tasks) = MergePlanner.Plan(descriptor, mapped);
        AtomicFile.Write(store.PathOf(ObjectLayout.Plan(descriptor.BatchId)), LayoutJson.Serialize(plan));
        var largest = Math.Max(1, tasks.Max(t => t.Task.EstimatedBytes));
        var concurrency = (int)Math.Clamp(memory / (3 * largest), 1, threads);
        var files = new SstFileEntry[tasks.Count];
        ProgressView.Run("merge", tasks.Sum(t => t.Task.EstimatedBytes), report =>
        {
            Parallel.For(0, tasks.Count, new ParallelOptions { MaxDegreeOfParallelism = concurrency }, i =>
            {
                var (key, body, task) = tasks[i];
                AtomicFile.Write(store.PathOf(key), body);
                var stopwatch = Stopwatch.StartNew();
                var merged = RangeMerger.MergeAsync(task, store, outputRoot).GetAwaiter().GetResult();
                var record = merged.ToRecord(task, plan.Tasks[i].Sha256, stopwatch.Elapsed);
                AtomicFile.Write(store.PathOf(ObjectLayout.Merged(descriptor.BatchId, task.Instance, task.Range)), LayoutJson.Serialize(record));
                files[i] = merged.File;
                report(task.EstimatedBytes);
            });
            return files;
        });
        return [.. files];
    }

    private static string DefaultOutput(LocalShard shard) =>
        shard.DescriptorPath is { } descriptor
            ? Path.GetDirectoryName(Path.GetDirectoryName(Path.GetDirectoryName(descriptor)))!
            : Path.Combine(Environment.CurrentDirectory, "out");

    private static long DefaultMemory() => (long)(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes * 0.6);

    private static void EnsureWritable(string folder)
    {
        try
        {
            Directory.CreateDirectory(folder);
            var probe = Path.Combine(folder, $".write-probe-{Guid.NewGuid():N}");
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"{folder}: output folder is not writable ({e.Message})", e);
        }
    }

    private static BatchPlan Plan(string batch, LocalShard sample, int found, Settings settings)
    {
        if (sample.DescriptorPath is null)
        {
            var sst = new SstOptions { Compression = settings.Compression ?? SstCompression.Lz4, FormatVersion = settings.SstFormatVersion ?? SstOptions.DefaultFormatVersion };
            var format = settings.Format ?? TargetFormat.PikaV4;
            var loose = new BatchDescriptor
            {
                BatchId = batch,
                Shards = found,
                Format = format.Name(),
                Instances = settings.Instances ?? 3,
                Compression = SstOptions.CompressionName(sst.Compression),
                SstFormatVersion = sst.FormatVersion,
                CreatedAt = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()),
                TargetFileBytes = settings.TargetFileBytes,
            };
            return new BatchPlan(loose, format, sst, null, found > 1);
        }

        var descriptor = LayoutJson.Deserialize<BatchDescriptor>(File.ReadAllBytes(sample.DescriptorPath), sample.DescriptorPath);
        if (descriptor.BatchId != batch)
        {
            throw new FormatException($"{sample.DescriptorPath}: batchId '{descriptor.BatchId}' does not match its folder '{batch}'");
        }

        var declaredFormat = TargetFormats.Parse(descriptor.Format);
        var compression = SstOptions.ParseCompression(descriptor.Compression);
        Agree("--format", settings.Format?.Name(), declaredFormat.Name(), sample.DescriptorPath);
        Agree("--instances", settings.Instances?.ToString(), descriptor.Instances.ToString(), sample.DescriptorPath);
        Agree("--compression", settings.Compression is { } c ? SstOptions.CompressionName(c) : null, SstOptions.CompressionName(compression), sample.DescriptorPath);
        Agree("--sst-format-version", settings.SstFormatVersion?.ToString(), descriptor.SstFormatVersion.ToString(), sample.DescriptorPath);
        return new BatchPlan(descriptor, declaredFormat, new SstOptions { Compression = compression, FormatVersion = descriptor.SstFormatVersion }, descriptor.Shards, descriptor.Shards > 1);
    }

    /// <summary>A flag may restate the batch descriptor but not contradict it: every converter of a batch must agree.</summary>
    private static void Agree(string flag, string? given, string declared, string descriptorPath)
    {
        if (given is not null && given != declared)
        {
            throw new FormatException($"{flag} {given} contradicts {descriptorPath} ({declared})");
        }
    }

    private static Outcome ConvertOne(LocalShard shard, BatchPlan plan, string outputRoot, long budget, int parallelism, string? temp, Action<long> report)
    {
        var info = new FileInfo(shard.Path);
        var source = new SourceObject { Key = shard.SourceKey, Size = info.Length, ETag = AtomicFile.LocalETag(info) };
        try
        {
            if (plan.DeclaredShards is { } declared && shard.Seq > declared)
            {
                throw new ShardFormatException(shard.Path, 0, $"shard {shard.Seq} is beyond the {declared} shards the batch descriptor declares");
            }

            var result = ShardConverter.Convert(new ConvertRequest
            {
                ShardPath = shard.Path,
                SourceName = shard.Path,
                BatchId = shard.BatchId,
                Seq = shard.Seq,
                Format = plan.Format,
                Instances = plan.Instances,
                Sst = plan.Sst,
                CreatedUnixMs = plan.CreatedUnixMs,
                OutputRoot = outputRoot,
                MemoryBudget = budget,
                Parallelism = parallelism,
                TempDirectory = temp,
                Progress = report,
                WriteRuns = plan.Map,
            });
            var elapsedMs = (long)result.Elapsed.TotalMilliseconds;
            var (recordKey, record) = plan.Map
                ? (ObjectLayout.Mapped(shard.BatchId, shard.Seq), LayoutJson.Serialize(new MappedRecord { BatchId = shard.BatchId, Shard = shard.Seq, Source = source, RecordsRead = result.RecordsRead, UniqueKeys = result.UniqueKeys, ElapsedMs = elapsedMs, Runs = result.Runs }))
                : (ObjectLayout.Done(shard.BatchId, shard.Seq), LayoutJson.Serialize(new DoneRecord { BatchId = shard.BatchId, Shard = shard.Seq, Source = source, RecordsRead = result.RecordsRead, UniqueKeys = result.UniqueKeys, ElapsedMs = elapsedMs, Files = result.Files }));
            AtomicFile.Write(Path.Combine(outputRoot, recordKey), record);
            AtomicFile.DeleteIfExists(Path.Combine(outputRoot, ObjectLayout.Failed(shard.BatchId, shard.Seq)));
            return new Outcome(shard, result, null);
        }
        catch (ShardFormatException e)
        {
            var failed = new FailedRecord
            {
                BatchId = shard.BatchId,
                Shard = shard.Seq,
                Source = source,
                Reason = e.Message,
                Line = e.Line > 0 ? e.Line : null,
                FailedAt = DateTimeOffset.UtcNow,
            };
            AtomicFile.Write(Path.Combine(outputRoot, ObjectLayout.Failed(shard.BatchId, shard.Seq)), LayoutJson.Serialize(failed));
            AtomicFile.DeleteIfExists(Path.Combine(outputRoot, ObjectLayout.Done(shard.BatchId, shard.Seq)));
            AtomicFile.DeleteIfExists(Path.Combine(outputRoot, ObjectLayout.Mapped(shard.BatchId, shard.Seq)));
            return new Outcome(shard, null, e.Message);
        }
    }
}

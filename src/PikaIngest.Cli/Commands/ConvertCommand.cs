using System.CommandLine;
using System.Diagnostics;
using PikaIngest.Core.Formats;
using PikaIngest.Core.Layout;
using PikaIngest.Core.Shards;
using PikaIngest.Core.Sst;

namespace PikaIngest.Cli.Commands;

/// <summary><c>pika-ingest convert</c>: local shards → SST files, done and failed records in the object layout.</summary>
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
        var command = new Command("convert", "Convert JSON shards into Pika-format SST files (sst/<batch>/<seq>-<i>.sst) and completion records")
        {
            input, output, format, instances, compression, sstFormatVersion, threads, memory, batch, temp,
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
            result.GetValue(temp)))));
        return command;
    }

    private sealed record Settings(
        string Input, string? Output, TargetFormat? Format, int? Instances, SstCompression? Compression, int? SstFormatVersion,
        int Threads, long? Memory, string? Batch, string? Temp);

    /// <summary>How one batch is converted: the descriptor's settings, checked against the flags.</summary>
    private sealed record BatchPlan(TargetFormat Format, int Instances, SstOptions Sst, long CreatedUnixMs, int? DeclaredShards);

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
        var plans = shards.Select(s => s.BatchId).Distinct().ToDictionary(b => b, b => Plan(b, shards.First(s => s.BatchId == b), settings));
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
        Console.WriteLine(
            $"converted {converted.Count} of {shards.Count} shards ({Sizes.Format(totalBytes)}, {converted.Sum(o => o.Result!.RecordsRead):N0} records, " +
            $"{converted.Sum(o => o.Result!.UniqueKeys):N0} unique keys) into {files.Count} SST files ({Sizes.Format(files.Sum(f => f.Size))}) " +
            $"in {stopwatch.Elapsed.TotalSeconds:0.00} s: {Sizes.Rate(totalBytes, stopwatch.Elapsed)}; output {outputRoot}");
        return converted.Count == shards.Count ? CliErrors.Ok : CliErrors.PartialFailure;
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

    private static BatchPlan Plan(string batch, LocalShard sample, Settings settings)
    {
        if (sample.DescriptorPath is null)
        {
            return new BatchPlan(
                settings.Format ?? TargetFormat.PikaV4,
                settings.Instances ?? 3,
                new SstOptions { Compression = settings.Compression ?? SstCompression.Lz4, FormatVersion = settings.SstFormatVersion ?? SstOptions.DefaultFormatVersion },
                DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
                null);
        }

        var descriptor = LayoutJson.Deserialize<BatchDescriptor>(File.ReadAllBytes(sample.DescriptorPath), sample.DescriptorPath);
        if (descriptor.BatchId != batch)
        {
            throw new FormatException($"{sample.DescriptorPath}: batchId '{descriptor.BatchId}' does not match its folder '{batch}'");
        }

        var format = TargetFormats.Parse(descriptor.Format);
        var compression = SstOptions.ParseCompression(descriptor.Compression);
        Agree("--format", settings.Format?.Name(), format.Name(), sample.DescriptorPath);
        Agree("--instances", settings.Instances?.ToString(), descriptor.Instances.ToString(), sample.DescriptorPath);
        Agree("--compression", settings.Compression is { } c ? SstOptions.CompressionName(c) : null, SstOptions.CompressionName(compression), sample.DescriptorPath);
        Agree("--sst-format-version", settings.SstFormatVersion?.ToString(), descriptor.SstFormatVersion.ToString(), sample.DescriptorPath);
        return new BatchPlan(format, descriptor.Instances, new SstOptions { Compression = compression, FormatVersion = descriptor.SstFormatVersion }, descriptor.CreatedAt.ToUnixTimeMilliseconds(), descriptor.Shards);
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
            });
            var done = new DoneRecord
            {
                BatchId = shard.BatchId,
                Shard = shard.Seq,
                Source = source,
                RecordsRead = result.RecordsRead,
                UniqueKeys = result.UniqueKeys,
                ElapsedMs = (long)result.Elapsed.TotalMilliseconds,
                Files = result.Files,
            };
            AtomicFile.Write(Path.Combine(outputRoot, ObjectLayout.Done(shard.BatchId, shard.Seq)), LayoutJson.Serialize(done));
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
            return new Outcome(shard, null, e.Message);
        }
    }
}

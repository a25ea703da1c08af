using System.CommandLine;
using System.Diagnostics;
using PikaIngest.Core.Layout;
using PikaIngest.Core.Sst;
using PikaIngest.Core.Storage;

namespace PikaIngest.Cli.Commands;

/// <summary>
/// <c>pika-ingest upload</c>: copies a local store (or one batch of it) into a bucket in the order
/// the pipeline needs — descriptors, then shards; SSTs before the completion records that point
/// at them — with bounded concurrency, skipping objects already there with the same size and
/// SHA-256, so an interrupted upload resumes where it stopped.
/// </summary>
internal static class UploadCommand
{
    public static Command Create()
    {
        var from = new Option<string>("--from") { Description = "Local store root (holding incoming/, runs/, sst/, plans/, tasks/, state/) or one batch folder under incoming/", Required = true };
        var to = new Option<string>("--to") { Description = "s3://bucket[/prefix], file:///folder or a folder", Required = true };
        var concurrency = new Option<int>("--concurrency") { Description = "Uploads at once", DefaultValueFactory = _ => 4 };
        var command = new Command("upload", "Upload a local batch to a bucket in object-layout order; resumable") { from, to, concurrency };
        command.SetAction((result, cancellation) => CliErrors.RunAsync(() =>
            UploadAsync(result.GetValue(from)!, ObjectStores.OpenLocation(result.GetValue(to)!), Math.Max(1, result.GetValue(concurrency)), cancellation)));
        return command;
    }

    /// <summary>Local files of the store root in upload order: each stage completes before the next starts.</summary>
    public static List<List<(string Path, string Key)>> Plan(string from)
    {
        var folder = Path.GetFullPath(from);
        var root = folder;
        string? onlyBatch = null;
        if (File.Exists(Path.Combine(folder, ObjectLayout.DescriptorName)) && Path.GetFileName(Path.GetDirectoryName(folder)) == "incoming")
        {
            onlyBatch = Path.GetFileName(folder);
            root = Path.GetDirectoryName(Path.GetDirectoryName(folder))!;
        }
        else if (!Directory.Exists(Path.Combine(folder, "incoming")) && !Directory.Exists(Path.Combine(folder, "sst")))
        {
            throw new FileNotFoundException($"{from}: not a local store (no incoming/ or sst/) nor a batch folder (no _batch.json)");
        }

        List<(string, string)> Files(string relativeFolder, string pattern) =>
            Directory.Exists(Path.Combine(root, relativeFolder))
                ? Directory.EnumerateFiles(Path.Combine(root, relativeFolder), pattern, SearchOption.AllDirectories)
                    .Where(f => !f.Contains(".tmp", StringComparison.Ordinal))
                    .Select(f => (f, Path.GetRelativePath(root, f).Replace(Path.DirectorySeparatorChar, '/')))
                    .Where(x => onlyBatch is null || x.Item2.Split('/')[1] == onlyBatch || x.Item2.Split('/')[1] == onlyBatch + ".json")
                    .OrderBy(x => x.Item2, StringComparer.Ordinal)
                    .ToList()
                : [];

        return
        [
            Files("incoming", ObjectLayout.DescriptorName),
            Files("incoming", "*" + ObjectLayout.ShardSuffix),
            Files("runs", "*.run"),
            Files("sst", "*.sst"),

            // A multi-shard batch's plan and tasks before its mapped and merged records: a manifest function that
            // sees every record finds the plan's tasks in place, as the one that planned the batch left them.
            Files("plans", "*.json"),
            Files("tasks", "*.json"),
            Files("state", "*.json"),
        ];
    }

    public static async Task<int> UploadAsync(string from, IObjectStore target, int concurrency, CancellationToken cancellation)
    {
        var stages = Plan(from);
        var total = stages.Sum(s => s.Sum(f => new FileInfo(f.Path).Length));
        if (stages.All(s => s.Count == 0))
        {
            throw new FileNotFoundException($"{from}: nothing to upload");
        }

        long uploaded = 0, skipped = 0;
        var stopwatch = Stopwatch.StartNew();
        await ProgressView.RunAsync($"upload -> {target.Location}", total, async report =>
        {
            foreach (var stage in stages)
            {
                await Parallel.ForEachAsync(stage, new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = cancellation }, async (file, token) =>
                {
                    var size = new FileInfo(file.Path).Length;
                    var sha256 = ShardConverter.Sha256Hex(file.Path);
                    if (await IsPresentAsync(target, file.Key, size, sha256, token).ConfigureAwait(false))
                    {
                        Interlocked.Increment(ref skipped);
                        report(size);
                        return;
                    }

                    await target.UploadAsync(file.Key, file.Path, sha256, new Progress(report), token).ConfigureAwait(false);
                    Interlocked.Increment(ref uploaded);
                }).ConfigureAwait(false);
            }

            return 0;
        }).ConfigureAwait(false);
        Console.WriteLine($"upload: {uploaded} objects uploaded, {skipped} already present, {Sizes.Format(total)} in {stopwatch.Elapsed.TotalSeconds:0.00} s: {Sizes.Rate(total, stopwatch.Elapsed)} -> {target.Location}");
        return CliErrors.Ok;
    }

    /// <summary>Present with the same size and content: S3 objects carry our SHA-256; folder copies are hashed.</summary>
    private static async Task<bool> IsPresentAsync(IObjectStore target, string key, long size, string sha256, CancellationToken cancellation)
    {
        var head = await target.HeadAsync(key, cancellation).ConfigureAwait(false);
        if (head is null || head.Size != size)
        {
            return false;
        }

        return head.Sha256 is not null ? head.Sha256 == sha256
            : target is LocalFolderStore folder && ShardConverter.Sha256Hex(folder.PathOf(key)) == sha256;
    }

    private sealed class Progress(Action<long> report) : IProgress<long>
    {
        public void Report(long value) => report(value);
    }
}

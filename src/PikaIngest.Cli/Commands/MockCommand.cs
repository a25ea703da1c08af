using System.CommandLine;
using System.Globalization;
using PikaIngest.Core.Formats;
using PikaIngest.Core.Mock;

namespace PikaIngest.Cli.Commands;

/// <summary><c>pika-ingest mock</c>: the multi-threaded mock data generator.</summary>
internal static class MockCommand
{
    public static Command Create()
    {
        var size = new Option<string>("--size") { Description = "Total size of the batch (units K/M/G/T)", DefaultValueFactory = _ => "256M" };
        var output = new Option<string>("--out") { Description = "Store root; shards go to <out>/incoming/<batch>/", DefaultValueFactory = _ => "demo" };
        var threads = new Option<int>("--threads") { Description = "Generator threads", DefaultValueFactory = _ => Environment.ProcessorCount };
        var maxFileSize = new Option<string>("--max-file-size") { Description = "Largest shard", DefaultValueFactory = _ => "64M" };
        var dupRatio = new Option<double>("--dup-ratio") { Description = "Fraction of records that reuse an already emitted key", DefaultValueFactory = _ => 0.1 };
        var keyPrefix = new Option<string>("--key-prefix") { DefaultValueFactory = _ => "key_" };
        var keySize = new Option<int>("--key-size") { Description = "Key length including the prefix", DefaultValueFactory = _ => 16 };
        var valuePrefix = new Option<string>("--value-prefix") { DefaultValueFactory = _ => "value_" };
        var valueSize = new Option<int>("--value-size") { Description = "Average value length including the prefix", DefaultValueFactory = _ => 24 };
        var valueSizeMax = new Option<int?>("--value-size-max") { Description = "Spread value lengths uniformly up to this length (mean stays --value-size)" };
        var distribution = new Option<DuplicateDistribution>("--distribution") { Description = "Which earlier key a duplicate picks: uniform, normal or zipf", DefaultValueFactory = _ => DuplicateDistribution.Uniform };
        var expireRatio = new Option<double>("--expire-ratio") { Description = "Fraction of records with an absolute expire", DefaultValueFactory = _ => 0 };
        var expireAfter = new Option<long>("--expire-after") { Description = "Seconds after --created-at those records expire", DefaultValueFactory = _ => 3600 };
        var timestamp = new Option<TimestampTarget>("--timestamp") { Description = "Append Unix ms to keys (the batch time) or values (generation time)", DefaultValueFactory = _ => TimestampTarget.None, Arity = ArgumentArity.ZeroOrOne };
        var seed = new Option<ulong>("--seed") { Description = "Same seed and options give the same bytes", DefaultValueFactory = _ => 1 };
        var batch = new Option<string?>("--batch") { Description = "Batch id (default: UTC time plus a short random suffix)" };
        var format = new Option<string>("--format") { Description = "Target format recorded in the descriptor", DefaultValueFactory = _ => "pika-v4" };
        var instances = new Option<int>("--instances") { Description = "Target instance count recorded in the descriptor", DefaultValueFactory = _ => 3 };
        var compression = new Option<string>("--compression") { Description = "SST compression recorded in the descriptor", DefaultValueFactory = _ => "lz4" };
        var targetFileSize = new Option<string?>("--target-file-size") { Description = "Size of the merged range SSTs of a multi-shard batch, recorded in the descriptor (default 256M)" };
        var keepRuns = new Option<bool>("--keep-runs") { Description = "Record in the descriptor that the sorted runs stay after the ingest (default: removed)" };
        var createdAt = new Option<string?>("--created-at") { Description = "Batch time (ISO 8601 or Unix seconds; default now): base of expiries and key timestamps" };
        var command = new Command("mock", "Generate a batch of mock JSON-lines shards")
        {
            size, output, threads, maxFileSize, dupRatio, keyPrefix, keySize, valuePrefix, valueSize, valueSizeMax, distribution,
            expireRatio, expireAfter, timestamp, seed, batch, format, instances, compression, targetFileSize, keepRuns, createdAt,
        };
        command.SetAction(result => CliErrors.Run(() =>
        {
            var created = result.GetValue(createdAt) is { } c ? ParseTime(c) : DateTimeOffset.UtcNow;
            var options = new MockOptions
            {
                TotalBytes = Sizes.Parse(result.GetValue(size)!),
                OutputRoot = Path.GetFullPath(result.GetValue(output)!),
                BatchId = result.GetValue(batch) ?? NewBatchId(created),
                Threads = result.GetValue(threads),
                MaxFileSize = Sizes.Parse(result.GetValue(maxFileSize)!),
                DupRatio = result.GetValue(dupRatio),
                KeyPrefix = result.GetValue(keyPrefix)!,
                KeySize = result.GetValue(keySize),
                ValuePrefix = result.GetValue(valuePrefix)!,
                ValueSize = result.GetValue(valueSize),
                ValueSizeMax = result.GetValue(valueSizeMax),
                Distribution = result.GetValue(distribution),
                ExpireRatio = result.GetValue(expireRatio),
                ExpireAfterSeconds = result.GetValue(expireAfter),
                Timestamp = result.GetResult(timestamp) is { Implicit: false, Tokens.Count: 0 } ? TimestampTarget.Value : result.GetValue(timestamp),
                Seed = result.GetValue(seed),
                Format = TargetFormats.Parse(result.GetValue(format)!),
                Instances = result.GetValue(instances),
                Compression = Core.Sst.SstOptions.CompressionName(Core.Sst.SstOptions.ParseCompression(result.GetValue(compression)!)),
                CreatedAt = created,
                TargetFileBytes = result.GetValue(targetFileSize) is { } target ? Sizes.Parse(target) : null,
                KeepRuns = result.GetValue(keepRuns) ? true : null,
            };
            return Run(options);
        }));
        return command;
    }

    public static int Run(MockOptions options)
    {
        var generator = new MockGenerator(options);
        var outcome = ProgressView.Run("mock", options.TotalBytes, report => generator.Run(report));
        Console.WriteLine(
            $"mock: {outcome.Shards} shards, {Sizes.Format(outcome.Bytes)}, {outcome.Records:N0} records, {outcome.DuplicateFraction:P2} duplicates, " +
            $"{outcome.WithExpire:N0} with expire, in {outcome.Elapsed.TotalSeconds:0.00} s: {Sizes.Rate(outcome.Bytes, outcome.Elapsed)} -> {outcome.BatchFolder}");
        return CliErrors.Ok;
    }

    public static string NewBatchId(DateTimeOffset created) =>
        $"{created.UtcDateTime:yyyyMMdd'T'HHmmss'Z'}-{Random.Shared.Next(0x10000):x4}";

    private static DateTimeOffset ParseTime(string text) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            ? DateTimeOffset.FromUnixTimeSeconds(seconds)
            : DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
}

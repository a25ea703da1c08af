using System.CommandLine;
using PikaIngest.Core.Layout;
using PikaIngest.Core.Pipeline;
using PikaIngest.Core.Storage;
using PikaIngest.Functions;

namespace PikaIngest.Cli.Commands;

/// <summary>
/// <c>pika-ingest redrive</c>: re-issues the events of the stage where a batch stopped: the shard events of shards with
/// no mapped record, the task events of ranges with no merge record, or the newest state record's event when the plan
/// or the manifest is what is missing. Either runs the functions here (<c>--via handlers</c>, the default for a folder
/// store) or rewrites the trigger objects so the bucket notifies its deployed functions (<c>--via events</c>, the default for S3).
/// </summary>
internal static class RedriveCommand
{
    public static Command Create()
    {
        var store = StatusCommand.StoreOption();
        var batch = new Option<string>("--batch") { Description = "The batch to move on", Required = true };
        var dryRun = new Option<bool>("--dry-run") { Description = "Show what would be re-issued; change nothing" };
        var retryFailed = new Option<bool>("--retry-failed") { Description = "For a failed batch whose cause is fixed (e.g. a permission): remove its failure records and re-issue those events too" };
        var via = new Option<string?>("--via") { Description = "handlers: run the functions in this process; events: rewrite the trigger objects for the deployed functions (default: handlers for a folder, events for s3://)" };
        via.AcceptOnlyFromAmong("handlers", "events");
        var pika = new Option<string?>("--pika") { Description = $"With --via handlers: Pika master host:port, or none to only write the manifest (default: ${FunctionEnvironment.PikaEndpointVariable})" };
        var password = new Option<string?>("--pika-password") { Description = $"Pika password (default: ${FunctionEnvironment.PikaPasswordVariable})" };
        var stallAfter = StatusCommand.StallAfterOption();
        var command = new Command("redrive", "Re-issue the events of the stage where a batch stopped (every function is idempotent)") { store, batch, dryRun, retryFailed, via, pika, password, stallAfter };
        command.SetAction((result, cancellation) => CliErrors.RunAsync(async () =>
        {
            var id = ObjectLayout.RequireBatchId(result.GetValue(batch));
            var (stores, bucket) = OpenBucket(result.GetValue(store)!);
            var target = stores.Bucket(bucket);
            var handlers = (result.GetValue(via) ?? (stores is LocalFolderStoreProvider ? "handlers" : "events")) == "handlers";
            var environment = FunctionEnvironment.Read();
            environment = environment with
            {
                PikaEndpoint = result.GetValue(pika) ?? environment.PikaEndpoint,
                PikaPassword = result.GetValue(password) ?? environment.PikaPassword,
            };
            var ingest = handlers && !result.GetValue(dryRun) ? environment.IngestClient() : null;
            try
            {
                IEventIssuer issuer = handlers ? Handlers(stores, environment, ingest) : new RewriteEventIssuer(environment.Sst.WorkDirectory);
                var report = await new BatchRedrive(target, issuer, Log).RunAsync(
                    id,
                    new RedriveOptions { DryRun = result.GetValue(dryRun), RetryFailed = result.GetValue(retryFailed), StallAfter = TimeSpan.FromSeconds(result.GetValue(stallAfter)) },
                    cancellation).ConfigureAwait(false);
                return Report(report, handlers, result.GetValue(dryRun), manifestsOnly: environment.PikaEndpoint == FunctionEnvironment.ManifestsOnly);
            }
            finally
            {
                if (ingest is RedisIngestClient client)
                {
                    await client.DisposeAsync().ConfigureAwait(false);
                }
            }
        }));
        return command;
    }

    /// <summary>The functions address whole buckets: <c>s3://bucket</c> (no prefix), or a folder whose parent holds it as a bucket.</summary>
    private static (IObjectStoreProvider Stores, string Bucket) OpenBucket(string uri)
    {
        if (uri.StartsWith("s3://", StringComparison.OrdinalIgnoreCase))
        {
            var (bucket, prefix) = ObjectStores.ParseS3Location(uri);
            return prefix.Length == 0
                ? (S3ObjectStoreProvider.FromEnvironment(), bucket)
                : throw new ArgumentException($"'{uri}': the functions address whole buckets; give s3://{bucket} without a prefix");
        }

        if (ObjectStores.OpenLocation(uri) is not LocalFolderStore folder)
        {
            throw new ArgumentException($"'{uri}': give s3://bucket, file:///path or a folder");
        }

        var root = folder.Root.TrimEnd(Path.DirectorySeparatorChar);
        return (new LocalFolderStoreProvider(Path.GetDirectoryName(root)!), Path.GetFileName(root));
    }

    private static HandlerEventIssuer Handlers(IObjectStoreProvider stores, FunctionEnvironment environment, IIngestClient? ingest)
    {
        var sst = new SstFunction(stores, environment.Sst, Log);
        var merge = new MergeFunction(stores, environment.Sst, Log);
        var manifest = new ManifestFunction(stores, ingest, Log);
        return new HandlerEventIssuer(
            (payload, _) => sst.HandleAsync(new MemoryStream(payload)),
            (payload, _) => manifest.HandleAsync(new MemoryStream(payload)),
            (payload, _) => merge.HandleAsync(new MemoryStream(payload)));
    }

    /// <summary>
    /// Exit 0: events re-issued (or, dry run, listed) and, when the handlers ran here, the batch ingested (its manifest
    /// written, without a master). Exit 1: refused, a handler failed, or the batch still did not get there.
    /// </summary>
    private static int Report(RedriveReport report, bool handlers, bool dryRun, bool manifestsOnly)
    {
        if (report.Refused is { } why)
        {
            Console.Error.WriteLine($"not redriven: batch {report.Before.BatchId}: {why}");
            return CliErrors.PartialFailure;
        }

        Console.WriteLine($"{(dryRun ? "would re-issue" : "re-issued")} {report.Issued.Count} event(s) of batch {report.Before.BatchId} ({StatusCommand.Describe(report.Before)}):");
        foreach (var key in report.Issued)
        {
            Console.WriteLine($"  {key}");
        }

        foreach (var error in report.Errors)
        {
            Console.Error.WriteLine($"error: {error}");
        }

        var after = report.After;
        if (!dryRun)
        {
            Console.WriteLine($"batch {after.BatchId} is now {StatusCommand.Describe(after)}");
            foreach (var line in after.Failures.Select(f => $"failed: {f.What}: {f.Reason}").Concat(after.Missing.Select(m => $"missing: {m}")))
            {
                Console.WriteLine($"  {line}");
            }
        }

        var arrived = !handlers || dryRun || after.State == BatchState.Ingested || (manifestsOnly && after.Manifest);
        return report.Errors.Count == 0 && after.State != BatchState.Failed && arrived ? CliErrors.Ok : CliErrors.PartialFailure;
    }

    private static void Log(string message) => Console.Error.WriteLine($"{DateTimeOffset.UtcNow:HH:mm:ss.fff} {message}");
}

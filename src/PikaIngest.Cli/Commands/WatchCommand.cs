using System.CommandLine;
using PikaIngest.Core.Pipeline;
using PikaIngest.Core.Storage;
using PikaIngest.Functions;

namespace PikaIngest.Cli.Commands;

/// <summary>
/// <c>pika-ingest watch</c>: the S3 → Lambda wiring without Lambda, for on-premises S3-compatible
/// stores (MinIO, Ceph): polls a bucket and runs the three functions in-process on new objects.
/// </summary>
internal static class WatchCommand
{
    public static Command Create()
    {
        var store = new Option<string>("--store") { Description = "s3 (standard AWS chain, AWS_ENDPOINT_URL_S3) or file:///root", DefaultValueFactory = _ => "s3" };
        var bucket = new Option<string>("--bucket") { Description = "Bucket to watch", Required = true };
        var pika = new Option<string?>("--pika") { Description = $"Pika master host:port, or none to only write manifests for pika-ingest apply (default: ${FunctionEnvironment.PikaEndpointVariable})" };
        var password = new Option<string?>("--pika-password") { Description = $"Pika password (default: ${FunctionEnvironment.PikaPasswordVariable})" };
        var interval = new Option<double>("--interval") { Description = "Seconds between polls when idle", DefaultValueFactory = _ => 2 };
        var concurrency = new Option<int>("--concurrency") { Description = "Handler invocations at once", DefaultValueFactory = _ => 2 };
        var command = new Command("watch", "Poll a bucket and run the SST, merge and manifest functions on new objects (no Lambda needed)") { store, bucket, pika, password, interval, concurrency };
        command.SetAction((result, cancellation) => CliErrors.RunAsync(async () =>
        {
            var environment = FunctionEnvironment.Read() with { Store = result.GetValue(store)! };
            environment = environment with
            {
                PikaEndpoint = result.GetValue(pika) ?? environment.PikaEndpoint,
                PikaPassword = result.GetValue(password) ?? environment.PikaPassword,
            };
            var stores = ObjectStores.OpenProvider(environment.Store);
            var stageOptions = environment.Sst with { Parallelism = Math.Max(1, Environment.ProcessorCount / result.GetValue(concurrency)) };
            var sst = new SstFunction(stores, stageOptions, Log);
            var merge = new MergeFunction(stores, stageOptions, Log);
            var manifest = new ManifestFunction(stores, environment.IngestClient(), Log);
            var watched = stores.Bucket(result.GetValue(bucket)!);
            var conditionalCreates = await watched.SupportsConditionalCreateAsync(cancellation).ConfigureAwait(false);
            var router = new LocalEventRouter(
                watched,
                (payload, _) => sst.HandleAsync(new MemoryStream(payload)),
                (payload, _) => manifest.HandleAsync(new MemoryStream(payload)),
                (payload, _) => merge.HandleAsync(new MemoryStream(payload)),
                new LocalEventRouterOptions
                {
                    MaxConcurrency = result.GetValue(concurrency),
                    ManifestConcurrency = conditionalCreates ? null : 1,
                    PollInterval = TimeSpan.FromSeconds(result.GetValue(interval)),
                },
                Log);
            Log($"watching {stores.Location} bucket {result.GetValue(bucket)}{(conditionalCreates ? "" : " (it ignores conditional writes: manifest invocations run one at a time)")}; Ctrl-C stops");
            try
            {
                await router.RunAsync(_ => Task.FromResult(false), cancellation).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
            {
                Log("stopped");
            }

            return CliErrors.Ok;
        }));
        return command;
    }

    private static void Log(string message) => Console.WriteLine($"{DateTimeOffset.UtcNow:HH:mm:ss.fff} {message}");
}

using System.CommandLine;
using PikaIngest.Core.Storage;
using PikaIngest.Functions;

namespace PikaIngest.Cli.Commands;

/// <summary><c>pika-ingest invoke sst|merge|manifest</c>: runs a Lambda handler in-process on an S3-shaped event file.</summary>
internal static class InvokeCommand
{
    public static Command Create()
    {
        var function = new Argument<string>("function") { Description = "sst, merge or manifest" };
        function.AcceptOnlyFromAmong("sst", "merge", "manifest");
        var eventFile = new Option<string>("--event") { Description = "S3 notification event JSON (see events/)", Required = true };
        var store = new Option<string?>("--store") { Description = $"Store the event's bucket lives in: s3 or file:///root (default: ${FunctionEnvironment.StoreVariable}, else s3)" };
        var pika = new Option<string?>("--pika") { Description = $"Pika master host:port for the manifest function, or none to only write the manifest (default: ${FunctionEnvironment.PikaEndpointVariable})" };
        var password = new Option<string?>("--pika-password") { Description = $"Pika password (default: ${FunctionEnvironment.PikaPasswordVariable})" };
        var command = new Command("invoke", "Run the SST, merge or manifest function in-process on an event file, as Lambda would") { function, eventFile, store, pika, password };
        command.SetAction((result, cancellation) => CliErrors.RunAsync(async () =>
        {
            var environment = FunctionEnvironment.Read();
            environment = environment with
            {
                Store = result.GetValue(store) ?? environment.Store,
                PikaEndpoint = result.GetValue(pika) ?? environment.PikaEndpoint,
                PikaPassword = result.GetValue(password) ?? environment.PikaPassword,
            };
            var input = File.ReadAllBytes(result.GetValue(eventFile)!);
            var stores = ObjectStores.OpenProvider(environment.Store);
            var output = result.GetValue(function) switch
            {
                "sst" => await new SstFunction(stores, environment.Sst, Console.Error.WriteLine).HandleAsync(new MemoryStream(input)).ConfigureAwait(false),
                "merge" => await new MergeFunction(stores, environment.Sst, Console.Error.WriteLine).HandleAsync(new MemoryStream(input)).ConfigureAwait(false),
                _ => await new ManifestFunction(stores, environment.IngestClient(), Console.Error.WriteLine).HandleAsync(new MemoryStream(input)).ConfigureAwait(false),
            };

            using var reader = new StreamReader(output);
            Console.WriteLine(await reader.ReadToEndAsync(cancellation).ConfigureAwait(false));
            return CliErrors.Ok;
        }));
        return command;
    }
}

using System.CommandLine;
using PikaIngest.Core.StockPika;

namespace PikaIngest.Cli.Commands;

/// <summary>
/// <c>pika-ingest apply</c>: a converted batch into a stopped stock Pika, for clusters that keep stock Pika (it has
/// no ingest command): run in a maintenance window on the master and on each slave.
/// </summary>
internal static class ApplyCommand
{
    public static Command Create()
    {
        var manifest = new Option<string>("--manifest") { Description = "s3://bucket/manifests/<batch>.json, or the path of a manifest in a folder store", Required = true };
        var pikaData = new Option<string>("--pika-data") { Description = "The stopped Pika's db-path (the folder holding db0/)", Required = true };
        var instances = new Option<int>("--instances") { Description = "Pika 4's db-instance-num (3 in its stock conf); 1 for Pika 3.5", Required = true };
        var version = new Option<string>("--pika-version") { Description = "4.0.1 (any 4.0.x) or 3.5", DefaultValueFactory = _ => "4.0.1" };
        var command = new Command("apply", "Load a converted batch into a stopped stock Pika's RocksDB instances (run on the master and on each slave)")
        {
            manifest, pikaData, instances, version,
        };
        command.SetAction((result, cancellation) => CliErrors.RunAsync(async () =>
        {
            var pikaVersion = result.GetValue(version) switch
            {
                var v when v!.StartsWith("4.0", StringComparison.Ordinal) => PikaVersion.V4,
                "3.5" or "3.5.5" => PikaVersion.V35,
                var other => throw new ArgumentException($"--pika-version {other}: expected 4.0.1 (any 4.0.x) or 3.5"),
            };
            var outcome = await new StockPikaApply(Console.WriteLine)
                .RunAsync(ManifestSource.Parse(result.GetValue(manifest)!), result.GetValue(pikaData)!, result.GetValue(instances), pikaVersion, cancellation)
                .ConfigureAwait(false);
            if (outcome == ApplyOutcome.Applied)
            {
                Console.WriteLine(
                    "slaves: stop each slave and run this same apply on it before it replicates anything written after this point "
                    + "(its binlog position must equal the master's now), or let it full-sync from the master after you start it.");
            }

            return CliErrors.Ok;
        }));
        return command;
    }
}

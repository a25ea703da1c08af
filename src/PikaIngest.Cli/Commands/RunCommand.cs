using System.CommandLine;
using PikaIngest.Cli.Run;

namespace PikaIngest.Cli.Commands;

/// <summary><c>pika-ingest run</c>: the whole flow end to end, on embedded defaults or against existing S3 and nodes.</summary>
internal static class RunCommand
{
    public static Command Create()
    {
        var defaults = new RunOptions();
        var size = new Option<string>("--size") { Description = "Size of the mock batch (units K/M/G/T)", DefaultValueFactory = _ => "256M" };
        var shards = new Option<int?>("--shards") { Description = "Shards the mock batch is cut into (default: 64 MiB each)" };
        var source = new Option<string?>("--source") { Description = "Use your own shards instead of mock data: a folder of *.jsonl files, or a batch folder with _batch.json" };
        var store = new Option<string?>("--store") { Description = "s3://bucket to stage the batch in (AWS chain; AWS_ENDPOINT_URL_S3 for S3-compatible stores); default: a folder store in the work folder" };
        var functions = new Option<FunctionsMode>("--functions") { Description = "local: run the SST, merge and manifest functions here on emulated S3 events; deployed: the bucket's own Lambda triggers do it, the run watches", DefaultValueFactory = _ => FunctionsMode.Local };
        var master = new Option<string?>("--master") { Description = "An existing master's host:port (default: start a master and a slave pika-node here)" };
        var slaves = new Option<string[]>("--slave") { Description = "An existing slave's host:port to wait for and verify (repeat; with --master)" };
        var password = new Option<string?>("--password") { Description = "Password of the existing nodes" };
        var instances = new Option<int>("--instances") { Description = "RocksDB instances of the target nodes", DefaultValueFactory = _ => defaults.Instances };
        var targetFileSize = new Option<string?>("--target-file-size") { Description = "Size of the merged, non-overlapping SSTs of a multi-shard batch (default 256M)" };
        var dupRatio = new Option<double>("--dup-ratio") { Description = "Fraction of mock records that reuse an earlier key", DefaultValueFactory = _ => defaults.DupRatio };
        var expireRatio = new Option<double>("--expire-ratio") { Description = "Fraction of mock records with an expiry", DefaultValueFactory = _ => defaults.ExpireRatio };
        var sample = new Option<int>("--sample") { Description = "Keys compared value by value on every node", DefaultValueFactory = _ => defaults.Sample };
        var work = new Option<string?>("--work") { Description = "Work folder for shards, store, node data and logs (default: a new folder under the temp folder)" };
        var keep = new Option<bool>("--keep") { Description = "Keep the work folder after a successful run (a failed run always keeps it)" };
        var timeout = new Option<double>("--timeout") { Description = "Seconds the whole run may take", DefaultValueFactory = _ => defaults.Timeout.TotalSeconds };
        var command = new Command("run", "The whole flow end to end: mock, map and merge (or convert), manifest, INGEST_S3 on the master, replay on the slaves, verify")
        {
            size, shards, source, store, functions, master, slaves, password, instances, targetFileSize, dupRatio, expireRatio, sample, work, keep, timeout,
        };
        command.Validators.Add(result =>
        {
            if (result.GetValue(slaves) is { Length: > 0 } && result.GetValue(master) is null)
            {
                result.AddError("--slave needs --master: without it the run starts its own master and slave");
            }

            if (result.GetValue(functions) == FunctionsMode.Deployed && (result.GetValue(store) is null || result.GetValue(master) is null))
            {
                result.AddError("--functions deployed needs --store s3://bucket (the bucket whose triggers run the functions) and --master host:port (the master the stack's PikaEndpoint names)");
            }

            if (result.GetValue(shards) is < 1)
            {
                result.AddError("--shards must be at least 1");
            }
        });
        command.SetAction((result, cancellation) => CliErrors.RunAsync(() => new RunFlow(new RunOptions
        {
            Size = Sizes.Parse(result.GetValue(size)!),
            Shards = result.GetValue(shards),
            Source = result.GetValue(source),
            Store = result.GetValue(store),
            Functions = result.GetValue(functions),
            Master = result.GetValue(master),
            Slaves = result.GetValue(slaves) ?? [],
            Password = result.GetValue(password),
            Instances = result.GetValue(instances),
            TargetFileBytes = result.GetValue(targetFileSize) is { } target ? Sizes.Parse(target) : null,
            DupRatio = result.GetValue(dupRatio),
            ExpireRatio = result.GetValue(expireRatio),
            Sample = result.GetValue(sample),
            Work = result.GetValue(work),
            Keep = result.GetValue(keep),
            Timeout = TimeSpan.FromSeconds(result.GetValue(timeout)),
        }).RunAsync(cancellation)));
        return command;
    }
}

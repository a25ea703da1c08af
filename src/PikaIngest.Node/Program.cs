using System.CommandLine;
using PikaIngest.Node;
using PikaIngest.Node.Binlog;

var port = new Option<int>("--port") { Description = "TCP port (0: any free port, printed on start)", DefaultValueFactory = _ => 9221 };
var bind = new Option<string>("--bind") { Description = "Address to listen on", DefaultValueFactory = _ => "127.0.0.1" };
var data = new Option<string>("--data") { Description = "Data folder: db0/<i> RocksDB instances, log_db0 binlog, ingest state", DefaultValueFactory = _ => "pika-node-data" };
var instances = new Option<int>("--instances") { Description = "RocksDB instances keys are spread over (fixed once data exists)", DefaultValueFactory = _ => 3 };
var requirePass = new Option<string?>("--requirepass") { Description = "Password clients must AUTH with" };
var objectStore = new Option<string>("--object-store") { Description = "Where INGEST_S3 reads: s3 (AWS chain, AWS_ENDPOINT_URL_S3) or file:///ROOT", DefaultValueFactory = _ => "file://store" };
var allowBucket = new Option<string[]>("--ingest-allow-bucket") { Description = "A bucket INGEST_S3 may read (repeat for more; default: local)", AllowMultipleArgumentsPerToken = false };
var slaveOf = new Option<string[]>("--slaveof") { Description = "HOST PORT of a master to replicate (reserved: replication is a later release)", Arity = new ArgumentArity(2, 2), AllowMultipleArgumentsPerToken = true };
var binlogSync = new Option<string>("--binlog-sync") { Description = "always (fsync every write) or everysec", DefaultValueFactory = _ => "everysec" };
var binlogFileSize = new Option<long>("--binlog-file-size") { Description = "Bytes per binlog file before a new one starts", DefaultValueFactory = _ => 100L << 20 };
var maxClients = new Option<int>("--maxclients") { Description = "Connections accepted at once", DefaultValueFactory = _ => 10_000 };

var root = new RootCommand("pika-node: a Pika-compatible Redis-protocol server on RocksDB with INGEST_S3")
{
    port, bind, data, instances, requirePass, objectStore, allowBucket, slaveOf, binlogSync, binlogFileSize, maxClients,
};
root.SetAction(async (result, cancellation) =>
{
    var sync = result.GetValue(binlogSync) switch
    {
        "always" => BinlogSyncPolicy.Always,
        "everysec" => BinlogSyncPolicy.EverySecond,
        var other => throw new ArgumentException($"--binlog-sync must be always or everysec, not '{other}'"),
    };
    if (result.GetValue(slaveOf) is { Length: > 0 })
    {
        Console.Error.WriteLine("error: --slaveof is reserved: replication is not in this release");
        return 2;
    }

    var buckets = result.GetValue(allowBucket) is { Length: > 0 } given ? given : ["local"];
    var options = new NodeOptions
    {
        Port = result.GetValue(port),
        Bind = result.GetValue(bind)!,
        DataFolder = result.GetValue(data)!,
        Instances = result.GetValue(instances),
        RequirePass = result.GetValue(requirePass),
        ObjectStore = result.GetValue(objectStore)!,
        AllowedBuckets = new HashSet<string>(buckets, StringComparer.Ordinal),
        BinlogSync = sync,
        BinlogFileSize = result.GetValue(binlogFileSize),
        MaxClients = result.GetValue(maxClients),
    };
    return await NodeHost.RunAsync(options, cancellation).ConfigureAwait(false);
});
return await root.Parse(args).InvokeAsync();

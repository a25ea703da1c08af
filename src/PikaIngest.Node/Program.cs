using System.CommandLine;
using PikaIngest.Node;
using PikaIngest.Node.Binlog;
using PikaIngest.Node.Memory;
using PikaIngest.Node.Storage;

// A socket's completions run on the runtime's event thread rather than being queued to the thread pool, so a
// connection's pipeline is parsed, executed and answered on the thread that received it: the hop cost about a quarter
// of the node's CPU per pipelined GET, and more without pipelining (bench/node.sh). Commands that may run long move
// to the pool themselves (ClientSession).
// Read once, when the first socket is made; an explicit setting in the environment wins.
const string InlineCompletions = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";
if (Environment.GetEnvironmentVariable(InlineCompletions) is null)
{
    Environment.SetEnvironmentVariable(InlineCompletions, "1");
}

LargeBuffers.ConfigureNativeAllocator();

var port = new Option<int>("--port") { Description = "TCP port (0: any free port, printed on start)", DefaultValueFactory = _ => 9221 };
var bind = new Option<string>("--bind") { Description = "Address to listen on", DefaultValueFactory = _ => "127.0.0.1" };
var data = new Option<string>("--data") { Description = "Data folder: db0/<i> RocksDB instances, log_db0 binlog, ingest state", DefaultValueFactory = _ => "pika-node-data" };
var instances = new Option<int>("--instances") { Description = "RocksDB instances keys are spread over (fixed once data exists)", DefaultValueFactory = _ => 3 };
var blockCacheMb = new Option<int>("--block-cache-mb") { Description = "MiB of RocksDB block cache, shared by the instances", DefaultValueFactory = _ => RocksStringStore.DefaultBlockCacheMb };
var requirePass = new Option<string?>("--requirepass") { Description = "Password clients must AUTH with" };
var objectStore = new Option<string>("--object-store") { Description = "Where INGEST_S3 reads: s3 (AWS chain, AWS_ENDPOINT_URL_S3) or file:///ROOT", DefaultValueFactory = _ => "file://store" };
var allowBucket = new Option<string[]>("--ingest-allow-bucket") { Description = "A bucket INGEST_S3 may read (repeat for more; default: local)", AllowMultipleArgumentsPerToken = false };
var slaveOf = new Option<string[]>("--slaveof") { Description = "HOST PORT of a master to replicate", Arity = new ArgumentArity(2, 2), AllowMultipleArgumentsPerToken = true };
var binlogSync = new Option<string>("--binlog-sync") { Description = "always (fsync every write) or everysec", DefaultValueFactory = _ => "everysec" };
var binlogFileSize = new Option<long>("--binlog-file-size") { Description = "Bytes per binlog file before a new one starts", DefaultValueFactory = _ => 100L << 20 };
var ioThreads = new Option<int>("--io-threads") { Description = "Socket event threads that run the connections' commands (as Redis's io-threads: default 1)", DefaultValueFactory = _ => 1 };
var maxClients = new Option<int>("--maxclients") { Description = "Connections accepted at once", DefaultValueFactory = _ => 10_000 };
var masterAuth = new Option<string?>("--masterauth") { Description = "Password to AUTH with at the master" };
var binlogKeepFiles = new Option<int>("--binlog-keep-files") { Description = "Binlog files kept beyond what connected slaves still read", DefaultValueFactory = _ => 10 };
var binlogKeepBytes = new Option<long>("--binlog-keep-bytes") { Description = "Binlog bytes kept beyond what connected slaves read (0: no limit)" };
var binlogKeepSeconds = new Option<long>("--binlog-keep-seconds") { Description = "Seconds binlog files are kept beyond what connected slaves read (0: no limit)" };
var parentPid = new Option<int?>("--parent-pid") { Description = "Stop cleanly when this process exits (for supervisors that may be killed)" };
var binlogMaxFiles = new Option<int>("--binlog-max-files") { Description = "Binlog files kept at most, even if a slave still needs older ones (it then full-syncs)", DefaultValueFactory = _ => 1000 };

var maxMemory = new Option<string?>("--maxmemory") { Description = "Resident memory past which writes that may grow memory are refused with OOM (bytes, or with kb mb gb; 0: no limit; default: half the memory available)" };
var discardIntent = new Option<string[]>("--discard-ingest-intent") { Description = "Start without finishing this batch's ingest intent (repeat for more); only when it cannot be finished: then repeat its INGEST_S3", AllowMultipleArgumentsPerToken = false };

var root = new RootCommand("pika-node: a Pika-compatible Redis-protocol server on RocksDB with INGEST_S3")
{
    port, bind, data, instances, blockCacheMb, requirePass, objectStore, allowBucket, slaveOf, masterAuth, binlogSync, binlogFileSize, binlogKeepFiles, binlogKeepBytes, binlogKeepSeconds, binlogMaxFiles, maxClients, maxMemory, ioThreads, parentPid, discardIntent,
};
root.SetAction(async (result, cancellation) =>
{
    var sync = result.GetValue(binlogSync) switch
    {
        "always" => BinlogSyncPolicy.Always,
        "everysec" => BinlogSyncPolicy.EverySecond,
        var other => throw new ArgumentException($"--binlog-sync must be always or everysec, not '{other}'"),
    };
    (string, int)? master = null;
    if (result.GetValue(slaveOf) is [var host, var portText])
    {
        if (!int.TryParse(portText, out var masterPort) || masterPort is < 1 or > 65535)
        {
            throw new ArgumentException($"--slaveof {host} {portText}: the port must be 1-65535");
        }

        master = (host, masterPort);
        if (PikaIngest.Node.Commands.ReplicationCommands.IsThisNode(host, masterPort, result.GetValue(port), result.GetValue(bind)!))
        {
            throw new ArgumentException($"--slaveof {host} {portText}: that is this node's own address");
        }
    }

    // Every write takes the one write gate, so a second event thread mostly adds contention for it: on 2 cores shared
    // with clients, the thread holding the gate was preempted and the other waited a time slice (P1 SET p99 11 ms
    // against 3.6 ms with one thread, and pipelined SET and GET were faster with one; bench/node.sh). Set before the
    // first socket exists (intent recovery may fetch from the store), which is when the runtime reads it.
    if (result.GetValue(ioThreads) is < 1 or > 64)
    {
        throw new ArgumentException("--io-threads must be 1-64");
    }

    const string SocketThreads = "DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT";
    if (Environment.GetEnvironmentVariable(SocketThreads) is null)
    {
        Environment.SetEnvironmentVariable(SocketThreads, result.GetValue(ioThreads).ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    var buckets = result.GetValue(allowBucket) is { Length: > 0 } given ? given : ["local"];
    var options = new NodeOptions
    {
        Port = result.GetValue(port),
        Bind = result.GetValue(bind)!,
        DataFolder = result.GetValue(data)!,
        Instances = result.GetValue(instances),
        BlockCacheMb = result.GetValue(blockCacheMb) is >= 0 and var cacheMb ? cacheMb : throw new ArgumentException("--block-cache-mb must be 0 or more"),
        RequirePass = result.GetValue(requirePass),
        ObjectStore = result.GetValue(objectStore)!,
        AllowedBuckets = new HashSet<string>(buckets, StringComparer.Ordinal),
        BinlogSync = sync,
        BinlogFileSize = result.GetValue(binlogFileSize),
        MaxClients = result.GetValue(maxClients),
        MaxMemory = result.GetValue(maxMemory) is not { } memoryText ? MemoryBudget.DefaultMaxMemory
            : MemoryBudget.TryParseSize(memoryText, out var memoryBytes) ? memoryBytes
            : throw new ArgumentException($"--maxmemory '{memoryText}': give bytes, or a number with k kb m mb g gb"),
        SlaveOf = master,
        MasterAuth = result.GetValue(masterAuth),
        BinlogKeepFiles = Math.Max(1, result.GetValue(binlogKeepFiles)),
        BinlogMaxFiles = Math.Max(1, result.GetValue(binlogMaxFiles)),
        BinlogKeepBytes = Math.Max(0, result.GetValue(binlogKeepBytes)),
        BinlogKeepAge = TimeSpan.FromSeconds(Math.Max(0, result.GetValue(binlogKeepSeconds))),
        ParentProcessId = result.GetValue(parentPid),
        DiscardIngestIntents = new HashSet<string>(result.GetValue(discardIntent) ?? [], StringComparer.Ordinal),
    };
    return await NodeHost.RunAsync(options, cancellation).ConfigureAwait(false);
});
return await root.Parse(args).InvokeAsync();

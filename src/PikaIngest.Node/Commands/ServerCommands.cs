using System.Diagnostics;
using System.Globalization;
using System.Text;
using PikaIngest.Node.Memory;
using PikaIngest.Node.Resp;
using PikaIngest.Node.Storage;

namespace PikaIngest.Node.Commands;

/// <summary>INFO, DEBUG, TIME, LASTSAVE and SHUTDOWN (CONFIG and COMMAND have files of their own).</summary>
internal static class ServerCommands
{
    /// <summary>The Redis version the node reports; clients pick features by it, and it speaks Redis 7.0's dialect.</summary>
    public static ReadOnlySpan<byte> RedisVersion => "7.0.15"u8;

    private static readonly string[] DefaultSections = ["server", "clients", "memory", "stats", "replication", "keyspace", "ingest"];

    // As in Pika, RocksDB's properties are shown only when asked for (by name, all or everything), not by a plain INFO.
    private static readonly string[] AllSections = [.. DefaultSections, "rocksdb"];

    public static Task? Info(ref CommandContext context)
    {
        var wanted = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 1; i < context.Count; i++)
        {
            wanted.Add(Encoding.UTF8.GetString(context.Arg(i)));
        }

        var all = wanted.Contains("all") || wanted.Contains("everything");
        var defaults = wanted.Count == 0 || wanted.Contains("default");
        var info = new StringBuilder();
        foreach (var section in AllSections)
        {
            if (all || (defaults && DefaultSections.Contains(section)) || wanted.Contains(section))
            {
                if (info.Length > 0)
                {
                    info.Append("\r\n");
                }

                WriteSection(context.Node, section, info);
            }
        }

        context.Reply.WriteBulk(info.ToString());
        return null;
    }

    private static void WriteSection(NodeContext node, string section, StringBuilder info)
    {
        var inv = CultureInfo.InvariantCulture;
        switch (section)
        {
            case "server":
                info.Append("# Server\r\n")
                    .Append("redis_version:").Append(Encoding.ASCII.GetString(RedisVersion)).Append("\r\n")
                    .Append("pika_node_version:").Append(typeof(ServerCommands).Assembly.GetName().Version).Append("\r\n")
                    .Append("redis_mode:standalone\r\n")
                    .Append("os:").Append(Environment.OSVersion.VersionString).Append("\r\n")
                    .Append("process_id:").Append(Environment.ProcessId).Append("\r\n")
                    .Append("tcp_port:").Append(node.Port).Append("\r\n")
                    .Append("uptime_in_seconds:").Append((long)node.Uptime.TotalSeconds).Append("\r\n")
                    .Append("instances:").Append(node.Store.Instances).Append("\r\n")
                    .Append("data_dir:").Append(Path.GetFullPath(node.Options.DataFolder)).Append("\r\n")
                    .Append("binlog_position:").Append(node.Gate.Position.ToString()).Append("\r\n");
                break;
            case "clients":
                info.Append("# Clients\r\n")
                    .Append("connected_clients:").Append(node.Stats.ConnectedClients).Append("\r\n");
                break;
            case "memory":
                WriteMemory(node, info);
                break;
            case "stats":
                info.Append("# Stats\r\n")
                    .Append("total_connections_received:").Append(node.Stats.TotalConnections).Append("\r\n")
                    .Append("total_commands_processed:").Append(node.Stats.TotalCommands).Append("\r\n")
                    .Append("rejected_connections:").Append(node.Stats.RejectedConnections).Append("\r\n")
                    .Append("expired_keys:").Append(node.Stats.ExpiredKeys).Append("\r\n")
                    .Append("group_commits:").Append(node.GroupCommit.Commits).Append("\r\n")
                    .Append("group_commit_replies:").Append(node.GroupCommit.Replies).Append("\r\n");
                break;
            case "replication":
                node.Replication.WriteInfo(info);
                break;
            case "keyspace":
                // An estimate from RocksDB's properties: an exact count reads every key (DBSIZE does that).
                info.Append("# Keyspace\r\n")
                    .Append("db0:keys=").Append(node.Store.EstimateKeys().ToString(inv)).Append(",expires=0,avg_ttl=0\r\n");
                break;
            case "ingest":
                info.Append("# Ingest\r\n");
                node.Ingest.Stats.WriteInfo(info);
                info.Append("ingest_applied_batches_recorded:").Append(node.Ingest.AppliedCount).Append("\r\n");
                break;
            case "rocksdb":
                WriteRocksDb(node.Store.GetInstanceStats(), info);
                break;
            default:
                throw new UnreachableException(section);
        }

    }

    /// <summary>
    /// Redis's names where they fit: used_memory_rss is the resident set the maxmemory guard compares (so is
    /// used_memory: the node has no allocator of its own to count), and the parts that make it up where they are known:
    /// the managed heap, RocksDB's memtables and block cache.
    /// </summary>
    private static void WriteMemory(NodeContext node, StringBuilder info)
    {
        var resident = node.Memory.ResidentBytes;
        var store = node.Store.Memory();
        var heap = GC.GetGCMemoryInfo();
        info.Append("# Memory\r\n")
            .Append("used_memory:").Append(resident).Append("\r\n")
            .Append("used_memory_rss:").Append(resident).Append("\r\n")
            .Append("used_memory_peak:").Append(node.Memory.PeakResidentBytes).Append("\r\n")
            .Append("maxmemory:").Append(node.Options.MaxMemory).Append("\r\n")
            .Append("maxmemory_policy:noeviction\r\n")
            .Append("managed_heap_bytes:").Append(heap.HeapSizeBytes).Append("\r\n")
            .Append("managed_committed_bytes:").Append(heap.TotalCommittedBytes).Append("\r\n")
            .Append("managed_fragmented_bytes:").Append(heap.FragmentedBytes).Append("\r\n")
            .Append("managed_promoted_bytes:").Append(heap.PromotedBytes).Append("\r\n")
            .Append("rocksdb_memtable_bytes:").Append(store.MemTables).Append("\r\n")
            .Append("rocksdb_block_cache_bytes:").Append(store.BlockCache).Append("\r\n")
            .Append("rocksdb_block_cache_pinned_bytes:").Append(store.BlockCachePinned).Append("\r\n")
            .Append("memory_releases:").Append(LargeBuffers.Releases).Append("\r\n");
    }

    /// <summary>
    /// Each instance's fields prefixed <c>db0_&lt;i&gt;_</c>, then their sums prefixed <c>total_</c> (a 0/1 field's sum
    /// counts the instances where it is 1), so a script reads one line to learn whether an ingest left compaction debt:
    /// <list type="bullet">
    /// <item><c>level&lt;N&gt;_files</c>, <c>level&lt;N&gt;_bytes</c> (N = 0..6): SST files in level N and their size.</item>
    /// <item><c>compaction_pending</c> (0/1), <c>compaction_pending_bytes</c> (RocksDB's estimate of the bytes compaction
    /// must rewrite to settle the levels), <c>num_running_compactions</c>: the debt now.</item>
    /// <item><c>compaction_read_bytes</c>, <c>compaction_write_bytes</c>: compaction I/O since the node started.</item>
    /// <item><c>write_stall_count</c> (slowdowns and stops), <c>write_stop_count</c>, <c>write_stall_micros</c>: write
    /// stalls since the node started; <c>write_stopped</c> (0/1): writes are stopped now.</item>
    /// </list>
    /// </summary>
    private static void WriteRocksDb(IReadOnlyList<InstanceStats> instances, StringBuilder info)
    {
        info.Append("# RocksDB\r\n");
        var fields = instances.Select(RocksDbFields).ToList();
        for (var i = 0; i < fields.Count; i++)
        {
            foreach (var (name, value) in fields[i])
            {
                info.Append("db0_").Append(i).Append('_').Append(name).Append(':').Append(value).Append("\r\n");
            }
        }

        foreach (var total in fields.SelectMany(f => f).GroupBy(f => f.Name, StringComparer.Ordinal))
        {
            info.Append("total_").Append(total.Key).Append(':').Append(total.Sum(f => f.Value)).Append("\r\n");
        }
    }

    private static List<(string Name, long Value)> RocksDbFields(InstanceStats stats)
    {
        var fields = new List<(string Name, long Value)>();
        for (var level = 0; level < stats.Levels.Count; level++)
        {
            fields.Add(($"level{level}_files", stats.Levels[level].Files));
            fields.Add(($"level{level}_bytes", stats.Levels[level].Bytes));
        }

        fields.Add(("compaction_pending", stats.CompactionPending ? 1 : 0));
        fields.Add(("compaction_pending_bytes", stats.CompactionPendingBytes));
        fields.Add(("num_running_compactions", stats.RunningCompactions));
        fields.Add(("compaction_read_bytes", stats.CompactionReadBytes));
        fields.Add(("compaction_write_bytes", stats.CompactionWriteBytes));
        fields.Add(("write_stall_count", stats.WriteStallCount));
        fields.Add(("write_stop_count", stats.WriteStopCount));
        fields.Add(("write_stall_micros", stats.WriteStallMicros));
        fields.Add(("write_stopped", stats.WriteStopped ? 1 : 0));
        return fields;
    }

    public static Task? Debug(ref CommandContext context)
    {
        if (context.ArgIs(1, "DIGEST"u8) && context.Count == 2)
        {
            context.Reply.WriteBulk(context.Node.Store.Digest(context.NowMs));
        }
        else
        {
            context.Reply.WriteError(RespErrors.UnknownSubcommand(Encoding.UTF8.GetString(context.Arg(1)), "debug"));
        }

        return null;
    }

    public static Task? Time(ref CommandContext context)
    {
        var now = context.Node.Clock.GetUtcNow();
        var micros = (now - DateTimeOffset.UnixEpoch).Ticks / 10;
        context.Reply.WriteArrayHeader(2);
        context.Reply.WriteBulk((micros / 1_000_000).ToString(CultureInfo.InvariantCulture));
        context.Reply.WriteBulk((micros % 1_000_000).ToString(CultureInfo.InvariantCulture));
        return null;
    }

    /// <summary>
    /// Redis answers the time of the last successful save, which is its start-up time until it first saves.
    /// The node never saves (RocksDB and the binlog are durable as each write is made), so it is the node's start.
    /// </summary>
    public static Task? LastSave(ref CommandContext context)
    {
        context.Reply.WriteInteger(context.Node.Started.ToUnixTimeSeconds());
        return null;
    }

    /// <summary>SHUTDOWN [NOSAVE|SAVE|NOW|FORCE]: there is nothing to save (RocksDB and the binlog are durable), so all mean stop.</summary>
    public static Task? Shutdown(ref CommandContext context)
    {
        for (var i = 1; i < context.Count; i++)
        {
            if (!(context.ArgIs(i, "NOSAVE"u8) || context.ArgIs(i, "SAVE"u8) || context.ArgIs(i, "NOW"u8) || context.ArgIs(i, "FORCE"u8) || context.ArgIs(i, "ABORT"u8)))
            {
                context.Reply.WriteError(RespErrors.Syntax);
                return null;
            }
        }

        context.Session.CloseAfterReply = true;
        context.Node.RequestShutdown("SHUTDOWN command");
        return null;
    }
}

using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using PikaIngest.Core.Layout;
using PikaIngest.Node.Binlog;
using PikaIngest.Node.Resp;

namespace PikaIngest.Node.Replication;

/// <summary>What an interrupted full sync delivered: the checkpoint it came from and each file's received size.</summary>
internal sealed record FullSyncResume(string CheckpointId, IReadOnlyDictionary<string, long> Sizes);

/// <summary>A slave connected to this master, as INFO and ROLE show it.</summary>
internal sealed class ReplicaLink(string ip, int listeningPort)
{
    private long _ackedFile;
    private long _ackedOffset;

    public string Ip { get; } = ip;

    public int ListeningPort { get; set; } = listeningPort;

    public string State { get; set; } = "connecting";

    public ulong AckedLogicId { get; set; }

    /// <summary>Bytes sent on this link (full sync included): what replication costs the network.</summary>
    public long BytesSent;

    public BinlogPosition Acked
    {
        get => new((uint)Interlocked.Read(ref _ackedFile), (ulong)Interlocked.Read(ref _ackedOffset));
        set
        {
            Interlocked.Exchange(ref _ackedFile, value.FileNum);
            Interlocked.Exchange(ref _ackedOffset, (long)value.Offset);
        }
    }

    /// <summary>Where the sender reads next; purging never removes a file at or after this.</summary>
    public BinlogPosition Sending { get; set; }
}

/// <summary>
/// The master's half of replication: its run id, the slaves streaming from it, and the binlog purge policy.
/// A slave's request becomes a sender task owning the connection: it streams binlog items from the slave's
/// position (or a full sync first) and reads the slave's acknowledgements.
/// </summary>
internal sealed class MasterReplication
{
    private readonly NodeContext _node;
    private readonly ConcurrentDictionary<ReplicaLink, byte> _replicas = new();

    public MasterReplication(NodeContext node)
    {
        _node = node;
        RunId = LoadRunId(Path.Combine(node.Options.DataFolder, "replication", "run-id"));
    }

    /// <summary>Identifies this master's binlog history; a slave holding another id must full-sync.</summary>
    public string RunId { get; }

    public IReadOnlyCollection<ReplicaLink> Replicas => [.. _replicas.Keys];

    private static string LoadRunId(string path)
    {
        if (File.Exists(path) && File.ReadAllText(path).Trim() is { Length: 40 } existing)
        {
            return existing;
        }

        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(20));
        AtomicFile.Write(path, Encoding.ASCII.GetBytes(id));
        return id;
    }

    public void WriteInfo(StringBuilder info)
    {
        var replicas = Replicas.ToList();
        var last = _node.Gate.LastLogicId;
        info.Append("connected_slaves:").Append(replicas.Count).Append("\r\n");
        for (var i = 0; i < replicas.Count; i++)
        {
            var r = replicas[i];
            info.Append(CultureInfo.InvariantCulture, $"slave{i}:ip={r.Ip},port={r.ListeningPort},state={r.State},position={r.Acked},lag_items={(last >= r.AckedLogicId ? last - r.AckedLogicId : 0)},sent_bytes={Interlocked.Read(ref r.BytesSent)}\r\n");
        }

        info.Append("master_run_id:").Append(RunId).Append("\r\n")
            .Append("master_repl_offset:").Append(last).Append("\r\n")
            .Append("binlog_position:").Append(_node.Gate.Position.ToString()).Append("\r\n")
            .Append("binlog_files:").Append(_node.Gate.BinlogFiles.Count).Append("\r\n");
    }

    /// <summary>Serves one slave on a connection handed over by its session, until either side closes it.</summary>
    public async Task ServeAsync(Socket socket, ReadOnlyMemory<byte> leftover, string runId, BinlogPosition requested, FullSyncResume? resume, int listeningPort, CancellationToken stopping)
    {
        var remote = (socket.RemoteEndPoint as IPEndPoint)?.Address.ToString() ?? "?";
        var link = new ReplicaLink(remote, listeningPort);
        _replicas[link] = 0;
        using var linkDown = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        var writer = new RespWriter();
        try
        {
            BinlogPosition start;
            var end = _node.Gate.Position;
            if (runId == RunId && requested > end)
            {
                writer.WriteError(RespErrors.Failure($"position {requested} is beyond the binlog end of this master, {end}"));
                await ReplicationProtocol.SendAsync(socket, writer, stopping).ConfigureAwait(false);
                return;
            }

            string? problem = null;
            if (runId == RunId && IsReadable(requested, out problem))
            {
                start = requested;
                ReplicationProtocol.WriteFrame(writer, "CONTINUE", RunId);
                await ReplicationProtocol.SendAsync(socket, writer, stopping).ConfigureAwait(false);
                _node.Log($"replication: slave {remote}:{listeningPort} continues from {requested}");
            }
            else
            {
                if (runId == RunId && problem is not null && !problem.StartsWith("purged", StringComparison.Ordinal))
                {
                    writer.WriteError(RespErrors.Failure($"position {requested}: {problem}"));
                    await ReplicationProtocol.SendAsync(socket, writer, stopping).ConfigureAwait(false);
                    return;
                }

                link.State = "full_sync";
                _node.Log($"replication: full sync for slave {remote}:{listeningPort} (asked for {runId} {requested}{(problem is null ? "" : ": " + problem)})");
                start = await FullSyncAsync(socket, writer, link, resume, stopping).ConfigureAwait(false);
            }

            link.State = "online";
            link.Sending = start;
            var acks = ReadAcksAsync(socket, leftover, link, linkDown.Token);
            await StreamAsync(socket, writer, link, start, acks, linkDown.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or IOException or OperationCanceledException or ObjectDisposedException or InvalidDataException)
        {
            _node.Log($"replication: slave {remote}:{listeningPort} disconnected: {e.Message}");
        }
        finally
        {
            await linkDown.CancelAsync().ConfigureAwait(false);
            _replicas.TryRemove(link, out _);
            writer.Dispose();
        }
    }

    private static Task SendAsync(Socket socket, RespWriter writer, ReplicaLink link, CancellationToken cancellation)
    {
        Interlocked.Add(ref link.BytesSent, writer.Length);
        return ReplicationProtocol.SendAsync(socket, writer, cancellation);
    }

    private bool IsReadable(BinlogPosition position, out string? problem)
    {
        problem = null;
        try
        {
            using var reader = BinlogReader.Open(_node.Gate.BinlogFolder, position);
            if (reader.TryRead(out _) == BinlogReadStatus.Corrupt)
            {
                problem = $"not at an item boundary ({reader.Error})";
                return false;
            }

            return true;
        }
        catch (FileNotFoundException)
        {
            problem = "purged from this master's binlog";
            return false;
        }
    }

    private async Task StreamAsync(Socket socket, RespWriter writer, ReplicaLink link, BinlogPosition start, Task acks, CancellationToken cancellation)
    {
        using var reader = BinlogReader.Open(_node.Gate.BinlogFolder, start);
        var lastSent = DateTime.UtcNow;
        while (!cancellation.IsCancellationRequested)
        {
            var published = _node.Gate.NextPublish;
            while (true)
            {
                var status = reader.TryRead(out var item);
                if (status == BinlogReadStatus.Corrupt)
                {
                    throw new InvalidDataException($"binlog at {reader.Position} is corrupt: {reader.Error}");
                }

                if (status == BinlogReadStatus.End)
                {
                    break;
                }

                writer.WriteArrayHeader(3);
                writer.WriteBulk("ITEM"u8);
                writer.WriteBulk(item.Encode());
                writer.WriteBulk(reader.Position.ToString());
                link.Sending = reader.Position;
                if (writer.Length >= 256 << 10)
                {
                    await SendAsync(socket, writer, link, cancellation).ConfigureAwait(false);
                    lastSent = DateTime.UtcNow;
                }
            }

            if (writer.Length > 0)
            {
                await SendAsync(socket, writer, link, cancellation).ConfigureAwait(false);
                lastSent = DateTime.UtcNow;
            }

            var tick = Task.Delay(TimeSpan.FromSeconds(1), cancellation);
            var woke = await Task.WhenAny(published, tick, acks).ConfigureAwait(false);
            if (woke == acks)
            {
                return;
            }

            if (DateTime.UtcNow - lastSent >= TimeSpan.FromSeconds(1))
            {
                ReplicationProtocol.WriteFrame(writer, "PING", _node.Gate.Position.ToString(), _node.Gate.LastLogicId.ToString(CultureInfo.InvariantCulture));
                await SendAsync(socket, writer, link, cancellation).ConfigureAwait(false);
                lastSent = DateTime.UtcNow;
            }
        }
    }

    private static async Task ReadAcksAsync(Socket socket, ReadOnlyMemory<byte> leftover, ReplicaLink link, CancellationToken cancellation)
    {
        var frames = new FrameReader(socket, leftover, new RespLimits { MaxArguments = 8, MaxBulkLength = 1024 });
        try
        {
            while (await frames.ReadAsync(cancellation).ConfigureAwait(false))
            {
                if (frames.Arguments.Count >= 3 && Ascii.EqualsIgnoreCase(frames.Arg(0), "REPLCONF"u8) && Ascii.EqualsIgnoreCase(frames.Arg(1), "ACK"u8)
                    && ReplicationProtocol.TryParsePosition(frames.Arg(2), out var acked))
                {
                    link.Acked = acked;
                    if (frames.Arguments.Count >= 4 && ulong.TryParse(frames.Arg(3), NumberStyles.None, CultureInfo.InvariantCulture, out var logicId))
                    {
                        link.AckedLogicId = logicId;
                    }
                }
                else
                {
                    throw new InvalidDataException("a slave sent something other than REPLCONF ACK");
                }
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException or InvalidDataException)
        {
        }
    }

    private string CheckpointsFolder => Path.Combine(_node.Options.DataFolder, "replication", "checkpoints");

    /// <summary>
    /// Sends a consistent copy: under the write gate the binlog position is taken and every instance checkpointed
    /// (RocksDB hard-links its files, so this is quick); the files are then streamed with no lock held. The
    /// checkpoint is kept for <see cref="CheckpointLifetime"/>, so a slave whose link broke half-way resumes it:
    /// each file continues from the size the slave already has.
    /// </summary>
    private async Task<BinlogPosition> FullSyncAsync(Socket socket, RespWriter writer, ReplicaLink link, FullSyncResume? resume, CancellationToken cancellation)
    {
        var (id, position, logicId) = resume is not null && TryLoadCheckpoint(resume.CheckpointId) is { } kept
            ? kept
            : CreateCheckpoint();
        var folder = Path.Combine(CheckpointsFolder, id);
        var resumed = resume?.CheckpointId == id;
        {

            var files = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
                .Select(f => Path.GetRelativePath(folder, f).Replace('\\', '/'))
                .Order(StringComparer.Ordinal)
                .ToList();
            ReplicationProtocol.WriteFrame(writer, "FULLSYNC", RunId, position.FileNum.ToString(CultureInfo.InvariantCulture),
                position.Offset.ToString(CultureInfo.InvariantCulture), logicId.ToString(CultureInfo.InvariantCulture), files.Count.ToString(CultureInfo.InvariantCulture), id);
            await SendAsync(socket, writer, link, cancellation).ConfigureAwait(false);
            var chunk = new byte[ReplicationProtocol.ChunkBytes];
            long skipped = 0;
            foreach (var relative in files)
            {
                var stream = new FileStream(Path.Combine(folder, relative), FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
                await using (stream.ConfigureAwait(false))
                {
                    var offset = resumed && resume!.Sizes.TryGetValue(relative, out var have) && have >= 0 && have <= stream.Length ? have : 0;
                    skipped += offset;
                    stream.Position = offset;
                    do
                    {
                        var read = await stream.ReadAtLeastAsync(chunk, chunk.Length, throwOnEndOfStream: false, cancellation).ConfigureAwait(false);
                        writer.WriteArrayHeader(4);
                        writer.WriteBulk("CHUNK"u8);
                        writer.WriteBulk(relative);
                        writer.WriteBulkInteger(offset);
                        writer.WriteBulk(chunk.AsSpan(0, read));
                        await SendAsync(socket, writer, link, cancellation).ConfigureAwait(false);
                        offset += read;
                    }
                    while (offset < stream.Length);
                }
            }

            ReplicationProtocol.WriteFrame(writer, "FULLSYNC_END");
            await SendAsync(socket, writer, link, cancellation).ConfigureAwait(false);
            link.AckedLogicId = logicId;
            link.Acked = position;
            _node.Log($"replication: full sync of {files.Count} files ({(resumed ? $"resumed, {skipped} bytes already there" : "from the start")}) sent to {link.Ip}:{link.ListeningPort}, continuing from {position}");
            return position;
        }
    }

    private static readonly TimeSpan CheckpointLifetime = TimeSpan.FromMinutes(10);

    private (string Id, BinlogPosition Position, ulong LogicId) CreateCheckpoint()
    {
        var id = Guid.NewGuid().ToString("N");
        var folder = Path.Combine(CheckpointsFolder, id);
        using (_node.Gate.Enter())
        {
            _node.Gate.Publish();
            var position = _node.Gate.Position;
            var logicId = _node.Gate.LastLogicId;
            _node.Store.Checkpoint(Path.Combine(folder, "db0"));
            _node.Applied.CopyTo(Path.Combine(folder, "ingest", "applied.jsonl"));
            AtomicFile.Write(folder + ".position", Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{position.FileNum} {position.Offset} {logicId}")));
            return (id, position, logicId);
        }
    }

    private (string Id, BinlogPosition Position, ulong LogicId)? TryLoadCheckpoint(string id)
    {
        var folder = Path.Combine(CheckpointsFolder, id);
        if (id.Length != 32 || !id.All(char.IsAsciiHexDigitLower) || !Directory.Exists(folder) || !File.Exists(folder + ".position"))
        {
            return null;
        }

        var parts = File.ReadAllText(folder + ".position").Split(' ');
        return parts.Length == 3 && uint.TryParse(parts[0], CultureInfo.InvariantCulture, out var file)
            && ulong.TryParse(parts[1], CultureInfo.InvariantCulture, out var offset) && ulong.TryParse(parts[2], CultureInfo.InvariantCulture, out var logicId)
            ? (id, new BinlogPosition(file, offset), logicId)
            : null;
    }

    /// <summary>Removes checkpoints kept for resuming once they are older than <see cref="CheckpointLifetime"/>.</summary>
    public void ExpireCheckpoints()
    {
        if (!Directory.Exists(CheckpointsFolder))
        {
            return;
        }

        foreach (var marker in Directory.GetFiles(CheckpointsFolder, "*.position"))
        {
            if (DateTime.UtcNow - File.GetLastWriteTimeUtc(marker) > CheckpointLifetime)
            {
                var folder = marker[..^".position".Length];
                if (Directory.Exists(folder))
                {
                    Directory.Delete(folder, recursive: true);
                }

                File.Delete(marker);
            }
        }
    }

    /// <summary>
    /// Deletes old binlog files: those beyond the newest <c>--binlog-keep-files</c>, beyond
    /// <c>--binlog-keep-bytes</c> counted from the newest, or older than <c>--binlog-keep-seconds</c> — unless a
    /// connected slave still reads them. Past <c>--binlog-max-files</c> it deletes regardless, and a slave left
    /// behind full-syncs when it next asks.
    /// </summary>
    public int Purge()
    {
        var files = _node.Gate.BinlogFiles;
        if (files.Count == 0)
        {
            return 0;
        }

        var current = files[^1];
        var options = _node.Options;
        var keepFrom = current >= (uint)options.BinlogKeepFiles ? current - (uint)options.BinlogKeepFiles + 1 : 0;
        long newer = 0;
        var oldest = _node.Clock.GetUtcNow() - options.BinlogKeepAge;
        for (var i = files.Count - 2; i >= 0; i--)
        {
            var file = new FileInfo(BinlogFiles.DataPath(_node.Gate.BinlogFolder, files[i]));
            newer += file.Exists ? file.Length : 0;
            if ((options.BinlogKeepBytes > 0 && newer > options.BinlogKeepBytes)
                || (options.BinlogKeepAge > TimeSpan.Zero && file.Exists && file.LastWriteTimeUtc < oldest.UtcDateTime))
            {
                keepFrom = Math.Max(keepFrom, files[i] + 1);
                break;
            }
        }

        foreach (var replica in Replicas)
        {
            keepFrom = Math.Min(keepFrom, replica.Sending.FileNum);
        }

        var capFrom = current >= (uint)_node.Options.BinlogMaxFiles ? current - (uint)_node.Options.BinlogMaxFiles + 1 : 0;
        keepFrom = Math.Max(keepFrom, capFrom);
        return keepFrom > files[0] ? _node.Gate.PurgeBinlogBefore(keepFrom) : 0;
    }
}

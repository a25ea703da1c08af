using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using PikaIngest.Core.Layout;
using PikaIngest.Core.Storage;
using PikaIngest.Node.Binlog;
using PikaIngest.Node.Commands;
using PikaIngest.Node.Ingest;
using PikaIngest.Node.Resp;

namespace PikaIngest.Node.Replication;

/// <summary>What a slave has applied of its master's binlog; saved in <c>DATA/replication/master.json</c>.</summary>
internal sealed record MasterPosition(
    [property: JsonPropertyName("v")] int Version,
    [property: JsonPropertyName("runId")] string RunId,
    [property: JsonPropertyName("fileNum")] uint FileNum,
    [property: JsonPropertyName("offset")] ulong Offset,
    [property: JsonPropertyName("logicId")] ulong LogicId)
{
    public const int CurrentVersion = 1;

    /// <summary>A slave that knows no master history: it must full-sync.</summary>
    public static readonly MasterPosition None = new(CurrentVersion, "?", 0, 0, 0);

    public BinlogPosition Position => new(FileNum, Offset);
}

[JsonSerializable(typeof(MasterPosition))]
internal sealed partial class MasterPositionJson : JsonSerializerContext;

/// <summary>
/// The slave's half: connect to the master, ask to continue from the recorded position (or take a full sync),
/// then apply items strictly in order — commands through the same handlers clients use, INGEST_SST by
/// fetching, verifying and ingesting the listed files (retrying, never skipping) — and acknowledge.
/// Every item can be applied twice with the same result, so the recorded position may lag what was applied.
/// </summary>
internal sealed class SlaveReplication
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(5);

    private readonly NodeContext _node;
    private readonly string _positionPath;
    private readonly ClientSession _applier;
    private readonly CancellationTokenSource _stop;
    private MasterPosition _applied;
    private DateTime _savedAt = DateTime.MinValue;
    private Task _running = Task.CompletedTask;

    public SlaveReplication(NodeContext node, string host, int port)
    {
        _node = node;
        Host = host;
        Port = port;
        _positionPath = Path.Combine(node.Options.DataFolder, "replication", "master.json");
        _applied = Load(_positionPath);
        _applier = ClientSession.ForReplication(node);
        _stop = CancellationTokenSource.CreateLinkedTokenSource(node.Stopping);
    }

    public string Host { get; }

    public int Port { get; }

    public bool LinkUp { get; private set; }

    public string SyncState { get; private set; } = "connecting";

    public string LastError { get; private set; } = "";

    public int FullSyncs { get; private set; }

    public ulong MasterLogicId { get; private set; }

    public string ReplayBatch { get; private set; } = "";

    public int ReplayAttempts { get; private set; }

    public string ReplayError { get; private set; } = "";

    public MasterPosition Applied => _applied;

    /// <summary>Files and bytes of the full sync being received (for INFO while it runs).</summary>
    public (int Files, int Total, long Bytes) FullSyncProgress { get; private set; }

    private DateTime _caughtUpAt = DateTime.UtcNow;

    public void Start() => _running = RunAsync();

    public async Task StopAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _running.ConfigureAwait(false);
        Save(force: true);
        _applier.Dispose();
    }

    public void WriteInfo(StringBuilder info)
    {
        var applied = _applied;
        info.Append("master_host:").Append(Host).Append("\r\n")
            .Append("master_port:").Append(Port).Append("\r\n")
            .Append("master_link_status:").Append(LinkUp ? "up" : "down").Append("\r\n")
            .Append("master_sync_state:").Append(SyncState).Append("\r\n")
            .Append("master_last_error:").Append(OneLine(LastError)).Append("\r\n")
            .Append("slave_connect_attempts:").Append(ConnectAttempts).Append("\r\n")
            .Append("slave_repl_offset:").Append(applied.LogicId).Append("\r\n")
            .Append("slave_position:").Append(applied.Position.ToString()).Append("\r\n")
            .Append("slave_lag_items:").Append(MasterLogicId > applied.LogicId ? MasterLogicId - applied.LogicId : 0).Append("\r\n")
            .Append("slave_lag_seconds:").Append(MasterLogicId > applied.LogicId ? (long)(DateTime.UtcNow - _caughtUpAt).TotalSeconds : 0).Append("\r\n")
            .Append("full_sync_files:").Append(FullSyncProgress.Files).Append('/').Append(FullSyncProgress.Total).Append("\r\n")
            .Append("full_sync_bytes:").Append(FullSyncProgress.Bytes).Append("\r\n")
            .Append("full_syncs:").Append(FullSyncs).Append("\r\n")
            .Append("ingest_replay_batch:").Append(ReplayBatch).Append("\r\n")
            .Append("ingest_replay_attempts:").Append(ReplayAttempts).Append("\r\n")
            .Append("ingest_replay_files_staged:").Append(ReplayBatch.Length == 0 ? "" : _node.Ingest.Stats.Progress).Append("\r\n")
            .Append("ingest_replay_last_error:").Append(OneLine(ReplayError)).Append("\r\n");
    }

    private static string OneLine(string text) => text.Replace('\r', ' ').Replace('\n', ' ');

    /// <summary>
    /// Connects, syncs and follows until stopped. Failures back off exponentially with jitter up to
    /// <see cref="MaxBackoff"/>; only a link that got as far as streaming resets the count, so a master that accepts the
    /// connection and then refuses it (a wrong or missing --masterauth) is not retried every 200 ms. A failure is logged
    /// when its reason changes, not on every attempt.
    /// </summary>
    private async Task RunAsync()
    {
        var failures = 0;
        string? lastLogged = null;
        while (!_stop.IsCancellationRequested)
        {
            string reason;
            try
            {
                ConnectAttempts++;
                using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                await socket.ConnectAsync(Host, Port, _stop.Token).ConfigureAwait(false);
                await SyncAsync(socket, _stop.Token).ConfigureAwait(false);
                reason = "master closed the connection";
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (e is SocketException or IOException or InvalidDataException or ObjectDisposedException or OperationCanceledException)
            {
                reason = $"link to {Host}:{Port} failed: {e.Message}";
            }
            catch (Exception e)
            {
                // Anything else (storage refusing a full sync, say) is reported and retried the same way.
                reason = $"sync with {Host}:{Port} failed: {e}";
            }
            finally
            {
                if (LinkUp)
                {
                    failures = 0;
                }

                LinkUp = false;
                SyncState = "connecting";
            }

            LastError = reason;
            if (reason != lastLogged)
            {
                _node.Log($"replication: {reason} (retrying with backoff up to {MaxBackoff.TotalSeconds:0} s; logged again when the reason changes)");
                lastLogged = reason;
            }

            failures++;
            try
            {
                await Task.Delay(Backoff(failures), _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    /// <summary>200 ms doubling per failure up to <see cref="MaxBackoff"/>, each wait drawn from its upper half so slaves of one master spread out.</summary>
    private static TimeSpan Backoff(int attempt) =>
        TimeSpan.FromMilliseconds(Math.Min(MaxBackoff.TotalMilliseconds, 100 * Math.Pow(2, Math.Min(attempt, 10))) * (0.5 + (Random.Shared.NextDouble() / 2)));

    /// <summary>Connections tried to the master since this node began following it (INFO replication: slave_connect_attempts).</summary>
    public long ConnectAttempts { get; private set; }

    private async Task SyncAsync(Socket socket, CancellationToken cancellation)
    {
        var frames = new FrameReader(socket, ReadOnlyMemory<byte>.Empty, ReplicationProtocol.LinkLimits);
        var writer = new RespWriter();
        try
        {
            if (_node.Options.MasterAuth is { } password)
            {
                await ExpectOkAsync(socket, writer, frames, cancellation, "AUTH", password).ConfigureAwait(false);
            }

            await ExpectOkAsync(socket, writer, frames, cancellation, "REPLCONF", "listening-port", _node.Port.ToString(CultureInfo.InvariantCulture)).ConfigureAwait(false);
            var from = _applied;
            ReplicationProtocol.WriteFrame(writer, ["PIKA_SYNC", from.RunId, from.FileNum.ToString(CultureInfo.InvariantCulture), from.Offset.ToString(CultureInfo.InvariantCulture), .. ResumeArguments()]);
            await ReplicationProtocol.SendAsync(socket, writer, cancellation).ConfigureAwait(false);
            if (!await frames.ReadAsync(cancellation).ConfigureAwait(false))
            {
                throw new IOException("master closed the connection");
            }

            var kind = frames.ArgString(0);
            if (kind == "CONTINUE" && frames.Arguments.Count == 2)
            {
                _node.Log($"replication: continuing from {from.Position} of master {frames.ArgString(1)}");
            }
            else if (kind == "FULLSYNC" && frames.Arguments.Count == 7)
            {
                await ReceiveFullSyncAsync(frames, cancellation).ConfigureAwait(false);
            }
            else
            {
                var said = string.Join(' ', Enumerable.Range(0, frames.Arguments.Count).Select(frames.ArgString));
                if (said.StartsWith("-ERR", StringComparison.Ordinal) && said.Contains("beyond", StringComparison.Ordinal))
                {
                    // This slave holds history the master does not: start over from a full copy.
                    _applied = MasterPosition.None;
                    Save(force: true);
                }

                throw new InvalidDataException($"master refused to sync: {said}");
            }

            LinkUp = true;
            LastError = "";
            SyncState = "incremental";
            await ApplyStreamAsync(socket, frames, writer, cancellation).ConfigureAwait(false);
        }
        finally
        {
            writer.Dispose();
        }
    }

    private static async Task ExpectOkAsync(Socket socket, RespWriter writer, FrameReader frames, CancellationToken cancellation, params string[] command)
    {
        ReplicationProtocol.WriteFrame(writer, command);
        await ReplicationProtocol.SendAsync(socket, writer, cancellation).ConfigureAwait(false);
        if (!await frames.ReadAsync(cancellation).ConfigureAwait(false))
        {
            throw new IOException("master closed the connection");
        }

        if (frames.Arguments.Count != 1 || frames.ArgString(0) != "+OK")
        {
            var said = string.Join(' ', Enumerable.Range(0, frames.Arguments.Count).Select(frames.ArgString));
            throw new InvalidDataException($"master answered {command[0]} with {said}");
        }
    }

    private async Task ApplyStreamAsync(Socket socket, FrameReader frames, RespWriter writer, CancellationToken cancellation)
    {
        while (await frames.ReadAsync(cancellation).ConfigureAwait(false))
        {
            var kind = frames.ArgString(0);
            if (kind == "ITEM" && frames.Arguments.Count == 3)
            {
                if (!ReplicationProtocol.TryParsePosition(frames.Arg(2), out var next))
                {
                    throw new InvalidDataException("bad item frame: the position after it does not parse");
                }

                var encoded = frames.Arg(1).ToArray();
                if (!BinlogItem.TryDecode(encoded, out var item, out var error))
                {
                    throw new InvalidDataException($"bad item from the master before {next}: {error}");
                }

                await ApplyAsync(item, cancellation).ConfigureAwait(false);
                _applied = _applied with { FileNum = next.FileNum, Offset = next.Offset, LogicId = item.LogicId };
                MasterLogicId = Math.Max(MasterLogicId, item.LogicId);
                if (MasterLogicId <= item.LogicId)
                {
                    _caughtUpAt = DateTime.UtcNow;
                }
            }
            else if (kind == "PING" && frames.Arguments.Count >= 2)
            {
                if (frames.Arguments.Count >= 3 && ulong.TryParse(frames.Arg(2), NumberStyles.None, CultureInfo.InvariantCulture, out var logicId))
                {
                    MasterLogicId = logicId;
                    if (logicId <= _applied.LogicId)
                    {
                        _caughtUpAt = DateTime.UtcNow;
                    }
                }
            }
            else
            {
                throw new InvalidDataException($"unexpected frame from the master: {kind}");
            }

            if (!frames.HasBuffered)
            {
                // Caught up with what arrived: make it durable enough, then tell the master.
                _node.Gate.Publish();
                Save(force: false);
                var applied = _applied;
                ReplicationProtocol.WriteFrame(writer, "REPLCONF", "ACK", applied.Position.ToString(), applied.LogicId.ToString(CultureInfo.InvariantCulture));
                await ReplicationProtocol.SendAsync(socket, writer, cancellation).ConfigureAwait(false);
            }
        }
    }

    private async Task ApplyAsync(BinlogItem item, CancellationToken cancellation)
    {
        switch (item.Type)
        {
            case BinlogItemType.Command:
                _applier.ApplyReplicated(item.Content.Span);
                break;
            case BinlogItemType.IngestSst:
                await ReplayIngestAsync(IngestSstRecord.Decode(item.Content.Span), cancellation).ConfigureAwait(false);
                break;
            default:
                throw new InvalidDataException($"binlog item type {item.Type} is unknown");
        }
    }

    /// <summary>Blocks the apply loop until the batch is in: a missing or damaged file is retried with backoff, never skipped.</summary>
    private async Task ReplayIngestAsync(IngestSstRecord record, CancellationToken cancellation)
    {
        ReplayBatch = record.BatchId;
        ReplayAttempts = 0;
        ReplayError = "";
        while (true)
        {
            ReplayAttempts++;
            try
            {
                await _node.Ingest.ReplayAsync(IngestPlan.FromRecord(record), cancellation).ConfigureAwait(false);
                break;
            }
            catch (Exception e) when (!cancellation.IsCancellationRequested && e is not OperationCanceledException)
            {
                ReplayError = e.Message;
                _node.Log($"replication: INGEST_SST {record.BatchId} attempt {ReplayAttempts} failed, retrying: {e.Message}");
                await Task.Delay(Backoff(ReplayAttempts), cancellation).ConfigureAwait(false);
            }
        }

        ReplayBatch = "";
        ReplayError = "";
        _node.Gate.Publish();
        Save(force: true);
    }

    private async Task ReceiveFullSyncAsync(FrameReader frames, CancellationToken cancellation)
    {
        SyncState = "full_sync";
        var runId = frames.ArgString(1);
        if (!uint.TryParse(frames.Arg(2), NumberStyles.None, CultureInfo.InvariantCulture, out var fileNum)
            || !ulong.TryParse(frames.Arg(3), NumberStyles.None, CultureInfo.InvariantCulture, out var offset)
            || !ulong.TryParse(frames.Arg(4), NumberStyles.None, CultureInfo.InvariantCulture, out var logicId)
            || !int.TryParse(frames.Arg(5), NumberStyles.None, CultureInfo.InvariantCulture, out var fileCount))
        {
            throw new InvalidDataException("bad FULLSYNC frame from the master");
        }

        var checkpointId = frames.ArgString(6);
        var incoming = IncomingFolder;
        var resuming = File.Exists(ResumeMarker) && File.ReadAllText(ResumeMarker) == checkpointId;
        if (!resuming)
        {
            if (Directory.Exists(incoming))
            {
                Directory.Delete(incoming, recursive: true);
            }

            Directory.CreateDirectory(incoming);
            File.WriteAllText(ResumeMarker, checkpointId);
        }

        var files = new Dictionary<string, FileStream>(StringComparer.Ordinal);
        FullSyncProgress = (0, fileCount, 0);
        try
        {
            while (true)
            {
                if (!await frames.ReadAsync(cancellation).ConfigureAwait(false))
                {
                    throw new IOException("master closed the connection during a full sync");
                }

                var kind = frames.ArgString(0);
                if (kind == "FULLSYNC_END")
                {
                    break;
                }

                if (kind != "CHUNK" || frames.Arguments.Count != 4
                    || !long.TryParse(frames.Arg(2), NumberStyles.None, CultureInfo.InvariantCulture, out var at))
                {
                    throw new InvalidDataException($"bad full-sync frame from the master: {kind}");
                }

                var relative = frames.ArgString(1);
                if (!ObjectStores.IsValidKey(relative) || !(relative.StartsWith("db0/", StringComparison.Ordinal) || relative == "ingest/applied.jsonl"))
                {
                    throw new InvalidDataException($"full sync names a file outside db0/ and ingest/: {relative}");
                }

                if (!files.TryGetValue(relative, out var file))
                {
                    // Resuming, a file continues from what arrived before the link broke (the master sends from there).
                    var path = Path.Combine(incoming, relative);
                    Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                    file = new FileStream(path, resuming ? FileMode.OpenOrCreate : FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
                    file.Seek(0, SeekOrigin.End);
                    files[relative] = file;
                }

                if (at != file.Position)
                {
                    throw new InvalidDataException($"full sync chunk of {relative} at {at}, expected {file.Position}");
                }

                var bytes = frames.Arg(3).ToArray();
                await file.WriteAsync(bytes, cancellation).ConfigureAwait(false);
                FullSyncProgress = (files.Count, fileCount, FullSyncProgress.Bytes + bytes.Length);
            }

            if (files.Count != fileCount)
            {
                throw new InvalidDataException($"full sync announced {fileCount} files and sent {files.Count}");
            }

            foreach (var file in files.Values)
            {
                file.Flush(flushToDisk: true);
            }
        }
        finally
        {
            foreach (var file in files.Values)
            {
                await file.DisposeAsync().ConfigureAwait(false);
            }
        }

        // Until the swap is complete the recorded position says "no history", so a crash in between
        // leads to another full sync, never to increments applied on top of half-replaced data.
        _applied = MasterPosition.None;
        Save(force: true);
        File.Delete(ResumeMarker);
        _node.InstallFullSync(incoming);
        _applied = new MasterPosition(MasterPosition.CurrentVersion, runId, fileNum, offset, logicId);
        MasterLogicId = Math.Max(MasterLogicId, logicId);
        Save(force: true);
        FullSyncs++;
        _node.Log($"replication: full sync installed; continuing from {fileNum}:{offset} of master {runId}");
    }

    private string IncomingFolder => Path.Combine(_node.Options.DataFolder, "replication", "incoming");

    /// <summary>Names the master checkpoint the files in <see cref="IncomingFolder"/> come from, while a full sync is unfinished.</summary>
    private string ResumeMarker => Path.Combine(_node.Options.DataFolder, "replication", "incoming.checkpoint");

    /// <summary><c>RESUME id (path size)…</c> when an unfinished full sync left files behind; else nothing.</summary>
    private string[] ResumeArguments()
    {
        if (_applied.RunId != MasterPosition.None.RunId || !File.Exists(ResumeMarker) || !Directory.Exists(IncomingFolder))
        {
            return [];
        }

        var have = Directory.EnumerateFiles(IncomingFolder, "*", SearchOption.AllDirectories)
            .SelectMany(f => new[] { Path.GetRelativePath(IncomingFolder, f).Replace('\\', '/'), new FileInfo(f).Length.ToString(CultureInfo.InvariantCulture) });
        return ["RESUME", File.ReadAllText(ResumeMarker), .. have];
    }

    private void Save(bool force)
    {
        if (!force && DateTime.UtcNow - _savedAt < TimeSpan.FromSeconds(1))
        {
            return;
        }

        AtomicFile.Write(_positionPath, JsonSerializer.SerializeToUtf8Bytes(_applied, MasterPositionJson.Default.MasterPosition));
        _savedAt = DateTime.UtcNow;
    }

    private static MasterPosition Load(string path)
    {
        if (!File.Exists(path))
        {
            return MasterPosition.None;
        }

        var position = JsonSerializer.Deserialize(File.ReadAllBytes(path), MasterPositionJson.Default.MasterPosition);
        return position is { Version: MasterPosition.CurrentVersion } ? position : throw new InvalidDataException($"{path}: unsupported replication position record");
    }
}

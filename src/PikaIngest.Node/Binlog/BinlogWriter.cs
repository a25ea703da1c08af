using Microsoft.Win32.SafeHandles;
using PikaIngest.Node.Memory;

namespace PikaIngest.Node.Binlog;

/// <summary>
/// Appends items to a Pika-layout binlog directory (<c>DATA/log_db0</c>) and keeps its <c>manifest</c>.
/// </summary>
/// <remarks>
/// One thread appends (the caller holds the node's write lock); the <see cref="BinlogSyncPolicy.EverySecond"/>
/// timer and threads reading <see cref="Position"/> run alongside it. Appends collect in a buffer that
/// <see cref="Publish"/> hands to the OS in one write: the node publishes once per batch of pipelined commands,
/// before their replies are sent, instead of paying a system call per command. Readers and the fsync see only
/// published items.
/// </remarks>
internal sealed class BinlogWriter : IDisposable
{
    /// <summary>Keeps an item and its framing within one array; Pika items are commands, far smaller.</summary>
    public const int MaxContentLength = 1 << 30;

    // A long pipeline of writes is published in pieces of about this size rather than held in memory.
    private const int PublishThreshold = 1 << 20;
    private const int RetainedPendingLength = 4 << 20;

    private readonly string _directory;
    private readonly BinlogOptions _options;
    private readonly Action<string>? _log;
    private readonly SafeFileHandle _manifestHandle;
    private readonly ITimer? _timer;

    // Guards the producer state, which the sync timer and other threads read while the writer appends.
    private readonly Lock _gate = new();

    // Held for a whole sync and for a rotation, so the timer never fsyncs a handle the writer is closing.
    private readonly Lock _syncLock = new();

    private SafeFileHandle _handle;
    private uint _fileNum;
    private long _offset;
    private ulong _lastLogicId;
    private uint _term;
    private bool _dirty;
    private bool _closed;
    private bool _disposed;
    private byte[] _pending = new byte[64 << 10];
    private int _pendingLength;

    // What has reached the OS: the sync timer records this, never items still in the buffer.
    private long _writtenOffset;
    private ulong _writtenLogicId;

    private BinlogWriter(string directory, BinlogOptions options, Action<string>? log, BinlogRecoveryResult state, SafeFileHandle handle, SafeFileHandle manifestHandle)
    {
        _directory = directory;
        _options = options;
        _log = log;
        _handle = handle;
        _manifestHandle = manifestHandle;
        _fileNum = state.FileNum;
        _offset = state.Offset;
        _lastLogicId = state.LastLogicId;
        _writtenOffset = state.Offset;
        _writtenLogicId = state.LastLogicId;
        _term = state.Term;
        RecoveredTruncatedBytes = state.TruncatedBytes;
        if (options.Sync == BinlogSyncPolicy.EverySecond)
        {
            _timer = options.Clock.CreateTimer(static w => ((BinlogWriter)w!).OnTimer(), this, options.SyncInterval, options.SyncInterval);
        }
    }

    public string Folder => _directory;

    /// <summary>The producer position: where the next item starts.</summary>
    public BinlogPosition Position
    {
        get
        {
            lock (_gate)
            {
                return new BinlogPosition(_fileNum, (ulong)_offset);
            }
        }
    }

    public ulong LastLogicId
    {
        get
        {
            lock (_gate)
            {
                return _lastLogicId;
            }
        }
    }

    /// <summary>Written into every item header from now on, and kept in the manifest.</summary>
    public uint Term
    {
        get
        {
            lock (_gate)
            {
                return _term;
            }
        }

        set
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            lock (_gate)
            {
                _term = value;
                _dirty = true;
            }

            if (_options.Sync == BinlogSyncPolicy.Always)
            {
                Sync(force: false);
            }
        }
    }

    /// <summary>Bytes of torn tail that <see cref="Open"/> cut off.</summary>
    public long RecoveredTruncatedBytes { get; }

    /// <summary>The <c>write2file&lt;N&gt;</c> numbers present, ascending; the last is the current file.</summary>
    public IReadOnlyList<uint> FileNumbers => BinlogFiles.List(_directory);

    /// <summary>
    /// Opens or creates the binlog in <paramref name="directory"/>. An existing one is scanned from the manifest's
    /// position; a torn tail (what a crash mid-append leaves) is cut off and reported to <paramref name="log"/>.
    /// </summary>
    public static BinlogWriter Open(string directory, BinlogOptions options, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.FileSizeLimit);

        Directory.CreateDirectory(directory);
        var state = BinlogRecovery.Run(directory, log);

        // Data first, then the manifest: a crash in between leaves files without a manifest, which recovery handles.
        var dataPath = BinlogFiles.DataPath(directory, state.FileNum);
        var created = !File.Exists(dataPath);
        var handle = OpenData(dataPath, FileMode.OpenOrCreate);
        SafeFileHandle? manifestHandle = null;
        try
        {
            var manifestPath = BinlogFiles.ManifestPath(directory);
            created |= !File.Exists(manifestPath);
            manifestHandle = File.OpenHandle(manifestPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
            if (created)
            {
                DirectorySync.Flush(directory);
            }

            // Recovery may have moved the position; recorded before the writer (and its timer) exists.
            WriteManifest(manifestHandle, new BinlogManifest(state.FileNum, (ulong)state.Offset, state.LastLogicId, state.Term));
            return new BinlogWriter(directory, options, log, state, handle, manifestHandle);
        }
        catch
        {
            manifestHandle?.Dispose();
            handle.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Appends one item with the next logic id and the current term, and returns the position before it (the one
    /// written in its header). Starts a new file first when the current one has grown past the size limit.
    /// </summary>
    public BinlogPosition Append(BinlogItemType type, ReadOnlySpan<byte> content) => Append(type, content, [], []);

    /// <summary>Appends an item whose content is <paramref name="head"/>, <paramref name="body"/> and <paramref name="tail"/> in turn, framed without joining them first.</summary>
    public BinlogPosition Append(BinlogItemType type, ReadOnlySpan<byte> head, ReadOnlySpan<byte> body, ReadOnlySpan<byte> tail)
    {
        var contentLength = (long)head.Length + body.Length + tail.Length;
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (type is not (BinlogItemType.Command or BinlogItemType.IngestSst))
        {
            throw new ArgumentOutOfRangeException(nameof(type), type, "unknown binlog item type");
        }

        ArgumentOutOfRangeException.ThrowIfGreaterThan(contentLength, MaxContentLength, nameof(body));

        if (_offset > _options.FileSizeLimit)
        {
            Publish();
            Rotate();
        }

        var before = new BinlogPosition(_fileNum, (ulong)_offset);
        var logicId = _lastLogicId + 1;
        var now = (uint)_options.Clock.GetUtcNow().ToUnixTimeSeconds();
        Span<byte> header = stackalloc byte[BinlogItem.HeaderSize];
        BinlogItem.WriteHeader(header, type, now, _term, logicId, before.FileNum, before.Offset, (uint)contentLength);

        var needed = (int)BinlogFraming.MaxFramedLength(header.Length + contentLength);
        if (needed > RetainedPendingLength)
        {
            Publish();
            WriteLarge(new ItemParts(header, head, body, tail), needed, now, logicId);
        }
        else if (_pending.Length - _pendingLength < needed)
        {
            var grown = LargeBuffers.New(Math.Max(_pendingLength + needed, (int)Math.Min(_pending.Length * 2L, Array.MaxLength)));
            _pending.AsSpan(0, _pendingLength).CopyTo(grown);
            _pending = grown;
        }

        if (needed <= RetainedPendingLength)
        {
            var length = BinlogFraming.Frame(new ItemParts(header, head, body, tail), _offset, now, _pending.AsSpan(_pendingLength));
            _pendingLength += length;
            lock (_gate)
            {
                _offset += length;
                _lastLogicId = logicId;
            }
        }

        if (_options.Sync == BinlogSyncPolicy.Always || _pendingLength >= PublishThreshold)
        {
            Publish();
        }

        if (_options.Sync == BinlogSyncPolicy.Always)
        {
            Sync(force: false);
        }

        return before;
    }

    /// <summary>
    /// Hands the appended items to the OS in one write; from then on readers see them and the next sync makes them
    /// durable. False when there was nothing to publish.
    /// </summary>
    public bool Publish()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_pendingLength == 0)
        {
            return false;
        }

        WriteOut(_pending.AsSpan(0, _pendingLength), _offset - _pendingLength);
        _pendingLength = 0;
        if (_pending.Length > RetainedPendingLength)
        {
            _pending = new byte[64 << 10];
        }

        return true;
    }

    /// <summary>
    /// Frames an item too large for the pending buffer (a SET of a huge value) in native memory and writes it at once,
    /// after the items pending before it: the framed copy is freed as soon as it is written, rather than left for the
    /// collector as a value-sized array.
    /// </summary>
    private unsafe void WriteLarge(ItemParts item, int framedLength, uint now, ulong logicId)
    {
        var block = (byte*)System.Runtime.InteropServices.NativeMemory.Alloc((nuint)framedLength);
        try
        {
            var framed = new Span<byte>(block, framedLength);
            var length = BinlogFraming.Frame(item, _offset, now, framed);
            lock (_gate)
            {
                _offset += length;
                _lastLogicId = logicId;
            }

            WriteOut(framed[..length], _offset - length);
        }
        finally
        {
            System.Runtime.InteropServices.NativeMemory.Free(block);
        }
    }

    /// <summary>Writes appended items at <paramref name="start"/>; from then on readers see them and the next sync makes them durable.</summary>
    private void WriteOut(ReadOnlySpan<byte> items, long start)
    {
        try
        {
            RandomAccess.Write(_handle, items, start);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The unwritten items are dropped whole: the binlog ends at the last published item.
            lock (_gate)
            {
                _offset = _writtenOffset;
                _lastLogicId = _writtenLogicId;
            }

            _pendingLength = 0;
            CutPartialWrite();
            throw;
        }

        lock (_gate)
        {
            _writtenOffset = _offset;
            _writtenLogicId = _lastLogicId;
            _dirty = true;
        }
    }

    /// <summary>Publishes, fsyncs the data and rewrites the manifest now, whatever the policy.</summary>
    public void Flush()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Publish();
        Sync(force: true);
    }

    /// <summary>Deletes whole files numbered below <paramref name="fileNum"/>, never the current one; returns how many.</summary>
    public int PurgeBefore(uint fileNum)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var keepFrom = Math.Min(fileNum, Position.FileNum);
        var deleted = 0;
        foreach (var number in BinlogFiles.List(_directory).TakeWhile(n => n < keepFrom))
        {
            File.Delete(BinlogFiles.DataPath(_directory, number));
            deleted++;
        }

        return deleted;
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        Publish();
        _disposed = true;
        _timer?.Dispose();
        lock (_syncLock)
        {
            try
            {
                SyncLocked(force: true);
            }
            finally
            {
                _closed = true;
                _handle.Dispose();
                _manifestHandle.Dispose();
            }
        }
    }

    private static SafeFileHandle OpenData(string path, FileMode mode) =>
        File.OpenHandle(path, mode, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);

    private void Rotate()
    {
        var next = _fileNum + 1;
        lock (_syncLock)
        {
            // The finished file is durable before the next one exists, so recovery never meets a torn tail in front
            // of a newer file, and a reader that sees the next file knows this one is complete.
            RandomAccess.FlushToDisk(_handle);
            var handle = OpenData(BinlogFiles.DataPath(_directory, next), FileMode.CreateNew);
            DirectorySync.Flush(_directory);
            SafeFileHandle finished;
            lock (_gate)
            {
                finished = _handle;
                _handle = handle;
                _fileNum = next;
                _offset = 0;
                _writtenOffset = 0;
                _dirty = true;
            }

            finished.Dispose();
        }
    }

    /// <summary>Cuts off what a failed write left, so a later, shorter item is not followed by stale bytes.</summary>
    private void CutPartialWrite()
    {
        try
        {
            RandomAccess.SetLength(_handle, _writtenOffset);
        }
        catch (IOException e)
        {
            _log?.Invoke($"binlog: could not cut a failed append at {Position}: {e.Message}");
        }
    }

    private void OnTimer()
    {
        try
        {
            Sync(force: false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The timer thread has no caller to throw to; the next tick retries since the state is still dirty.
            _log?.Invoke($"binlog: background sync failed: {e.Message}");
        }
    }

    private void Sync(bool force)
    {
        lock (_syncLock)
        {
            SyncLocked(force);
        }
    }

    /// <summary>fsyncs the data file, then records its position in the manifest, so the manifest never runs ahead of durable data.</summary>
    private void SyncLocked(bool force)
    {
        if (_closed)
        {
            return;
        }

        BinlogManifest state;
        SafeFileHandle handle;
        lock (_gate)
        {
            if (!_dirty && !force)
            {
                return;
            }

            _dirty = false;
            state = new BinlogManifest(_fileNum, (ulong)_writtenOffset, _writtenLogicId, _term);
            handle = _handle;
        }

        try
        {
            RandomAccess.FlushToDisk(handle);
            WriteManifest(_manifestHandle, state);
        }
        catch
        {
            lock (_gate)
            {
                _dirty = true;
            }

            throw;
        }
    }

    /// <summary>
    /// Overwrites the 24-byte record in place and fsyncs it. In place rather than temp file + rename: the record
    /// sits in the first disk sector, whose writes are atomic on power loss, so a crash leaves the old or the new
    /// record, never a mix; a rename would cost a directory fsync every second. It is also what Pika does (an
    /// mmap of the same file), and a stale record is harmless since recovery scans forward from it.
    /// </summary>
    private static void WriteManifest(SafeFileHandle manifest, BinlogManifest state)
    {
        Span<byte> record = stackalloc byte[BinlogManifest.Size];
        state.Write(record);
        RandomAccess.Write(manifest, record, 0);
        RandomAccess.FlushToDisk(manifest);
    }
}

using System.Diagnostics;
using PikaIngest.Node.Binlog;
using PikaIngest.Node.Resp;
using PikaIngest.Node.Storage;

namespace PikaIngest.Node;

/// <summary>
/// The node's single write lock. Every change to the keyspace happens inside it together with its
/// binlog item, so the binlog's order is the order of execution: what a slave replays in order
/// ends in the same state. Reads do not take it; RocksDB gives them a consistent view per key.
/// </summary>
internal sealed class WriteGate : IDisposable
{
    private readonly Lock _lock = new();
    private readonly BinlogWriter _binlog;
    private readonly IStringStore _store;
    private readonly RespWriter _command = new();
    private TaskCompletionSource _published = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public WriteGate(BinlogWriter binlog, IStringStore store)
    {
        _binlog = binlog;
        _store = store;
    }

    public BinlogPosition Position
    {
        get
        {
            lock (_lock)
            {
                return _binlog.Position;
            }
        }
    }

    public ulong LastLogicId
    {
        get
        {
            lock (_lock)
            {
                return _binlog.LastLogicId;
            }
        }
    }

    public Lock.Scope Enter() => _lock.EnterScope();

    /// <summary>
    /// Holds the gate across a run of pipelined blind writes (SET, SETEX, MSET…) and batches their RocksDB writes;
    /// <see cref="ExitBatch"/> applies them, publishes if asked, and releases. Must be exited on the entering thread,
    /// with no await in between.
    /// </summary>
    public void EnterBatch()
    {
        _lock.Enter();
        _store.StartBatching();
    }

    public void ExitBatch(bool publish)
    {
        try
        {
            _store.StopBatching();
            if (publish)
            {
                PublishLocked();
            }
        }
        finally
        {
            _lock.Exit();
        }
    }

    /// <summary>Reads a key under the gate, seeing every write made under it (batched ones included).</summary>
    public StoreStatus Read(ReadOnlySpan<byte> key, long nowMs, out StoredString value)
    {
        Debug.Assert(_lock.IsHeldByCurrentThread, "the write gate must be held");
        _store.FlushBatch();
        return _store.Read(key, nowMs, out value);
    }

    /// <summary>Starts the RESP of the command to log (its effect, e.g. SET with an absolute PXAT); the gate must be held.</summary>
    public RespWriter BeginCommand(int arguments)
    {
        Debug.Assert(_lock.IsHeldByCurrentThread, "the write gate must be held");
        _command.Reset();
        _command.WriteArrayHeader(arguments);
        return _command;
    }

    /// <summary>Appends the command begun with <see cref="BeginCommand"/> to the binlog.</summary>
    public BinlogPosition CommitCommand() => CommitCommand([], []);

    /// <summary>
    /// Appends the command begun with <see cref="BeginCommand"/> followed by <paramref name="body"/> and
    /// <paramref name="tail"/>: a large value is logged from where it lies, not copied into the command first.
    /// </summary>
    public BinlogPosition CommitCommand(ReadOnlySpan<byte> body, ReadOnlySpan<byte> tail)
    {
        Debug.Assert(_lock.IsHeldByCurrentThread, "the write gate must be held");
        var position = _binlog.Append(BinlogItemType.Command, _command.WrittenMemory.Span, body, tail);
        // Not kept until the next write: after a huge value it would hold the value's size.
        _command.Reset();
        return position;
    }

    /// <summary>
    /// Hands what the writes so far buffered — their binlog items and RocksDB WAL records — to the OS, in one
    /// write each. A session calls this once per batch of pipelined commands, before sending their replies, so
    /// nothing is acknowledged that a crash of the process could lose.
    /// </summary>
    public void Publish()
    {
        using (_lock.EnterScope())
        {
            PublishLocked();
        }
    }

    /// <summary>Completes when items are next published (replication senders wait on it at the end of the binlog).</summary>
    public Task NextPublish => Volatile.Read(ref _published).Task;

    /// <summary>The binlog folder, for readers (replication).</summary>
    public string BinlogFolder => _binlog.Folder;

    /// <summary>Binlog file numbers present, oldest first.</summary>
    public IReadOnlyList<uint> BinlogFiles => _binlog.FileNumbers;

    /// <summary>Deletes binlog files numbered below <paramref name="fileNum"/> (never the current one).</summary>
    public int PurgeBinlogBefore(uint fileNum)
    {
        using (_lock.EnterScope())
        {
            return _binlog.PurgeBefore(fileNum);
        }
    }

    private void PublishLocked()
    {
        var published = _binlog.Publish();
        _store.PublishWrites();
        if (published)
        {
            // Only new items wake the replication senders; a publish with nothing new costs no allocation.
            Interlocked.Exchange(ref _published, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        }
    }

    /// <summary>Publishes and fsyncs the binlog now, whatever the sync policy.</summary>
    public void FlushBinlog()
    {
        Debug.Assert(_lock.IsHeldByCurrentThread, "the write gate must be held");
        PublishLocked();
        _binlog.Flush();
    }

    /// <summary>Appends an INGEST_SST item and makes it durable (fsynced, whatever the sync policy) before returning.</summary>
    public BinlogPosition AppendIngest(IngestSstRecord record)
    {
        Debug.Assert(_lock.IsHeldByCurrentThread, "the write gate must be held");
        var position = _binlog.Append(BinlogItemType.IngestSst, record.Encode());
        PublishLocked();
        _binlog.Flush();
        return position;
    }

    public void Dispose()
    {
        using (_lock.EnterScope())
        {
            _binlog.Dispose();
        }

        _command.Dispose();
    }
}

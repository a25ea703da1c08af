using System.Diagnostics;
using PikaIngest.Node.Binlog;
using PikaIngest.Node.Resp;

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
    private readonly RespWriter _command = new();

    public WriteGate(BinlogWriter binlog)
    {
        _binlog = binlog;
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

    /// <summary>Starts the RESP of the command to log (its effect, e.g. SET with an absolute PXAT); the gate must be held.</summary>
    public RespWriter BeginCommand(int arguments)
    {
        Debug.Assert(_lock.IsHeldByCurrentThread, "the write gate must be held");
        _command.Reset();
        _command.WriteArrayHeader(arguments);
        return _command;
    }

    /// <summary>Appends the command begun with <see cref="BeginCommand"/> to the binlog.</summary>
    public BinlogPosition CommitCommand()
    {
        Debug.Assert(_lock.IsHeldByCurrentThread, "the write gate must be held");
        return _binlog.Append(BinlogItemType.Command, _command.WrittenMemory.Span);
    }

    public BinlogPosition AppendIngest(IngestSstRecord record)
    {
        Debug.Assert(_lock.IsHeldByCurrentThread, "the write gate must be held");
        return _binlog.Append(BinlogItemType.IngestSst, record.Encode());
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

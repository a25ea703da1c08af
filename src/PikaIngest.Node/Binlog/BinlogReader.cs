using Microsoft.Win32.SafeHandles;

namespace PikaIngest.Node.Binlog;

/// <summary>
/// Reads items in order from a position, following rotation. Sees what a <see cref="BinlogWriter"/> of the same
/// directory has appended, since every append reaches the OS before it returns.
/// </summary>
internal sealed class BinlogReader : IDisposable
{
    private readonly string _directory;
    private SafeFileHandle _handle;
    private BinlogFileCursor _cursor;

    private BinlogReader(string directory, SafeFileHandle handle, BinlogFileCursor cursor)
    {
        _directory = directory;
        _handle = handle;
        _cursor = cursor;
    }

    /// <summary>Where the next item starts.</summary>
    public BinlogPosition Position => new(_cursor.FileNum, (ulong)_cursor.Offset);

    /// <summary>Why the last <see cref="TryRead"/> returned <see cref="BinlogReadStatus.Corrupt"/>.</summary>
    public string? Error { get; private set; }

    /// <param name="from">An item boundary, as <see cref="BinlogWriter.Append"/> or <see cref="Position"/> gave it.</param>
    /// <exception cref="FileNotFoundException">The file of <paramref name="from"/> does not exist (never written, or purged).</exception>
    public static BinlogReader Open(string directory, BinlogPosition from)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(from.Offset, (ulong)long.MaxValue, nameof(from));
        var handle = OpenFile(directory, from.FileNum);
        return new BinlogReader(directory, handle, new BinlogFileCursor(handle, from.FileNum, (long)from.Offset));
    }

    /// <param name="item">Its content is the reader's own copy.</param>
    public BinlogReadStatus TryRead(out BinlogItem item)
    {
        while (true)
        {
            var status = ReadHere(out item);
            if (status != BinlogReadStatus.End)
            {
                return status;
            }

            var next = _cursor.FileNum + 1;
            if (!File.Exists(BinlogFiles.DataPath(_directory, next)))
            {
                return BinlogReadStatus.End;
            }

            // The writer creates the next file only after the last append to this one, so a second look now
            // sees everything this file will ever hold.
            status = ReadHere(out item);
            if (status != BinlogReadStatus.End)
            {
                return status;
            }

            var length = RandomAccess.GetLength(_handle);
            if (_cursor.Offset != length)
            {
                Error = _cursor.Offset > length
                    ? $"{Position} is beyond the end of {BinlogFiles.Prefix}{_cursor.FileNum} ({length} bytes), which is finished"
                    : $"{BinlogFiles.Prefix}{_cursor.FileNum} ends with an incomplete item at {Position} although {BinlogFiles.Prefix}{next} exists";
                return BinlogReadStatus.Corrupt;
            }

            var nextHandle = OpenFile(_directory, next);
            _handle.Dispose();
            _handle = nextHandle;
            _cursor = new BinlogFileCursor(nextHandle, next, 0);
        }
    }

    public void Dispose() => _handle.Dispose();

    private BinlogReadStatus ReadHere(out BinlogItem item)
    {
        var status = _cursor.TryRead(out var read, out var error);
        Error = error;
        item = status == BinlogReadStatus.Item
            ? new BinlogItem(read.Type, read.ExecTime, read.TermId, read.LogicId, read.FileNum, read.Offset, read.Content.ToArray())
            : default;
        return status;
    }

    // Readers share with the writer and with PurgeBefore, which may delete a file a reader still holds.
    private static SafeFileHandle OpenFile(string directory, uint fileNum) =>
        File.OpenHandle(BinlogFiles.DataPath(directory, fileNum), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
}

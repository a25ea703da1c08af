using Microsoft.Win32.SafeHandles;

namespace PikaIngest.Node.Binlog;

internal enum BinlogReadStatus
{
    Item,

    /// <summary>No complete item after the position yet; a live writer may still add one.</summary>
    End,

    Corrupt,
}

/// <summary>
/// Reads the items of one <c>write2file&lt;N&gt;</c> from an item boundary, a cached 64 KiB block at a time.
/// Used both by <see cref="BinlogReader"/> and by the writer's recovery, so both agree on what a complete item is.
/// </summary>
internal sealed class BinlogFileCursor
{
    private const int BlockSize = BinlogFraming.BlockSize;
    private const int HeaderSize = BinlogFraming.HeaderSize;

    private readonly SafeFileHandle _handle;
    private readonly byte[] _block = new byte[BlockSize];
    private long _blockStart = -1;
    private int _blockLength;
    private byte[] _item = new byte[1024];

    /// <param name="handle">Not owned: the caller keeps it open while the cursor is used.</param>
    public BinlogFileCursor(SafeFileHandle handle, uint fileNum, long offset)
    {
        _handle = handle;
        FileNum = fileNum;
        Offset = offset;
    }

    public uint FileNum { get; }

    /// <summary>Where the next item starts: the end of the last item read.</summary>
    public long Offset { get; private set; }

    /// <summary>
    /// Reads the item at <see cref="Offset"/> and moves past it. On <see cref="BinlogReadStatus.End"/> or
    /// <see cref="BinlogReadStatus.Corrupt"/> nothing moves, so the call can be repeated once the file has grown.
    /// </summary>
    /// <param name="item">Its content points into a buffer the next call reuses.</param>
    public BinlogReadStatus TryRead(out BinlogItem item, out string? error)
    {
        item = default;
        error = null;
        var position = Offset;
        var itemLength = 0;
        var inItem = false;
        while (true)
        {
            var inBlock = (int)(position % BlockSize);
            var blockStart = position - inBlock;
            if (BlockSize - inBlock < HeaderSize)
            {
                // The writer zero-fills such a tail before the next fragment; its bytes carry nothing.
                position = blockStart + BlockSize;
                continue;
            }

            if (!Load(blockStart, inBlock + HeaderSize))
            {
                return BinlogReadStatus.End;
            }

            var header = _block.AsSpan(inBlock, HeaderSize);
            var length = header[0] | (header[1] << 8) | (header[2] << 16);
            var type = (FragmentType)header[7];
            if (type is < FragmentType.Full or > FragmentType.Last)
            {
                error = $"bad fragment type {header[7]} at {Where(position)}";
                return BinlogReadStatus.Corrupt;
            }

            if (length > BlockSize - inBlock - HeaderSize)
            {
                error = $"fragment length {length} at {Where(position)} runs past its 64 KiB block";
                return BinlogReadStatus.Corrupt;
            }

            var starts = type is FragmentType.Full or FragmentType.First;
            if (starts == inItem)
            {
                error = inItem
                    ? $"{type} fragment at {Where(position)} inside the item that starts at {Where(Offset)}"
                    : $"{Where(position)} is not at an item boundary ({type} fragment)";
                return BinlogReadStatus.Corrupt;
            }

            if (!Load(blockStart, inBlock + HeaderSize + length))
            {
                return BinlogReadStatus.End;
            }

            if (_item.Length < itemLength + length)
            {
                Array.Resize(ref _item, Math.Max(itemLength + length, _item.Length * 2));
            }

            _block.AsSpan(inBlock + HeaderSize, length).CopyTo(_item.AsSpan(itemLength));
            itemLength += length;
            position += HeaderSize + length;
            inItem = true;

            if (type is FragmentType.Full or FragmentType.Last)
            {
                if (!BinlogItem.TryDecode(_item.AsMemory(0, itemLength), out item, out var decodeError))
                {
                    error = $"item at {Where(Offset)}: {decodeError}";
                    return BinlogReadStatus.Corrupt;
                }

                Offset = position;
                return BinlogReadStatus.Item;
            }
        }
    }

    /// <summary>Makes the first <paramref name="needed"/> bytes of the block available, reading only what is not cached yet.</summary>
    private bool Load(long blockStart, int needed)
    {
        if (_blockStart != blockStart)
        {
            _blockStart = blockStart;
            _blockLength = 0;
        }

        // Files only grow at the end, so cached bytes stay valid and a short block may have grown since the last look.
        while (_blockLength < needed)
        {
            var read = RandomAccess.Read(_handle, _block.AsSpan(_blockLength), blockStart + _blockLength);
            if (read == 0)
            {
                return false;
            }

            _blockLength += read;
        }

        return true;
    }

    private BinlogPosition Where(long position) => new(FileNum, (ulong)position);
}

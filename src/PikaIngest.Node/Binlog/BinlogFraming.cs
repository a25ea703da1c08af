using System.Buffers.Binary;

namespace PikaIngest.Node.Binlog;

/// <summary>Physical record types of Pika's <c>RecordType</c> (include/pika_define.h).</summary>
internal enum FragmentType : byte
{
    Full = 1,
    First = 2,
    Middle = 3,
    Last = 4,
}

/// <summary>
/// Pika's physical layout (src/pika_binlog.cc, Binlog::Produce and EmitPhysicalRecord): 64 KiB blocks, each
/// fragment an 8-byte header — length u24, Unix time u32, type u8, little-endian — and its payload; a fragment
/// never crosses a block, and a block tail too short for a header is zero-filled when the next item starts.
/// </summary>
internal static class BinlogFraming
{
    public const int BlockSize = 64 * 1024;

    public const int HeaderSize = 8;

    /// <summary>Upper bound of <see cref="Frame"/>'s output: a fragment per started block, one more, and a padded tail.</summary>
    public static long MaxFramedLength(long itemLength) =>
        itemLength + (HeaderSize * ((itemLength / (BlockSize - HeaderSize)) + 2)) + HeaderSize - 1;

    /// <summary>
    /// Writes the item (<paramref name="header"/> then <paramref name="content"/>) as it lands in the file at
    /// <paramref name="fileOffset"/>, and returns the bytes written.
    /// </summary>
    /// <remarks>
    /// Mirrors Pika, including its one oddity: an item starting exactly 8 bytes before a block end gets an empty
    /// First fragment there, because Pika pads only tails shorter than a header. Pika's reader happens to skip
    /// that slot; <see cref="BinlogFileCursor"/> reads it as the empty fragment it is.
    /// </remarks>
    public static int Frame(ReadOnlySpan<byte> header, ReadOnlySpan<byte> content, long fileOffset, uint unixTime, Span<byte> destination) =>
        Frame(new ItemParts(header, content, [], []), fileOffset, unixTime, destination);

    /// <summary>As <see cref="Frame(ReadOnlySpan{byte}, ReadOnlySpan{byte}, long, uint, Span{byte})"/>, the item given in parts.</summary>
    public static int Frame(ItemParts item, long fileOffset, uint unixTime, Span<byte> destination)
    {
        var total = item.Length;
        var blockOffset = (int)(fileOffset % BlockSize);
        var written = 0;
        var done = 0;

        // A flag rather than done == 0: an empty First fragment leaves done at 0.
        var begin = true;
        do
        {
            var leftover = BlockSize - blockOffset;
            if (leftover < HeaderSize)
            {
                destination.Slice(written, leftover).Clear();
                written += leftover;
                blockOffset = 0;
            }

            var length = Math.Min(total - done, BlockSize - blockOffset - HeaderSize);
            var end = done + length == total;
            var type = (begin, end) switch
            {
                (true, true) => FragmentType.Full,
                (true, false) => FragmentType.First,
                (false, true) => FragmentType.Last,
                _ => FragmentType.Middle,
            };

            var fragment = destination.Slice(written, HeaderSize + length);
            fragment[0] = (byte)length;
            fragment[1] = (byte)(length >> 8);
            fragment[2] = (byte)(length >> 16);
            BinaryPrimitives.WriteUInt32LittleEndian(fragment[3..], unixTime);
            fragment[7] = (byte)type;
            item.CopyRange(done, fragment[HeaderSize..]);

            written += fragment.Length;
            blockOffset += fragment.Length;
            done += length;
            begin = false;
        }
        while (done < total);

        return written;
    }

}

/// <summary>
/// A binlog item as the concatenation of its header and its content in up to three parts, so that a command logging a
/// large value (SET key value) is framed from the value where it lies, not from a copy of the whole command first.
/// </summary>
internal readonly ref struct ItemParts(ReadOnlySpan<byte> header, ReadOnlySpan<byte> head, ReadOnlySpan<byte> body, ReadOnlySpan<byte> tail)
{
    private readonly ReadOnlySpan<byte> _header = header;
    private readonly ReadOnlySpan<byte> _head = head;
    private readonly ReadOnlySpan<byte> _body = body;
    private readonly ReadOnlySpan<byte> _tail = tail;

    public int Length => _header.Length + _head.Length + _body.Length + _tail.Length;

    /// <summary>Copies destination.Length bytes from <paramref name="from"/> of the concatenation.</summary>
    public void CopyRange(int from, Span<byte> destination)
    {
        Take(_header, ref from, ref destination);
        Take(_head, ref from, ref destination);
        Take(_body, ref from, ref destination);
        Take(_tail, ref from, ref destination);
    }

    private static void Take(ReadOnlySpan<byte> part, ref int from, ref Span<byte> destination)
    {
        if (from >= part.Length)
        {
            from -= part.Length;
            return;
        }

        var count = Math.Min(part.Length - from, destination.Length);
        part.Slice(from, count).CopyTo(destination);
        destination = destination[count..];
        from = 0;
    }
}

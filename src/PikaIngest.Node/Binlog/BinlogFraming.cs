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
    public static int Frame(ReadOnlySpan<byte> header, ReadOnlySpan<byte> content, long fileOffset, uint unixTime, Span<byte> destination)
    {
        var total = header.Length + content.Length;
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
            CopyRange(header, content, done, fragment[HeaderSize..]);

            written += fragment.Length;
            blockOffset += fragment.Length;
            done += length;
            begin = false;
        }
        while (done < total);

        return written;
    }

    /// <summary>Copies the bytes at <paramref name="from"/> of the concatenation header+content, so the content is copied once.</summary>
    private static void CopyRange(ReadOnlySpan<byte> header, ReadOnlySpan<byte> content, int from, Span<byte> destination)
    {
        if (from < header.Length)
        {
            var fromHeader = Math.Min(header.Length - from, destination.Length);
            header.Slice(from, fromHeader).CopyTo(destination);
            content[..(destination.Length - fromHeader)].CopyTo(destination[fromHeader..]);
        }
        else
        {
            content.Slice(from - header.Length, destination.Length).CopyTo(destination);
        }
    }
}

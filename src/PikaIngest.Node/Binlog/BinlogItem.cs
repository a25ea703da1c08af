using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;

namespace PikaIngest.Node.Binlog;

/// <summary>
/// One logical binlog item: Pika's 34-byte header (type u16, exec_time u32, term_id u32, logic_id u64,
/// filenum u32, offset u64, content_len u32, all little-endian as slash/pstd EncodeFixed writes them on x86)
/// followed by the content.
/// </summary>
/// <remarks>
/// <see cref="FileNum"/>/<see cref="Offset"/> are the writer's position before the item, which is also where
/// the item's first fragment starts unless a block tail had to be padded first.
/// </remarks>
internal readonly struct BinlogItem
{
    public const int HeaderSize = 34;

    public BinlogItem(BinlogItemType type, uint execTime, uint termId, ulong logicId, uint fileNum, ulong offset, ReadOnlyMemory<byte> content)
    {
        Type = type;
        ExecTime = execTime;
        TermId = termId;
        LogicId = logicId;
        FileNum = fileNum;
        Offset = offset;
        Content = content;
    }

    public BinlogItemType Type { get; }

    /// <summary>Unix seconds when the item was appended.</summary>
    public uint ExecTime { get; }

    /// <summary>The writer's term; Pika 3.x called this slot server_id.</summary>
    public uint TermId { get; }

    public ulong LogicId { get; }

    public uint FileNum { get; }

    public ulong Offset { get; }

    public BinlogPosition Position => new(FileNum, Offset);

    public ReadOnlyMemory<byte> Content { get; }

    public int EncodedLength => HeaderSize + Content.Length;

    public static void WriteHeader(
        Span<byte> destination,
        BinlogItemType type,
        uint execTime,
        uint termId,
        ulong logicId,
        uint fileNum,
        ulong offset,
        uint contentLength)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(destination, (ushort)type);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[2..], execTime);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[6..], termId);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[10..], logicId);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[18..], fileNum);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[22..], offset);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[30..HeaderSize], contentLength);
    }

    public byte[] Encode()
    {
        var bytes = new byte[EncodedLength];
        WriteHeader(bytes, Type, ExecTime, TermId, LogicId, FileNum, Offset, (uint)Content.Length);
        Content.Span.CopyTo(bytes.AsSpan(HeaderSize));
        return bytes;
    }

    /// <summary>
    /// Decodes a whole item; <see cref="Content"/> is a slice of <paramref name="encoded"/>, not a copy.
    /// Fails on an unknown type or when content_len disagrees with the bytes after the header, as Pika's
    /// BinlogDecode does.
    /// </summary>
    public static bool TryDecode(ReadOnlyMemory<byte> encoded, out BinlogItem item, [NotNullWhen(false)] out string? error)
    {
        item = default;
        var bytes = encoded.Span;
        if (bytes.Length < HeaderSize)
        {
            error = $"item of {bytes.Length} bytes is shorter than the {HeaderSize}-byte header";
            return false;
        }

        var type = (BinlogItemType)BinaryPrimitives.ReadUInt16LittleEndian(bytes);
        if (type is not (BinlogItemType.Command or BinlogItemType.IngestSst))
        {
            error = $"unknown item type {(ushort)type}";
            return false;
        }

        var contentLength = BinaryPrimitives.ReadUInt32LittleEndian(bytes[30..]);
        if (contentLength != (uint)(bytes.Length - HeaderSize))
        {
            error = $"content_len {contentLength} does not match the {bytes.Length - HeaderSize} bytes after the header";
            return false;
        }

        item = new BinlogItem(
            type,
            BinaryPrimitives.ReadUInt32LittleEndian(bytes[2..]),
            BinaryPrimitives.ReadUInt32LittleEndian(bytes[6..]),
            BinaryPrimitives.ReadUInt64LittleEndian(bytes[10..]),
            BinaryPrimitives.ReadUInt32LittleEndian(bytes[18..]),
            BinaryPrimitives.ReadUInt64LittleEndian(bytes[22..]),
            encoded[HeaderSize..]);
        error = null;
        return true;
    }
}

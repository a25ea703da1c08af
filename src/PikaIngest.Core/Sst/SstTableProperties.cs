using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace PikaIngest.Core.Sst;

/// <summary>
/// Table properties of a RocksDB block-based table (SST) file, read without native RocksDB.
/// </summary>
/// <param name="NumEntries">"rocksdb.num.entries".</param>
/// <param name="RawKeySize">"rocksdb.raw.key.size" (internal keys, i.e. user key + 8 bytes each).</param>
/// <param name="RawValueSize">"rocksdb.raw.value.size".</param>
/// <param name="DataSize">"rocksdb.data.size" (data blocks as stored, including trailers).</param>
/// <param name="IndexSize">"rocksdb.index.size".</param>
/// <param name="FilterSize">"rocksdb.filter.size".</param>
/// <param name="NumDataBlocks">"rocksdb.num.data.blocks".</param>
/// <param name="CompressionName">
/// "rocksdb.compression" as RocksDB names it (e.g. "LZ4", "NoCompression"). Up to footer format_version 6 this is the
/// configured algorithm. From format_version 7 the stored value is "&lt;manager&gt;;&lt;hex types used&gt;;" (raw form in
/// <see cref="All"/>) and is rendered as the comma-separated names of the types actually used by the file's blocks, or
/// "NoCompression" when no block ended up compressed. Empty when the property is absent.
/// </param>
/// <param name="ComparatorName">"rocksdb.comparator", empty when absent.</param>
/// <param name="FormatVersion">"rocksdb.format.version" from the properties block.</param>
/// <param name="FooterFormatVersion">The format_version recorded in the file footer (0 for the legacy footer).</param>
/// <param name="CreationTime">"rocksdb.creation.time" (Unix seconds, 0 when unknown).</param>
/// <param name="FileCreationTime">"rocksdb.file.creation.time" (Unix seconds, 0 when unknown).</param>
/// <param name="ColumnFamilyName">"rocksdb.column.family.name", or null when absent.</param>
/// <param name="All">Every property of the properties block with its raw stored value.</param>
public sealed record SstTableProperties(
    long NumEntries,
    long RawKeySize,
    long RawValueSize,
    long DataSize,
    long IndexSize,
    long FilterSize,
    long NumDataBlocks,
    string CompressionName,
    string ComparatorName,
    long FormatVersion,
    int FooterFormatVersion,
    long CreationTime,
    long FileCreationTime,
    string? ColumnFamilyName,
    IReadOnlyDictionary<string, byte[]> All)
{
    // table/block_based/block_based_table_builder.cc
    private const ulong BlockBasedTableMagicNumber = 0x88e241b785f4cff7;
    private const ulong LegacyBlockBasedTableMagicNumber = 0xdb4775248b80fb57;

    // table/format.h: BlockHandle::kMaxEncodedLength, Footer::kVersion0EncodedLength, kNewVersionsEncodedLength.
    private const int MagicNumberLength = 8;
    private const int FooterPart2Length = 2 * 2 * 10;
    private const int LegacyFooterLength = FooterPart2Length + MagicNumberLength;
    private const int FooterLength = 1 + FooterPart2Length + 4 + MagicNumberLength;

    // One compression-type byte plus a 32-bit checksum follow every block.
    private const int BlockTrailerLength = 5;

    // table/format.h kLatestBbtFormatVersion; 8 is an unpublished draft that changes the footer.
    private const uint LatestFooterFormatVersion = 7;

    // kXXH3 is the highest ChecksumType (include/rocksdb/table.h).
    private const byte LatestChecksumType = 4;

    // table/block_based/data_block_footer.h: the top four bits of a block's restart count flag optional
    // layouts (hash index, separated values, ...) that RocksDB never uses for metaindex or properties blocks.
    private const uint BlockFooterFeatureBits = 0xF000_0000;

    // table/meta_blocks.cc kPropertiesBlock / kPropertiesBlockOldName.
    private static readonly byte[] PropertiesBlockName = "rocksdb.properties"u8.ToArray();
    private static readonly byte[] LegacyPropertiesBlockName = "rocksdb.stats"u8.ToArray();

    /// <summary>Reads the table properties of the SST file at <paramref name="path"/>.</summary>
    /// <exception cref="InvalidDataException">The file is not a readable block-based SST file.</exception>
    public static SstTableProperties Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        // Other processes may still be writing or replacing the file; a torn result is reported as InvalidDataException.
        using SafeFileHandle handle = File.OpenHandle(
            path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        return ParseCore(new FileSource(handle, RandomAccess.GetLength(handle), path), path);
    }

    /// <summary>Parses the table properties from the complete contents of an SST file.</summary>
    /// <exception cref="InvalidDataException">The bytes are not a readable block-based SST file.</exception>
    public static SstTableProperties Parse(ReadOnlySpan<byte> wholeFile, string nameForErrors)
    {
        ArgumentNullException.ThrowIfNull(nameForErrors);
        return ParseCore(new SpanSource(wholeFile), nameForErrors);
    }

    private static SstTableProperties ParseCore<TSource>(TSource source, string name)
        where TSource : IByteSource, allows ref struct
    {
        Footer footer = ReadFooter(source, name);
        ReadOnlySpan<byte> metaindex = ReadMetaBlock(source, footer.Metaindex, footer.Offset, "metaindex", name);

        BlockHandle? propertiesHandle = null;
        foreach ((byte[] key, byte[] value) in ReadEntries(metaindex, "metaindex", name))
        {
            if (key.AsSpan().SequenceEqual(PropertiesBlockName)
                || (propertiesHandle is null && key.AsSpan().SequenceEqual(LegacyPropertiesBlockName)))
            {
                int position = 0;
                propertiesHandle = ReadBlockHandle(value, ref position, "properties block handle", name);
            }
        }

        if (propertiesHandle is not { } handle)
        {
            throw Corrupt(name, "metaindex block has no \"rocksdb.properties\" entry");
        }

        ReadOnlySpan<byte> propertiesBlock = ReadMetaBlock(source, handle, footer.Offset, "properties", name);
        var all = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach ((byte[] key, byte[] value) in ReadEntries(propertiesBlock, "properties", name))
        {
            if (!all.TryAdd(Encoding.UTF8.GetString(key), value))
            {
                throw Corrupt(name, "properties block has two names that decode to the same UTF-8 string");
            }
        }

        // table/table_properties.cc TablePropertiesNames; table/meta_blocks.cc decodes these as varint64.
        return new SstTableProperties(
            NumEntries: GetNumber(all, "rocksdb.num.entries", name),
            RawKeySize: GetNumber(all, "rocksdb.raw.key.size", name),
            RawValueSize: GetNumber(all, "rocksdb.raw.value.size", name),
            DataSize: GetNumber(all, "rocksdb.data.size", name),
            IndexSize: GetNumber(all, "rocksdb.index.size", name),
            FilterSize: GetNumber(all, "rocksdb.filter.size", name),
            NumDataBlocks: GetNumber(all, "rocksdb.num.data.blocks", name),
            CompressionName: DescribeCompression(GetString(all, "rocksdb.compression") ?? string.Empty, footer.FormatVersion, name),
            ComparatorName: GetString(all, "rocksdb.comparator") ?? string.Empty,
            FormatVersion: GetNumber(all, "rocksdb.format.version", name),
            FooterFormatVersion: footer.FormatVersion,
            CreationTime: GetNumber(all, "rocksdb.creation.time", name),
            FileCreationTime: GetNumber(all, "rocksdb.file.creation.time", name),
            ColumnFamilyName: GetString(all, "rocksdb.column.family.name"),
            All: all.AsReadOnly());
    }

    // Footer layouts from table/format.cc (Footer::DecodeFrom):
    //   legacy (48 bytes): metaindex handle, index handle, zero padding to 40 bytes, legacy magic.
    //   v1..v5 (53 bytes): checksum type, metaindex handle, index handle, padding to 41 bytes, format_version u32, magic.
    //   v6+    (53 bytes): checksum type, extended magic 3e 00 7a 00, footer checksum u32, base context checksum u32,
    //                      metaindex size u32 (metaindex ends right before the footer), 16 unchecked bytes,
    //                      8 bytes that must be zero, format_version u32, magic.
    private static Footer ReadFooter<TSource>(TSource source, string name)
        where TSource : IByteSource, allows ref struct
    {
        long fileLength = source.Length;
        if (fileLength < LegacyFooterLength)
        {
            throw Corrupt(name, $"file is too short ({fileLength} bytes) to be an SST file");
        }

        int tailLength = (int)Math.Min(fileLength, FooterLength);
        ReadOnlySpan<byte> tail = source.Read(fileLength - tailLength, tailLength);
        ulong magic = BinaryPrimitives.ReadUInt64LittleEndian(tail[^MagicNumberLength..]);

        if (magic == LegacyBlockBasedTableMagicNumber)
        {
            int position = 0;
            BlockHandle legacyMetaindex = ReadBlockHandle(
                tail[^LegacyFooterLength..][..FooterPart2Length], ref position, "footer metaindex handle", name);
            return new Footer(fileLength - LegacyFooterLength, 0, legacyMetaindex);
        }

        if (magic != BlockBasedTableMagicNumber)
        {
            throw Corrupt(name, $"bad magic number 0x{magic:x16}; not a RocksDB block-based table file (or truncated)");
        }

        if (fileLength < FooterLength)
        {
            throw Corrupt(name, $"file is too short ({fileLength} bytes) to be an SST file");
        }

        uint formatVersion = BinaryPrimitives.ReadUInt32LittleEndian(tail[(1 + FooterPart2Length)..]);
        if (formatVersion is 0 or > LatestFooterFormatVersion)
        {
            throw Corrupt(name, $"unsupported footer format_version {formatVersion} (supported: 1..{LatestFooterFormatVersion})");
        }

        if (tail[0] > LatestChecksumType)
        {
            throw Corrupt(name, $"unsupported checksum type {tail[0]} in footer");
        }

        long footerOffset = fileLength - FooterLength;
        ReadOnlySpan<byte> part2 = tail.Slice(1, FooterPart2Length);
        if (formatVersion < 6)
        {
            int position = 0;
            return new Footer(footerOffset, (int)formatVersion, ReadBlockHandle(part2, ref position, "footer metaindex handle", name));
        }

        if (!part2[..4].SequenceEqual((ReadOnlySpan<byte>)[0x3e, 0x00, 0x7a, 0x00]))
        {
            throw Corrupt(name, "bad extended magic number in format_version >= 6 footer");
        }

        if (BinaryPrimitives.ReadUInt32LittleEndian(part2[8..]) == 0)
        {
            throw Corrupt(name, "invalid base context checksum (0) in footer");
        }

        if (BinaryPrimitives.ReadUInt64LittleEndian(part2[32..]) != 0)
        {
            throw Corrupt(name, "footer uses a future feature (reserved bytes are not zero)");
        }

        uint metaindexSize = BinaryPrimitives.ReadUInt32LittleEndian(part2[12..]);
        long metaindexEnd = footerOffset - BlockTrailerLength;
        if (metaindexEnd < metaindexSize)
        {
            throw Corrupt(name, $"metaindex size {metaindexSize} in footer exceeds the file");
        }

        return new Footer(footerOffset, (int)formatVersion, new BlockHandle((ulong)(metaindexEnd - metaindexSize), metaindexSize));
    }

    // Returns the block contents without the trailer. Only uncompressed blocks are accepted: RocksDB writes the
    // metaindex and properties blocks with kNoCompression (block_based_table_builder.cc WriteRawBlock).
    private static ReadOnlySpan<byte> ReadMetaBlock<TSource>(
        TSource source, BlockHandle handle, long footerOffset, string what, string name)
        where TSource : IByteSource, allows ref struct
    {
        ulong available = (ulong)footerOffset;
        if (handle.Size > int.MaxValue - BlockTrailerLength
            || handle.Offset > available
            || available - handle.Offset < handle.Size + BlockTrailerLength)
        {
            throw Corrupt(name, $"{what} block (offset {handle.Offset}, size {handle.Size}) lies outside the file");
        }

        int size = (int)handle.Size;
        ReadOnlySpan<byte> block = source.Read((long)handle.Offset, size + BlockTrailerLength);
        byte compressionType = block[size];
        if (compressionType != 0)
        {
            throw Corrupt(name, $"{what} block is compressed (compression type 0x{compressionType:x2}); only uncompressed meta blocks are supported");
        }

        return block[..size];
    }

    // Block layout (table/block_based/block_builder.cc, block.cc): entries, then a uint32 restart array, then
    // the uint32 restart count. Each entry is varint32 shared, varint32 non_shared, varint32 value_length,
    // key delta bytes and value bytes; the key is the first `shared` bytes of the previous key plus the delta.
    private static List<(byte[] Key, byte[] Value)> ReadEntries(ReadOnlySpan<byte> block, string what, string name)
    {
        if (block.Length < sizeof(uint))
        {
            throw Corrupt(name, $"{what} block is too small ({block.Length} bytes)");
        }

        uint numRestarts = BinaryPrimitives.ReadUInt32LittleEndian(block[^sizeof(uint)..]);
        if ((numRestarts & BlockFooterFeatureBits) != 0)
        {
            throw Corrupt(name, $"{what} block uses an unsupported block layout (footer 0x{numRestarts:x8})");
        }

        long entriesEnd = block.Length - ((1L + numRestarts) * sizeof(uint));
        if (entriesEnd < 0)
        {
            throw Corrupt(name, $"{what} block restart count {numRestarts} exceeds the block size");
        }

        var entries = new List<(byte[] Key, byte[] Value)>();
        ReadOnlySpan<byte> data = block[..(int)entriesEnd];
        byte[] previousKey = [];
        int position = 0;
        while (position < data.Length)
        {
            if (!TryReadVarint32(data, ref position, out uint shared)
                || !TryReadVarint32(data, ref position, out uint nonShared)
                || !TryReadVarint32(data, ref position, out uint valueLength)
                || shared > previousKey.Length
                || (ulong)nonShared + valueLength > (ulong)(data.Length - position))
            {
                throw Corrupt(name, $"{what} block has a malformed entry at offset {position}");
            }

            byte[] key = new byte[shared + nonShared];
            previousKey.AsSpan(0, (int)shared).CopyTo(key);
            data.Slice(position, (int)nonShared).CopyTo(key.AsSpan((int)shared));
            position += (int)nonShared;
            byte[] value = data.Slice(position, (int)valueLength).ToArray();
            position += (int)valueLength;

            // RocksDB rejects properties that are not strictly increasing (meta_blocks.cc "properties unsorted").
            if (entries.Count > 0 && key.AsSpan().SequenceCompareTo(previousKey) <= 0)
            {
                throw Corrupt(name, $"{what} block keys are not strictly increasing");
            }

            entries.Add((key, value));
            previousKey = key;
        }

        return entries;
    }

    private static BlockHandle ReadBlockHandle(ReadOnlySpan<byte> data, ref int position, string what, string name)
    {
        if (!TryReadVarint64(data, ref position, out ulong offset) || !TryReadVarint64(data, ref position, out ulong size))
        {
            throw Corrupt(name, $"malformed {what}");
        }

        return new BlockHandle(offset, size);
    }

    // util/coding.h GetVarint32Ptr / GetVarint64Ptr: little-endian base-128, at most 5 / 10 bytes.
    private static bool TryReadVarint32(ReadOnlySpan<byte> data, ref int position, out uint value)
    {
        value = 0;
        for (int shift = 0; shift <= 28 && position < data.Length; shift += 7)
        {
            uint b = data[position++];
            value |= (b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return true;
            }
        }

        return false;
    }

    private static bool TryReadVarint64(ReadOnlySpan<byte> data, ref int position, out ulong value)
    {
        value = 0;
        for (int shift = 0; shift <= 63 && position < data.Length; shift += 7)
        {
            ulong b = data[position++];
            value |= (b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return true;
            }
        }

        return false;
    }

    private static long GetNumber(Dictionary<string, byte[]> properties, string key, string name)
    {
        if (!properties.TryGetValue(key, out byte[]? raw))
        {
            return 0;
        }

        int position = 0;
        if (!TryReadVarint64(raw, ref position, out ulong value))
        {
            throw Corrupt(name, $"property {key} is not a valid varint64");
        }

        if (value > long.MaxValue)
        {
            throw Corrupt(name, $"property {key} value {value} is out of range");
        }

        return (long)value;
    }

    private static string? GetString(Dictionary<string, byte[]> properties, string key) =>
        properties.TryGetValue(key, out byte[]? raw) ? Encoding.UTF8.GetString(raw) : null;

    // block_based_table_builder.cc PostPopulateCompressionProperties: from format_version 7 the property is
    // "<compression manager compatibility name>;<compression types used, two uppercase hex digits each>;[more fields]".
    private static string DescribeCompression(string stored, int footerFormatVersion, string name)
    {
        if (footerFormatVersion < 7 || stored.Length == 0)
        {
            return stored;
        }

        string[] fields = stored.Split(';');
        string typesUsed = fields.Length >= 2 ? fields[1] : string.Empty;
        if (fields.Length < 2 || typesUsed.Length % 2 != 0)
        {
            throw Corrupt(name, $"malformed rocksdb.compression property \"{stored}\"");
        }

        if (typesUsed.Length == 0)
        {
            return CompressionTypeName(0);
        }

        var names = new List<string>(typesUsed.Length / 2);
        for (int i = 0; i < typesUsed.Length; i += 2)
        {
            if (!byte.TryParse(typesUsed.AsSpan(i, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out byte type))
            {
                throw Corrupt(name, $"malformed rocksdb.compression property \"{stored}\"");
            }

            names.Add(CompressionTypeName(type));
        }

        return string.Join(',', names);
    }

    // include/rocksdb/compression_type.h values, named as util/compression.h CompressionTypeToString does.
    private static string CompressionTypeName(byte type) => type switch
    {
        0x00 => "NoCompression",
        0x01 => "Snappy",
        0x02 => "Zlib",
        0x03 => "BZip2",
        0x04 => "LZ4",
        0x05 => "LZ4HC",
        0x06 => "Xpress",
        0x07 => "ZSTD",
        _ => "0x" + type.ToString("X2", CultureInfo.InvariantCulture),
    };

    private static InvalidDataException Corrupt(string name, string reason) => new($"{name}: {reason}");

    private readonly record struct BlockHandle(ulong Offset, ulong Size);

    private readonly record struct Footer(long Offset, int FormatVersion, BlockHandle Metaindex);

    private interface IByteSource
    {
        long Length { get; }

        // Callers guarantee 0 <= offset and offset + count <= Length.
        ReadOnlySpan<byte> Read(long offset, int count);
    }

    private readonly ref struct SpanSource(ReadOnlySpan<byte> data) : IByteSource
    {
        private readonly ReadOnlySpan<byte> _data = data;

        public long Length => _data.Length;

        public ReadOnlySpan<byte> Read(long offset, int count) => _data.Slice((int)offset, count);
    }

    private readonly struct FileSource(SafeFileHandle handle, long length, string name) : IByteSource
    {
        public long Length => length;

        public ReadOnlySpan<byte> Read(long offset, int count)
        {
            byte[] buffer = new byte[count];
            int total = 0;
            while (total < count)
            {
                int read = RandomAccess.Read(handle, buffer.AsSpan(total), offset + total);
                if (read == 0)
                {
                    throw Corrupt(name, "file shrank while it was being read");
                }

                total += read;
            }

            return buffer;
        }
    }
}

using System.Buffers.Binary;

namespace PikaIngest.Node.Binlog;

/// <summary>
/// The producer position in <c>manifest</c>, laid out as Pika's Version::StableSave (src/pika_binlog.cc):
/// filenum u32 at 0, offset u64 at 4, logic_id u64 at 12, term u32 at 20, host-order memcpy, which is
/// little-endian on every platform Pika runs on.
/// </summary>
/// <remarks>Pika's file is a 64 KiB mmap of which only these 24 bytes are used; either size reads.</remarks>
internal readonly record struct BinlogManifest(uint FileNum, ulong Offset, ulong LogicId, uint Term)
{
    public const int Size = 24;

    public BinlogPosition Position => new(FileNum, Offset);

    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(destination, FileNum);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[4..], Offset);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[12..], LogicId);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[20..Size], Term);
    }

    public static BinlogManifest Read(ReadOnlySpan<byte> source) => new(
        BinaryPrimitives.ReadUInt32LittleEndian(source),
        BinaryPrimitives.ReadUInt64LittleEndian(source[4..]),
        BinaryPrimitives.ReadUInt64LittleEndian(source[12..]),
        BinaryPrimitives.ReadUInt32LittleEndian(source[20..Size]));

    /// <summary>Reads the manifest, or returns null when it is missing or shorter than a record (torn on creation).</summary>
    public static BinlogManifest? TryLoad(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        Span<byte> buffer = stackalloc byte[Size];
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var read = 0;
        while (read < Size)
        {
            var n = RandomAccess.Read(handle, buffer[read..], read);
            if (n == 0)
            {
                return null;
            }

            read += n;
        }

        return Read(buffer);
    }
}

using System.IO.Hashing;

namespace PikaIngest.Core.Formats;

/// <summary>
/// Picks the RocksDB instance of a key the way Pika does: CRC-32 (zlib/IEEE) of the Codis hash
/// tag, modulo 1024 slots, modulo the instance count (GetSlotsID in pika_codis_slot.cc).
/// </summary>
public static class InstanceRouter
{
    public const int SlotCount = 1024;

    /// <summary>The text between the first '{' and the next '}' when both exist (possibly empty); else the whole key.</summary>
    public static ReadOnlySpan<byte> HashTag(ReadOnlySpan<byte> key)
    {
        var open = key.IndexOf((byte)'{');
        if (open < 0)
        {
            return key;
        }

        var close = key[(open + 1)..].IndexOf((byte)'}');
        return close < 0 ? key : key.Slice(open + 1, close);
    }

    public static int Slot(ReadOnlySpan<byte> key) => (int)(Crc32.HashToUInt32(HashTag(key)) % SlotCount);

    public static int Instance(ReadOnlySpan<byte> key, int instances) =>
        instances == 1 ? 0 : Slot(key) % instances;
}

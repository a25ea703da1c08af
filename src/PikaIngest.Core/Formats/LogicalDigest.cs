using System.Buffers.Binary;
using System.Globalization;
using System.IO.Hashing;

namespace PikaIngest.Core.Formats;

/// <summary>
/// DEBUG DIGEST (docs/FORMATS.md §8), version 2: for every live key, h = XXH3-128 (seed 0) of (u32le key length ‖ key ‖
/// u32le value length ‖ value ‖ i64le expiry in Unix ms, 0 for none), read as an unsigned 128-bit integer; the digest
/// is the sum of all h modulo 2^128, printed as 32 lower-case hex digits (most significant first). An empty keyspace
/// is 32 zeros.
/// </summary>
/// <remarks>
/// A sum is independent of the order keys are visited in, so nodes with different instance counts or physical
/// layouts agree, partial sums over instances or threads simply add up, and unlike XOR a key stored twice does not
/// cancel out. XXH3 replaced SHA-256 (version 1) because the digest reads every key of a node: SHA-256's per-call
/// cost made a 15-million-key digest take minutes, XXH3 takes seconds. The digest detects divergence between nodes,
/// not tampering. Creation times are not part of it: they record when a node wrote a key, not what it holds.
/// </remarks>
public sealed class LogicalDigest
{
    private byte[] _scratch = new byte[256];

    public UInt128 Sum { get; private set; }

    public long Keys { get; private set; }

    public void Add(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, long expireUnixMs) =>
        AddHash(Hash(key, value, expireUnixMs, ref _scratch));

    /// <summary>Adds one key's <see cref="Hash"/> computed elsewhere.</summary>
    public void AddHash(UInt128 hash)
    {
        Sum += hash;
        Keys++;
    }

    /// <summary>Adds a partial digest (another instance's or thread's keys).</summary>
    public void Merge(LogicalDigest other)
    {
        ArgumentNullException.ThrowIfNull(other);
        Sum += other.Sum;
        Keys += other.Keys;
    }

    /// <summary>One key's contribution; <paramref name="scratch"/> is grown as needed and reused between calls.</summary>
    public static UInt128 Hash(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, long expireUnixMs, ref byte[] scratch)
    {
        var length = 4 + key.Length + 4 + value.Length + 8;
        if (scratch.Length < length)
        {
            scratch = new byte[Math.Max(length, scratch.Length * 2)];
        }

        var buffer = scratch.AsSpan(0, length);
        BinaryPrimitives.WriteUInt32LittleEndian(buffer, (uint)key.Length);
        key.CopyTo(buffer[4..]);
        BinaryPrimitives.WriteUInt32LittleEndian(buffer[(4 + key.Length)..], (uint)value.Length);
        value.CopyTo(buffer[(8 + key.Length)..]);
        BinaryPrimitives.WriteInt64LittleEndian(buffer[(8 + key.Length + value.Length)..], expireUnixMs);
        return XxHash128.HashToUInt128(buffer);
    }

    public string ToHex() => ToHex(Sum);

    public static string ToHex(UInt128 sum) => sum.ToString("x32", CultureInfo.InvariantCulture);
}

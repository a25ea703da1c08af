using System.Buffers.Binary;
using System.Security.Cryptography;

namespace PikaIngest.Core.Formats;

/// <summary>
/// DEBUG DIGEST (FORMATS.md §8): for every live key, h = SHA-256(u32le key length ‖ key ‖
/// u32le value length ‖ value ‖ i64le expiry in Unix ms, 0 for none); the digest is the sum of
/// all h read as little-endian 256-bit integers, modulo 2^256, printed as 64 lower-case hex
/// digits of that little-endian number. An empty keyspace is 64 zeros.
/// </summary>
/// <remarks>
/// A sum is independent of the order keys are visited in, so nodes with different instance
/// counts or physical layouts agree; unlike XOR, a key stored twice does not cancel out.
/// Creation times are not part of it: they record when a node wrote a key, not what it holds.
/// </remarks>
public sealed class LogicalDigest
{
    private readonly ulong[] _sum = new ulong[4];
    private byte[] _scratch = new byte[256];

    public long Keys { get; private set; }

    public void Add(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, long expireUnixMs)
    {
        var length = 4 + key.Length + 4 + value.Length + 8;
        if (_scratch.Length < length)
        {
            _scratch = new byte[Math.Max(length, _scratch.Length * 2)];
        }

        var buffer = _scratch.AsSpan(0, length);
        BinaryPrimitives.WriteUInt32LittleEndian(buffer, (uint)key.Length);
        key.CopyTo(buffer[4..]);
        BinaryPrimitives.WriteUInt32LittleEndian(buffer[(4 + key.Length)..], (uint)value.Length);
        value.CopyTo(buffer[(8 + key.Length)..]);
        BinaryPrimitives.WriteInt64LittleEndian(buffer[(8 + key.Length + value.Length)..], expireUnixMs);

        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(buffer, hash);
        ulong carry = 0;
        for (var i = 0; i < 4; i++)
        {
            var word = BinaryPrimitives.ReadUInt64LittleEndian(hash[(i * 8)..]);
            var partial = _sum[i] + word;
            var carryOut = partial < word ? 1UL : 0UL;
            var total = partial + carry;
            carryOut += total < partial ? 1UL : 0UL;
            _sum[i] = total;
            carry = carryOut;
        }

        Keys++;
    }

    public string ToHex()
    {
        Span<byte> bytes = stackalloc byte[32];
        for (var i = 0; i < 4; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(bytes[(i * 8)..], _sum[i]);
        }

        return Convert.ToHexStringLower(bytes);
    }
}

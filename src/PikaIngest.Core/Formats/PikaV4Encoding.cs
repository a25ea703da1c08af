using System.Buffers.Binary;

namespace PikaIngest.Core.Formats;

/// <summary>
/// Pika 4 string layout (docs/FORMATS.md §2). Key: 8 reserved zero bytes, the user key with every
/// 0x00 written as 00 01 and terminated by 00 00, then 16 reserved zero bytes. Value: type byte
/// 0x00, the user value, 16 reserved zero bytes, ctime u64, etime u64 (milliseconds, bit 63 set).
/// </summary>
/// <remarks>
/// Pika 4.0.1's EncodeUserKey (storage_define.h) does not advance past the bytes it copies after
/// the last embedded 0x00, so its terminator overwrites them. This implements the intended
/// escaping, which is what its DecodeUserKey reads back.
/// </remarks>
public sealed class PikaV4Encoding : RecordEncoding
{
    public static readonly PikaV4Encoding Instance = new();

    public const int KeyPrefixLength = 8;
    public const int KeySuffixLength = 16;
    public const byte StringType = 0x00;
    public const int ValueReservedLength = 16;
    public const int ValueSuffixLength = ValueReservedLength + 8 + 8;

    /// <summary>Bit 63 marks a timestamp as milliseconds; v4.0.0 wrote seconds without it.</summary>
    public const ulong MillisecondsFlag = 1UL << 63;

    private PikaV4Encoding()
    {
    }

    public override TargetFormat Format => TargetFormat.PikaV4;

    public override int MaxEncodedKeyLength(int userKeyLength) =>
        KeyPrefixLength + (2 * userKeyLength) + 2 + KeySuffixLength;

    public override int EncodeKey(ReadOnlySpan<byte> userKey, Span<byte> destination)
    {
        destination[..KeyPrefixLength].Clear();
        var at = KeyPrefixLength;
        var rest = userKey;
        while (true)
        {
            var zero = rest.IndexOf((byte)0);
            if (zero < 0)
            {
                rest.CopyTo(destination[at..]);
                at += rest.Length;
                break;
            }

            rest[..zero].CopyTo(destination[at..]);
            at += zero;
            destination[at++] = 0x00;
            destination[at++] = 0x01;
            rest = rest[(zero + 1)..];
        }

        destination[at++] = 0x00;
        destination[at++] = 0x00;
        destination.Slice(at, KeySuffixLength).Clear();
        return at + KeySuffixLength;
    }

    public override int EncodedValueLength(int userValueLength) => 1 + userValueLength + ValueSuffixLength;

    public override int EncodeValue(ReadOnlySpan<byte> userValue, long expireUnixSeconds, long createdUnixMs, Span<byte> destination) =>
        EncodeValueMs(userValue, expireUnixSeconds == 0 ? 0 : checked(expireUnixSeconds * 1000), createdUnixMs, destination);

    /// <summary>Encodes a value whose expiry is in Unix milliseconds (0 = none), as a server's SET PX writes it.</summary>
    public static int EncodeValueMs(ReadOnlySpan<byte> userValue, long expireUnixMs, long createdUnixMs, Span<byte> destination)
    {
        destination[0] = StringType;
        userValue.CopyTo(destination[1..]);
        var tail = destination.Slice(1 + userValue.Length, ValueSuffixLength);
        tail[..ValueReservedLength].Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(tail[ValueReservedLength..], ToStoredMs(createdUnixMs));
        BinaryPrimitives.WriteUInt64LittleEndian(tail[(ValueReservedLength + 8)..], ToStoredMs(expireUnixMs));
        return 1 + userValue.Length + ValueSuffixLength;
    }

    private static ulong ToStoredMs(long unixMs) => unixMs == 0 ? 0UL : (ulong)unixMs | MillisecondsFlag;

    /// <summary>Reads a stored ctime/etime as Unix milliseconds (0 stays 0).</summary>
    public static long FromStoredTime(ulong stored) =>
        stored == 0 ? 0
        : (stored & MillisecondsFlag) != 0 ? (long)(stored & ~MillisecondsFlag)
        : checked((long)stored * 1000);

    public static byte[] DecodeKey(ReadOnlySpan<byte> storedKey)
    {
        var user = new byte[Math.Max(0, storedKey.Length - KeyPrefixLength - KeySuffixLength)];
        return user.AsSpan(0, DecodeKey(storedKey, user)).ToArray();
    }

    /// <summary>Decodes a stored key into <paramref name="user"/> (at least the stored key's length less 24 bytes); returns its length.</summary>
    /// <exception cref="FormatException">The bytes are not a pika-v4 string key.</exception>
    public static int DecodeKey(ReadOnlySpan<byte> storedKey, Span<byte> user)
    {
        if (storedKey.Length < KeyPrefixLength + 2 + KeySuffixLength)
        {
            throw new FormatException($"pika-v4 key too short ({storedKey.Length} bytes)");
        }

        if (storedKey[..KeyPrefixLength].ContainsAnyExcept((byte)0))
        {
            throw new FormatException("pika-v4 key prefix is not zero");
        }

        var body = storedKey[KeyPrefixLength..^KeySuffixLength];
        var length = 0;
        var i = 0;
        while (true)
        {
            var zero = body[i..].IndexOf((byte)0);
            if (zero < 0 || i + zero + 1 >= body.Length)
            {
                throw new FormatException("pika-v4 key has no terminator");
            }

            body.Slice(i, zero).CopyTo(user[length..]);
            length += zero;
            i += zero;
            var marker = body[i + 1];
            if (marker == 0x00)
            {
                if (i + 2 != body.Length)
                {
                    throw new FormatException("pika-v4 key has bytes after its terminator");
                }

                break;
            }

            if (marker != 0x01)
            {
                throw new FormatException($"pika-v4 key has invalid escape 00 {marker:x2}");
            }

            user[length++] = 0x00;
            i += 2;
        }

        if (storedKey[^KeySuffixLength..].ContainsAnyExcept((byte)0))
        {
            throw new FormatException("pika-v4 key suffix is not zero");
        }

        return length;
    }

    public override DecodedRecord Decode(ReadOnlySpan<byte> storedKey, ReadOnlySpan<byte> storedValue)
    {
        var key = DecodeKey(storedKey);
        if (storedValue.Length < 1 + ValueSuffixLength)
        {
            throw new FormatException($"pika-v4 value too short ({storedValue.Length} bytes)");
        }

        if (storedValue[0] != StringType)
        {
            throw new FormatException($"pika-v4 value type 0x{storedValue[0]:x2} is not a string");
        }

        var tail = storedValue[^ValueSuffixLength..];
        var etime = FromStoredTime(BinaryPrimitives.ReadUInt64LittleEndian(tail[(ValueReservedLength + 8)..]));
        return new DecodedRecord(key, storedValue[1..^ValueSuffixLength].ToArray(), etime);
    }

    /// <summary>Creation time (Unix ms) stored in a pika-v4 value.</summary>
    public static long CreatedUnixMs(ReadOnlySpan<byte> storedValue) =>
        FromStoredTime(BinaryPrimitives.ReadUInt64LittleEndian(storedValue[^16..]));
}

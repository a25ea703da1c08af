using System.Buffers.Binary;

namespace PikaIngest.Core.Formats;

/// <summary>Pika 3.5 (blackwidow) string layout: raw key; value followed by an int32 expiry in Unix seconds.</summary>
public sealed class PikaV35Encoding : RecordEncoding
{
    public static readonly PikaV35Encoding Instance = new();

    private PikaV35Encoding()
    {
    }

    public override TargetFormat Format => TargetFormat.PikaV35;

    /// <summary>int32 seconds: 2038-01-19T03:14:07Z.</summary>
    public override long MaxExpireUnixSeconds => int.MaxValue;

    public override int MaxEncodedKeyLength(int userKeyLength) => userKeyLength;

    public override int EncodeKey(ReadOnlySpan<byte> userKey, Span<byte> destination)
    {
        userKey.CopyTo(destination);
        return userKey.Length;
    }

    public override int EncodedValueLength(int userValueLength) => userValueLength + 4;

    public override int EncodeValue(ReadOnlySpan<byte> userValue, long expireUnixSeconds, long createdUnixMs, Span<byte> destination)
    {
        if (expireUnixSeconds > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(expireUnixSeconds), expireUnixSeconds, "pika-v3.5 stores expiry as int32 seconds (after 2038-01-19 it cannot be represented)");
        }

        userValue.CopyTo(destination);
        BinaryPrimitives.WriteInt32LittleEndian(destination[userValue.Length..], (int)expireUnixSeconds);
        return userValue.Length + 4;
    }

    public override DecodedRecord Decode(ReadOnlySpan<byte> storedKey, ReadOnlySpan<byte> storedValue)
    {
        if (storedValue.Length < 4)
        {
            throw new FormatException($"pika-v3.5 value too short ({storedValue.Length} bytes)");
        }

        var expire = BinaryPrimitives.ReadInt32LittleEndian(storedValue[^4..]);
        if (expire < 0)
        {
            throw new FormatException($"pika-v3.5 value has a negative timestamp ({expire})");
        }

        return new DecodedRecord(storedKey.ToArray(), storedValue[..^4].ToArray(), expire * 1000L);
    }
}

namespace PikaIngest.Core.Formats;

/// <summary>A user record as read back from an SST: key, value and absolute expiry (0 = none).</summary>
public readonly record struct DecodedRecord(byte[] Key, byte[] Value, long ExpireUnixMs);

/// <summary>
/// Turns user records into the RocksDB key/value bytes of one target format and back.
/// Every encoding preserves the bytewise order of user keys, so records sorted by user key
/// are also sorted by encoded key (which SstFileWriter requires).
/// </summary>
public abstract class RecordEncoding
{
    public abstract TargetFormat Format { get; }

    /// <summary>Latest expiry (Unix seconds) the format can store.</summary>
    public virtual long MaxExpireUnixSeconds => long.MaxValue / 1000;

    /// <summary>Upper bound of <see cref="EncodeKey"/>'s output for a key of this length.</summary>
    public abstract int MaxEncodedKeyLength(int userKeyLength);

    public abstract int EncodeKey(ReadOnlySpan<byte> userKey, Span<byte> destination);

    public abstract int EncodedValueLength(int userValueLength);

    /// <param name="expireUnixSeconds">Absolute expiry, 0 for none.</param>
    /// <param name="createdUnixMs">Creation time recorded where the format has one.</param>
    public abstract int EncodeValue(ReadOnlySpan<byte> userValue, long expireUnixSeconds, long createdUnixMs, Span<byte> destination);

    /// <summary>Decodes one stored pair; throws <see cref="FormatException"/> when it is not of this format.</summary>
    public abstract DecodedRecord Decode(ReadOnlySpan<byte> storedKey, ReadOnlySpan<byte> storedValue);

    /// <summary>Whether a stored pair looks like this format (used to detect the format of an SST).</summary>
    public bool Matches(ReadOnlySpan<byte> storedKey, ReadOnlySpan<byte> storedValue)
    {
        try
        {
            Decode(storedKey, storedValue);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    public byte[] EncodeKey(ReadOnlySpan<byte> userKey)
    {
        var buffer = new byte[MaxEncodedKeyLength(userKey.Length)];
        return buffer.AsSpan(0, EncodeKey(userKey, buffer)).ToArray();
    }

    public byte[] EncodeValue(ReadOnlySpan<byte> userValue, long expireUnixSeconds, long createdUnixMs)
    {
        var buffer = new byte[EncodedValueLength(userValue.Length)];
        EncodeValue(userValue, expireUnixSeconds, createdUnixMs, buffer);
        return buffer;
    }
}

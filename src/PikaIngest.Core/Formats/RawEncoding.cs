namespace PikaIngest.Core.Formats;

/// <summary>Key and value exactly as given; expiry cannot be represented and is dropped.</summary>
public sealed class RawEncoding : RecordEncoding
{
    public static readonly RawEncoding Instance = new();

    private RawEncoding()
    {
    }

    public override TargetFormat Format => TargetFormat.Raw;

    public override int MaxEncodedKeyLength(int userKeyLength) => userKeyLength;

    public override int EncodeKey(ReadOnlySpan<byte> userKey, Span<byte> destination)
    {
        userKey.CopyTo(destination);
        return userKey.Length;
    }

    public override int EncodedValueLength(int userValueLength) => userValueLength;

    public override int EncodeValue(ReadOnlySpan<byte> userValue, long expireUnixSeconds, long createdUnixMs, Span<byte> destination)
    {
        userValue.CopyTo(destination);
        return userValue.Length;
    }

    public override DecodedRecord Decode(ReadOnlySpan<byte> storedKey, ReadOnlySpan<byte> storedValue) =>
        new(storedKey.ToArray(), storedValue.ToArray(), 0);
}

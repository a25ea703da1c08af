using CsCheck;
using PikaIngest.Core.Formats;
using static PikaIngest.Core.UnitTests.Bytes;

namespace PikaIngest.Core.UnitTests;

/// <summary>docs/FORMATS.md §2 (raw): key and value as given; the format has no place for an expiry.</summary>
public sealed class RawEncodingTests
{
    private static readonly RawEncoding Raw = RawEncoding.Instance;

    [Fact]
    public void Key_and_value_are_stored_verbatim()
    {
        Assert.Equal(Hex("6B 00 FF"), Raw.EncodeKey(Hex("6B 00 FF")));
        Assert.Equal(Hex("76 00 FF"), Raw.EncodeValue(Hex("76 00 FF"), expireUnixSeconds: 0, createdUnixMs: 123));
    }

    [Fact]
    public void Expiry_is_dropped_even_beyond_int32_max()
    {
        Assert.Equal(Hex("76"), Raw.EncodeValue("v"u8, (long)int.MaxValue + 1, 123));
        Assert.Equal(0, Raw.Decode("k"u8, "v"u8).ExpireUnixMs);
    }

    [Fact]
    public void Any_record_round_trips_without_expiry()
    {
        var record = Gen.Select(Gen.Byte.Array[0, 20], Gen.Byte.Array[0, 40], Gen.Long[0, Shards.ShardLimits.MaxExpireUnixSeconds]);

        Deterministic.Sample(record, r =>
        {
            var (key, value, expire) = r;

            var decoded = Raw.Decode(Raw.EncodeKey(key), Raw.EncodeValue(value, expire, 0));

            Assert.Equal(key, decoded.Key);
            Assert.Equal(value, decoded.Value);
            Assert.Equal(0, decoded.ExpireUnixMs);
        }, iterations: 200);
    }
}

using CsCheck;
using PikaIngest.Core.Formats;
using static PikaIngest.Core.UnitTests.Bytes;

namespace PikaIngest.Core.UnitTests;

/// <summary>Golden bytes written by hand from docs/FORMATS.md §2 (pika-v3.5): raw key; value · int32 LE seconds.</summary>
public sealed class PikaV35EncodingTests
{
    private static readonly PikaV35Encoding V35 = PikaV35Encoding.Instance;

    [Fact]
    public void Key_is_the_raw_user_key()
    {
        Assert.Equal(Hex("6B 00 FF"), V35.EncodeKey(Hex("6B 00 FF")));
    }

    [Fact]
    public void Value_is_user_value_then_int32_little_endian_seconds()
    {
        // 1_700_000_000 = 0x6553F100.
        Assert.Equal(Hex("76 61 6C · 00 F1 53 65"), V35.EncodeValue("val"u8, expireUnixSeconds: 1_700_000_000, createdUnixMs: 123));
    }

    [Fact]
    public void No_expiry_is_timestamp_zero()
    {
        Assert.Equal(Hex("00 FF · 00 00 00 00"), V35.EncodeValue([0x00, 0xFF], 0, 123));
    }

    [Fact]
    public void Latest_representable_expiry_is_int32_max()
    {
        Assert.Equal(Hex("FF FF FF 7F"), V35.EncodeValue([], int.MaxValue, 0));
        Assert.Equal(int.MaxValue, V35.MaxExpireUnixSeconds);
    }

    [Fact]
    public void Expiry_beyond_int32_max_throws()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => V35.EncodeValue("v"u8, (long)int.MaxValue + 1, 0));
        Assert.Equal("expireUnixSeconds", error.ParamName);
    }

    [Fact]
    public void Golden_pair_decodes_to_key_value_and_expiry_in_milliseconds()
    {
        var record = V35.Decode(Hex("6B"), Hex("76 · 00 F1 53 65"));

        Assert.Equal(Hex("6B"), record.Key);
        Assert.Equal(Hex("76"), record.Value);
        Assert.Equal(1_700_000_000_000, record.ExpireUnixMs);
    }

    [Fact]
    public void Value_shorter_than_the_timestamp_or_with_a_negative_one_is_rejected()
    {
        Assert.Throws<FormatException>(() => V35.Decode("k"u8, Hex("00 00 00")));
        Assert.Throws<FormatException>(() => V35.Decode("k"u8, Hex("76 · FF FF FF FF")));
    }

    [Fact]
    public void Any_record_round_trips()
    {
        var record = Gen.Select(Gen.Byte.Array[0, 20], Gen.Byte.Array[0, 40], Gen.Long[0, int.MaxValue]);

        Deterministic.Sample(record, r =>
        {
            var (key, value, expire) = r;

            var decoded = V35.Decode(V35.EncodeKey(key), V35.EncodeValue(value, expire, 0));

            Assert.Equal(key, decoded.Key);
            Assert.Equal(value, decoded.Value);
            Assert.Equal(expire * 1000, decoded.ExpireUnixMs);
        }, iterations: 300);
    }
}

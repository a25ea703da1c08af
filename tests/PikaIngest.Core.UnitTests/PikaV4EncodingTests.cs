using CsCheck;
using PikaIngest.Core.Formats;
using static PikaIngest.Core.UnitTests.Bytes;

namespace PikaIngest.Core.UnitTests;

/// <summary>Golden bytes written by hand from docs/FORMATS.md §2 (pika-v4).</summary>
public sealed class PikaV4EncodingTests
{
    private static readonly PikaV4Encoding V4 = PikaV4Encoding.Instance;

    private static readonly string KeyPrefix = Zeros(8);
    private static readonly string KeySuffix = Zeros(16);
    private static readonly string ValueReserved = Zeros(16);

    // 1_700_000_000_000 ms = 0x0000018BCFE56800; with bit 63: 0x8000018BCFE56800, little-endian.
    private const string Etime1700000000Seconds = "00 68 E5 CF 8B 01 00 80";

    // 1_699_999_000_123 ms = 0x0000018BCFD6263B; with bit 63, little-endian.
    private const string Ctime1699999000123Ms = "3B 26 D6 CF 8B 01 00 80";
    private const long CreatedMs = 1_699_999_000_123;

    [Theory]
    [InlineData("6162", "61 62 · 00 00")]
    [InlineData("610062", "61 00 01 62 · 00 00")]
    [InlineData("6100", "61 00 01 · 00 00")]
    [InlineData("00", "00 01 · 00 00")]
    [InlineData("0000", "00 01 00 01 · 00 00")]
    [InlineData("", "00 00")]
    [InlineData("01", "01 · 00 00")]
    public void Key_is_8_zero_bytes_escaped_user_key_terminator_and_16_zero_bytes(string userKeyHex, string escapedKeyHex)
    {
        var expected = Hex($"{KeyPrefix} · {escapedKeyHex} · {KeySuffix}");

        var encoded = V4.EncodeKey(Convert.FromHexString(userKeyHex));

        Assert.Equal(expected, encoded);
        Assert.Equal(Convert.FromHexString(userKeyHex), PikaV4Encoding.DecodeKey(encoded));
    }

    [Fact]
    public void Value_with_expiry_is_type_byte_value_reserved_ctime_and_etime_in_flagged_milliseconds()
    {
        var expected = Hex($"00 · 76 61 6C · {ValueReserved} · {Ctime1699999000123Ms} · {Etime1700000000Seconds}");

        var encoded = V4.EncodeValue("val"u8, expireUnixSeconds: 1_700_000_000, createdUnixMs: CreatedMs);

        Assert.Equal(expected, encoded);
    }

    [Fact]
    public void Value_without_expiry_has_etime_zero()
    {
        var expected = Hex($"00 · 76 · {ValueReserved} · {Ctime1699999000123Ms} · {Zeros(8)}");

        Assert.Equal(expected, V4.EncodeValue("v"u8, expireUnixSeconds: 0, createdUnixMs: CreatedMs));
    }

    [Fact]
    public void Empty_value_is_type_byte_and_suffix_only()
    {
        var expected = Hex($"00 · {ValueReserved} · {Ctime1699999000123Ms} · {Zeros(8)}");

        Assert.Equal(expected, V4.EncodeValue([], 0, CreatedMs));
    }

    [Fact]
    public void Binary_value_is_copied_verbatim()
    {
        var expected = Hex($"00 · 00 FF 00 80 7F · {ValueReserved} · {Ctime1699999000123Ms} · {Etime1700000000Seconds}");

        Assert.Equal(expected, V4.EncodeValue([0x00, 0xFF, 0x00, 0x80, 0x7F], 1_700_000_000, CreatedMs));
    }

    [Fact]
    public void Golden_pair_decodes_to_user_key_value_and_expiry_in_milliseconds()
    {
        var storedKey = Hex($"{KeyPrefix} · 6B 00 01 79 · 00 00 · {KeySuffix}");
        var storedValue = Hex($"00 · 00 FF · {ValueReserved} · {Ctime1699999000123Ms} · {Etime1700000000Seconds}");

        var record = V4.Decode(storedKey, storedValue);

        Assert.Equal("6B0079", Convert.ToHexString(record.Key));
        Assert.Equal("00FF", Convert.ToHexString(record.Value));
        Assert.Equal(1_700_000_000_000, record.ExpireUnixMs);
        Assert.Equal(CreatedMs, PikaV4Encoding.CreatedUnixMs(storedValue));
    }

    [Fact]
    public void Etime_zero_decodes_as_no_expiry()
    {
        var storedValue = Hex($"00 · 76 · {ValueReserved} · {Ctime1699999000123Ms} · {Zeros(8)}");

        Assert.Equal(0, V4.Decode(V4.EncodeKey("k"u8), storedValue).ExpireUnixMs);
    }

    [Fact]
    public void Etime_without_bit_63_is_read_as_seconds_as_pika_4_0_0_wrote_it()
    {
        // 1_700_000_000 s = 0x6553F100, bit 63 clear.
        var storedValue = Hex($"00 · 76 · {ValueReserved} · {Zeros(8)} · 00 F1 53 65 00 00 00 00");

        Assert.Equal(1_700_000_000_000, V4.Decode(V4.EncodeKey("k"u8), storedValue).ExpireUnixMs);
    }

    public static TheoryData<string, string> BadKeys => new()
    {
        { "shorter than prefix, terminator and suffix", $"{Zeros(8)} 00 00 {Zeros(15)}" },
        { "nonzero prefix", $"{Zeros(7)} 01 · 61 00 00 · {KeySuffix}" },
        { "nonzero suffix", $"{KeyPrefix} · 61 00 00 · {Zeros(15)} 01" },
        { "escape 00 02", $"{KeyPrefix} · 61 00 02 62 00 00 · {KeySuffix}" },
        { "no terminator", $"{KeyPrefix} · 61 62 · {KeySuffix}" },
        { "escape but no terminator", $"{KeyPrefix} · 61 00 01 · {KeySuffix}" },
        { "bytes after the terminator", $"{KeyPrefix} · 61 00 00 62 · {KeySuffix}" },
    };

    [Theory]
    [MemberData(nameof(BadKeys))]
    public void Malformed_key_is_rejected(string why, string storedKeyHex)
    {
        var storedKey = Hex(storedKeyHex);
        var storedValue = V4.EncodeValue("v"u8, 0, CreatedMs);

        Assert.Throws<FormatException>(() => PikaV4Encoding.DecodeKey(storedKey));
        Assert.False(V4.Matches(storedKey, storedValue), why);
    }

    [Theory]
    [InlineData((byte)0x01)]
    [InlineData((byte)0x02)]
    [InlineData((byte)0xFF)]
    public void Value_whose_type_byte_is_not_string_is_rejected(byte type)
    {
        var storedValue = V4.EncodeValue("v"u8, 0, CreatedMs);
        storedValue[0] = type;

        Assert.Throws<FormatException>(() => V4.Decode(V4.EncodeKey("k"u8), storedValue));
    }

    [Fact]
    public void Value_shorter_than_type_byte_and_suffix_is_rejected()
    {
        Assert.Throws<FormatException>(() => V4.Decode(V4.EncodeKey("k"u8), new byte[1 + 16 + 8 + 7]));
    }

    [Fact]
    public void Encoded_key_never_exceeds_the_advertised_maximum()
    {
        var allZero = new byte[100];

        Assert.Equal(V4.MaxEncodedKeyLength(allZero.Length), V4.EncodeKey(allZero).Length);
    }

    /// <summary>Keys rich in 0x00 and 0x01, the bytes the escaping is about.</summary>
    private static readonly Gen<byte[]> UserKey = Gen.Frequency((3, Gen.Byte[0, 2]), (1, Gen.Byte[0xFE, 0xFF]), (2, Gen.Byte)).Array[0, 12];

    [Fact]
    public void Any_record_round_trips()
    {
        var record = Gen.Select(UserKey, Gen.Byte.Array[0, 40], Gen.Long[0, Shards.ShardLimits.MaxExpireUnixSeconds], Gen.Long[1, 4_102_444_800_000]);

        Deterministic.Sample(record, r =>
        {
            var (key, value, expire, created) = r;
            var storedValue = V4.EncodeValue(value, expire, created);

            var decoded = V4.Decode(V4.EncodeKey(key), storedValue);

            Assert.Equal(key, decoded.Key);
            Assert.Equal(value, decoded.Value);
            Assert.Equal(expire * 1000, decoded.ExpireUnixMs);
            Assert.Equal(created, PikaV4Encoding.CreatedUnixMs(storedValue));
        }, iterations: 500);
    }

    [Fact]
    public void Encoded_key_order_equals_user_key_bytewise_order()
    {
        Deterministic.Sample(Gen.Select(UserKey, UserKey), pair =>
        {
            var (a, b) = pair;
            var userOrder = Math.Sign(a.AsSpan().SequenceCompareTo(b));

            var encodedOrder = Math.Sign(V4.EncodeKey(a).AsSpan().SequenceCompareTo(V4.EncodeKey(b)));

            Assert.Equal(userOrder, encodedOrder);
        }, iterations: 2000);
    }
}

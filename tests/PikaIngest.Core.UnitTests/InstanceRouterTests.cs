using System.Text;
using CsCheck;
using PikaIngest.Core.Formats;

namespace PikaIngest.Core.UnitTests;

/// <summary>
/// Routing as Pika's GetSlotsTag/GetSlotsID (src/pstd/src/pika_codis_slot.cc): zlib CRC-32 of the
/// Codis hash tag, modulo 1024 slots, modulo the instance count.
/// </summary>
public sealed class InstanceRouterTests
{
    [Theory]
    [InlineData("plain", "plain")]
    [InlineData("{user:1000}.following", "user:1000")]
    [InlineData("prefix{tag}suffix", "tag")]
    [InlineData("a{b}c{d}e", "b")]
    [InlineData("a{b{c}d", "b{c")]
    [InlineData("x{}y", "")]
    [InlineData("k{ab", "k{ab")]
    [InlineData("k}a{b", "k}a{b")]
    [InlineData("}{x}", "x")]
    [InlineData("", "")]
    public void Hash_tag_is_between_the_first_open_brace_and_the_next_close_brace_else_the_whole_key(string key, string tag)
    {
        Assert.Equal(tag, Encoding.UTF8.GetString(InstanceRouter.HashTag(Encoding.UTF8.GetBytes(key))));
    }

    // CRC-32 values from python3 -c "import zlib; print(zlib.crc32(b'...'))" (zlib is what Pika links);
    // 0xCBF43926 for "123456789" is the published check value of CRC-32/ISO-HDLC.
    [Theory]
    [InlineData("123456789", 0xCBF43926u)]
    [InlineData("a", 3904355907u)]
    [InlineData("user:1000", 2675185635u)]
    [InlineData("foo", 2356372769u)]
    [InlineData("hello world", 222957957u)]
    [InlineData("{user:1000}.following", 2675185635u)]
    [InlineData("k{ab", 1251832381u)]
    [InlineData("x{}y", 0u)]
    public void Slot_is_zlib_crc32_of_the_tag_modulo_1024(string key, uint crcOfTag)
    {
        Assert.Equal((int)(crcOfTag % 1024), InstanceRouter.Slot(Encoding.UTF8.GetBytes(key)));
    }

    [Theory]
    [InlineData("123456789", 3, 0)]
    [InlineData("a", 5, 4)]
    [InlineData("user:1000", 3, 2)]
    [InlineData("foo", 7, 2)]
    [InlineData("hello world", 2, 1)]
    public void Instance_is_slot_modulo_instance_count(string key, int instances, int expected)
    {
        Assert.Equal(expected, InstanceRouter.Instance(Encoding.UTF8.GetBytes(key), instances));
    }

    [Fact]
    public void Single_instance_takes_every_key()
    {
        Deterministic.Sample(Gen.Byte.Array[0, 30], key => Assert.Equal(0, InstanceRouter.Instance(key, 1)), iterations: 100);
    }

    [Fact]
    public void Instance_is_always_in_range()
    {
        Deterministic.Sample(Gen.Select(Gen.Byte.Array[0, 30], Gen.Int[1, 1024]), pair =>
        {
            var (key, instances) = pair;
            var instance = InstanceRouter.Instance(key, instances);
            Assert.InRange(instance, 0, instances - 1);
            Assert.Equal(InstanceRouter.Slot(key) % instances, instance);
        }, iterations: 300);
    }

    [Fact]
    public void Keys_sharing_a_hash_tag_land_on_the_same_instance()
    {
        var tagged = Gen.Select(Gen.String[Gen.Char.AlphaNumeric, 0, 10], Gen.String[Gen.Char.AlphaNumeric, 1, 10], Gen.String[Gen.Char.AlphaNumeric, 0, 10], Gen.String[Gen.Char.AlphaNumeric, 0, 10], Gen.String[Gen.Char.AlphaNumeric, 0, 10]);

        Deterministic.Sample(tagged, parts =>
        {
            var (before1, tag, after1, before2, after2) = parts;
            var first = Encoding.UTF8.GetBytes($"{before1}{{{tag}}}{after1}");
            var second = Encoding.UTF8.GetBytes($"{before2}{{{tag}}}{after2}");

            Assert.Equal(InstanceRouter.Slot(first), InstanceRouter.Slot(second));
            Assert.Equal(InstanceRouter.Instance(first, 3), InstanceRouter.Instance(second, 3));
        }, iterations: 300);
    }
}

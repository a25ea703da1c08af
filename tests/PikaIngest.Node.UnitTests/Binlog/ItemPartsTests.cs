using CsCheck;
using PikaIngest.Node.Binlog;
using PikaIngest.Node.UnitTests.Resp;

namespace PikaIngest.Node.UnitTests.Binlog;

/// <summary>
/// An item framed from parts (how SET logs a value from where it lies) has exactly the bytes of the same item framed
/// from its joined content, wherever the parts and the block boundaries fall.
/// </summary>
public sealed class ItemPartsTests
{
    [Fact]
    public void Framing_parts_gives_the_bytes_of_framing_the_joined_content()
    {
        var gen = Gen.Select(Gen.Byte.Array[0, 40], Gen.Byte.Array[0, 200_000], Gen.Byte.Array[0, 40], Gen.Long[0, 3 * BinlogFraming.BlockSize]);
        Deterministic.Sample(gen, t =>
        {
            var (head, body, tail, fileOffset) = t;
            byte[] header = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
            byte[] joined = [.. head, .. body, .. tail];
            var size = (int)BinlogFraming.MaxFramedLength(header.Length + joined.Length);
            var expected = new byte[size];
            var actual = new byte[size];
            var expectedLength = BinlogFraming.Frame(header, joined, fileOffset, 1234, expected);
            var actualLength = BinlogFraming.Frame(new ItemParts(header, head, body, tail), fileOffset, 1234, actual);
            Assert.Equal(expectedLength, actualLength);
            Assert.True(expected.AsSpan(0, expectedLength).SequenceEqual(actual.AsSpan(0, actualLength)));
        }, iterations: 300);
    }
}

using System.Globalization;

namespace PikaIngest.Node.Tests;

/// <summary>
/// BITFIELD and BITFIELD_RO against Debian's redis-server 7.0.15: scripted edge cases (every overflow mode at the
/// limits of signed and unsigned fields, #offsets, errors) and seeded random sequences; the values are compared as hex.
/// </summary>
public sealed class BitfieldDifferentialTests
{
    internal static readonly string[][] Script =
    [
        ["BITFIELD", "bf", "SET", "i8", "0", "-100", "GET", "i8", "0", "GET", "u8", "0", "GET", "u4", "0", "GET", "i4", "4"], ["GET", "bf"],
        ["BITFIELD", "bf", "INCRBY", "i8", "0", "300"], ["BITFIELD", "bf", "OVERFLOW", "SAT", "INCRBY", "i8", "0", "300", "INCRBY", "i8", "0", "-1000"],
        ["BITFIELD", "bf", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "300", "INCRBY", "u8", "0", "1", "OVERFLOW", "WRAP", "INCRBY", "u8", "0", "300"],
        ["BITFIELD", "bf", "SET", "u63", "3", "9223372036854775807", "GET", "u63", "3", "INCRBY", "u63", "3", "1", "GET", "i64", "0"],
        ["BITFIELD", "bf", "SET", "i64", "#1", "-9223372036854775808", "INCRBY", "i64", "#1", "-1", "OVERFLOW", "SAT", "INCRBY", "i64", "#1", "-1", "INCRBY", "i64", "#1", "9223372036854775807"],
        ["BITFIELD", "bf", "OVERFLOW", "FAIL", "SET", "i4", "100", "8", "SET", "i4", "100", "-9", "SET", "u1", "7", "2", "GET", "u1", "7"],
        ["BITFIELD", "bf", "OVERFLOW", "SAT", "SET", "u4", "#3", "-1", "SET", "i5", "#3", "100", "GET", "u4", "#3"], ["GET", "bf"], ["STRLEN", "bf"],
        ["BITFIELD", "bf", "GET", "u8", "1000"], ["BITFIELD", "bf", "GET", "i64", "60"], ["BITFIELD", "missing-bf", "GET", "u8", "0"], ["EXISTS", "missing-bf"],
        ["BITFIELD", "missing-bf", "OVERFLOW", "FAIL", "INCRBY", "u2", "20", "10"], ["GET", "missing-bf"],
        ["BITFIELD", "bf"], ["BITFIELD", "missing2"], ["EXISTS", "missing2"], ["BITFIELD"],
        ["BITFIELD", "bf", "GET", "u64", "0"], ["BITFIELD", "bf", "GET", "i65", "0"], ["BITFIELD", "bf", "GET", "i0", "0"], ["BITFIELD", "bf", "GET", "x8", "0"],
        ["BITFIELD", "bf", "GET", "U8", "0"], ["BITFIELD", "bf", "get", "I8", "0"], ["BITFIELD", "bf", "GET", "i08", "0"], ["BITFIELD", "bf", "GET", "i", "0"],
        ["BITFIELD", "bf", "GET", "u8", "-1"], ["BITFIELD", "bf", "GET", "u8", "#-1"], ["BITFIELD", "bf", "GET", "u8", "4294967295"], ["BITFIELD", "bf", "GET", "u8", "4294967296"],
        ["BITFIELD", "bf", "GET", "u8", "#536870911"], ["BITFIELD", "bf", "GET", "u8", "#536870912"], ["BITFIELD", "bf", "GET", "u8", "x"], ["BITFIELD", "bf", "GET", "u8", "#"],
        ["BITFIELD", "bf", "SET", "u8", "0"], ["BITFIELD", "bf", "SET", "u8", "0", "x"], ["BITFIELD", "bf", "INCRBY", "u8", "0", "1.5"], ["BITFIELD", "bf", "GET", "u8"],
        ["BITFIELD", "bf", "OVERFLOW", "BAD", "GET", "u8", "0"], ["BITFIELD", "bf", "OVERFLOW"], ["BITFIELD", "bf", "OVERFLOW", "wrap"], ["BITFIELD", "bf", "FOO", "u8", "0"],
        ["BITFIELD", "bf", "GET", "u8", "0", "SET", "u8", "x", "1"], ["BITFIELD", "bf", "SET", "i8", "0", "1", "GET", "bad", "0"], ["GET", "bf"],
        ["SET", "bft", "abc", "EX", "100000"], ["BITFIELD", "bft", "SET", "u8", "8", "65"], ["TTL", "bft"], ["GET", "bft"],
        ["BITFIELD_RO", "bf", "GET", "u8", "0", "GET", "i16", "#2"], ["BITFIELD_RO", "bf", "SET", "u8", "0", "1"], ["BITFIELD_RO", "bf", "GET", "u8", "0", "INCRBY", "u8", "0", "1"],
        ["BITFIELD_RO", "missing-bf2", "GET", "u8", "0"], ["BITFIELD_RO", "bf"], ["BITFIELD_RO", "bf", "OVERFLOW", "SAT"], ["BITFIELD_RO"],
        ["BITFIELD", "bfq", "OVERFLOW", "SAT", "SET", "i29", "0", "-9223372036854775808", "GET", "i29", "0", "SET", "i29", "0", "-9000000000000000000", "GET", "i29", "0"],
        ["SET", "bfs", "\u0000\u00ff\u0080é"], ["BITFIELD", "bfs", "GET", "i12", "3", "GET", "u13", "5", "INCRBY", "i3", "9", "-5"], ["GET", "bfs"],
    ];

    [Fact]
    public async Task Every_reply_matches_redis_server()
    {
        var differences = await StringDifferentialTests.CompareHexAsync(Script);
        Assert.True(differences.Length == 0, "replies differ:\n" + differences);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(18)]
    [InlineData(20261208)]
    public async Task A_random_bitfield_workload_gets_the_same_replies(int seed)
    {
        var differences = await StringDifferentialTests.CompareHexAsync(RandomWorkload(seed, 2000));
        Assert.True(differences.Length == 0, $"seed {seed}: replies differ:\n" + differences);
    }

    /// <summary>
    /// BITFIELD calls of one to four operations over three keys, types of every width, offsets near byte boundaries and
    /// in #N form, values and increments around the fields' limits, and overflow modes switched mid-call; with GETs of
    /// the whole values and DELs so keys are created and grown.
    /// </summary>
    internal static List<string[]> RandomWorkload(int seed, int count)
    {
        var random = new Random(seed);
        string Key() => "bk" + random.Next(3).ToString(CultureInfo.InvariantCulture);
        string Number(long n) => n.ToString(CultureInfo.InvariantCulture);
        string Type(out int bits)
        {
            var signed = random.Next(2) == 0;
            bits = random.Next(5) == 0 ? (signed ? 64 : 63) : random.Next(1, signed ? 65 : 64);
            return (signed ? "i" : "u") + Number(bits);
        }

        string Offset(int bits) => random.Next(4) == 0 ? "#" + Number(random.Next(6)) : Number(random.Next(70));
        string Value(int bits)
        {
            var edge = bits >= 63 ? long.MaxValue : 1L << bits;
            return random.Next(6) switch
            {
                0 => Number(edge),
                1 => Number(-edge),
                2 => Number(edge - 1),
                3 => Number(long.MinValue + random.Next(3)),
                _ => Number(random.NextInt64(-1000, 1000)),
            };
        }

        var script = new List<string[]>();
        for (var i = 0; i < count; i++)
        {
            var roll = random.Next(12);
            if (roll == 0)
            {
                script.Add(["GET", Key()]);
                continue;
            }

            if (roll == 1)
            {
                script.Add(["DEL", Key()]);
                continue;
            }

            var readOnly = roll == 2;
            List<string> command = [readOnly ? "BITFIELD_RO" : "BITFIELD", Key()];
            for (var op = random.Next(1, 5); op > 0; op--)
            {
                var type = Type(out var bits);
                switch (readOnly ? 0 : random.Next(4))
                {
                    case 0:
                        command.AddRange(["GET", type, Offset(bits)]);
                        break;
                    case 1:
                        command.AddRange(["SET", type, Offset(bits), Value(bits)]);
                        break;
                    case 2:
                        command.AddRange(["INCRBY", type, Offset(bits), Value(bits)]);
                        break;
                    default:
                        command.AddRange(["OVERFLOW", random.Next(3) switch { 0 => "WRAP", 1 => "SAT", _ => "FAIL" }]);
                        break;
                }
            }

            script.Add([.. command]);
        }

        return script;
    }
}

using System.Globalization;
using PikaIngest.Node.Tests.Support;

namespace PikaIngest.Node.Tests;

/// <summary>
/// SETRANGE, GETRANGE, SUBSTR, INCRBYFLOAT, SETBIT, GETBIT, BITCOUNT, BITPOS and BITOP against Debian's
/// redis-server 7.0.15: scripted edge cases, a corpus of float texts, and a seeded random workload. Bulk replies
/// are compared as hex, so binary results (BITOP NOT, bytes above 0x7F) are compared byte for byte.
/// </summary>
public sealed class StringDifferentialTests
{
    internal static readonly string[][] Script =
    [
        // SETRANGE: creation with zero padding, overwrite inside and past the end, limits and errors.
        ["SETRANGE", "r", "5", "abc"], ["GET", "r"], ["STRLEN", "r"], ["SETRANGE", "r", "0", "XY"], ["GET", "r"],
        ["SETRANGE", "r", "7", "long tail"], ["GET", "r"], ["SETRANGE", "r", "2", ""], ["SETRANGE", "r", "999999999", ""],
        ["SETRANGE", "missing-r", "0", ""], ["EXISTS", "missing-r"], ["SETRANGE", "missing-r", "5", ""], ["EXISTS", "missing-r"],
        ["SETRANGE", "r", "-1", "x"], ["SETRANGE", "r", "-1", ""], ["SETRANGE", "r", "x", "x"], ["SETRANGE", "r", "1.5", "x"],
        ["SETRANGE", "r", "9223372036854775808", "x"], ["SETRANGE", "r", "536870912", "x"], ["SETRANGE", "r", "536870911", "xy"],
        ["SETRANGE", "r", "9223372036854775807", "x"], ["SETRANGE", "missing-r", "536870912", "x"], ["EXISTS", "missing-r"],
        ["SETRANGE", "r"], ["SETRANGE", "r", "1"], ["SETRANGE", "r", "1", "x", "y"],
        ["SET", "rt", "hello", "EX", "100000"], ["SETRANGE", "rt", "1", "EY"], ["TTL", "rt"], ["GET", "rt"],
        ["SET", "num", "12345"], ["SETRANGE", "num", "1", "9"], ["GET", "num"], ["INCR", "num"],
        ["SETRANGE", "bin", "3", "\u0000\u00ff\u0080é"], ["GET", "bin"], ["STRLEN", "bin"],

        // GETRANGE and SUBSTR: Redis 7's index rules.
        ["SET", "s", "Hello World"], ["GETRANGE", "s", "0", "4"], ["GETRANGE", "s", "-5", "-1"], ["GETRANGE", "s", "0", "-1"],
        ["GETRANGE", "s", "0", "100"], ["GETRANGE", "s", "5", "3"], ["GETRANGE", "s", "-1", "-5"], ["GETRANGE", "s", "-100", "-200"],
        ["GETRANGE", "s", "-100", "2"], ["GETRANGE", "s", "0", "-100"], ["GETRANGE", "s", "11", "20"], ["GETRANGE", "s", "10", "10"],
        ["GETRANGE", "s", "-1", "-1"], ["GETRANGE", "s", "-9223372036854775808", "9223372036854775807"],
        ["GETRANGE", "s", "9223372036854775807", "-9223372036854775808"], ["GETRANGE", "s", "3", "-9223372036854775808"],
        ["GETRANGE", "missing", "0", "-1"], ["GETRANGE", "missing", "x", "1"], ["GETRANGE", "s", "x", "1"], ["GETRANGE", "s", "0", "1.0"],
        ["GETRANGE", "s", "0"], ["GETRANGE", "s", "0", "1", "2"],
        ["SUBSTR", "s", "1", "3"], ["SUBSTR", "s", "-3", "-1"], ["SUBSTR", "missing", "0", "1"], ["SUBSTR", "s", "a", "b"], ["SUBSTR", "s", "1"],
        ["SET", "empty", ""], ["GETRANGE", "empty", "0", "-1"], ["GETRANGE", "empty", "0", "0"], ["GETRANGE", "empty", "-1", "0"],
        ["GETRANGE", "bin", "0", "-1"], ["GETRANGE", "bin", "3", "5"], ["SET", "int", "-12345"], ["GETRANGE", "int", "1", "-2"],

        // INCRBYFLOAT: formatting, parsing, errors, TTL.
        ["INCRBYFLOAT", "f", "10.5"], ["INCRBYFLOAT", "f", "0.1"], ["GET", "f"], ["INCRBYFLOAT", "f", "-10.6"], ["GET", "f"],
        ["INCRBYFLOAT", "g", "0.1"], ["INCRBYFLOAT", "g", "0.2"], ["INCRBYFLOAT", "h", "1e308"], ["INCRBYFLOAT", "h", "1e308"],
        ["INCRBYFLOAT", "i", "5.0e3"], ["INCRBYFLOAT", "j", "3.0"], ["INCRBYFLOAT", "k", "-0"], ["INCRBYFLOAT", "k", "-0.0"],
        ["INCRBYFLOAT", "l", "9223372036854775807"], ["INCRBYFLOAT", "l", "1"], ["INCRBYFLOAT", "m", "-9223372036854775808"],
        ["INCRBYFLOAT", "n", "18446744073709551617"], ["INCRBYFLOAT", "o", "123456789012345678901234567890"],
        ["INCRBYFLOAT", "p", "1e-20"], ["INCRBYFLOAT", "p2", "-1e-20"], ["GET", "p2"], ["INCRBYFLOAT", "q", "0.000003814697265625"],
        ["INCRBYFLOAT", "q2", "0.000011444091796875"], ["INCRBYFLOAT", "q3", "2.5e-17"], ["INCRBYFLOAT", "q4", "1.5e-17"],
        ["INCRBYFLOAT", "big", "1e4000"], ["INCRBYFLOAT", "big", "-1e4000"], ["INCRBYFLOAT", "max", "1.18973149535723176502e4932"],
        ["INCRBYFLOAT", "max", "1.18973149535723176502e4932"], ["INCRBYFLOAT", "over", "1.2e4932"], ["INCRBYFLOAT", "tiny", "1e-4940"],
        ["INCRBYFLOAT", "tiny", "1e-5000"], ["INCRBYFLOAT", "tiny", "0e-5000"], ["INCRBYFLOAT", "tiny", "1e99999999999999999999"],
        ["INCRBYFLOAT", "hex", "0x1p3"], ["INCRBYFLOAT", "hex", "0X1.8P-1"], ["INCRBYFLOAT", "hex", "0x.8"], ["INCRBYFLOAT", "hex", "0x"],
        ["INCRBYFLOAT", "hex", "0x1p"], ["INCRBYFLOAT", "hex", "0x1.p1"], ["INCRBYFLOAT", "hex", "0xG"],
        ["INCRBYFLOAT", "t", "inf"], ["INCRBYFLOAT", "t", "-inf"], ["INCRBYFLOAT", "t", "Infinity"], ["INCRBYFLOAT", "t", "infinit"],
        ["INCRBYFLOAT", "t", "nan"], ["INCRBYFLOAT", "t", "NaN(1)"], ["INCRBYFLOAT", "t", " 1"], ["INCRBYFLOAT", "t", "1 "],
        ["INCRBYFLOAT", "t", "+1"], ["INCRBYFLOAT", "t", "1."], ["INCRBYFLOAT", "t", ".5"], ["INCRBYFLOAT", "t", "."], ["INCRBYFLOAT", "t", "-.5e1"],
        ["INCRBYFLOAT", "t", "1e"], ["INCRBYFLOAT", "t", "1e+"], ["INCRBYFLOAT", "t", "1E+2"], ["INCRBYFLOAT", "t", ""], ["INCRBYFLOAT", "t", "abc"],
        ["INCRBYFLOAT", "t", "1\u0000"], ["INCRBYFLOAT", "t", "\t1"], ["INCRBYFLOAT", "t", "--1"], ["INCRBYFLOAT", "t", "1,5"], ["GET", "t"],
        ["SET", "bad", "abc"], ["INCRBYFLOAT", "bad", "1"], ["SET", "bad", " 1"], ["INCRBYFLOAT", "bad", "1"], ["SET", "bad", "inf"],
        ["INCRBYFLOAT", "bad", "1"], ["SET", "bad", "1e5000"], ["INCRBYFLOAT", "bad", "1"], ["GET", "bad"],
        ["SET", "fi", "10"], ["INCRBYFLOAT", "fi", "0.5"], ["SET", "fi", "0x10"], ["INCRBYFLOAT", "fi", "0"], ["SET", "fi", "007"], ["INCRBYFLOAT", "fi", "1"],
        ["SET", "ft", "1.5", "EX", "100000"], ["INCRBYFLOAT", "ft", "1"], ["TTL", "ft"], ["SET", "ft2", "1.5"], ["INCRBYFLOAT", "ft2", "1"], ["TTL", "ft2"],
        ["INCRBYFLOAT", "f"], ["INCRBYFLOAT", "f", "1", "2"],

        // SETBIT and GETBIT.
        ["SETBIT", "b", "7", "1"], ["GET", "b"], ["SETBIT", "b", "7", "1"], ["SETBIT", "b", "7", "0"], ["SETBIT", "b", "100", "1"], ["STRLEN", "b"],
        ["GETBIT", "b", "7"], ["GETBIT", "b", "100"], ["GETBIT", "b", "101"], ["GETBIT", "b", "100000"], ["GETBIT", "missing", "3"],
        ["SETBIT", "b", "-1", "1"], ["SETBIT", "b", "x", "1"], ["SETBIT", "b", "4294967296", "1"], ["SETBIT", "b", "1", "2"],
        ["SETBIT", "b", "1", "-1"], ["SETBIT", "b", "1", "x"], ["SETBIT", "b", "x", "x"], ["SETBIT", "b", "1", "01"], ["SETBIT", "b", "1", ""],
        ["GETBIT", "b", "-1"], ["GETBIT", "b", "4294967296"], ["GETBIT", "b", "4294967295"], ["GETBIT", "missing", "x"], ["GETBIT", "b", "1.0"],
        ["SETBIT", "b0", "0", "0"], ["GET", "b0"], ["EXISTS", "b0"], ["SETBIT", "b", "3"], ["GETBIT", "b"], ["GETBIT", "b", "1", "2"],
        ["SET", "bt", "x", "EX", "100000"], ["SETBIT", "bt", "20", "1"], ["TTL", "bt"], ["SETBIT", "bt", "0", "0"], ["TTL", "bt"],
        ["SET", "bn", "12"], ["GETBIT", "bn", "2"], ["GETBIT", "bn", "3"], ["SETBIT", "bn", "6", "1"], ["GET", "bn"],
        ["SETBIT", "bbig", "8388607", "1"], ["STRLEN", "bbig"], ["BITCOUNT", "bbig"], ["BITPOS", "bbig", "1"],

        // BITCOUNT.
        ["SET", "c", "foobar"], ["BITCOUNT", "c"], ["BITCOUNT", "c", "0", "0"], ["BITCOUNT", "c", "1", "1"], ["BITCOUNT", "c", "1", "1", "BYTE"],
        ["BITCOUNT", "c", "5", "30", "BIT"], ["BITCOUNT", "c", "5", "30", "bit"], ["BITCOUNT", "c", "-1", "-1"], ["BITCOUNT", "c", "-5", "-1", "BIT"],
        ["BITCOUNT", "c", "-1", "-5"], ["BITCOUNT", "c", "-100", "-200"], ["BITCOUNT", "c", "-100", "-200", "FOO"], ["BITCOUNT", "c", "-100", "100"],
        ["BITCOUNT", "c", "3", "3", "BIT"], ["BITCOUNT", "c", "0", "47", "BIT"], ["BITCOUNT", "c", "7", "8", "BIT"], ["BITCOUNT", "c", "47", "100", "BIT"],
        ["BITCOUNT", "c", "0", "-1", "FOO"], ["BITCOUNT", "c", "0"], ["BITCOUNT", "c", "0", "1", "BIT", "x"], ["BITCOUNT", "c", "x", "1"],
        ["BITCOUNT", "c", "0", "x"], ["BITCOUNT", "missing"], ["BITCOUNT", "missing", "0"], ["BITCOUNT", "missing", "x", "y"],
        ["BITCOUNT", "missing", "0", "1", "FOO"], ["BITCOUNT", "empty"], ["BITCOUNT", "empty", "0", "-1"], ["BITCOUNT", "empty", "0", "-1", "BIT"],
        ["BITCOUNT", "c", "9223372036854775807", "-9223372036854775808", "BIT"], ["BITCOUNT", "c", "-9223372036854775808", "9223372036854775807", "BIT"],
        ["BITCOUNT"],

        // BITPOS.
        ["SET", "p", "\u00ff\u00f0\u0000"], ["BITPOS", "p", "0"], ["BITPOS", "p", "1"], ["BITPOS", "p", "1", "2"], ["BITPOS", "p", "0", "0"],
        ["SET", "ones", "\u007f"], ["BITPOS", "ones", "0"], ["BITPOS", "ones", "1"], ["SET", "allones", "\u007f\u007f"],
        ["BITPOS", "c", "1"], ["BITPOS", "c", "0"], ["BITPOS", "c", "1", "1"], ["BITPOS", "c", "1", "1", "3"], ["BITPOS", "c", "0", "-2", "-1"],
        ["BITPOS", "c", "1", "7", "15", "BIT"], ["BITPOS", "c", "0", "7", "15", "BIT"], ["BITPOS", "c", "1", "9", "9", "BIT"],
        ["BITPOS", "c", "0", "1", "6", "BIT"], ["BITPOS", "c", "1", "-10", "-1", "BIT"], ["BITPOS", "c", "0", "45", "47", "BIT"],
        ["BITPOS", "c", "1", "3", "2"], ["BITPOS", "c", "0", "100"], ["BITPOS", "c", "1", "-100", "-200"], ["BITPOS", "c", "1", "0", "-1", "byte"],
        ["BITPOS", "c", "2"], ["BITPOS", "c", "-1"], ["BITPOS", "c", "x"], ["BITPOS", "missing", "2"], ["BITPOS", "missing", "0"], ["BITPOS", "missing", "1"],
        ["BITPOS", "missing", "1", "x"], ["BITPOS", "missing", "0", "0", "1", "FOO"], ["BITPOS", "c", "1", "x"], ["BITPOS", "c", "1", "0", "x"],
        ["BITPOS", "c", "1", "0", "x", "FOO"], ["BITPOS", "c", "1", "x", "1", "FOO"], ["BITPOS", "c", "1", "0", "1", "FOO"],
        ["BITPOS", "c", "1", "0", "1", "BIT", "x"], ["BITPOS", "c"], ["BITPOS", "empty", "0"], ["BITPOS", "empty", "1"], ["BITPOS", "empty", "0", "0"],
        ["BITPOS", "empty", "0", "0", "-1", "BIT"], ["SET", "z", "\u0000\u0000\u0000"], ["BITPOS", "z", "1"], ["BITPOS", "z", "0"],
        ["BITPOS", "z", "1", "0", "-1", "BIT"], ["BITPOS", "z", "0", "20", "23", "BIT"], ["SET", "ff", "\u00ff"], ["BITPOS", "ff", "0", "0", "-1"],
        ["BITPOS", "ff", "0", "0"], ["BITPOS", "ff", "0", "3", "5", "BIT"], ["BITPOS", "ff", "0"],

        // BITOP.
        ["SET", "k1", "foobar"], ["SET", "k2", "abcdef"], ["SET", "k3", "xy"], ["BITOP", "AND", "dest", "k1", "k2"], ["GET", "dest"],
        ["BITOP", "OR", "dest", "k1", "k3"], ["GET", "dest"], ["BITOP", "XOR", "dest", "k1", "k2", "k3"], ["GET", "dest"],
        ["BITOP", "AND", "dest", "k1", "k3"], ["GET", "dest"], ["BITOP", "AND", "dest", "k1", "missing"], ["GET", "dest"],
        ["BITOP", "NOT", "dest", "k1"], ["GET", "dest"], ["BITOP", "not", "dest", "dest"], ["GET", "dest"], ["BITOP", "NOT", "dest", "k1", "k2"],
        ["BITOP", "NAND", "dest", "k1"], ["BITOP", "or", "dest", "k1"], ["GET", "dest"], ["BITOP", "AND", "dest"], ["BITOP", "AND"],
        ["SET", "dest", "x", "EX", "100000"], ["BITOP", "OR", "dest", "k1"], ["TTL", "dest"],
        ["BITOP", "OR", "dest", "missing", "missing2"], ["EXISTS", "dest"], ["BITOP", "OR", "dest", "missing"], ["EXISTS", "dest"],
        ["BITOP", "NOT", "dest", "missing"], ["EXISTS", "dest"], ["BITOP", "XOR", "k1", "k1", "k1"], ["GET", "k1"], ["STRLEN", "k1"],
        ["SET", "w1", "0123456789abcdefghijklmnopqrstuvwxyz0123456789ABCDEF"], ["SET", "w2", "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopqrstuvwx"],
        ["BITOP", "AND", "w", "w1", "w2"], ["GET", "w"], ["BITOP", "OR", "w", "w1", "w2"], ["GET", "w"], ["BITOP", "XOR", "w", "w1", "w2", "w1"], ["GET", "w"],
        ["BITOP", "AND", "w", "w2", "w1", "k3"], ["GET", "w"], ["BITOP", "NOT", "w", "w2"], ["GET", "w"], ["BITOP", "XOR", "w", "bin", "p", "num"], ["GET", "w"],
        ["SET", "e1", ""], ["BITOP", "OR", "w", "e1", "empty"], ["EXISTS", "w"], ["BITCOUNT", "w"],
        ["DBSIZE"],
    ];

    [Fact]
    public async Task Every_reply_matches_redis_server()
    {
        var differences = await CompareHexAsync(Script);
        Assert.True(differences.Length == 0, "replies differ:\n" + differences);
    }

    /// <summary>Hand-picked texts where long double, %.17Lf and strtold's rules show; each is added to a fresh key and to a running sum.</summary>
    private static readonly string[] FloatTexts =
    [
        "0", "-0", "1", "-1", "0.1", "0.2", "0.3", "10.5", "3.0", "5.0e3", "1e308", "-1e308", "1.7976931348623157e308", "2.2250738585072014e-308",
        "4.9406564584124654e-324", "1e-300", "123456789.123456789", "9007199254740993", "9007199254740992.5", "18446744073709551615",
        "18446744073709551616", "36893488147419103231", "0.99999999999999999", "0.999999999999999999", "0.000000000000000005",
        "0.000000000000000015", "0.000000000000000025", "1.00000000000000000000000001", "3.14159265358979323846264338327950288",
        "-2.718281828459045235360287", "1e17", "1e18", "1e19", "1e20", "1e25", "1e50", "1e100", "1e1000", "-1e1000", "7e-1", "0.5e-16",
        "6.02214076e23", "1.602176634e-19", "299792458", "0x1.fffffffffffffffep16383", "0x1p-16445", "0x1p-16446", "0x1.8p-16446",
        "0x1p-16382", "0xffffffffffffffff", "0x1.00000000000000008p0", "0x1.00000000000000018p0", "0x1.0000000000000001p0", "1.5", "2.5",
        "100", "-100.25", "12345678901234567890.12345678901234567890", "0.1e1", "00000.000001", "1e-17", "-1e-17", "4.5e-18", "5e-18", "5.5e-18",
    ];

    [Fact]
    public async Task Incrbyfloat_replies_match_redis_for_a_corpus_of_texts()
    {
        var script = new List<string[]>();
        foreach (var text in FloatTexts)
        {
            script.Add(["DEL", "fresh"]);
            script.Add(["INCRBYFLOAT", "fresh", text]);
            script.Add(["INCRBYFLOAT", "fresh", text]);
            script.Add(["INCRBYFLOAT", "sum", text]);
        }

        var differences = await CompareHexAsync(script);
        Assert.True(differences.Length == 0, "replies differ:\n" + differences);
    }

    [Theory]
    [InlineData(11)]
    [InlineData(12)]
    public async Task Incrbyfloat_replies_match_redis_for_random_numbers(int seed)
    {
        var random = new Random(seed);
        var script = new List<string[]>();
        for (var i = 0; i < 1500; i++)
        {
            var key = "f" + random.Next(4);
            script.Add(random.Next(20) == 0 ? ["DEL", key] : ["INCRBYFLOAT", key, RandomFloatText(random)]);
        }

        var differences = await CompareHexAsync(script);
        Assert.True(differences.Length == 0, $"seed {seed}: replies differ:\n" + differences);
    }

    /// <summary>
    /// Decimal texts of every size, doubles printed exactly and shortest, hexadecimal floats, and texts near the
    /// ends of long double's range (denormals, overflow).
    /// </summary>
    private static string RandomFloatText(Random random)
    {
        var sign = random.Next(3) == 0 ? "-" : "";
        switch (random.Next(8))
        {
            case 6:
                return sign + Digits(random, random.Next(1, 25)) + "e" + random.Next(-4975, 4935).ToString(CultureInfo.InvariantCulture);
            case 7:
                return sign + "0x" + random.NextInt64().ToString("x", CultureInfo.InvariantCulture) + "p" + random.Next(-16520, 16330).ToString(CultureInfo.InvariantCulture);
            case 0:
                return sign + random.Next(1000).ToString(CultureInfo.InvariantCulture) + "." + Digits(random, random.Next(1, 25));
            case 1:
                return sign + Digits(random, random.Next(1, 30)) + "e" + random.Next(-40, 40).ToString(CultureInfo.InvariantCulture);
            case 2:
                var value = BitConverter.Int64BitsToDouble(random.NextInt64(0, 0x7FF0000000000000));
                return sign + value.ToString(random.Next(2) == 0 ? "R" : "E20", CultureInfo.InvariantCulture);
            case 3:
                return sign + "0x" + random.NextInt64().ToString("x", CultureInfo.InvariantCulture) + "p" + random.Next(-80, 20).ToString(CultureInfo.InvariantCulture);
            case 4:
                return sign + random.NextInt64(long.MaxValue >> random.Next(63)).ToString(CultureInfo.InvariantCulture);
            default:
                return sign + "0." + new string('0', random.Next(20)) + Digits(random, random.Next(1, 40));
        }
    }

    private static string Digits(Random random, int count) =>
        string.Concat(Enumerable.Range(0, count).Select(_ => (char)('0' + random.Next(10))));

    [Theory]
    [InlineData(1)]
    [InlineData(20240611)]
    public async Task A_random_workload_gets_the_same_replies(int seed)
    {
        var script = RandomWorkload(seed, 3000);
        var differences = await CompareHexAsync(script);
        Assert.True(differences.Length == 0, $"seed {seed}: replies differ:\n" + differences);
    }

    /// <summary>
    /// Commands over five keys with arguments drawn around the interesting values: small and negative indexes,
    /// the ends of the value, invalid numbers, units, BITOP's operations and sources.
    /// </summary>
    internal static List<string[]> RandomWorkload(int seed, int count)
    {
        var random = new Random(seed);
        string Key() => "w" + random.Next(5);
        string Index() => random.Next(10) switch
        {
            0 => "x",
            1 => random.Next(2) == 0 ? "-9223372036854775808" : "9223372036854775807",
            2 or 3 => (-random.Next(40)).ToString(CultureInfo.InvariantCulture),
            _ => random.Next(80).ToString(CultureInfo.InvariantCulture),
        };
        string Offset() => random.Next(12) switch
        {
            0 => "-1",
            1 => "y",
            2 => random.Next(2) == 0 ? "4294967296" : "9223372036854775807",
            _ => random.Next(300).ToString(CultureInfo.InvariantCulture),
        };
        string Bit() => random.Next(10) switch
        {
            0 => "2",
            1 => "z",
            _ => random.Next(2).ToString(CultureInfo.InvariantCulture),
        };
        string Value()
        {
            var chars = new char[random.Next(0, 12)];
            for (var i = 0; i < chars.Length; i++)
            {
                chars[i] = random.Next(4) switch
                {
                    0 => '\0',
                    1 => (char)random.Next(0x80, 0x100),
                    _ => (char)random.Next('0', 'z'),
                };
            }

            return new string(chars);
        }

        string Float() => random.Next(8) switch
        {
            0 => "bad",
            1 => random.Next(-5, 5).ToString(CultureInfo.InvariantCulture),
            _ => (random.NextDouble() * Math.Pow(10, random.Next(-5, 8)) * (random.Next(2) == 0 ? -1 : 1)).ToString("R", CultureInfo.InvariantCulture),
        };
        string[] Unit() => random.Next(4) switch
        {
            0 => ["BIT"],
            1 => ["BYTE"],
            2 => ["bits"],
            _ => [],
        };

        var script = new List<string[]>(count);
        for (var i = 0; i < count; i++)
        {
            script.Add(random.Next(13) switch
            {
                0 => ["SET", Key(), random.Next(3) == 0 ? Float() : Value()],
                1 => ["GET", Key()],
                2 => ["SETRANGE", Key(), Offset(), Value()],
                3 => [random.Next(2) == 0 ? "GETRANGE" : "SUBSTR", Key(), Index(), Index()],
                4 => ["SETBIT", Key(), Offset(), Bit()],
                5 => ["GETBIT", Key(), Offset()],
                6 => random.Next(4) == 0 ? ["BITCOUNT", Key()] : ["BITCOUNT", Key(), Index(), Index(), .. Unit()],
                7 => random.Next(4) switch
                {
                    0 => ["BITPOS", Key(), Bit()],
                    1 => ["BITPOS", Key(), Bit(), Index()],
                    _ => ["BITPOS", Key(), Bit(), Index(), Index(), .. Unit()],
                },
                8 => ["BITOP", random.Next(9) switch { 0 => "NOT", 1 => "nand", 2 or 3 => "AND", 4 or 5 => "OR", _ => "XOR" }, Key(), .. Enumerable.Range(0, random.Next(1, 4)).Select(_ => Key())],
                9 => ["INCRBYFLOAT", Key(), Float()],
                10 => ["APPEND", Key(), Value()],
                11 => ["DEL", Key()],
                _ => ["STRLEN", Key()],
            });
        }

        return script;
    }

    internal static async Task<string> CompareHexAsync(IEnumerable<string[]> script)
    {
        await using var redis = await RedisServerProcess.StartAsync(Differential.RedisFlags);
        await using var node = await InProcessNode.StartAsync();
        using var expected = await RawClient.ConnectAsync(redis.Port);
        using var actual = await node.RawAsync();
        expected.BulkAsHex = true;
        actual.BulkAsHex = true;
        return await Differential.CompareAsync(script, expected, actual);
    }
}

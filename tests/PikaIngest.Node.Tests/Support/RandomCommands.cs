using System.Globalization;

namespace PikaIngest.Node.Tests.Support;

/// <summary>
/// Seeded random command sequences over the node's string and keyspace commands, valid and invalid, on a small
/// key set so that commands keep meeting each other's keys. Replies must not depend on timing: expiries are either
/// long (≥ 100 s, read back only through TTL, whose rounding <see cref="SameReply"/> tolerates) or already past.
/// </summary>
internal sealed class RandomCommands(int seed)
{
    private static readonly string[] Keys = ["a", "b", "c", "{tag}d", "e\u0000x", ""];
    private static readonly string[] Values = ["0", "1", "-7", "42", "9223372036854775807", "-9223372036854775808", "abc", "", "10.5", " 1", "x\u0000y", "hello world"];
    private static readonly string[] Integers = ["0", "1", "-1", "5", "1000", "-9223372036854775808", "9223372036854775807", "x", "1.5", ""];
    private static readonly string[] LongSeconds = ["100", "1000", "86400", "0", "-1", "abc", "9223372036854775807"];
    private static readonly string[] LongMillis = ["100000", "5000000", "0", "-5", "x", "9223372036854775807"];
    private static readonly string[] AbsoluteSeconds = ["4102444800", "1000", "1", "0", "-1", "y"];
    private static readonly string[] AbsoluteMillis = ["4102444800123", "1000", "1", "0", "-1", "z"];

    private readonly Random _random = new(seed);

    /// <summary>Commands that replay identically on a slave: every write the generator makes, and reads between them.</summary>
    public IEnumerable<string[]> Take(int count)
    {
        for (var i = 0; i < count; i++)
        {
            yield return Next();
        }
    }

    /// <summary>
    /// True when two replies to <paramref name="command"/> agree: exactly, except TTL (a second-rounded remaining time
    /// read a moment apart may differ by one) and KEYS (each server lists keys in its own order).
    /// </summary>
    public static bool SameReply(string[] command, string expected, string actual)
    {
        if (expected == actual)
        {
            return true;
        }

        var name = command[0].ToUpperInvariant();
        if (name == "TTL" && command.Length == 2
            && long.TryParse(expected.AsSpan(1), CultureInfo.InvariantCulture, out var want) && long.TryParse(actual.AsSpan(1), CultureInfo.InvariantCulture, out var got))
        {
            return want > 0 && got > 0 && Math.Abs(want - got) <= 1;
        }

        return name == "KEYS" && SortedItems(expected) == SortedItems(actual);
    }

    private static string SortedItems(string arrayReply)
    {
        var open = arrayReply.IndexOf('[', StringComparison.Ordinal);
        return open < 0 ? arrayReply : string.Join(",", arrayReply[(open + 1)..^1].Split(',').Order(StringComparer.Ordinal));
    }

    private string[] Next()
    {
        var key = Pick(Keys);
        var other = Pick(Keys);
        return _random.Next(46) switch
        {
            0 or 1 or 2 => ["GET", key],
            3 or 4 or 5 => ["SET", key, Pick(Values), .. SetOptions()],
            6 => ["SETNX", key, Pick(Values)],
            7 => [_random.Next(2) == 0 ? "SETEX" : "PSETEX", key, _random.Next(2) == 0 ? Pick(LongSeconds) : Pick(LongMillis), Pick(Values)],
            8 => ["GETSET", key, Pick(Values)],
            9 => ["GETDEL", key],
            10 or 11 => ["GETEX", key, .. GetExOptions()],
            12 => ["MGET", key, other, Pick(Keys)],
            13 => ["MSET", key, Pick(Values), other, Pick(Values)],
            14 => ["MSETNX", key, Pick(Values), other, Pick(Values)],
            15 => ["INCR", key],
            16 => ["DECR", key],
            17 => ["INCRBY", key, Pick(Integers)],
            18 => ["DECRBY", key, Pick(Integers)],
            19 => ["APPEND", key, Pick(Values)],
            20 => ["STRLEN", key],
            21 => [_random.Next(2) == 0 ? "DEL" : "UNLINK", key, other],
            22 => [_random.Next(2) == 0 ? "EXISTS" : "TOUCH", key, other, key],
            23 or 24 => [Pick(["EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"]) is var expire ? expire : "", key, ExpireAmount(expire), .. ExpireConditions()],
            25 => ["PERSIST", key],
            26 or 27 => ["TTL", key],
            28 => ["TYPE", key],
            29 => ["RENAME", key, other],
            30 => ["RENAMENX", key, other],
            31 => ["COPY", key, other, .. _random.Next(3) == 0 ? (string[])["REPLACE"] : []],
            32 => ["DBSIZE"],
            33 => ["KEYS", Pick(["*", "a*", "?", "{*", "[a-c]"])],
            34 => _random.Next(8) == 0 ? [Pick(["FLUSHDB", "FLUSHALL"])] : ["EXISTS", key],
            35 => ["EXPIRETIME", key],
            36 => Invalid(key),
            37 or 38 => ["INCRBYFLOAT", key, Pick(["1.5", "-0.25", "1e3", "10", "0.1", "abc", "", "5.0e-1"])],
            39 => ["SETRANGE", key, Pick(["0", "3", "17", "-1", "x"]), Pick(Values)],
            40 => [_random.Next(2) == 0 ? "GETRANGE" : "SUBSTR", key, Pick(["0", "2", "-3", "x"]), Pick(["-1", "4", "100", "y"])],
            41 => ["SETBIT", key, Pick(["0", "7", "9", "100", "-1", "4294967296"]), Pick(["0", "1", "2"])],
            42 => ["GETBIT", key, Pick(["0", "7", "9", "100", "-1"])],
            43 => ["BITCOUNT", key, .. _random.Next(2) == 0 ? [] : (string[])[Pick(["0", "1", "-2"]), Pick(["-1", "3"]), .. _random.Next(2) == 0 ? (string[])[Pick(["BYTE", "BIT"])] : []]],
            44 => ["BITOP", Pick(["AND", "OR", "XOR", "NOT"]), key, other, .. _random.Next(2) == 0 ? (string[])[Pick(Keys)] : []],
            _ => ["GET", key],
        };
    }

    private string ExpireAmount(string command) => command switch
    {
        "EXPIRE" => Pick(LongSeconds),
        "PEXPIRE" => Pick(LongMillis),
        "EXPIREAT" => Pick(AbsoluteSeconds),
        _ => Pick(AbsoluteMillis),
    };

    private string[] ExpireConditions() => _random.Next(3) switch
    {
        0 => [],
        1 => [Pick(["NX", "XX", "GT", "LT", "FOO"])],
        _ => [Pick(["NX", "XX", "GT", "LT"]), Pick(["NX", "XX", "GT", "LT"])],
    };

    private string[] SetOptions()
    {
        var options = new List<string>();
        var count = _random.Next(4);
        for (var i = 0; i < count; i++)
        {
            switch (_random.Next(9))
            {
                case 0: options.Add("NX"); break;
                case 1: options.Add("XX"); break;
                case 2: options.Add("GET"); break;
                case 3: options.Add("KEEPTTL"); break;
                case 4: options.AddRange(["EX", Pick(LongSeconds)]); break;
                case 5: options.AddRange(["PX", Pick(LongMillis)]); break;
                case 6: options.AddRange(["EXAT", Pick(AbsoluteSeconds)]); break;
                case 7: options.AddRange(["PXAT", Pick(AbsoluteMillis)]); break;
                default: options.Add(Pick(["EX", "BOGUS"])); break;
            }
        }

        return [.. options];
    }

    private string[] GetExOptions()
    {
        var options = new List<string>();
        var count = _random.Next(3);
        for (var i = 0; i < count; i++)
        {
            switch (_random.Next(6))
            {
                case 0: options.AddRange(["EX", Pick(LongSeconds)]); break;
                case 1: options.AddRange(["PX", Pick(LongMillis)]); break;
                case 2: options.AddRange(["EXAT", Pick(AbsoluteSeconds)]); break;
                case 3: options.AddRange(["PXAT", Pick(AbsoluteMillis)]); break;
                case 4: options.Add("PERSIST"); break;
                default: options.Add(Pick(["KEEPTTL", "NX", "EX"])); break;
            }
        }

        return [.. options];
    }

    /// <summary>Wrong arity and malformed arguments: each must get Redis's error and change nothing.</summary>
    private string[] Invalid(string key) => _random.Next(8) switch
    {
        0 => ["GET"],
        1 => ["SET", key],
        2 => ["GETSET", key],
        3 => ["RENAME", key],
        4 => ["MSETNX", key, "1", "other"],
        5 => ["INCRBY", key],
        6 => ["COPY", key, key, "DB", "1"],
        _ => ["GETEX", key, "EX", "10", "PERSIST"],
    };

    private string Pick(string[] choices) => choices[_random.Next(choices.Length)];
}

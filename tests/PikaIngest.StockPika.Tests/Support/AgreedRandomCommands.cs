namespace PikaIngest.StockPika.Tests.Support;

/// <summary>
/// Seeded random commands over the string and keyspace commands stock Pika 4.0.1 and pika-node both implement, with
/// arguments kept off every listed difference (NodeDifferentialTests' lists): expiries are positive and long,
/// stored numbers are canonical, the keys are all written first and never deleted, the bit and range commands have keys of their own (Pika's TTL of a key without
/// a record and BITPOS of a missing key differ), no NUL bytes in values, no SET/EXPIRE options newer than Pika, no PEXPIRE (Pika's read cache then answers TTL in the wrong unit), KEYS only with patterns matching keys of one order.
/// Any difference in a reply is therefore a new one.
/// </summary>
internal sealed class AgreedRandomCommands(int seed)
{
    private static readonly string[] Keys = ["a", "b", "c", "{tag}d", "e"];

    // SETBIT and SETRANGE past the end pad with NUL bytes, and Pika parses a number only up to the first NUL
    // (strtoll on c_str in storage Redis::Incrby): those commands get keys of their own that INCR never reads.
    private static readonly string[] BitKeys = ["bits1", "{tag}bits2"];
    private static readonly string[] Values = ["0", "1", "-7", "42", "9223372036854775807", "abc", "10.5", "hello world", "x"];
    private static readonly string[] Integers = ["0", "1", "-1", "5", "1000", "9223372036854775807", "x", "1.5"];
    private static readonly string[] Floats = ["1.5", "-0.25", "10", "2.5e2", "abc"];
    private static readonly string[] Seconds = ["1000", "86400", "100000"];

    private readonly Random _random = new(seed);

    public IEnumerable<string[]> Take(int count)
    {
        foreach (var key in Keys.Concat(BitKeys))
        {
            yield return ["SET", key, "start"];
        }

        for (var i = 0; i < count; i++)
        {
            yield return Next();
        }
    }

    private string[] Next()
    {
        var key = Pick(Keys);
        var bitKey = Pick(BitKeys);
        return _random.Next(30) switch
        {
            0 or 1 => ["GET", key],
            2 or 3 => ["SET", key, Pick(Values)],
            4 => ["SET", key, Pick(Values), Pick(["NX", "XX"])],
            5 => ["SET", key, Pick(Values), Pick(["EX", "PX"]) is var unit ? unit : "", unit == "EX" ? Pick(Seconds) : Pick(Seconds) + "000", .. _random.Next(2) == 0 ? (string[])[Pick(["NX", "XX"])] : []],
            6 => ["SETNX", key, Pick(Values)],
            7 => _random.Next(2) == 0 ? ["SETEX", key, Pick(Seconds), Pick(Values)] : ["PSETEX", key, Pick(Seconds) + "000", Pick(Values)],
            8 => ["GETSET", key, Pick(Values)],
            9 => ["MGET", key, Pick(Keys), "never-set"],
            10 => ["MSET", key, Pick(Values), Pick(Keys), Pick(Values)],
            11 => ["MSETNX", key, Pick(Values), Pick(Keys), Pick(Values)],
            12 => [Pick(["INCR", "DECR"]), key],
            13 => [Pick(["INCRBY", "DECRBY"]), key, Pick(Integers)],
            14 => ["INCRBYFLOAT", key, Pick(Floats)],
            15 => ["APPEND", bitKey, Pick(Values)],
            16 => ["STRLEN", bitKey],
            17 => ["SETRANGE", bitKey, _random.Next(20).ToString(System.Globalization.CultureInfo.InvariantCulture), Pick(Values)],
            18 => ["GETRANGE", bitKey, Pick(["0", "2", "-3", "-1"]), Pick(["-1", "4", "100", "1"])],
            19 => ["SETBIT", bitKey, _random.Next(100).ToString(System.Globalization.CultureInfo.InvariantCulture), "1"],
            20 => ["GETBIT", bitKey, _random.Next(120).ToString(System.Globalization.CultureInfo.InvariantCulture)],
            21 => _random.Next(2) == 0 ? ["BITCOUNT", bitKey] : ["BITCOUNT", bitKey, Pick(["0", "1"]), Pick(["-1", "3"])],
            22 => ["EXISTS", key, Pick(Keys), "never-set"],
            23 => ["TYPE", key],
            24 => ["EXPIRE", key, Pick(Seconds)],
            25 => ["EXPIREAT", key, "4102444800"],
            26 => ["PERSIST", key],
            27 => [Pick(["TTL", "PTTL"]), key],
            28 => ["KEYS", Pick(["?", "[a-c]"])],
            _ => ["BITPOS", bitKey, Pick(["0", "1"])],
        };
    }

    private string Pick(string[] choices) => choices[_random.Next(choices.Length)];
}

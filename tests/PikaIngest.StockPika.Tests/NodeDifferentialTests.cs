using PikaIngest.StockPika.Tests.Support;

namespace PikaIngest.StockPika.Tests;

/// <summary>
/// pika-node's replies against stock Pika 4.0.1's for the string and keyspace commands both implement. Every
/// difference must be listed (<see cref="StringDifferences"/>, <see cref="KeyspaceDifferences"/>, <see cref="BitDifferences"/>) with both exact replies and why pika-node keeps its own (it
/// follows Redis 7.0, which its redis-server differential tests hold it to); anything else fails.
/// </summary>
public sealed class NodeDifferentialTests(PikaAndNode servers) : IClassFixture<PikaAndNode>
{
    internal static readonly string[][] StringScript =
    [
        ["PING"], ["PING", "hello"], ["ECHO", "x y"], ["PING", "a", "b"], ["ECHO"],
        ["SET", "a", "1"], ["GET", "a"], ["GET", "missing"], ["get", "a"],
        ["SET", "a", "2", "NX"], ["SET", "a", "3", "XX"], ["GET", "a"], ["SET", "b", "v", "XX"], ["SET", "b", "v", "nx"], ["GET", "b"],
        ["SET", "c", "v", "EX", "1000"], ["TTL", "c"], ["PTTL", "c"], ["SET", "c", "w"], ["TTL", "c"],
        ["SET", "c", "v", "PX", "2000000"], ["PTTL", "c"], ["SET", "c", "v", "NX", "EX", "10"], ["SET", "c", "v", "XX", "EX", "3000"], ["TTL", "c"],
        ["SET", "c", "v", "EX", "4000", "XX"], ["TTL", "c"], ["SET", "nxex", "v", "EX", "4000", "NX"], ["TTL", "nxex"],
        ["SET", "d", "v", "EX", "0"], ["SET", "d", "v", "EX", "-1"], ["SET", "d", "v", "EX", "abc"], ["SET", "d", "v", "PX", "0"],
        ["SET", "d", "v", "EX", "10", "PX", "10"], ["SET", "d", "v", "NX", "XX"], ["SET", "d", "v", "EX"], ["SET", "d", "v", "FOO"],
        ["SET", "d", "v", "EX", "9223372036854775807"], ["SET", "d", "v", "PX", "9223372036854775807"], ["GET", "d"], ["DEL", "d"],
        ["SET", "e", "v", "EXAT", "4102444800"], ["SET", "e", "v", "PXAT", "4102444800123"], ["SET", "e", "v", "KEEPTTL"], ["SET", "e", "v", "GET"], ["EXISTS", "e"],
        ["SETNX", "a", "x"], ["SETNX", "g", "x"], ["GET", "g"], ["SETNX", "g"],
        ["SETEX", "h", "1000", "v"], ["TTL", "h"], ["SETEX", "h", "0", "v"], ["SETEX", "h", "-1", "v"], ["SETEX", "h", "abc", "v"], ["SETEX", "h", "1"],
        ["PSETEX", "i", "1000000", "v"], ["PTTL", "i"], ["PSETEX", "i", "0", "v"], ["PSETEX", "i", "x", "v"],
        ["MSET", "j", "1", "k", "2"], ["MSET", "j"], ["MSET", "j", "1", "k"], ["MGET", "j", "k", "missing", "a"], ["MGET"],
        ["MSETNX", "m1", "1", "m2", "2"], ["MGET", "m1", "m2"], ["MSETNX", "m2", "x", "m3", "3"], ["EXISTS", "m3"], ["MSETNX", "m4", "1", "m4", "2"], ["GET", "m4"],
        ["MSETNX", "m5"], ["MSETNX", "m5", "1", "m6"],
        ["GETSET", "a", "2"], ["GETSET", "missing-gs", "v"], ["GET", "missing-gs"], ["GETSET", "a"], ["SET", "t", "v", "EX", "1000"], ["GETSET", "t", "w"], ["TTL", "t"],
        ["INCR", "j"], ["INCRBY", "j", "10"], ["DECR", "j"], ["DECRBY", "j", "5"], ["INCRBY", "j", "-3"], ["GET", "j"],
        ["INCR", "new-counter"], ["DECR", "new-counter2"], ["INCRBY", "j", "abc"], ["INCRBY", "j", "1.5"], ["INCRBY", "j", ""], ["INCR"],
        ["SET", "s", "abc"], ["INCR", "s"], ["SET", "s1", " 1"], ["INCR", "s1"], ["SET", "s2", "01"], ["INCR", "s2"], ["SET", "s3", "+1"], ["INCR", "s3"],
        ["SET", "s4", ""], ["INCR", "s4"], ["SET", "s5", "-0"], ["INCR", "s5"], ["SET", "s6", "1 "], ["INCR", "s6"],
        ["SET", "big", "9223372036854775807"], ["INCR", "big"], ["DECRBY", "big", "-1"], ["INCRBY", "big", "1"], ["SET", "small", "-9223372036854775808"], ["DECR", "small"],
        ["DECRBY", "j", "-9223372036854775808"], ["INCRBY", "j", "9223372036854775808"], ["INCRBY", "j", "-9223372036854775808"], ["GET", "j"],
        ["SET", "ttl-kept", "5", "EX", "1000"], ["INCR", "ttl-kept"], ["TTL", "ttl-kept"],
        ["INCRBYFLOAT", "f", "10.5"], ["INCRBYFLOAT", "f", "0.1"], ["GET", "f"], ["INCRBYFLOAT", "f", "-10.6"], ["GET", "f"], ["INCRBYFLOAT", "g2", "0.1"], ["INCRBYFLOAT", "g2", "0.2"],
        ["INCRBYFLOAT", "h2", "5.0e3"], ["INCRBYFLOAT", "h3", "3.0"], ["INCRBYFLOAT", "h5", "inf"],
        ["INCRBYFLOAT", "h5", "nan"], ["INCRBYFLOAT", "h5", "abc"], ["INCRBYFLOAT", "h5", ""], ["INCRBYFLOAT", "h5", " 1"], ["INCRBYFLOAT", "h5", "0x10"], ["SET", "fs", "abc"], ["INCRBYFLOAT", "fs", "1"],
        ["SET", "fl", "1.5", "EX", "100000"], ["INCRBYFLOAT", "fl", "1"], ["TTL", "fl"], ["INCRBYFLOAT", "fl"],
        ["APPEND", "j", "xyz"], ["GET", "j"], ["APPEND", "app", "abc"], ["APPEND", "app", "def"], ["GET", "app"], ["STRLEN", "app"], ["STRLEN", "none"], ["APPEND", "app"],
        ["SET", "at", "x", "EX", "1000"], ["APPEND", "at", "y"], ["TTL", "at"],
        ["SETRANGE", "r", "5", "abc"], ["GET", "r"], ["SETRANGE", "r", "0", "XY"], ["GET", "r"], ["SETRANGE", "r", "7", "long tail"], ["GET", "r"], ["SETRANGE", "r", "2", ""],
        ["SETRANGE", "missing-r", "0", ""], ["EXISTS", "missing-r"], ["SETRANGE", "missing-r", "5", ""], ["EXISTS", "missing-r"], ["SETRANGE", "r", "-1", "x"], ["SETRANGE", "r", "x", "x"],
        ["SETRANGE", "r"],
        ["SET", "hw", "Hello World"], ["GETRANGE", "hw", "0", "4"], ["GETRANGE", "hw", "-5", "-1"], ["GETRANGE", "hw", "0", "-1"], ["GETRANGE", "hw", "0", "100"],
        ["GETRANGE", "hw", "5", "3"], ["GETRANGE", "hw", "-1", "-5"], ["GETRANGE", "hw", "-100", "-200"], ["GETRANGE", "hw", "-100", "2"], ["GETRANGE", "hw", "0", "-100"],
        ["GETRANGE", "hw", "11", "20"], ["GETRANGE", "hw", "10", "10"], ["GETRANGE", "missing", "0", "-1"], ["GETRANGE", "hw", "x", "1"], ["GETRANGE", "hw", "0"],
        ["SET", "empty", ""], ["GET", "empty"], ["STRLEN", "empty"], ["GETRANGE", "empty", "0", "-1"], ["EXISTS", "empty"],
        ["SET", "nul\u0000", "va\r\nlue"], ["GET", "nul\u0000"], ["STRLEN", "nul\u0000"], ["SET", "bin", "\u0000\u00ff"], ["GET", "bin"], ["SET", "", "empty key"], ["GET", ""],
        ["DBSIZE"],
    ];

    internal static readonly string[][] KeyspaceScript =
    [
        ["SET", "a", "1"], ["SET", "b", "2"], ["SET", "{tag}c", "3"], ["SET", "ab", "4"],
        ["DEL", "a", "missing"], ["DEL", "a"], ["DEL"], ["UNLINK", "b", "b", "missing"], ["UNLINK"], ["EXISTS", "a", "ab", "ab", "missing"], ["EXISTS"],
        ["TYPE", "ab"], ["TYPE", "missing"], ["TYPE"],
        ["EXPIRE", "ab", "1000"], ["TTL", "ab"], ["PTTL", "ab"], ["EXPIRE", "ab", "abc"], ["EXPIRE", "missing", "10"], ["EXPIRE", "ab"],
        ["EXPIRE", "ab", "1000", "NX"], ["EXPIRE", "ab", "2000", "XX"], ["EXPIRE", "ab", "500", "GT"], ["EXPIRE", "ab", "500", "LT"],
        ["PERSIST", "ab"], ["TTL", "ab"], ["PERSIST", "ab"], ["PERSIST", "missing"],
        ["PEXPIRE", "ab", "5000000"], ["PTTL", "ab"], ["PEXPIRE", "ab", "x"], ["EXPIREAT", "ab", "4102444800"], ["TTL", "ab"], ["EXPIREAT", "ab", "x"],
        ["EXPIREAT", "missing", "4102444800"], ["PEXPIREAT", "missing", "4102444800000"],
        ["SET", "pa", "v"], ["PEXPIREAT", "pa", "4102444800000"], ["EXISTS", "pa"],
        ["SET", "pb", "v"], ["PEXPIREAT", "pb", "1000"], ["EXISTS", "pb"], ["SET", "pc", "v"], ["EXPIREAT", "pc", "1000"], ["EXISTS", "pc"],
        ["SET", "k", "v"], ["EXPIRE", "k", "0"], ["EXISTS", "k"], ["SET", "k", "v"], ["EXPIRE", "k", "-1"], ["EXISTS", "k"], ["SET", "k", "v"], ["PEXPIRE", "k", "0"], ["EXISTS", "k"],
        ["SET", "k", "v"], ["EXPIRE", "k", "9223372036854775807"], ["PEXPIRE", "k", "9223372036854775807"], ["TTL", "k"], ["EXISTS", "k"],
        ["SET", "k2", "v"], ["EXPIRE", "k2", "4294967296"], ["TTL", "k2"],
        ["TTL", "missing"], ["PTTL", "missing"], ["TTL", "{tag}c"], ["PTTL", "{tag}c"], ["TTL"], ["DEL", "k", "pa"],
        ["KEYS", "*"], ["KEYS", "a*"], ["KEYS", "?b"], ["KEYS", "{*"], ["KEYS", "[a-c]*"], ["KEYS", "*", "x"], ["KEYS"],
["SET", "bits1", "x"], ["SET", "c", "x"], ["KEYS", "*"], ["DEL", "bits1", "c"],
                ["SCAN", "0", "COUNT", "1000"], ["SCAN", "0", "MATCH", "a*", "COUNT", "1000"], ["SCAN", "0", "TYPE", "string", "COUNT", "1000"],
        ["SCAN", "x"], ["SCAN", "0", "COUNT", "0"], ["SCAN", "0", "COUNT", "x"], ["SCAN", "0", "FOO"], ["SCAN"],
        ["DBSIZE"], ["DBSIZE", "x"], ["FLUSHDB", "x"], ["FLUSHDB"], ["DBSIZE"], ["KEYS", "*"], ["SET", "after", "x"], ["FLUSHALL"], ["GET", "after"],
        ["ECHO", "a", "b"], ["TIME"], ["TIME", "x"],
    ];

    internal static readonly string[][] BitScript =
    [
        ["SETBIT", "b", "7", "1"], ["GET", "b"], ["SETBIT", "b", "7", "1"], ["SETBIT", "b", "7", "0"], ["SETBIT", "b", "100", "1"], ["STRLEN", "b"],
        ["GETBIT", "b", "7"], ["GETBIT", "b", "100"], ["GETBIT", "b", "101"], ["GETBIT", "b", "100000"], ["GETBIT", "missing", "3"],
        ["SETBIT", "b", "-1", "1"], ["SETBIT", "b", "x", "1"], ["SETBIT", "b", "4294967296", "1"], ["SETBIT", "b", "1", "2"], ["SETBIT", "b", "1", "x"],
        ["GETBIT", "b", "-1"], ["GETBIT", "b", "x"], ["SETBIT", "b0", "0", "0"], ["GET", "b0"], ["SETBIT", "b", "3"], ["GETBIT", "b"],
        ["SET", "bt", "x", "EX", "100000"], ["SETBIT", "bt", "20", "1"], ["TTL", "bt"],
        ["SET", "c", "foobar"], ["BITCOUNT", "c"], ["BITCOUNT", "c", "0", "0"], ["BITCOUNT", "c", "1", "1"], ["BITCOUNT", "c", "-1", "-1"], ["BITCOUNT", "c", "-1", "-5"],
        ["BITCOUNT", "c", "-100", "100"], ["BITCOUNT", "c", "1", "1", "BYTE"], ["BITCOUNT", "c", "5", "30", "BIT"], ["BITCOUNT", "c", "0"], ["BITCOUNT", "c", "x", "1"],
        ["BITCOUNT", "missing"], ["BITCOUNT", "missing", "0", "1"], ["BITCOUNT"],
        ["SET", "p", "\u00ff\u00f0\u0000"], ["BITPOS", "p", "0"], ["BITPOS", "p", "1"], ["BITPOS", "p", "1", "2"], ["BITPOS", "p", "0", "0"],
        ["BITPOS", "c", "1"], ["BITPOS", "c", "0"], ["BITPOS", "c", "1", "1"], ["BITPOS", "c", "1", "1", "3"], ["BITPOS", "c", "0", "-2", "-1"], ["BITPOS", "c", "1", "3", "2"],
        ["BITPOS", "c", "0", "100"], ["BITPOS", "c", "1", "7", "15", "BIT"], ["BITPOS", "c", "2"], ["BITPOS", "c", "x"], ["BITPOS", "missing", "0"], ["BITPOS", "missing", "1"],
        ["BITPOS", "c", "1", "x"], ["BITPOS", "c"], ["SET", "ff", "\u00ff"], ["BITPOS", "ff", "0"], ["BITPOS", "ff", "0", "0", "-1"], ["BITPOS", "ff", "0", "0"],
        ["SET", "k1", "foobar"], ["SET", "k2", "abcdef"], ["SET", "k3", "xy"], ["BITOP", "AND", "dest", "k1", "k2"], ["GET", "dest"],
        ["BITOP", "OR", "dest", "k1", "k3"], ["GET", "dest"], ["BITOP", "XOR", "dest", "k1", "k2", "k3"], ["GET", "dest"], ["BITOP", "AND", "dest", "k1", "missing"], ["GET", "dest"],
        ["BITOP", "NOT", "dest", "k1"], ["GET", "dest"], ["BITOP", "NOT", "dest", "k1", "k2"], ["BITOP", "NAND", "dest", "k1"], ["BITOP", "AND", "dest"],
        ["SET", "dest", "x", "EX", "100000"], ["BITOP", "OR", "dest", "k1"], ["TTL", "dest"], ["BITOP", "OR", "dest", "missing", "missing2"], ["EXISTS", "dest"],
        ["SETRANGE", "sr", "3", "\u0000\u00ff\u0080"], ["GET", "sr"], ["GETRANGE", "sr", "3", "5"],
    ];

    [StockPikaFact]
    public async Task Keyspace_commands_reply_as_stock_pika_does_except_the_listed_differences()
    {
        var (pika, node) = await servers.ConnectEmptyAsync();
        using (pika)
        using (node)
        {
            var report = await PikaDifferential.CompareAsync(pika, node, KeyspaceScript, KeyspaceDifferences);
            Assert.True(report.Length == 0, "replies differ:\n" + report);
        }
    }

    [StockPikaFact]
    public async Task Bit_commands_reply_as_stock_pika_does_byte_for_byte_except_the_listed_differences()
    {
        var (pika, node) = await servers.ConnectEmptyAsync();
        using (pika)
        using (node)
        {
            pika.BulkAsHex = true;
            node.BulkAsHex = true;
            var report = await PikaDifferential.CompareAsync(pika, node, BitScript, BitDifferences);
            Assert.True(report.Length == 0, "replies differ:\n" + report);
        }
    }

    [StockPikaTheory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task Random_commands_off_the_listed_differences_reply_as_stock_pika_does(int seed)
    {
        var (pika, node) = await servers.ConnectEmptyAsync();
        using (pika)
        using (node)
        {
            var report = await PikaDifferential.CompareAsync(pika, node, new AgreedRandomCommands(seed).Take(2000), []);
            Assert.True(report.Length == 0, $"seed {seed}: replies differ:\n" + report);
        }
    }

    [StockPikaFact]
    public async Task String_commands_reply_as_stock_pika_does_except_the_listed_differences()
    {
        var (pika, node) = await servers.ConnectEmptyAsync();
        using (pika)
        using (node)
        {
            var report = await PikaDifferential.CompareAsync(pika, node, StringScript, StringDifferences);
            Assert.True(report.Length == 0, "replies differ:\n" + report);
        }
    }

    internal static readonly KnownDifference[] StringDifferences =
    [
        new(["PING", "hello"], "-ERR wrong number of arguments for 'ping' command", "$hello", "Pika's PING takes no argument (arity 1, pika_command.cc); Redis echoes one"),
        new(["SET", "d", "v", "EX", "0"], WrongType, "-ERR invalid expire time in 'set' command", NonPositiveTtl),
        new(["SET", "d", "v", "EX", "-1"], WrongType, "-ERR invalid expire time in 'set' command", NonPositiveTtl),
        new(["SET", "d", "v", "PX", "0"], WrongType, "-ERR invalid expire time in 'set' command", NonPositiveTtl),
        new(["SET", "d", "v", "EX", "9223372036854775807"], WrongType, "-ERR invalid expire time in 'set' command", "Pika multiplies EX by 1000 unchecked (SetCmd::DoInitial), the overflowed time is refused as above; Redis refuses it as invalid"),
        new(["SET", "d", "v", "PX", "9223372036854775807"], "+OK", "-ERR invalid expire time in 'set' command", "Pika stores the key with an overflowed expiry (SetCmd::DoInitial checks no range); Redis refuses a time past LLONG_MAX ms"),
        new(["SET", "d", "v", "EX", "10", "PX", "10"], "+OK", "-ERR syntax error", "Pika takes the last of conflicting options (SetCmd::DoInitial); Redis refuses EX with PX"),
        new(["SET", "d", "v", "NX", "XX"], "+OK", "-ERR syntax error", "Pika takes the last of NX/XX (SetCmd::DoInitial); Redis refuses both together"),
        new(["SET", "e", "v", "EXAT", "4102444800"], "-ERR syntax error", "+OK", Redis62SetOption),
        new(["SET", "e", "v", "PXAT", "4102444800123"], "-ERR syntax error", "+OK", Redis62SetOption),
        new(["SET", "e", "v", "KEEPTTL"], "-ERR syntax error", "+OK", Redis62SetOption),
        new(["SET", "e", "v", "GET"], "-ERR syntax error", "$v", Redis62SetOption),
        new(["EXISTS", "e"], ":0", ":1", "follows from the SET options above, which Pika refused"),
        new(["SETEX", "h", "0", "v"], WrongType, "-ERR invalid expire time in 'setex' command", NonPositiveTtl),
        new(["SETEX", "h", "-1", "v"], WrongType, "-ERR invalid expire time in 'setex' command", NonPositiveTtl),
        new(["PSETEX", "i", "0", "v"], WrongType, "-ERR invalid expire time in 'psetex' command", NonPositiveTtl),
        new(["INCR", "s1"], ":2", NotInteger, LaxInteger),
        new(["INCR", "s2"], ":2", NotInteger, LaxInteger),
        new(["INCR", "s3"], ":2", NotInteger, LaxInteger),
        new(["INCR", "s4"], ":1", NotInteger, LaxInteger),
        new(["INCR", "s5"], ":1", NotInteger, LaxInteger),
        new(["DECRBY", "j", "-9223372036854775808"], "-ERR increment or decrement would overflow", "-ERR decrement would overflow", "Redis 7.0 refuses negating LLONG_MIN with its own text (decrbyCommand); Pika reports it as an overflow of the sum"),
        new(["INCRBYFLOAT", "h5", "inf"], "$", "-ERR increment would produce NaN or Infinity", "Pika parses inf with strtold (storage StrToLongDouble) and answers an empty bulk; Redis refuses a non-finite result"),
        new(["INCRBYFLOAT", "h5", "nan"], "-ERR increment would produce NaN or Infinity", "-ERR value is not a valid float", "Redis refuses nan as an increment before adding (getLongDoubleFromObject)"),
        new(["INCRBYFLOAT", "h5", ""], "$0", "-ERR value is not a valid float", "Pika's strtold check takes an empty increment as 0 (storage StrToLongDouble, src/storage/src/util.cc); Redis refuses it"),
        new(["EXISTS", "missing-r"], ":1", ":0", "Pika's SETRANGE creates a missing key even when nothing is written (storage Redis::Setrange); Redis leaves it missing"),
        new(["SETRANGE", "missing-r", "5", ""], ":5", ":0", "Pika pads a key with zero bytes for an empty value (storage Redis::Setrange); Redis writes nothing and answers the current length"),
        new(["SETRANGE", "r", "-1", "x"], WrongType, "-ERR offset is out of range", "Pika's storage refuses a negative offset as InvalidArgument, which SetrangeCmd::Do reports as WRONGTYPE"),
        new(["DBSIZE"], ":0", ":42", StaleDbsize),
    ];

    internal static readonly KnownDifference[] KeyspaceDifferences =
    [
        new(["EXPIRE", "ab", "1000", "NX"], "-ERR wrong number of arguments for 'expire' command", ":0", Redis70ExpireOption),
        new(["EXPIRE", "ab", "2000", "XX"], "-ERR wrong number of arguments for 'expire' command", ":1", Redis70ExpireOption),
        new(["EXPIRE", "ab", "500", "GT"], "-ERR wrong number of arguments for 'expire' command", ":0", Redis70ExpireOption),
        new(["EXPIRE", "ab", "500", "LT"], "-ERR wrong number of arguments for 'expire' command", ":1", Redis70ExpireOption),
        new(["EXISTS", "pa"], ":0", ":1", PexpireatTruncates),
        new(["EXPIRE", "k", "9223372036854775807"], ":1", "-ERR invalid expire time in 'expire' command", "Pika multiplies by 1000 unchecked (ExpireCmd), the key expires at once; Redis refuses an overflowing time"),
        new(["PEXPIRE", "k", "9223372036854775807"], ":0", "-ERR invalid expire time in 'pexpire' command", "Pika answers 0 (the key is already gone, above); Redis refuses an overflowing time"),
        new(["TTL", "k"], ":0", ":-1", "Pika answers 0, not -2, for a key that has no record at all (Storage::TTL leaves the time at 0 on NotFound)"),
        new(["EXISTS", "k"], ":0", ":1", "follows from EXPIRE above"),
        new(["TTL", "missing"], ":0", ":-2", "Pika answers 0, not -2, for a key that has no record at all (Storage::TTL leaves the time at 0 on NotFound)"),
        new(["PTTL", "missing"], ":0", ":-2", "Pika answers 0, not -2, for a key that has no record at all (Storage::PTTL leaves the time at 0 on NotFound)"),
        new(["DEL", "k", "pa"], ":0", ":2", "follows from PEXPIREAT and EXPIRE above, which removed both keys on Pika"),
        new(["KEYS", "*"], "*5[$ab,$bits1,$c,$k2,${tag}c]", "*5[$c,$ab,$bits1,$k2,${tag}c]", "Pika merges its instances' keys into one sorted list (Storage::Keys, MergingIterator); pika-node lists them instance after instance"),
        new(["KEYS", "*", "x"], "-ERR syntax error", "-ERR wrong number of arguments for 'keys' command", "Pika's KEYS takes an optional type (arity -2, KeysCmd::DoInitial); Redis's KEYS has one argument"),
        new(["SCAN", "x"], "-ERR value is not an integer or out of range", "-ERR invalid cursor", "Redis 7.0's text for a cursor that is not a number (parseScanCursorOrReply)"),
        new(["SCAN", "0", "COUNT", "0"], "-ERR value is not an integer or out of range", "-ERR syntax error", "Redis 7.0 answers COUNT < 1 with a syntax error (scanGenericCommand)"),
        new(["DBSIZE"], ":0", ":3", StaleDbsize),
        new(["FLUSHDB", "x"], "-ERR Invalid Argument", "-ERR syntax error", "Redis 7.0 takes only ASYNC/SYNC and answers anything else with a syntax error (getFlushCommandFlags)"),
    ];

    internal static readonly KnownDifference[] BitDifferences =
    [
        new(["GET", "b0"], "$nil", "$x:00", "Pika's SETBIT of a 0 bit on a missing key creates nothing (storage Redis::SetBit); Redis creates the key with one zero byte"),
        new(["BITCOUNT", "c", "-1", "-5"], "-ERR Corruption: RcBitCount failed", ":0", "Pika's read cache refuses an empty range (BitCountCmd::ReadCache, cache-model 1 in the stock conf); Redis counts 0"),
        new(["BITCOUNT", "c", "1", "1", "BYTE"], "-ERR syntax error", ":6", Redis70BitUnit),
        new(["BITCOUNT", "c", "5", "30", "BIT"], "-ERR syntax error", ":17", Redis70BitUnit),
        new(["BITPOS", "c", "1", "7", "15", "BIT"], "-ERR syntax error", ":9", Redis70BitUnit),
        new(["BITPOS", "missing", "0"], "-ERR NotFound: ", ":0", "Pika reports a missing key as an error (BitPosCmd::Do); Redis treats it as an empty string"),
        new(["BITPOS", "missing", "1"], "-ERR NotFound: ", ":-1", "Pika reports a missing key as an error (BitPosCmd::Do); Redis treats it as an empty string"),
        new(["EXISTS", "dest"], ":1", ":0", "BITOP over missing sources: Pika stores an empty value (storage Redis::BitOp), Redis 7.0 deletes the destination"),
        new(["SETRANGE", "sr", "3", "\u0000\u00ff\u0080"], ":3", ":8", NulInValue),
        new(["GET", "sr"], "$x:000000", "$x:00000000C3BFC280", NulInValue),
        new(["GETRANGE", "sr", "3", "5"], "$x:", "$x:00C3BF", NulInValue),
    ];

    private const string WrongType = "-WRONGTYPE Operation against a key holding the wrong kind of value";
    private const string NotInteger = "-ERR value is not an integer or out of range";
    private const string NonPositiveTtl = "Pika's storage refuses a time <= 0 as InvalidArgument, which the command reports as WRONGTYPE (SetCmd::Do, SetexCmd::Do, PsetexCmd::Do); Redis says invalid expire time";
    private const string Redis62SetOption = "SET's EXAT, PXAT, KEEPTTL and GET (Redis 6.2) are unknown to Pika 4.0.1's SetCmd::DoInitial";
    private const string Redis70ExpireOption = "EXPIRE's NX/XX/GT/LT (Redis 7.0) are unknown to Pika 4.0.1 (ExpireCmd arity 3)";
    private const string Redis70BitUnit = "the BYTE/BIT unit (Redis 7.0) is unknown to Pika 4.0.1's BitCountCmd/BitPosCmd";
    private const string LaxInteger = "Pika parses the stored value with strtoll (storage Redis::Incrby), so ' 1', '01', '+1', '' and '-0' count as integers; Redis requires the canonical form (string2ll)";
    private const string StaleDbsize = "Pika's DBSIZE answers the key count of its last background key scan (DbsizeCmd::Do, refreshed by INFO keyspace 1), not the live count";
    private const string PexpireatTruncates = "Pika 4.0.1 casts PEXPIREAT's milliseconds to int32 (PexpireatCmd::Do), so any present-day time lands in 1970 and deletes the key";
    private const string NulInValue = "Pika's SETRANGE appends the value as a C string (storage Redis::Setrange, value.data()), so it stops at the first NUL byte; Redis writes every byte";
}

using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using CsCheck;
using PikaIngest.Core.Shards;

namespace PikaIngest.Core.UnitTests;

/// <summary>Shard reading (docs/FORMATS.md §1) through the public <see cref="ShardReader.ReadAll"/> on real files.</summary>
public sealed class ShardParserTests : IDisposable
{
    private readonly TempFolder _temp = new();
    private int _files;

    public void Dispose() => _temp.Dispose();

    /// <summary>A record as bytes (hex) so any key or value compares exactly.</summary>
    private readonly record struct Parsed(string KeyHex, string ValueHex, long Expire)
    {
        public static Parsed Text(string key, string value, long expire = 0) => Of(Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(value), expire);

        public static Parsed Of(byte[] key, byte[] value, long expire = 0) => new(Convert.ToHexString(key), Convert.ToHexString(value), expire);
    }

    private string Write(byte[] content)
    {
        var path = _temp[$"shard-{++_files:D4}.jsonl"];
        File.WriteAllBytes(path, content);
        return path;
    }

    private string Write(string content) => Write(Encoding.UTF8.GetBytes(content));

    private static List<Parsed> Read(string path, int parallelism = 1)
    {
        using var store = ShardReader.ReadAll(path, Path.GetFileName(path), parallelism);
        return Enumerable.Range(0, store.Count).Select(i => Parsed.Of(store.Key(i).ToArray(), store.Value(i).ToArray(), store.Expire(i))).ToList();
    }

    private static ShardFormatException ReadFails(string path, int parallelism = 1)
    {
        var error = Assert.Throws<ShardFormatException>(() => ShardReader.ReadAll(path, Path.GetFileName(path), parallelism).Dispose());
        Assert.Contains(Path.GetFileName(path), error.Message, StringComparison.Ordinal);
        return error;
    }

    [Fact]
    public void Plain_lines_are_read_in_order()
    {
        var path = Write("{\"key\":\"k1\",\"value\":\"v1\"}\n{\"key\":\"k2\",\"value\":\"v2\"}\n");

        Assert.Equal([Parsed.Text("k1", "v1"), Parsed.Text("k2", "v2")], Read(path));
    }

    [Fact]
    public void Members_may_come_in_any_order()
    {
        var path = Write("{\"value\":\"v1\",\"expire\":5,\"key\":\"k1\"}\n{\"expire\":6,\"key\":\"k2\",\"value\":\"v2\"}\n{\"value\":\"v3\",\"key\":\"k3\"}");

        Assert.Equal([Parsed.Text("k1", "v1", 5), Parsed.Text("k2", "v2", 6), Parsed.Text("k3", "v3")], Read(path));
    }

    [Fact]
    public void Whitespace_around_tokens_is_ignored()
    {
        var path = Write("  { \"key\" :\t\"k\" ,\t\"value\"  :  \"v\" , \"expire\" : 7 }  \n\t{\"key\":\"k2\",\"value\":\"v2\"}\t\n");

        Assert.Equal([Parsed.Text("k", "v", 7), Parsed.Text("k2", "v2")], Read(path));
    }

    [Fact]
    public void Crlf_line_ends_are_not_part_of_the_record()
    {
        var path = Write("{\"key\":\"k1\",\"value\":\"v1\"}\r\n{\"key\":\"k2\",\"value\":\"v2\",\"expire\":9}\r\n");

        Assert.Equal([Parsed.Text("k1", "v1"), Parsed.Text("k2", "v2", 9)], Read(path));
    }

    [Fact]
    public void Blank_lines_are_ignored()
    {
        var path = Write("\n\n{\"key\":\"k1\",\"value\":\"v1\"}\n   \n\t\r\n{\"key\":\"k2\",\"value\":\"v2\"}\n\n");

        Assert.Equal([Parsed.Text("k1", "v1"), Parsed.Text("k2", "v2")], Read(path));
    }

    [Fact]
    public void Leading_utf8_bom_is_skipped()
    {
        var path = Write([0xEF, 0xBB, 0xBF, .. "{\"key\":\"k\",\"value\":\"v\"}\n"u8]);

        Assert.Equal([Parsed.Text("k", "v")], Read(path));
    }

    [Fact]
    public void Escapes_decode_to_the_bytes_they_denote()
    {
        var path = Write("""
            {"key":"q\"b\\s\/n\nt\tr\rb\bf\f","value":"\u00e9\u4E2D\ud83d\ude00\u0000end"}
            """);

        Assert.Equal([Parsed.Text("q\"b\\s/n\nt\tr\rb\bf\f", "é中😀\0end")], Read(path));
    }

    [Fact]
    public void Raw_utf8_is_kept_verbatim()
    {
        var path = Write("{\"key\":\"clé\",\"value\":\"中文😀\"}");

        Assert.Equal([Parsed.Text("clé", "中文😀")], Read(path));
    }

    [Fact]
    public void Key64_and_value64_are_base64_decoded()
    {
        byte[] key = [0x00, 0x01, 0xFF, 0xFE];
        byte[] value = [0x80, 0x00, 0x0A, 0x22];
        var path = Write($"{{\"key64\":\"{Convert.ToBase64String(key)}\",\"value64\":\"{Convert.ToBase64String(value)}\"}}\n{{\"key64\":\"\",\"value\":\"v\"}}");

        Assert.Equal([Parsed.Of(key, value), Parsed.Of([], "v"u8.ToArray())], Read(path));
    }

    [Fact]
    public void Expire_is_an_integer_or_null_and_absent_or_zero_means_none()
    {
        var path = Write("""
            {"key":"a","value":"1","expire":1700000000}
            {"key":"b","value":"2","expire":null}
            {"key":"c","value":"3","expire":0}
            {"key":"d","value":"4"}
            {"key":"e","value":"5","expire":253402300799}
            """);

        Assert.Equal([Parsed.Text("a", "1", 1_700_000_000), Parsed.Text("b", "2"), Parsed.Text("c", "3"), Parsed.Text("d", "4"), Parsed.Text("e", "5", 253_402_300_799)], Read(path));
    }

    [Fact]
    public void Unknown_members_are_ignored_including_nested_ones()
    {
        var path = Write("""
            {"id":1,"key":"a","tag":"x","value":"1","ok":true,"no":false,"nil":null,"f":-1.5e3}
            {"key":"b","meta":{"nested":[1,{"deep":"yes"},[]],"s":"\"}"},"value":"2"}
            {"list":[{"key":"not this"}],"key":"c","value":"3","k\u0065y2":"escaped name"}
            """);

        Assert.Equal([Parsed.Text("a", "1"), Parsed.Text("b", "2"), Parsed.Text("c", "3")], Read(path));
    }

    [Fact]
    public void Escaped_member_names_are_recognised()
    {
        var path = Write("""{"k\u0065y":"a","\u0076alue":"1"}""");

        Assert.Equal([Parsed.Text("a", "1")], Read(path));
    }

    [Fact]
    public void Legacy_top_level_json_array_is_accepted()
    {
        var path = Write("""
            [
              {
                "key": "a",
                "value": "1",
                "expire": 1700000000
              },
              {"key": "b", "value": "2"},
              {
                "value64": "AAE=",
                "key64": "/w=="
              }
            ]
            """);

        Assert.Equal([Parsed.Text("a", "1", 1_700_000_000), Parsed.Text("b", "2"), Parsed.Of([0xFF], [0x00, 0x01])], Read(path));
    }

    [Fact]
    public void Legacy_array_after_a_bom_and_blank_lines_is_accepted()
    {
        var path = Write([0xEF, 0xBB, 0xBF, .. "\n\n  [{\"key\":\"a\",\"value\":\"1\"}]\n"u8]);

        Assert.Equal([Parsed.Text("a", "1")], Read(path));
    }

    [Theory]
    [InlineData("[\n  {\"key\":\"a\",\"value\":\"1\"},\n\n  {\"key\":\"b\"}\n]\n", 4, "value")]
    [InlineData("[\n  {\"key\":\"a\",\"value\":\"1\"},\n  {\"key\":\"b\",\"value\":2}\n]", 3, "value")]
    [InlineData("[\n  {\"key\":\"a\",\"value\":\"1\"},\n  [\"b\", \"2\"]\n]", 3, "object")]
    [InlineData("[\n  {\"key\":\"a\",\"value\":\"1\"}\n]\n{\"key\":\"b\",\"value\":\"2\"}\n", 4, "JSON")]
    [InlineData("[\n  {\"key\":\"a\",\"value\":\"1\"},\n", 3, "JSON")]
    [InlineData("[\n  {\"key\":\"a\",\"value\":\"1\",\"expire\":-5}\n]", 2, "expire")]
    public void Bad_legacy_array_reports_the_line_of_the_problem(string content, int line, string mentions)
    {
        var error = ReadFails(Write(content));

        Assert.Equal(line, error.Line);
        Assert.Contains(mentions, error.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Later_duplicates_are_kept_in_input_order()
    {
        var path = Write("""
            {"key":"k","value":"first"}
            {"key":"other","value":"x"}
            {"key":"k","value":"second"}
            {"key":"k","value":"third","expire":5}
            """);

        Assert.Equal([Parsed.Text("k", "first"), Parsed.Text("other", "x"), Parsed.Text("k", "second"), Parsed.Text("k", "third", 5)], Read(path));
    }

    [Fact]
    public void Key_of_exactly_64_KiB_is_accepted()
    {
        var key = new string('k', ShardLimits.MaxKeyBytes);
        var path = Write($"{{\"key\":\"{key}\",\"value\":\"v\"}}\n");

        Assert.Equal([Parsed.Text(key, "v")], Read(path));
    }

    private const string Good = "{\"key\":\"good\",\"value\":\"v\"}";

    /// <summary>Bad third lines, with a word the reason must mention.</summary>
    private static readonly Dictionary<string, (byte[] Line, string Mentions)> BadLines = new()
    {
        ["unterminated object"] = ("{\"key\":\"a\",\"value\":\"b\""u8.ToArray(), "JSON"),
        ["unterminated string"] = ("{\"key\":\"a\",\"value\":\"b}"u8.ToArray(), "JSON"),
        ["not an object"] = ("[\"key\",\"value\"]"u8.ToArray(), "object"),
        ["bare string"] = ("\"key\""u8.ToArray(), "object"),
        ["trailing comma"] = ("{\"key\":\"a\",\"value\":\"b\",}"u8.ToArray(), "JSON"),
        ["missing key"] = ("{\"value\":\"b\"}"u8.ToArray(), "key"),
        ["missing value"] = ("{\"key\":\"a\"}"u8.ToArray(), "value"),
        ["empty object"] = ("{}"u8.ToArray(), "key"),
        ["key and key64"] = ("{\"key\":\"a\",\"key64\":\"YQ==\",\"value\":\"b\"}"u8.ToArray(), "key"),
        ["value and value64"] = ("{\"key\":\"a\",\"value\":\"b\",\"value64\":\"YQ==\"}"u8.ToArray(), "value"),
        ["key twice"] = ("{\"key\":\"a\",\"key\":\"b\",\"value\":\"b\"}"u8.ToArray(), "key"),
        ["value a number"] = ("{\"key\":\"a\",\"value\":5}"u8.ToArray(), "value"),
        ["value null"] = ("{\"key\":\"a\",\"value\":null}"u8.ToArray(), "value"),
        ["key an object"] = ("{\"key\":{\"s\":\"a\"},\"value\":\"b\"}"u8.ToArray(), "key"),
        ["expire negative"] = ("{\"key\":\"a\",\"value\":\"b\",\"expire\":-1}"u8.ToArray(), "expire"),
        ["expire fractional"] = ("{\"key\":\"a\",\"value\":\"b\",\"expire\":1.5}"u8.ToArray(), "expire"),
        ["expire string"] = ("{\"key\":\"a\",\"value\":\"b\",\"expire\":\"100\"}"u8.ToArray(), "expire"),
        ["expire after year 9999"] = ("{\"key\":\"a\",\"value\":\"b\",\"expire\":253402300800}"u8.ToArray(), "expire"),
        ["expire in milliseconds"] = ("{\"key\":\"a\",\"value\":\"b\",\"expire\":1700000000000000}"u8.ToArray(), "expire"),
        ["expire twice"] = ("{\"key\":\"a\",\"value\":\"b\",\"expire\":1,\"expire\":2}"u8.ToArray(), "expire"),
        ["invalid base64 key"] = ("{\"key64\":\"!!!!\",\"value\":\"b\"}"u8.ToArray(), "base64"),
        ["invalid base64 value"] = ("{\"key\":\"a\",\"value64\":\"YQ\"}"u8.ToArray(), "base64"),
        ["key over 64 KiB"] = (Encoding.UTF8.GetBytes($"{{\"key\":\"{new string('k', ShardLimits.MaxKeyBytes + 1)}\",\"value\":\"b\"}}"), "65536"),
        ["key64 over 64 KiB"] = (Encoding.UTF8.GetBytes($"{{\"key64\":\"{Convert.ToBase64String(new byte[ShardLimits.MaxKeyBytes + 1])}\",\"value\":\"b\"}}"), "65536"),
        ["invalid utf-8 in key"] = ([.. "{\"key\":\"a"u8, 0xFF, .. "\",\"value\":\"b\"}"u8], "UTF-8"),
        ["truncated utf-8 in value"] = ([.. "{\"key\":\"a\",\"value\":\"b"u8, 0xE4, 0xB8, .. "\"}"u8], "UTF-8"),
        ["invalid utf-8 next to an escape"] = ([.. "{\"key\":\"a\\n"u8, 0xC3, .. "\",\"value\":\"b\"}"u8], "UTF-8"),
        ["lone surrogate escape"] = ("{\"key\":\"a\\ud800\",\"value\":\"b\"}"u8.ToArray(), "UTF-8"),
        ["raw control character in key"] = ("{\"key\":\"a\u0001b\",\"value\":\"c\"}"u8.ToArray(), "JSON"),
        ["raw tab in value"] = ("{\"key\":\"a\",\"value\":\"b\tc\"}"u8.ToArray(), "JSON"),
        ["raw control character next to an escape"] = ("{\"key\":\"a\\n\u0001\",\"value\":\"c\"}"u8.ToArray(), "JSON"),
        ["invalid escape"] = ("{\"key\":\"a\\x41\",\"value\":\"c\"}"u8.ToArray(), "JSON"),
        ["short unicode escape"] = ("{\"key\":\"a\\u41\",\"value\":\"c\"}"u8.ToArray(), "JSON"),
        ["garbage after the object"] = ("{\"key\":\"a\",\"value\":\"b\"} x"u8.ToArray(), "JSON"),
        ["second object on the line"] = ("{\"key\":\"a\",\"value\":\"b\"}{\"key\":\"c\",\"value\":\"d\"}"u8.ToArray(), "JSON"),
        ["raw control character in an unknown member"] = ("{\"key\":\"a\",\"value\":\"b\",\"x\":\"\u0001\"}"u8.ToArray(), "JSON"),
        ["raw control character in a member name"] = ("{\"key\":\"a\",\"value\":\"b\",\"x\u0001\":1}"u8.ToArray(), "JSON"),
        ["invalid utf-8 in a member name"] = ([.. "{\"key\":\"a\",\"value\":\"b\",\""u8, 0xFF, .. "\":1}"u8], "UTF-8"),
        ["invalid utf-8 in a member name beside a nested value"] = ([.. "{\"key\":\"a\",\"value\":\"b\",\"o\":{},\""u8, 0xC3, .. "\":1}"u8], "UTF-8"),
        ["unknown member: lone minus"] = ("{\"key\":\"a\",\"value\":\"b\",\"x\":-}"u8.ToArray(), "JSON"),
        ["unknown member: two decimal points"] = ("{\"key\":\"a\",\"value\":\"b\",\"x\":1.2.3}"u8.ToArray(), "JSON"),
        ["unknown member: leading zero"] = ("{\"key\":\"a\",\"value\":\"b\",\"x\":01}"u8.ToArray(), "JSON"),
        ["unknown member: exponent without digits"] = ("{\"key\":\"a\",\"value\":\"b\",\"x\":1e}"u8.ToArray(), "JSON"),
        ["unknown member: bare word"] = ("{\"key\":\"a\",\"value\":\"b\",\"x\":nope}"u8.ToArray(), "JSON"),
    };

    public static TheoryData<string> BadLineNames => new(BadLines.Keys);

    [Theory]
    [MemberData(nameof(BadLineNames))]
    public void Bad_line_is_reported_with_file_and_1_based_line(string name)
    {
        var (line, mentions) = BadLines[name];
        var path = Write([.. Encoding.UTF8.GetBytes(Good + "\n\n"), .. line, .. Encoding.UTF8.GetBytes("\n" + Good + "\n")]);

        var error = ReadFails(path);

        Assert.Equal(3, error.Line);
        Assert.Contains($":3:", error.Message, StringComparison.Ordinal);
        Assert.Contains(mentions, error.Reason, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("")]
    [InlineData("\n\n   \n\t\r\n")]
    [InlineData("\uFEFF")]
    public void Shard_without_records_is_an_error(string content)
    {
        var error = ReadFails(Write(content));

        Assert.Equal(0, error.Line);
        Assert.Contains("no records", error.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Empty_legacy_array_is_an_error()
    {
        Assert.Contains("no records", ReadFails(Write("[ ]")).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_file_is_a_shard_error()
    {
        var path = _temp["absent.jsonl"];

        var error = ReadFails(path);

        Assert.Equal(0, error.Line);
    }

    /// <summary>Lines of equal length, so the parallel split (just after the middle line) is predictable.</summary>
    private static string LargeShard(int lines, IReadOnlyCollection<int> badLines)
    {
        var text = new StringBuilder(lines * 64);
        for (var line = 1; line <= lines; line++)
        {
            text.Append(badLines.Contains(line)
                ? $"{{\"key\":\"key_{line:D8}\",\"value\":\"{line:D20}\",\"expire\":{1_000_000 + line}]"
                : $"{{\"key\":\"key_{line:D8}\",\"value\":\"{line:D20}\",\"expire\":{1_000_000 + line}}}");
            text.Append('\n');
        }

        return text.ToString();
    }

    private const int LargeLines = 100_000;

    [Fact]
    public void Large_shard_parsed_in_parallel_segments_gives_the_same_records_in_input_order()
    {
        var path = Write(LargeShard(LargeLines, []));
        Assert.True(new FileInfo(path).Length > 4 * 1024 * 1024, "the parser only splits shards above 4 MiB");

        var parallel = Read(path, parallelism: 2);

        Assert.Equal(LargeLines, parallel.Count);
        Assert.Equal(Read(path, parallelism: 1), parallel);
        Assert.Equal(Parsed.Text($"key_{LargeLines:D8}", $"{LargeLines:D20}", 1_000_000 + LargeLines), parallel[^1]);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(49_999)]
    [InlineData(50_000)]
    [InlineData(50_001)]
    [InlineData(50_002)]
    [InlineData(87_654)]
    [InlineData(LargeLines)]
    public void Bad_line_deep_in_a_large_shard_parsed_in_parallel_reports_its_own_line(int badLine)
    {
        var path = Write(LargeShard(LargeLines, [badLine]));

        Assert.Equal(badLine, ReadFails(path, parallelism: 2).Line);
    }

    [Fact]
    public void Of_two_bad_lines_in_different_segments_the_earlier_is_reported()
    {
        var path = Write(LargeShard(LargeLines, [30_000, 80_000]));

        Assert.Equal(30_000, ReadFails(path, parallelism: 2).Line);
    }

    private static readonly string[] JsonTokens =
    [
        "{", "}", "[", "]", "\"", "\\", ":", ",", " ", "\n", "\r\n", "\"key\"", "\"value\"", "\"key64\"", "\"value64\"", "\"expire\"",
        "\"k\"", "\"YQ==\"", "null", "true", "0", "-1", "1.5", "1e9", "253402300800", "\\u00e9", "\\ud83d", "\\ude00", "\\n", "é", "\uFEFF",
    ];

    private static readonly Gen<byte[]> JsonishBytes = Gen.Frequency(
            (1, Gen.Byte.Array[1, 4]),
            (4, Gen.OneOfConst(JsonTokens).Select(t => Encoding.UTF8.GetBytes(t))))
        .Array[0, 40]
        .Select(parts => parts.SelectMany(p => p).ToArray());

    private static readonly string ValidShard = string.Join("\n",
        "{\"key\":\"k1\",\"value\":\"v1\"}",
        "{\"value\":\"v\\\"2\\u00e9\",\"expire\":1700000000,\"key\":\"k2\"}",
        "{\"key64\":\"AAH/\",\"value64\":\"YWJj\",\"meta\":{\"a\":[1,2]}}",
        "{\"key\":\"k4\",\"value\":\"v4\",\"expire\":null,\"n\":-1.5e3}",
        "");

    /// <summary>Edits of a valid shard: byte flips, insertions of bytes or tokens, deletions and repeats.</summary>
    private static readonly Gen<byte[]> MutatedShard = Gen.Select(Gen.Int[0, int.MaxValue].Array[1, 6], JsonishBytes).Select((edits, insert) =>
    {
        var bytes = Encoding.UTF8.GetBytes(ValidShard).ToList();
        foreach (var edit in edits)
        {
            var at = edit % (bytes.Count + 1);
            var length = Math.Min(1 + (edit / 7 % 8), bytes.Count - at);
            switch (edit / 97 % 4)
            {
                case 0 when at < bytes.Count:
                    bytes[at] = (byte)(edit / 389);
                    break;
                case 1:
                    bytes.InsertRange(at, insert);
                    break;
                case 2:
                    bytes.RemoveRange(at, length);
                    break;
                default:
                    bytes.InsertRange(at, bytes.GetRange(at, length));
                    break;
            }
        }

        return bytes.ToArray();
    });

    /// <summary>
    /// Reading must end in records or a <see cref="ShardFormatException"/>, nothing else; accepted
    /// JSON Lines must be valid JSON (System.Text.Json agrees) with one record per non-blank line.
    /// </summary>
    private void AssertParsesOrRejectsCleanly(byte[] content)
    {
        var path = Write(content);
        try
        {
            var records = Read(path);
            var body = content.AsSpan().StartsWith("\uFEFF"u8) ? content[3..] : content;
            if (body.AsSpan().TrimStart(" \t\r\n"u8).StartsWith("["u8))
            {
                using var array = ParseJson(body);
                Assert.Equal(records.Count, array.RootElement.GetArrayLength());
                return;
            }

            var lines = body.AsSpan().Split((byte)'\n');
            var nonBlank = 0;
            foreach (var range in lines)
            {
                var line = body.AsSpan(range);
                if (line.Trim(" \t\r"u8).IsEmpty)
                {
                    continue;
                }

                nonBlank++;
                using var document = ParseJson(body.AsMemory(range));
                Assert.Equal(JsonValueKind.Object, document.RootElement.ValueKind);
            }

            Assert.Equal(nonBlank, records.Count);
        }
        catch (ShardFormatException e)
        {
            Assert.False(string.IsNullOrWhiteSpace(e.Reason));
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static JsonDocument ParseJson(ReadOnlyMemory<byte> json)
    {
        try
        {
            return JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            Assert.Fail($"accepted content that is not JSON ({e.Message}): {Encoding.UTF8.GetString(json.Span)}");
            throw;
        }
    }

    [Fact]
    public async Task Random_bytes_parse_or_fail_with_a_shard_error()
    {
        await Task.Run(() => Deterministic.Sample(JsonishBytes, AssertParsesOrRejectsCleanly, iterations: 1500))
            .WaitAsync(TimeSpan.FromSeconds(60));
    }

    [Fact]
    public async Task Mutated_valid_shards_parse_or_fail_with_a_shard_error()
    {
        Assert.Equal(4, Read(Write(ValidShard)).Count);

        await Task.Run(() => Deterministic.Sample(MutatedShard, AssertParsesOrRejectsCleanly, iterations: 1200))
            .WaitAsync(TimeSpan.FromSeconds(60));
    }

    /// <summary>Text pieces that stress JSON strings: quotes, backslashes, control characters, 1-4 byte UTF-8.</summary>
    private static readonly Gen<string> TrickyString = Gen.Frequency(
            (4, Gen.Char[' ', '~'].Select(c => c.ToString())),
            (2, Gen.Char['\0', '\u001f'].Select(c => c.ToString())),
            (2, Gen.OneOfConst("\"", "\\", "/", "\u007f", "é", "中", "\u2028", "\uFFFD", "\uFFFF", "😀", "𝄞", "+", "<", "&", "'")),
            (1, Gen.Char['\u0080', '\uD7FF'].Select(c => c.ToString())))
        .Array[0, 16]
        .Select(string.Concat);

    /// <summary>A record as text or base64 fields, with or without expiry, members in a random order, maybe an unknown member.</summary>
    private sealed record Generated(string? KeyText, byte[] KeyBytes, string? ValueText, byte[] ValueBytes, long? Expire, int Order, bool Extra)
    {
        public byte[] Key => KeyText is null ? KeyBytes : Encoding.UTF8.GetBytes(KeyText);

        public byte[] Value => ValueText is null ? ValueBytes : Encoding.UTF8.GetBytes(ValueText);

        public void WriteTo(Utf8JsonWriter writer)
        {
            writer.WriteStartObject();
            Action[] members =
            [
                () =>
                {
                    if (KeyText is null)
                    {
                        writer.WriteBase64String("key64", KeyBytes);
                    }
                    else
                    {
                        writer.WriteString("key", KeyText);
                    }
                },
                () =>
                {
                    if (ValueText is null)
                    {
                        writer.WriteBase64String("value64", ValueBytes);
                    }
                    else
                    {
                        writer.WriteString("value", ValueText);
                    }
                },
                () =>
                {
                    if (Expire is { } expire)
                    {
                        writer.WriteNumber("expire", expire);
                    }
                },
                () =>
                {
                    if (Extra)
                    {
                        writer.WriteString("note", ValueText ?? "none");
                        writer.WriteNumber("n", -12.5e-3);
                    }
                },
            ];
            foreach (var index in Permutation(Order, members.Length))
            {
                members[index]();
            }

            writer.WriteEndObject();
        }

        private static int[] Permutation(int seed, int count)
        {
            var remaining = Enumerable.Range(0, count).ToList();
            var order = new int[count];
            for (var i = 0; i < count; i++)
            {
                var pick = seed % remaining.Count;
                seed /= remaining.Count;
                order[i] = remaining[pick];
                remaining.RemoveAt(pick);
            }

            return order;
        }
    }

    private static readonly Gen<Generated> GeneratedRecord = Gen.Select(
            Gen.Bool, TrickyString, Gen.Byte.Array[0, 12],
            Gen.Bool, TrickyString, Gen.Byte.Array[0, 12],
            Gen.Frequency((2, Gen.Const((long?)null)), (1, Gen.Const((long?)0)), (3, Gen.Long[1, ShardLimits.MaxExpireUnixSeconds].Select(e => (long?)e))),
            Gen.Select(Gen.Int[0, 23], Gen.Bool))
        .Select((keyIsText, keyText, keyBytes, valueIsText, valueText, valueBytes, expire, shape) =>
            new Generated(keyIsText ? keyText : null, keyBytes, valueIsText ? valueText : null, valueBytes, expire, shape.Item1, shape.Item2));

    private static readonly JavaScriptEncoder[] Encoders = [JavaScriptEncoder.Default, JavaScriptEncoder.UnsafeRelaxedJsonEscaping];

    [Fact]
    public void Json_lines_written_by_system_text_json_read_back_exactly()
    {
        Deterministic.Sample(Gen.Select(GeneratedRecord.Array[1, 20], Gen.Int[0, 1], Gen.Bool), shard =>
        {
            var (records, encoder, crlf) = shard;
            var content = new MemoryStream();
            foreach (var record in records)
            {
                using (var writer = new Utf8JsonWriter(content, new JsonWriterOptions { Encoder = Encoders[encoder] }))
                {
                    record.WriteTo(writer);
                }

                content.Write(crlf ? "\r\n"u8 : "\n"u8);
            }

            var expected = records.Select(r => Parsed.Of(r.Key, r.Value, r.Expire ?? 0)).ToList();

            Assert.Equal(expected, Read(Write(content.ToArray())));
        }, iterations: 600);
    }

    [Fact]
    public void Pretty_printed_array_written_by_system_text_json_reads_back_exactly()
    {
        Deterministic.Sample(Gen.Select(GeneratedRecord.Array[1, 10], Gen.Int[0, 1]), shard =>
        {
            var (records, encoder) = shard;
            var content = new MemoryStream();
            using (var writer = new Utf8JsonWriter(content, new JsonWriterOptions { Encoder = Encoders[encoder], Indented = true }))
            {
                writer.WriteStartArray();
                foreach (var record in records)
                {
                    record.WriteTo(writer);
                }

                writer.WriteEndArray();
            }

            var expected = records.Select(r => Parsed.Of(r.Key, r.Value, r.Expire ?? 0)).ToList();

            Assert.Equal(expected, Read(Write(content.ToArray())));
        }, iterations: 200);
    }
}

using System.Buffers;
using System.Buffers.Text;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace PikaIngest.Core.Shards;

/// <summary>
/// Parses shard records (docs/FORMATS.md §1) from bytes already in memory. JSON Lines go through a
/// hand-written fast path for the common object shapes; anything unusual (nested values,
/// escaped member names, errors) is re-read with <see cref="Utf8JsonReader"/>, which also
/// produces the error message. Field bytes that appear verbatim in the input are referenced,
/// not copied.
/// </summary>
internal sealed unsafe class ShardParser
{
    private static readonly SearchValues<byte> QuoteOrBackslash = SearchValues.Create("\"\\"u8);

    private readonly RecordStore _store;
    private readonly DecodeArena _arena;
    private readonly RecordList _output;
    private readonly string _source;
    private byte* _data;
    private int _dataBuffer;

    public ShardParser(RecordStore store, RecordList output, string source)
    {
        _store = store;
        _arena = new DecodeArena(store);
        _output = output;
        _source = source;
    }

    private enum Field
    {
        Unknown,
        Key,
        Value,
        Key64,
        Value64,
        Expire,
    }

    /// <summary>Parses the complete lines in <c>data[start..end)</c> of a store buffer; <paramref name="firstLine"/> is the 1-based number of the first.</summary>
    public void ParseLines(int dataBuffer, int start, int end, long firstLine)
    {
        _data = _store.Pointer(dataBuffer);
        _dataBuffer = dataBuffer;
        var line = firstLine;
        var position = start;
        while (position < end)
        {
            var newline = Bytes(position, end - position).IndexOf((byte)'\n');
            var lineEnd = newline < 0 ? end : position + newline;
            var contentEnd = lineEnd > position && _data[lineEnd - 1] == '\r' ? lineEnd - 1 : lineEnd;
            if (!TryParseFast(position, contentEnd, line))
            {
                ParseLineSlow(position, contentEnd, line);
            }

            position = lineEnd + 1;
            line++;
        }
    }

    /// <summary>Parses a top-level JSON array of record objects (the original tool's layout).</summary>
    public void ParseArray(int dataBuffer, int start, int end)
    {
        _data = _store.Pointer(dataBuffer);
        _dataBuffer = dataBuffer;
        var reader = new Utf8JsonReader(Bytes(start, end - start), new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
        var lines = new LineCounter(_data, start, end);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray)
            {
                throw Error(1, "expected a JSON array");
            }

            while (true)
            {
                if (!reader.Read())
                {
                    throw Error(lines.LineAt(start + (int)reader.BytesConsumed), "unterminated JSON array");
                }

                if (reader.TokenType == JsonTokenType.EndArray)
                {
                    break;
                }

                var line = lines.LineAt(start + (int)reader.TokenStartIndex);
                ReadObject(ref reader, start, line);
            }

            if (reader.Read())
            {
                throw Error(lines.LineAt(start + (int)reader.TokenStartIndex), "unexpected content after the JSON array");
            }
        }
        catch (JsonException e)
        {
            throw Error(lines.LineAt(start + (int)reader.BytesConsumed), JsonReason(e));
        }
    }

    private ShardFormatException Error(long line, string reason) => new(_source, line, reason);

    private ReadOnlySpan<byte> Bytes(int start, int length) => new(_data + start, length);

    private static string JsonReason(JsonException e)
    {
        var message = e.Message;
        var cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return "malformed JSON: " + (cut > 0 ? message[..cut] : message);
    }

    private static bool IsWhitespace(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n';

    private int SkipWhitespace(int i, int end)
    {
        while (i < end && IsWhitespace(_data[i]))
        {
            i++;
        }

        return i;
    }

    private static Field Classify(ReadOnlySpan<byte> name) => name switch
    {
        _ when name.SequenceEqual("key"u8) => Field.Key,
        _ when name.SequenceEqual("value"u8) => Field.Value,
        _ when name.SequenceEqual("key64"u8) => Field.Key64,
        _ when name.SequenceEqual("value64"u8) => Field.Value64,
        _ when name.SequenceEqual("expire"u8) => Field.Expire,
        _ => Field.Unknown,
    };

    /// <summary>One record under construction; field slices point into the input or the arena.</summary>
    private struct Pending
    {
        public bool HasKey;
        public bool HasValue;
        public bool HasExpire;
        public RecordRef Record;
    }

    /// <summary>
    /// The common shapes: an object of string members and an integer "expire", any order,
    /// any whitespace. Returns false (and records nothing) for anything else.
    /// </summary>
    private bool TryParseFast(int i, int end, long line)
    {
        i = SkipWhitespace(i, end);
        if (i == end)
        {
            return true;
        }

        if (_data[i] != '{')
        {
            return false;
        }

        var pending = default(Pending);
        i = SkipWhitespace(i + 1, end);
        if (i < end && _data[i] == '}')
        {
            return false;
        }

        while (true)
        {
            if (i >= end || _data[i] != '"')
            {
                return false;
            }

            var nameStart = i + 1;
            var nameLength = Bytes(nameStart, end - nameStart).IndexOfAny(QuoteOrBackslash);
            if (nameLength < 0 || _data[nameStart + nameLength] != '"')
            {
                return false;
            }

            var field = Classify(Bytes(nameStart, nameLength));
            if (field == Field.Unknown && !IsPlainStringContent(Bytes(nameStart, nameLength)))
            {
                return false;
            }

            i = SkipWhitespace(nameStart + nameLength + 1, end);
            if (i >= end || _data[i] != ':')
            {
                return false;
            }

            i = SkipWhitespace(i + 1, end);
            if (i >= end)
            {
                return false;
            }

            switch (field)
            {
                case Field.Key or Field.Value or Field.Key64 or Field.Value64:
                    if (_data[i] != '"' || !TryReadStringFast(ref i, end, out var buffer, out var offset, out var length))
                    {
                        return false;
                    }

                    if (!Assign(ref pending, field, buffer, offset, length, line))
                    {
                        return false;
                    }

                    break;
                case Field.Expire:
                    if (pending.HasExpire || !TryReadInteger(ref i, end, out var expire))
                    {
                        return false;
                    }

                    pending.HasExpire = true;
                    pending.Record.ExpireUnixSeconds = expire;
                    break;
                default:
                    if (!TrySkipScalar(ref i, end))
                    {
                        return false;
                    }

                    break;
            }

            i = SkipWhitespace(i, end);
            if (i >= end)
            {
                return false;
            }

            if (_data[i] == '}')
            {
                i = SkipWhitespace(i + 1, end);
                if (i != end || !pending.HasKey || !pending.HasValue)
                {
                    return false;
                }

                _output.Add(pending.Record);
                return true;
            }

            if (_data[i] != ',')
            {
                return false;
            }

            i = SkipWhitespace(i + 1, end);
        }
    }

    /// <summary>Stores a string field; base64 fields are decoded. False means "let the slow path report it".</summary>
    private bool Assign(ref Pending pending, Field field, int buffer, int offset, int length, long line)
    {
        var isKey = field is Field.Key or Field.Key64;
        if (isKey ? pending.HasKey : pending.HasValue)
        {
            return false;
        }

        if (field is Field.Key64 or Field.Value64)
        {
            var encoded = new ReadOnlySpan<byte>(_store.Pointer(buffer) + offset, length);
            var maxDecoded = Base64.GetMaxDecodedFromUtf8Length(length);
            var target = _arena.Reserve(maxDecoded, out buffer, out offset);
            if (Base64.DecodeFromUtf8(encoded, target, out _, out length) != OperationStatus.Done)
            {
                _arena.Shrink(maxDecoded, 0);
                throw Error(line, $"invalid base64 in \"{(isKey ? "key64" : "value64")}\"");
            }

            _arena.Shrink(maxDecoded, length);
        }

        if (isKey)
        {
            if (length > ShardLimits.MaxKeyBytes)
            {
                throw Error(line, $"key is {length} bytes; the limit is {ShardLimits.MaxKeyBytes}");
            }

            pending.HasKey = true;
            pending.Record.KeyBuffer = buffer;
            pending.Record.KeyOffset = offset;
            pending.Record.KeyLength = length;
        }
        else
        {
            if (length > ShardLimits.MaxValueBytes)
            {
                throw Error(line, $"value is {length} bytes; the limit is {ShardLimits.MaxValueBytes}");
            }

            pending.HasValue = true;
            pending.Record.ValueBuffer = buffer;
            pending.Record.ValueOffset = offset;
            pending.Record.ValueLength = length;
        }

        return true;
    }

    /// <summary>Reads a JSON string at <c>_data[i] == '"'</c>. Verbatim strings are referenced in place; escaped ones are decoded.</summary>
    private bool TryReadStringFast(ref int i, int end, out int buffer, out int offset, out int length)
    {
        var start = i + 1;
        var span = Bytes(start, end - start);
        var stop = span.IndexOfAny(QuoteOrBackslash);
        if (stop < 0)
        {
            buffer = offset = length = 0;
            return false;
        }

        if (span[stop] == '"')
        {
            var content = span[..stop];
            if (content.IndexOfAnyInRange((byte)0, (byte)0x1f) >= 0 || !Utf8.IsValid(content))
            {
                buffer = offset = length = 0;
                return false;
            }

            buffer = _dataBuffer;
            offset = start;
            length = stop;
            i = start + stop + 1;
            return true;
        }

        return TryUnescape(ref i, end, out buffer, out offset, out length);
    }

    private bool TryUnescape(ref int i, int end, out int buffer, out int offset, out int length)
    {
        var start = i + 1;
        var reserved = end - start;
        var target = _arena.Reserve(reserved, out buffer, out offset);
        var written = 0;
        var j = start;
        while (j < end)
        {
            var rest = Bytes(j, end - j);
            var stop = rest.IndexOfAny(QuoteOrBackslash);
            if (stop < 0)
            {
                break;
            }

            rest[..stop].CopyTo(target[written..]);
            written += stop;
            j += stop;
            if (_data[j] == '"')
            {
                var content = target[..written];
                if (content.IndexOfAnyInRange((byte)0, (byte)0x1f) >= 0 && HasRawControl(start, j))
                {
                    break;
                }

                if (!Utf8.IsValid(content))
                {
                    break;
                }

                _arena.Shrink(reserved, written);
                length = written;
                i = j + 1;
                return true;
            }

            if (j + 1 >= end)
            {
                break;
            }

            var escape = _data[j + 1];
            byte single = escape switch
            {
                (byte)'"' => (byte)'"',
                (byte)'\\' => (byte)'\\',
                (byte)'/' => (byte)'/',
                (byte)'b' => (byte)'\b',
                (byte)'f' => (byte)'\f',
                (byte)'n' => (byte)'\n',
                (byte)'r' => (byte)'\r',
                (byte)'t' => (byte)'\t',
                _ => 0,
            };
            if (single != 0)
            {
                target[written++] = single;
                j += 2;
                continue;
            }

            if (escape != 'u' || !TryReadUnicodeEscape(ref j, end, target, ref written))
            {
                break;
            }
        }

        _arena.Shrink(reserved, 0);
        buffer = offset = length = 0;
        return false;
    }

    /// <summary>Control bytes are fine when they came from escapes, not when they were in the input.</summary>
    private bool HasRawControl(int start, int end) => Bytes(start, end - start).IndexOfAnyInRange((byte)0, (byte)0x1f) >= 0;

    private bool TryReadUnicodeEscape(ref int j, int end, Span<byte> target, ref int written)
    {
        if (!TryHex4(j + 2, end, out var unit))
        {
            return false;
        }

        j += 6;
        int scalar = unit;
        if (char.IsHighSurrogate((char)unit))
        {
            if (j + 1 >= end || _data[j] != '\\' || _data[j + 1] != 'u' || !TryHex4(j + 2, end, out var low) || !char.IsLowSurrogate((char)low))
            {
                return false;
            }

            scalar = char.ConvertToUtf32((char)unit, (char)low);
            j += 6;
        }
        else if (char.IsLowSurrogate((char)unit))
        {
            return false;
        }

        return new Rune(scalar).TryEncodeToUtf8(target[written..], out var count) && (written += count) > 0;
    }

    private bool TryHex4(int at, int end, out int value)
    {
        value = 0;
        if (at + 4 > end)
        {
            return false;
        }

        for (var k = 0; k < 4; k++)
        {
            var digit = HexValue(_data[at + k]);
            if (digit < 0)
            {
                return false;
            }

            value = (value << 4) | digit;
        }

        return true;
    }

    private static int HexValue(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => -1,
    };

    /// <summary>A non-negative JSON integer (or null, meaning no expiry); anything else goes to the slow path.</summary>
    private bool TryReadInteger(ref int i, int end, out long value)
    {
        value = 0;
        if (end - i >= 4 && Bytes(i, 4).SequenceEqual("null"u8))
        {
            i += 4;
            return true;
        }

        var start = i;
        while (i < end && _data[i] is >= (byte)'0' and <= (byte)'9')
        {
            if (i - start >= 18)
            {
                return false;
            }

            value = (value * 10) + (_data[i] - '0');
            i++;
        }

        if (i == start || (i - start > 1 && _data[start] == '0') || value > ShardLimits.MaxExpireUnixSeconds)
        {
            return false;
        }

        return i == end || _data[i] is (byte)',' or (byte)'}' or (byte)' ' or (byte)'\t';
    }

    private bool TrySkipScalar(ref int i, int end)
    {
        switch (_data[i])
        {
            case (byte)'"':
                var start = i + 1;
                var stop = Bytes(start, end - start).IndexOfAny(QuoteOrBackslash);
                if (stop < 0 || _data[start + stop] != '"' || !IsPlainStringContent(Bytes(start, stop)))
                {
                    return false;
                }

                i = start + stop + 1;
                return true;
            case (byte)'{' or (byte)'[':
                return false;
            default:
                var from = i;
                while (i < end && _data[i] is not ((byte)',' or (byte)'}' or (byte)' ' or (byte)'\t'))
                {
                    i++;
                }

                var token = Bytes(from, i - from);
                return token.SequenceEqual("true"u8) || token.SequenceEqual("false"u8) || token.SequenceEqual("null"u8) || IsPlainNumber(token);
        }
    }

    /// <summary>Raw string bytes JSON allows: no control characters, valid UTF-8 (what the slow path accepts).</summary>
    private static bool IsPlainStringContent(ReadOnlySpan<byte> content) =>
        content.IndexOfAnyInRange((byte)0, (byte)0x1f) < 0 && Utf8.IsValid(content);

    /// <summary>The JSON number grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?</summary>
    private static bool IsPlainNumber(ReadOnlySpan<byte> token)
    {
        var i = token.Length > 0 && token[0] == '-' ? 1 : 0;
        var integerDigits = CountDigits(token[i..]);
        if (integerDigits == 0 || (integerDigits > 1 && token[i] == '0'))
        {
            return false;
        }

        i += integerDigits;
        if (i < token.Length && token[i] == '.')
        {
            var fractionDigits = CountDigits(token[(i + 1)..]);
            if (fractionDigits == 0)
            {
                return false;
            }

            i += 1 + fractionDigits;
        }

        if (i < token.Length && token[i] is (byte)'e' or (byte)'E')
        {
            i++;
            if (i < token.Length && token[i] is (byte)'+' or (byte)'-')
            {
                i++;
            }

            var exponentDigits = CountDigits(token[i..]);
            if (exponentDigits == 0)
            {
                return false;
            }

            i += exponentDigits;
        }

        return i == token.Length;
    }

    private static int CountDigits(ReadOnlySpan<byte> text)
    {
        var count = text.IndexOfAnyExceptInRange((byte)'0', (byte)'9');
        return count < 0 ? text.Length : count;
    }

    private void ParseLineSlow(int start, int end, long line)
    {
        var reader = new Utf8JsonReader(Bytes(start, end - start), new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
        try
        {
            if (!reader.Read())
            {
                return;
            }

            if (reader.TokenType != JsonTokenType.StartObject)
            {
                throw Error(line, "expected a JSON object");
            }

            ReadObject(ref reader, start, line);
            if (reader.Read())
            {
                throw Error(line, "unexpected content after the JSON object");
            }
        }
        catch (JsonException e)
        {
            throw Error(line, JsonReason(e));
        }
    }

    /// <summary>Reads one record object whose StartObject token is current; <paramref name="baseOffset"/> maps reader offsets to <c>_data</c>.</summary>
    private void ReadObject(ref Utf8JsonReader reader, int baseOffset, long line)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw Error(line, "expected a JSON object");
        }

        var pending = default(Pending);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            string fieldName;
            try
            {
                fieldName = reader.GetString()!;
            }
            catch (InvalidOperationException)
            {
                throw Error(line, "member name is not valid UTF-8");
            }

            var field = Classify(Encoding.UTF8.GetBytes(fieldName));
            reader.Read();
            switch (field)
            {
                case Field.Key or Field.Value or Field.Key64 or Field.Value64:
                    if (reader.TokenType != JsonTokenType.String)
                    {
                        throw Error(line, $"\"{fieldName}\" must be a string");
                    }

                    var isKey = field is Field.Key or Field.Key64;
                    if (isKey ? pending.HasKey : pending.HasValue)
                    {
                        throw Error(line, isKey ? "more than one key field (key/key64)" : "more than one value field (value/value64)");
                    }

                    int buffer, offset, length;
                    if (reader.ValueIsEscaped)
                    {
                        var reserved = reader.ValueSpan.Length;
                        var target = _arena.Reserve(reserved, out buffer, out offset);
                        try
                        {
                            length = reader.CopyString(target);
                        }
                        catch (InvalidOperationException)
                        {
                            _arena.Shrink(reserved, 0);
                            throw Error(line, $"\"{fieldName}\" is not valid UTF-8");
                        }

                        _arena.Shrink(reserved, length);
                    }
                    else
                    {
                        buffer = _dataBuffer;
                        offset = baseOffset + (int)reader.TokenStartIndex + 1;
                        length = reader.ValueSpan.Length;
                        if (!Utf8.IsValid(reader.ValueSpan))
                        {
                            throw Error(line, $"\"{fieldName}\" is not valid UTF-8");
                        }
                    }

                    Assign(ref pending, field, buffer, offset, length, line);
                    break;
                case Field.Expire:
                    if (pending.HasExpire)
                    {
                        throw Error(line, "more than one \"expire\" field");
                    }

                    pending.HasExpire = true;
                    pending.Record.ExpireUnixSeconds = ReadExpire(ref reader, line);
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }

        if (reader.TokenType != JsonTokenType.EndObject)
        {
            throw Error(line, "malformed JSON object");
        }

        if (!pending.HasKey)
        {
            throw Error(line, "missing \"key\" (or \"key64\")");
        }

        if (!pending.HasValue)
        {
            throw Error(line, "missing \"value\" (or \"value64\")");
        }

        _output.Add(pending.Record);
    }

    private long ReadExpire(ref Utf8JsonReader reader, long line)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return 0;
        }

        if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var expire))
        {
            var shown = reader.TokenType is JsonTokenType.String or JsonTokenType.Number
                ? Encoding.UTF8.GetString(reader.ValueSpan)
                : reader.TokenType.ToString();
            throw Error(line, $"\"expire\" must be a non-negative integer number of Unix seconds, got {shown}");
        }

        if (expire < 0)
        {
            throw Error(line, $"\"expire\" must not be negative, got {expire}");
        }

        if (expire > ShardLimits.MaxExpireUnixSeconds)
        {
            throw Error(line, $"\"expire\" {expire} is after year 9999: it must be Unix seconds, not milliseconds");
        }

        return expire;
    }

    /// <summary>Maps byte offsets to 1-based line numbers for offsets visited in increasing order.</summary>
    private struct LineCounter(byte* data, int start, int end)
    {
        private int _offset = start;
        private long _line = 1;

        public long LineAt(int offset)
        {
            offset = Math.Min(offset, end);
            if (offset > _offset)
            {
                _line += new ReadOnlySpan<byte>(data + _offset, offset - _offset).Count((byte)'\n');
                _offset = offset;
            }

            return _line;
        }
    }
}

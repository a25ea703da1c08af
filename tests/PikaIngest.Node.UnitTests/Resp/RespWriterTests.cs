using System.Buffers;
using System.Globalization;
using System.Text;
using CsCheck;
using PikaIngest.Node.Resp;

namespace PikaIngest.Node.UnitTests.Resp;

public sealed class RespWriterTests
{
    [Fact]
    public void Every_reply_kind_has_its_golden_bytes()
    {
        using var writer = new RespWriter();

        writer.WriteOk();
        writer.WriteSimpleString("PONG"u8);
        writer.WriteError("ERR syntax error");
        writer.WriteError("NOAUTH Authentication required."u8);
        writer.WriteInteger(0);
        writer.WriteInteger(-7);
        writer.WriteBulk("v\r\n\0"u8);
        writer.WriteBulk(""u8);
        writer.WriteBulk("h\u00e9");
        writer.WriteNullBulk();
        writer.WriteArrayHeader(2);
        writer.WriteArrayHeader(0);
        writer.WriteNullArray();

        Assert.Equal(
            "+OK\r\n+PONG\r\n-ERR syntax error\r\n-NOAUTH Authentication required.\r\n:0\r\n:-7\r\n"
            + "$4\r\nv\r\n\0\r\n$0\r\n\r\n$3\r\nh\u00c3\u00a9\r\n$-1\r\n*2\r\n*0\r\n*-1\r\n",
            Encoding.Latin1.GetString(writer.WrittenSpan));
        Assert.Equal(writer.Length, writer.WrittenMemory.Length);
    }

    [Fact]
    public void An_external_bulk_is_sent_in_its_place_between_the_buffers_bytes_and_given_back_at_reset()
    {
        using var writer = new RespWriter();
        var first = new RecordingMemory("large\r\nvalue"u8.ToArray());
        var second = new RecordingMemory([]);

        writer.WriteArrayHeader(3);
        writer.WriteBulk(first);
        writer.WriteBulk("small"u8);
        writer.WriteBulk(second);

        var sent = writer.Chunks().SelectMany(chunk => chunk.ToArray()).ToArray();
        Assert.Equal("*3\r\n$12\r\nlarge\r\nvalue\r\n$5\r\nsmall\r\n$0\r\n\r\n", Encoding.Latin1.GetString(sent));
        Assert.Equal(sent.Length, writer.Length);
        Assert.Throws<InvalidOperationException>(() => writer.WrittenMemory);
        Assert.False(first.Disposed);

        writer.Reset();
        Assert.True(first.Disposed);
        Assert.True(second.Disposed);
        Assert.Equal(0, writer.Length);
        Assert.All(writer.Chunks(), chunk => Assert.True(chunk.IsEmpty));
    }

    [Fact]
    public void Disposing_the_writer_gives_back_an_external_bulk_never_sent()
    {
        var value = new RecordingMemory("v"u8.ToArray());
        using (var writer = new RespWriter())
        {
            writer.WriteBulk(value);
        }

        Assert.True(value.Disposed);
    }

    [Theory]
    [InlineData(long.MaxValue, ":9223372036854775807\r\n")]
    [InlineData(long.MinValue, ":-9223372036854775808\r\n")]
    public void Integers_at_the_ends_of_int64(long value, string expected)
    {
        using var writer = new RespWriter();
        writer.WriteInteger(value);

        Assert.Equal(expected, Encoding.ASCII.GetString(writer.WrittenSpan));
    }

    [Theory]
    // Redis's addReplyErrorFormat trims CR and LF from both ends of the message and turns those inside into
    // spaces. On redis-server 7.0.15, EVAL "return redis.error_reply('ERR x\ny')" 0 replied "-ERR x y", and
    // EVAL "return redis.error_reply('\r\nERR foo\r\nbar\r\n')" 0 replied "-  ERR foo  bar": Lua's
    // message is formatted as "-%s", so its leading CR LF was inside and became spaces.
    [InlineData("ERR x\ny", "-ERR x y\r\n")]
    [InlineData("\r\nERR foo\r\nbar\r\n", "-ERR foo  bar\r\n")]
    [InlineData("ERR a\rb\n", "-ERR a b\r\n")]
    public void Errors_lose_CR_and_LF_as_in_redis(string message, string expected)
    {
        using var writer = new RespWriter();
        writer.WriteError(message);
        writer.WriteError(Encoding.UTF8.GetBytes(message));

        Assert.Equal(expected + expected, Encoding.UTF8.GetString(writer.WrittenSpan));
    }

    [Fact]
    public void Simple_strings_cannot_break_the_reply_stream()
    {
        using var writer = new RespWriter();
        writer.WriteSimpleString("a\r\nb"u8);

        Assert.Equal("+a  b\r\n", Encoding.ASCII.GetString(writer.WrittenSpan));
    }

    [Fact]
    public void A_bulk_can_be_filled_in_place()
    {
        using var writer = new RespWriter(initialCapacity: 8);
        writer.WriteArrayHeader(2);

        var span = writer.GetBulkSpan(5);
        "hello"u8.CopyTo(span);
        writer.AdvanceBulk();
        writer.GetBulkSpan(0);
        writer.AdvanceBulk();

        Assert.Equal("*2\r\n$5\r\nhello\r\n$0\r\n\r\n", Encoding.ASCII.GetString(writer.WrittenSpan));
    }

    [Fact]
    public void A_bulk_in_progress_must_be_ended_before_anything_else()
    {
        using var writer = new RespWriter();

        Assert.Throws<InvalidOperationException>(writer.AdvanceBulk);
        writer.GetBulkSpan(3);
        Assert.Throws<InvalidOperationException>(writer.WriteOk);
        Assert.Throws<InvalidOperationException>(() => writer.GetBulkSpan(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RespWriter().GetBulkSpan(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RespWriter().WriteArrayHeader(-1));
    }

    [Fact]
    public void Big_bulks_grow_the_buffer_and_keep_what_was_written()
    {
        var value = new byte[3 * 1024 * 1024];
        new Random(7).NextBytes(value);
        using var writer = new RespWriter(initialCapacity: 16);

        writer.WriteInteger(1);
        writer.WriteBulk(value);
        writer.GetBulkSpan(value.Length).Fill(0xAB);
        writer.AdvanceBulk();
        writer.WriteInteger(2);

        var replies = ReplyReader.ReadAll(writer.WrittenSpan);
        Assert.Equal(4, replies.Count);
        Assert.Equal(1L, replies[0]);
        Assert.Equal(value, replies[1]);
        Assert.All((byte[])replies[2]!, b => Assert.Equal(0xAB, b));
        Assert.Equal(2L, replies[3]);
    }

    [Fact]
    public void Reset_starts_over_after_a_big_reply()
    {
        using var writer = new RespWriter();
        writer.WriteBulk(new byte[4 * 1024 * 1024]);

        writer.Reset();
        writer.WriteOk();

        Assert.Equal("+OK\r\n", Encoding.ASCII.GetString(writer.WrittenSpan));
        Assert.Equal(5, writer.Length);
    }

    [Fact]
    public void Replies_do_not_allocate_once_the_buffer_is_large_enough()
    {
        using var writer = new RespWriter();
        WriteSome(writer);
        writer.Reset();

        var before = GC.GetAllocatedBytesForCurrentThread();
        WriteSome(writer);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);

        static void WriteSome(RespWriter writer)
        {
            for (var i = 0; i < 50; i++)
            {
                writer.WriteArrayHeader(3);
                writer.WriteInteger(long.MinValue + i);
                writer.WriteBulk("value"u8);
                writer.WriteBulk("text");
                writer.WriteNullBulk();
                writer.WriteError("ERR syntax error");
                writer.WriteOk();
            }
        }
    }

    [Fact]
    public void Any_reply_sequence_reads_back()
    {
        var reply = Gen.OneOf(
            Gen.Long.Select(v => (object?)v),
            Gen.Byte.Array[0, 300].Select(v => (object?)v),
            Gen.Const((object?)null),
            Gen.Char['a', 'z'].Array[0, 20].Select(c => (object?)new ReplyReader.Simple(new string(c))),
            Gen.Char['a', 'z'].Array[1, 20].Select(c => (object?)new ReplyReader.Error("ERR " + new string(c))));

        Deterministic.Sample(reply.Array[0, 40], replies =>
        {
            using var writer = new RespWriter(initialCapacity: 1);
            foreach (var r in replies)
            {
                switch (r)
                {
                    case long v:
                        writer.WriteInteger(v);
                        break;
                    case byte[] v:
                        writer.WriteBulk(v);
                        break;
                    case ReplyReader.Simple v:
                        writer.WriteSimpleString(Encoding.ASCII.GetBytes(v.Text));
                        break;
                    case ReplyReader.Error v:
                        writer.WriteError(v.Text);
                        break;
                    default:
                        writer.WriteNullBulk();
                        break;
                }
            }

            Assert.Equal(replies, ReplyReader.ReadAll(writer.WrittenSpan));
        }, iterations: 500);
    }

    [Fact]
    public void Arrays_read_back_with_their_elements()
    {
        using var writer = new RespWriter();
        writer.WriteArrayHeader(3);
        writer.WriteBulk("a"u8);
        writer.WriteNullBulk();
        writer.WriteArrayHeader(1);
        writer.WriteInteger(5);
        writer.WriteNullArray();

        var replies = ReplyReader.ReadAll(writer.WrittenSpan);

        Assert.Equal(2, replies.Count);
        var array = Assert.IsType<object?[]>(replies[0]);
        Assert.Equal("a"u8.ToArray(), array[0]);
        Assert.Null(array[1]);
        Assert.Equal([5L], Assert.IsType<object?[]>(array[2]));
        Assert.IsType<ReplyReader.NullArray>(replies[1]);
    }

    /// <summary>A minimal RESP2 reply reader, strict where the writer must be exact.</summary>
    private static class ReplyReader
    {
        public static List<object?> ReadAll(ReadOnlySpan<byte> bytes)
        {
            var replies = new List<object?>();
            while (!bytes.IsEmpty)
            {
                replies.Add(Read(ref bytes));
            }

            return replies;
        }

        private static object? Read(ref ReadOnlySpan<byte> bytes)
        {
            var line = ReadLine(ref bytes);
            var rest = Encoding.Latin1.GetString(line[1..]);
            switch ((char)line[0])
            {
                case '+':
                    return new Simple(rest);
                case '-':
                    return new Error(rest);
                case ':':
                    return long.Parse(rest, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
                case '$':
                    var length = int.Parse(rest, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
                    if (length < 0)
                    {
                        return null;
                    }

                    var value = bytes[..length].ToArray();
                    Assert.True(bytes.Slice(length, 2).SequenceEqual("\r\n"u8));
                    bytes = bytes[(length + 2)..];
                    return value;
                case '*':
                    var count = int.Parse(rest, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
                    if (count < 0)
                    {
                        return new NullArray();
                    }

                    var elements = new object?[count];
                    for (var i = 0; i < count; i++)
                    {
                        elements[i] = Read(ref bytes);
                    }

                    return elements;
                default:
                    throw new InvalidDataException($"Unknown reply type {(char)line[0]}");
            }
        }

        private static ReadOnlySpan<byte> ReadLine(ref ReadOnlySpan<byte> bytes)
        {
            var end = bytes.IndexOf("\r\n"u8);
            Assert.True(end > 0, "a reply line ends with CRLF");
            var line = bytes[..end];
            Assert.Equal(-1, line.IndexOfAny((byte)'\r', (byte)'\n'));
            bytes = bytes[(end + 2)..];
            return line;
        }

        public sealed record Simple(string Text);

        public sealed record Error(string Text);

        public sealed record NullArray;
    }

    /// <summary>Memory the writer does not own, as a pinned storage value is, noting when it is given back.</summary>
    private sealed class RecordingMemory(byte[] bytes) : MemoryManager<byte>
    {
        public bool Disposed { get; private set; }

        public override Span<byte> GetSpan() => bytes;

        public override MemoryHandle Pin(int elementIndex = 0) => throw new NotSupportedException();

        public override void Unpin()
        {
        }

        protected override void Dispose(bool disposing) => Disposed = true;
    }
}

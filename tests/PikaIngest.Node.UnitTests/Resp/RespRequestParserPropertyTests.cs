using System.Text;
using CsCheck;
using PikaIngest.Node.Resp;
using static PikaIngest.Node.UnitTests.Resp.Resp;

namespace PikaIngest.Node.UnitTests.Resp;

/// <summary>
/// Whatever way a byte stream is cut into arrivals, a connection reads the same commands; and no input makes
/// the parser throw, read past its buffer, or stop making progress.
/// </summary>
public sealed class RespRequestParserPropertyTests
{
    // Bytes that mean something to the parser come often, so frames break at interesting places.
    private static readonly Gen<byte> Byte = Gen.Frequency(
        (3, Gen.Byte),
        (2, Gen.OneOfConst((byte)'\r', (byte)'\n', (byte)0, (byte)'*', (byte)'$', (byte)' ', (byte)'"', (byte)'\'', (byte)'\\', (byte)'x', (byte)'1')));

    private static readonly Gen<byte[]> Argument = Gen.Frequency(
        (4, Byte.Array[0, 24]),
        (1, Gen.Char['a', 'z'].Array[1, 8].Select(c => Encoding.ASCII.GetBytes(c))));

    /// <summary>A command, and how it is sent: multibulk, or inline ended by CRLF or LF.</summary>
    private static readonly Gen<Frame> CommandFrame = Gen.Select(Argument.Array[1, 6], Gen.Int[0, 2], (args, kind) =>
        new Frame(kind == 0 ? Multibulk(args) : Inline(args, kind == 1 ? "\r\n" : "\n"), args));

    /// <summary>What Redis reads as no command at all.</summary>
    private static readonly Gen<Frame> EmptyFrame = Gen.OneOfConst("*0\r\n", "*-1\r\n", "\r\n", "\n", "  \r\n")
        .Select(text => new Frame(Latin1(text), []));

    private static readonly Gen<Frame> AnyFrame = Gen.Frequency((6, CommandFrame), (1, EmptyFrame));

    private static readonly Gen<Frame[]> Frames = AnyFrame.Array[1, 8];

    private static readonly RespLimits SmallLimits = new()
    {
        MaxArguments = 6,
        MaxBulkLength = 40,
        MaxInlineLength = 24,
        MaxUnauthenticatedArguments = 3,
        MaxUnauthenticatedBulkLength = 10,
    };

    [Fact]
    public void A_stream_read_whole_yields_its_commands()
    {
        Deterministic.Sample(Frames, frames =>
        {
            Assert.Equal(Expected(frames), ParseAll(Concat(frames)));
        }, iterations: 500);
    }

    [Fact]
    public void Cutting_a_stream_in_two_anywhere_yields_the_same_commands()
    {
        Deterministic.Sample(Frames, frames =>
        {
            var stream = Concat(frames);
            var expected = Expected(frames);
            for (var cut = 0; cut <= stream.Length; cut++)
            {
                var session = new ParsingSession();
                session.Receive(stream.AsSpan(0, cut));
                session.Receive(stream.AsSpan(cut));

                Assert.Equal(expected, session.Commands);
                Assert.Equal(stream.Length, session.Consumed);
            }
        }, iterations: 200);
    }

    [Fact]
    public void Receiving_a_stream_in_random_pieces_yields_the_same_commands()
    {
        var gen = Frames.SelectMany(frames => Gen.Int[1, 9].Array[1, 64].Select(pieces => (frames, pieces)));

        Deterministic.Sample(gen, input =>
        {
            var stream = Concat(input.frames);
            var session = new ParsingSession();
            var at = 0;
            for (var i = 0; at < stream.Length; i++)
            {
                var length = Math.Min(input.pieces[i % input.pieces.Length], stream.Length - at);
                session.Receive(stream.AsSpan(at, length));
                at += length;
            }

            Assert.Equal(Expected(input.frames), session.Commands);
            Assert.Equal(stream.Length, session.Consumed);
        }, iterations: 1000);
    }

    [Fact]
    public void Random_bytes_never_break_the_parser()
    {
        var gen = Gen.Select(Byte.Array[0, 80], Gen.Bool, Gen.Bool);

        Deterministic.Sample(gen, input => CheckAnyInput(input.Item1, input.Item2, input.Item3), iterations: 3000);
    }

    [Fact]
    public void Mutated_frames_never_break_the_parser()
    {
        var mutation = Gen.Select(Gen.Int[0, 2], Gen.Int[0, int.MaxValue], Byte);
        // Few frames: each case parses every prefix, so its cost grows with the square of its length.
        var gen = Gen.Select(AnyFrame.Array[1, 3], mutation.Array[1, 4], Gen.Bool, Gen.Bool);

        Deterministic.Sample(gen, input =>
        {
            var bytes = Concat(input.Item1).ToList();
            foreach (var (kind, where, value) in input.Item2)
            {
                var at = where % (bytes.Count + 1);
                if (kind == 0)
                {
                    bytes.Insert(at, value);
                }
                else if (at < bytes.Count)
                {
                    if (kind == 1)
                    {
                        bytes[at] = value;
                    }
                    else
                    {
                        bytes.RemoveAt(at);
                    }
                }
            }

            CheckAnyInput([.. bytes], input.Item3, input.Item4);
        }, iterations: 3000);
    }

    /// <summary>
    /// Every prefix parses alike whether resumed from the previous prefix or read afresh, within the
    /// buffer, and a session fed byte by byte ends. Under the small limits a session fed byte by byte may
    /// rightly refuse what it would read whole: Redis too refuses a line only while its end has not arrived.
    /// </summary>
    private static void CheckAnyInput(byte[] input, bool smallLimits, bool authenticated)
    {
        var limits = smallLimits ? SmallLimits : RespLimits.Redis;
        var parser = new RespRequestParser(limits);
        var resumed = new CommandArguments();
        for (var length = 0; length <= input.Length; length++)
        {
            var prefix = input.AsSpan(0, length);
            var fresh = ParseResult.From(parser, prefix, new CommandArguments(), authenticated);
            var again = ParseResult.From(parser, prefix, resumed, authenticated);

            Assert.Equal(fresh.Status, again.Status);
            Assert.Equal(fresh.Args, again.Args);
            Assert.Equal(fresh.Consumed, again.Consumed);
            Assert.Equal(fresh.Hint, again.Hint);
            Assert.Equal(fresh.Error, again.Error);
            Assert.InRange(fresh.Consumed, 0, length);
            Assert.Equal(fresh.Status == ParseStatus.ProtocolError, fresh.Error is not null);
        }

        var session = new ParsingSession(limits, authenticated);
        foreach (var b in input)
        {
            session.Receive([b]);
        }

        if (!smallLimits)
        {
            var whole = new ParsingSession(limits, authenticated);
            whole.Receive(input);
            Assert.Equal(whole.Commands, session.Commands);
            Assert.Equal(whole.Error, session.Error);
        }
    }

    private static byte[] Inline(byte[][] args, string lineEnd)
    {
        var line = new StringBuilder();
        foreach (var arg in args)
        {
            if (arg.Length > 0 && arg.All(b => b is >= (byte)'a' and <= (byte)'z'))
            {
                line.Append(Encoding.ASCII.GetString(arg));
            }
            else
            {
                line.Append('"');
                foreach (var b in arg)
                {
                    line.Append(b is >= 0x20 and < 0x7F and not (byte)'"' and not (byte)'\\' ? (char)b : $"\\x{b:x2}");
                }

                line.Append('"');
            }

            line.Append(' ');
        }

        return Latin1(line.Append(lineEnd).ToString());
    }

    private static byte[] Concat(Frame[] frames) => [.. frames.SelectMany(f => f.Bytes)];

    private static List<string[]> Expected(Frame[] frames) =>
        [.. frames.Where(f => f.Args.Length > 0).Select(f => f.Args.Select(a => Text(a)).ToArray())];

    private sealed record Frame(byte[] Bytes, byte[][] Args);
}

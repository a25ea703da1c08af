using System.Text;
using PikaIngest.Node.Resp;

namespace PikaIngest.Node.UnitTests.Resp;

internal static class Resp
{
    /// <summary>Bytes of a C#-escaped string, one byte per char: "\xe9" is the byte 0xE9.</summary>
    public static byte[] Latin1(string text) => Encoding.Latin1.GetBytes(text);

    public static string Text(ReadOnlySpan<byte> bytes) => Encoding.Latin1.GetString(bytes);

    /// <summary>A multibulk request, as clients send commands.</summary>
    public static byte[] Multibulk(params byte[][] args)
    {
        var output = new List<byte>(Latin1($"*{args.Length}\r\n"));
        foreach (var arg in args)
        {
            output.AddRange(Latin1($"${arg.Length}\r\n"));
            output.AddRange(arg);
            output.AddRange("\r\n"u8.ToArray());
        }

        return [.. output];
    }

    public static byte[] Multibulk(params string[] args) => Multibulk([.. args.Select(Latin1)]);

    /// <summary>Parses one command from a fresh state: its status, arguments and the out values.</summary>
    public static ParseResult ParseOne(byte[] buffer, bool authenticated = true, RespLimits? limits = null)
    {
        var args = new CommandArguments();
        return ParseResult.From(new RespRequestParser(limits ?? RespLimits.Redis), buffer, args, authenticated);
    }

    /// <summary>Every command in <paramref name="stream"/>, parsed whole, as a session would.</summary>
    public static List<string[]> ParseAll(byte[] stream)
    {
        var session = new ParsingSession();
        session.Receive(stream);
        Assert.Equal(stream.Length, session.Consumed);
        return session.Commands;
    }
}

internal sealed record ParseResult(ParseStatus Status, string[] Args, int Consumed, int Hint, string? Error)
{
    public static ParseResult From(RespRequestParser parser, ReadOnlySpan<byte> buffer, CommandArguments args, bool authenticated)
    {
        var status = parser.TryParse(buffer, args, authenticated, out var consumed, out var hint, out var error);
        var values = new string[status == ParseStatus.Complete ? args.Count : 0];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = Resp.Text(args.Span(i, buffer));
        }

        return new ParseResult(status, values, consumed, hint, error);
    }
}

/// <summary>
/// What a connection does with the parser: appends what arrives to its buffer, reads every complete
/// command from it, and keeps the rest for the next arrival.
/// </summary>
internal sealed class ParsingSession(RespLimits? limits = null, bool authenticated = true)
{
    private readonly RespRequestParser _parser = new(limits ?? RespLimits.Redis);
    private readonly CommandArguments _args = new();
    private byte[] _pending = [];

    public List<string[]> Commands { get; } = [];

    public int Consumed { get; private set; }

    public string? Error { get; private set; }

    public void Receive(ReadOnlySpan<byte> chunk)
    {
        _pending = [.. _pending, .. chunk];
        while (Error is null)
        {
            var buffer = _pending.AsSpan();
            var status = _parser.TryParse(buffer, _args, authenticated, out var consumed, out var hint, out var error);
            Assert.InRange(consumed, 0, buffer.Length);
            if (status == ParseStatus.NeedMore)
            {
                Assert.Equal(0, consumed);
                Assert.True(hint == 0 || hint > buffer.Length, $"hint {hint} with {buffer.Length} bytes");
                return;
            }

            if (status == ParseStatus.ProtocolError)
            {
                Error = error;
                return;
            }

            Assert.True(consumed > 0, "a complete command consumes bytes");
            if (_args.Count > 0)
            {
                var command = new string[_args.Count];
                for (var i = 0; i < command.Length; i++)
                {
                    command[i] = Resp.Text(_args.Span(i, buffer));
                }

                Commands.Add(command);
            }

            Consumed += consumed;
            _pending = buffer[consumed..].ToArray();
        }
    }
}

using System.Text;
using PikaIngest.Node.Resp;

namespace PikaIngest.Node.Commands;

/// <summary>One command being executed: its arguments (views into the receive buffer), the session and the node.</summary>
internal ref struct CommandContext
{
    private readonly ReadOnlySpan<byte> _buffer;
    private readonly CommandArguments _arguments;

    public CommandContext(ReadOnlySpan<byte> buffer, CommandArguments arguments, ClientSession session, NodeContext node)
    {
        _buffer = buffer;
        _arguments = arguments;
        Session = session;
        Node = node;
    }

    public ClientSession Session { get; }

    public NodeContext Node { get; }

    public readonly RespWriter Reply => Session.Reply;

    /// <summary>Arguments including the command name.</summary>
    public readonly int Count => _arguments.Count;

    public readonly long NowMs => Node.NowMs;

    public readonly ReadOnlySpan<byte> Arg(int index) => _arguments.Span(index, _buffer);

    public readonly bool ArgIs(int index, ReadOnlySpan<byte> upperCase) => Ascii.EqualsIgnoreCase(Arg(index), upperCase);

    /// <summary>
    /// True, with the OOM error replied, when building a value of <paramref name="valueLength"/> bytes would pass
    /// maxmemory: a command that rewrites a whole value holds it twice (its copy and RocksDB's) while it stores it.
    /// </summary>
    public readonly bool RefusedForMemory(long valueLength)
    {
        if (Session.FromMaster || Node.Memory.Allows(Node.Options.MaxMemory, 2 * valueLength))
        {
            return false;
        }

        Reply.WriteError(RespErrors.OutOfMemory);
        return true;
    }

    public readonly bool TryArgInt64(int index, out long value) => CommandArguments.TryParseInt64(Arg(index), out value);
}

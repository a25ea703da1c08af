using System.Collections.Frozen;
using System.Net.Sockets;
using System.Text;
using PikaIngest.Node.Commands;
using PikaIngest.Node.Memory;
using PikaIngest.Node.Resp;
using PikaIngest.Node.Storage;

namespace PikaIngest.Node;

/// <summary>
/// One client connection. Receives into a pooled buffer, parses every complete command in it
/// (pipelining), executes them in order writing replies into one send buffer, and sends once per
/// receive. A command's arguments are views into the buffer: nothing is copied to parse them.
/// </summary>
internal sealed class ClientSession : IPinnedValueSink, IDisposable
{
    private const int InitialBuffer = 16 << 10;
    private const int FlushThreshold = 64 << 10;
    private const int ShrinkAbove = 1 << 20;

    /// <summary>Redis's client-query-buffer-limit: one pending command may not need more.</summary>
    private const long MaxQueryBuffer = 1L << 30;

    private static long _lastId;

    private readonly Socket? _socket;
    private readonly NodeContext _node;
    private readonly RespRequestParser _parser;
    private readonly CommandArguments _arguments = new();
    private readonly CommitWaiter _commit = new();
    private byte[] _buffer = LargeBuffers.Rent(InitialBuffer);
    private int _start;
    private int _end;
    private bool _wrote;
    private bool _inBatch;
    private bool _authenticated;
    private CommandSpec? _lastCommand;

    public ClientSession(Socket? socket, NodeContext node)
    {
        _socket = socket;
        _node = node;
        _parser = new RespRequestParser(node.Limits);
        Authenticated = node.Options.RequirePass is null;
        Id = Interlocked.Increment(ref _lastId);
    }

    public long Id { get; }

    public string? Name { get; set; }

    /// <summary>
    /// As in Redis, a connection made while no password was required stays authenticated when one is set later
    /// (CONFIG SET requirepass), and removing the password lets every connection in.
    /// </summary>
    public bool Authenticated
    {
        get => _authenticated || _node.Options.RequirePass is null;
        set => _authenticated = value;
    }

    /// <summary>The last command's full name (<c>client|list</c>), null after an unknown one: CLIENT LIST's cmd.</summary>
    public string? LastCommand { get; set; }

    /// <summary>
    /// <see cref="Environment.TickCount64"/> when input last arrived: CLIENT LIST's idle. Taken once per receive, not
    /// per command, as Redis takes its lastinteraction when it reads.
    /// </summary>
    public long LastCommandTicks { get; private set; } = Environment.TickCount64;

    public bool CloseAfterReply { get; set; }

    /// <summary>The port a slave said it listens on (REPLCONF listening-port), for INFO and ROLE on its master.</summary>
    public int ReplicaListeningPort { get; set; }

    /// <summary>Set by PIKA_SYNC: after the reply, the connection is handed to replication, with any bytes already received.</summary>
    public Func<Socket, ReadOnlyMemory<byte>, CancellationToken, Task>? Handoff { get; set; }

    /// <summary>True for the session a slave applies its master's binlog with: writes are allowed on a read-only slave.</summary>
    public bool FromMaster { get; private init; }

    /// <summary>A session without a connection, which executes the master's commands on a slave.</summary>
    public static ClientSession ForReplication(NodeContext node) => new(null, node) { Authenticated = true, FromMaster = true };

    /// <summary>Executes one command from the master's binlog (its RESP); the reply is discarded, a failure logged.</summary>
    public void ApplyReplicated(ReadOnlySpan<byte> command)
    {
        var status = _parser.TryParse(command, _arguments, authenticated: true, out var consumed, out _, out var error);
        if (status != ParseStatus.Complete || consumed != command.Length || _arguments.Count == 0)
        {
            throw new InvalidDataException($"a binlog command item does not hold one RESP command ({status}{(error is null ? "" : ": " + error)})");
        }

        Reply.Reset();
        var pending = Execute(command, CommandTable.Find(_arguments.Span(0, command)));
        EndBatch(publish: true);
        if (pending is not null)
        {
            throw new InvalidDataException("a binlog command item holds a command that cannot be replayed");
        }

        if (Reply.WrittenSpan.Length > 0 && Reply.WrittenSpan[0] == (byte)'-')
        {
            _node.Log($"replication: replaying {Encoding.UTF8.GetString(_arguments.Span(0, command))} gave {Encoding.UTF8.GetString(Reply.WrittenSpan).TrimEnd()}");
        }

        Reply.Reset();
        LargeBuffers.ReleaseIfWanted();
    }

    public RespWriter Reply { get; } = new();

    /// <summary>Where GET and MGET have the store write a found value: straight into the reply.</summary>
    public IValueSink BulkSink => this;

    void IValueSink.Accept(ReadOnlySpan<byte> value, long expireUnixMs) => Reply.WriteBulk(value);

    void IPinnedValueSink.AcceptPinned(PinnedValue value, long expireUnixMs) => Reply.WriteBulk(value);

    public async Task RunAsync(CancellationToken stopping)
    {
        try
        {
            while (!stopping.IsCancellationRequested)
            {
                if (_end == _buffer.Length && !Grow(0))
                {
                    return;
                }

                var received = await _socket!.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None, stopping).ConfigureAwait(false);
                if (received == 0)
                {
                    return;
                }

                _end += received;
                LastCommandTicks = Environment.TickCount64;
                long executed = 0;
                while (true)
                {
                    var step = ExecuteNext(out var pending, out var neededHint);
                    if (step == Step.NeedMore)
                    {
                        Compact();
                        if (neededHint > _buffer.Length && !Grow(neededHint))
                        {
                            await FlushAsync(stopping).ConfigureAwait(false);
                            return;
                        }

                        break;
                    }

                    if (step == Step.MoveToPool)
                    {
                        EndBatch();
                        await Task.Yield();
                        continue;
                    }

                    executed++;
                    if (pending is not null)
                    {
                        EndBatch();
                        try
                        {
                            await pending.ConfigureAwait(false);
                        }
                        catch (Exception e) when (e is not OperationCanceledException)
                        {
                            Fail(e);
                        }
                    }

                    if (step == Step.Close || CloseAfterReply)
                    {
                        await FlushAsync(stopping).ConfigureAwait(false);
                        return;
                    }

                    if (Handoff is { } handoff)
                    {
                        await FlushAsync(stopping).ConfigureAwait(false);
                        await handoff(_socket!, _buffer.AsMemory(_start, _end - _start).ToArray(), stopping).ConfigureAwait(false);
                        return;
                    }

                    if (Reply.Length >= FlushThreshold)
                    {
                        await FlushAsync(stopping).ConfigureAwait(false);
                    }
                }

                _node.Stats.CommandsProcessed(executed);
                await FlushAsync(stopping).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException or IOException)
        {
            // The client went away or the node is stopping: nothing to answer.
        }
        catch (Exception e)
        {
            // Storage failed under a batch of writes whose +OKs are not sent: dropping the connection
            // is the honest answer, and the node stays up for everyone else.
            _node.Log($"client {Id}: closing after a failure: {e}");
        }
        finally
        {
            // Only reached without an await since the batch began (an exception out of the synchronous part).
            EndBatch(publish: true);
        }
    }

    private enum Step
    {
        Executed,
        NeedMore,
        Close,
        MoveToPool,
    }

    private Step ExecuteNext(out Task? pending, out int neededHint)
    {
        pending = null;
        var window = _buffer.AsSpan(_start, _end - _start);
        var status = _parser.TryParse(window, _arguments, Authenticated, out var consumed, out neededHint, out var protocolError);
        switch (status)
        {
            case ParseStatus.NeedMore:
                return Step.NeedMore;
            case ParseStatus.ProtocolError:
                Reply.WriteError(protocolError!);
                return Step.Close;
        }

        if (_arguments.Count > 0)
        {
            var frame = window[..consumed];
            var spec = Find(_arguments.Span(0, frame));
            // Only commands short enough for the socket engine's event thread, where pika-node runs a connection's
            // pipeline (see Program.cs), run there: every other one, and so any new one, first moves to the thread pool,
            // so that it cannot stall the other connections of that event thread.
            if (spec is not null && !Thread.CurrentThread.IsThreadPoolThread && (spec.Flags & (CommandFlags.Fast | CommandFlags.Short)) == 0)
            {
                // Not consumed: parsed again, and executed, once on the pool.
                return Step.MoveToPool;
            }

            pending = Execute(frame, spec);
        }

        // A neededHint is relative to the window; keep it that way for the caller.
        _start += consumed;
        return Step.Executed;
    }

    private Task? Execute(ReadOnlySpan<byte> frame, CommandSpec? spec)
    {
        LastCommand = spec?.Name;
        if (spec is null)
        {
            UnsupportedCommands.WriteError(Reply, _arguments, frame);
            return null;
        }

        if (!spec.AcceptsArgumentCount(_arguments.Count))
        {
            Reply.WriteError(RespErrors.WrongNumberOfArguments(spec.Name));
            return null;
        }

        if (!Authenticated && (spec.Flags & CommandFlags.NoAuth) == 0)
        {
            Reply.WriteError(RespErrors.NoAuth);
            return null;
        }

        if ((spec.Flags & CommandFlags.Write) != 0 && !FromMaster && _node.Replication.IsSlave)
        {
            Reply.WriteError(RespErrors.ReadOnlyReplica);
            return null;
        }

        if (_node.Ingest.Unfinished is { } unfinished && ((spec.Flags & CommandFlags.Write) != 0 || spec.IsReadOnly))
        {
            Reply.WriteError(RespErrors.IngestUnfinished(unfinished));
            return null;
        }

        // The request's own bytes are what a SET stores; commands that rewrite a whole value count it in their handler.
        if ((spec.Flags & CommandFlags.DenyOom) != 0 && !FromMaster && !_node.Memory.Allows(_node.Options.MaxMemory, frame.Length))
        {
            Reply.WriteError(RespErrors.OutOfMemory);
            return null;
        }

        var batchable = (spec.Flags & CommandFlags.Batchable) != 0;
        if (_inBatch && !batchable)
        {
            EndBatch();
        }
        else if (batchable && !_inBatch)
        {
            _node.Gate.EnterBatch();
            _inBatch = true;
        }

        _wrote |= (spec.Flags & CommandFlags.Write) != 0;

        var context = new CommandContext(frame, _arguments, this, _node);
        try
        {
            return spec.Handler(ref context);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Fail(e);
            return null;
        }
    }

    /// <summary>A pipeline mostly repeats its command: the last one found is compared before the table is searched.</summary>
    private CommandSpec? Find(ReadOnlySpan<byte> name) =>
        _lastCommand is { } last && Ascii.EqualsIgnoreCase(name, last.Name) ? last : _lastCommand = CommandTable.Find(name);

    /// <summary>A command failed inside the node: the client gets the reason, the log the details, and the connection lives on.</summary>
    private void Fail(Exception e)
    {
        _node.Log($"client {Id}: command failed: {e}");
        Reply.WriteError(RespErrors.Failure(e.Message));
    }

    private void Compact()
    {
        if (_start == 0)
        {
            return;
        }

        _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
        _end -= _start;
        _start = 0;
    }

    /// <summary>Makes room for at least <paramref name="needed"/> bytes (or doubles); false past the query-buffer limit.</summary>
    private bool Grow(long needed)
    {
        Compact();
        var size = Math.Max(needed, (long)_buffer.Length * 2);
        if (size > MaxQueryBuffer)
        {
            _node.Log($"client {Id}: closing: a command needs {size} bytes, over the {MaxQueryBuffer}-byte query buffer limit");
            return false;
        }

        var larger = LargeBuffers.Rent((int)size);
        _buffer.AsSpan(0, _end).CopyTo(larger);
        LargeBuffers.Return(_buffer);
        _buffer = larger;
        return true;
    }

    /// <summary>
    /// Applies the batched writes and releases the gate; before any await, reply or non-batchable command. Unless told
    /// to publish, what they wrote is published by the next reply's group commit.
    /// </summary>
    private void EndBatch(bool publish = false)
    {
        if (_inBatch)
        {
            _inBatch = false;
            _node.Gate.ExitBatch(publish);
            _wrote &= !publish;
        }
    }

    private async Task FlushAsync(CancellationToken stopping)
    {
        EndBatch();

        // Nothing is acknowledged before it is published, nor is a reply sent that could show another connection's
        // write before that is published (Redis, too, writes its AOF before any reply of the pass).
        if (_wrote || _node.GroupCommit.IsOpen)
        {
            _wrote = false;
            await _node.GroupCommit.WaitAsync(_commit).ConfigureAwait(false);
        }

        var large = Reply.Length > LargeBuffers.PooledLimit;
        foreach (var chunk in Reply.Chunks())
        {
            var pending = chunk;
            while (pending.Length > 0)
            {
                var sent = await _socket!.SendAsync(pending, SocketFlags.None, stopping).ConfigureAwait(false);
                pending = pending[sent..];
            }
        }

        if (large)
        {
            // The socket's reusable send arguments keep the last buffer they sent, which would keep a huge reply (or the
            // storage buffer it was sent from) alive after Reset hands it back: an empty send replaces it.
            await _socket!.SendAsync(ReadOnlyMemory<byte>.Empty, SocketFlags.None, stopping).ConfigureAwait(false);
        }

        Reply.Reset();

        if (_end == _start && _buffer.Length > ShrinkAbove)
        {
            LargeBuffers.Return(_buffer);
            _buffer = LargeBuffers.Rent(InitialBuffer);
            _start = _end = 0;
        }

        LargeBuffers.ReleaseIfWanted();
    }

    /// <summary>Closes the connection from outside, ending a session blocked in a receive.</summary>
    public void Abort() => _socket?.Close();

    public void Dispose()
    {
        _socket?.Dispose();
        Reply.Dispose();
        LargeBuffers.Return(_buffer);
    }
}

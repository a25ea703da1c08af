using System.Net;
using System.Net.Sockets;
using System.Threading.Tasks.Sources;

namespace PikaIngest.Node;

/// <summary>
/// Group commit across connections: one binlog write and one RocksDB WAL write for every connection whose
/// pipeline ran since the last one, before any of their replies is sent, as Redis writes its AOF once per
/// event-loop pass. Connections run on the socket engine's event thread, which offers no hook at the end of
/// a pass; so the first connection to wait sends one byte to a loopback socket that belongs to the same
/// engine, and the engine delivers that byte with its next pass of events, after every connection that was
/// ready in this one. Its receive runs the commit and, inline, the waiting connections' continuations (send
/// the reply, post the next receive). A pass of k connections costs 2 + 2 system calls instead of 2k.
/// </summary>
internal sealed class GroupCommit : IDisposable
{
    private static readonly byte[] Signal = [1];
    private readonly WriteGate _gate;
    private readonly Socket _signalSender;
    private readonly Socket _signalReceiver;
    private readonly Lock _lock = new();
    private readonly byte[] _signals = new byte[256];
    private readonly CancellationTokenSource _stopping = new();
    private List<CommitWaiter> _waiting = [];
    private List<CommitWaiter> _spare = [];
    private Task _committing = Task.CompletedTask;
    private bool _open;
    private long _commits;
    private long _replies;

    private GroupCommit(WriteGate gate, Socket sender, Socket receiver)
    {
        _gate = gate;
        _signalSender = sender;
        _signalReceiver = receiver;
    }

    /// <summary>
    /// Whether connections are waiting for a commit: a reply sent now could show their writes before those are
    /// published. Read on every reply, so without the lock (a write that joins just after this read is one the reply
    /// could not have seen).
    /// </summary>
    public bool IsOpen => Volatile.Read(ref _open);

    /// <summary>Commits made (INFO stats' group_commits): with <see cref="Replies"/>, how many replies a commit covers on average.</summary>
    public long Commits => Interlocked.Read(ref _commits);

    /// <summary>Replies that waited for a commit (INFO stats' group_commit_replies).</summary>
    public long Replies => Interlocked.Read(ref _replies);

    /// <summary>CONFIG RESETSTAT.</summary>
    public void ResetCounters()
    {
        Interlocked.Exchange(ref _commits, 0);
        Interlocked.Exchange(ref _replies, 0);
    }

    public static GroupCommit Start(WriteGate gate)
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var sender = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        sender.Connect(listener.LocalEndPoint!);
        var receiver = listener.Accept();
        var commit = new GroupCommit(gate, sender, receiver);
        commit._committing = commit.CommitLoopAsync();
        return commit;
    }

    /// <summary>Completes once everything written before the call is published (or faults if publishing failed).</summary>
    public ValueTask WaitAsync(CommitWaiter waiter)
    {
        var task = waiter.Arm();
        bool first;
        lock (_lock)
        {
            first = _waiting.Count == 0;
            _waiting.Add(waiter);
            _open = true;
        }

        if (first)
        {
            _signalSender.Send(Signal);
        }

        return task;
    }

    public void Dispose()
    {
        _stopping.Cancel();
        _signalSender.Dispose();
        try
        {
            _committing.Wait(TimeSpan.FromSeconds(10));
        }
        catch (AggregateException e) when (e.InnerException is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Stopping.
        }

        _signalReceiver.Dispose();
        _stopping.Dispose();
        Fail(new ObjectDisposedException(nameof(GroupCommit)));
    }

    private async Task CommitLoopAsync()
    {
        while (await _signalReceiver.ReceiveAsync(_signals, SocketFlags.None, _stopping.Token).ConfigureAwait(false) > 0)
        {
            List<CommitWaiter> committed;
            lock (_lock)
            {
                committed = _waiting;
                _waiting = _spare;
                _open = false;
            }

            Interlocked.Increment(ref _commits);
            Interlocked.Add(ref _replies, committed.Count);
            Exception? failure = null;
            try
            {
                _gate.Publish();
            }
            catch (Exception e)
            {
                failure = e;
            }

            // Each completion runs its connection's continuation here, inline: it sends the reply and posts the next
            // receive; a connection with input already waiting runs its next pipeline and joins the next commit.
            foreach (var waiter in committed)
            {
                waiter.Complete(failure);
            }

            committed.Clear();
            _spare = committed;
        }
    }

    private void Fail(Exception failure)
    {
        List<CommitWaiter> waiting;
        lock (_lock)
        {
            waiting = _waiting;
            _waiting = [];
            _open = false;
        }

        foreach (var waiter in waiting)
        {
            waiter.Complete(failure);
        }
    }
}

/// <summary>A connection's reusable wait for a group commit: no allocation per wait.</summary>
internal sealed class CommitWaiter : IValueTaskSource
{
    private ManualResetValueTaskSourceCore<bool> _core;

    public ValueTask Arm()
    {
        _core.Reset();
        return new ValueTask(this, _core.Version);
    }

    public void Complete(Exception? failure)
    {
        if (failure is null)
        {
            _core.SetResult(true);
        }
        else
        {
            _core.SetException(failure);
        }
    }

    void IValueTaskSource.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}

namespace PikaIngest.Node.Storage;

/// <summary>
/// The store's guard against a full sync swapping its instances out from under an operation: every operation holds it
/// shared, the swap exclusively. Shared entry is one compare-and-swap, and may nest (an operation calling another)
/// because a writer only gets in when nobody holds it. Every GET and SET takes it, from several threads at once:
/// ReaderWriterLockSlim's own spin lock was fought over there (sched_yield calls in the profile). Waiting is by
/// spinning (SpinWait sleeps once it has spun a while), which suits a swap: rare, and not tied to a thread.
/// </summary>
internal sealed class SwapLock
{
    private const int Writer = -1;

    // Readers holding it, or Writer.
    private int _state;

    public void EnterReadLock()
    {
        var spin = default(SpinWait);
        while (true)
        {
            var state = Volatile.Read(ref _state);
            if (state != Writer && Interlocked.CompareExchange(ref _state, state + 1, state) == state)
            {
                return;
            }

            spin.SpinOnce();
        }
    }

    public void ExitReadLock() => Interlocked.Decrement(ref _state);

    public void EnterWriteLock()
    {
        var spin = default(SpinWait);
        while (Interlocked.CompareExchange(ref _state, Writer, 0) != 0)
        {
            spin.SpinOnce();
        }
    }

    public void ExitWriteLock() => Volatile.Write(ref _state, 0);
}

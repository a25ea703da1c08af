using PikaIngest.Node.Storage;

namespace PikaIngest.Node.UnitTests.Storage;

public sealed class SwapLockTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    // How long a blocked side is given to (wrongly) get in before it is checked to be still waiting.
    private static readonly TimeSpan Grace = TimeSpan.FromMilliseconds(200);

    [Fact]
    public async Task A_writer_waits_for_every_reader_including_nested_ones()
    {
        var swap = new SwapLock();
        swap.EnterReadLock();
        swap.EnterReadLock();
        var other = Task.Run(swap.EnterReadLock);
        await other.WaitAsync(Patience);

        var writer = Task.Run(swap.EnterWriteLock);
        swap.ExitReadLock();
        other = Task.Run(swap.ExitReadLock);
        await other.WaitAsync(Patience);
        await Task.Delay(Grace);
        Assert.False(writer.IsCompleted, "the writer got in while a reader still held the lock");

        swap.ExitReadLock();
        await writer.WaitAsync(Patience);
    }

    [Fact]
    public async Task Readers_and_other_writers_wait_for_a_writer()
    {
        var swap = new SwapLock();
        swap.EnterWriteLock();
        var reader = Task.Run(swap.EnterReadLock);
        var writer = Task.Run(() =>
        {
            swap.EnterWriteLock();
            swap.ExitWriteLock();
        });
        await Task.Delay(Grace);
        Assert.False(reader.IsCompleted, "a reader got in while the writer held the lock");
        Assert.False(writer.IsCompleted, "a second writer got in while the first held the lock");

        swap.ExitWriteLock();
        await reader.WaitAsync(Patience);
        await Task.Run(swap.ExitReadLock).WaitAsync(Patience);
        await writer.WaitAsync(Patience);
    }
}

using System.Buffers;
using System.Runtime.InteropServices;

namespace PikaIngest.Node.Memory;

/// <summary>
/// Byte buffers for requests, replies and values. Small ones come from <see cref="ArrayPool{T}.Shared"/>; large ones
/// are never pooled, and once one is allocated or handed back the node soon gives the memory back to the OS.
/// </summary>
/// <remarks>
/// Why (issue 18): the shared pool keeps arrays of up to 1 GiB per size class and core until memory pressure trims it,
/// and rounds a 512 MiB request up to 1 GiB; a few huge values left GBs held after DEL. An unpooled large array is
/// garbage when its command ends, but the runtime collects and decommits it only when its own budgets say so, which
/// can be never on an idle node. So a large buffer marks a release as wanted, and once the command that used it is
/// answered (<see cref="ReleaseIfWanted"/>) a release is scheduled: a second later (restarted by each such command)
/// it runs one aggressive collection (which decommits the freed regions at once) and glibc's malloc_trim (RocksDB's freed native
/// blocks below glibc's mmap threshold stay in its arenas otherwise).
/// </remarks>
internal static partial class LargeBuffers
{
    /// <summary>Buffers up to this size are pooled: a connection's usual request and reply buffers.</summary>
    public const int PooledLimit = 1 << 20;

    /// <summary>Allocating a buffer of this size or more schedules a release.</summary>
    public const int ReleaseThreshold = 16 << 20;

    private static readonly TimeSpan ReleaseDelay = TimeSpan.FromSeconds(1);
    private static readonly Timer ReleaseTimer = new(_ => Release(), null, Timeout.Infinite, Timeout.Infinite);
    private static long _releases;
    private static int _wanted;

    /// <summary>How many releases have run (INFO memory).</summary>
    public static long Releases => Interlocked.Read(ref _releases);

    /// <summary>A buffer of at least <paramref name="minimumLength"/> bytes, not zeroed; give it back with <see cref="Return"/>.</summary>
    public static byte[] Rent(int minimumLength)
    {
        if (minimumLength <= PooledLimit)
        {
            return ArrayPool<byte>.Shared.Rent(minimumLength);
        }

        NoteLarge(minimumLength);
        return GC.AllocateUninitializedArray<byte>(minimumLength);
    }

    /// <summary>Gives back a buffer from <see cref="Rent"/>: a pooled one to the pool, a large one to the collector.</summary>
    public static void Return(byte[] buffer)
    {
        if (buffer.Length <= PooledLimit)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        else
        {
            NoteLarge(buffer.Length);
        }
    }

    /// <summary>A zeroed array of exactly <paramref name="length"/> bytes (a value being built), noted when large.</summary>
    public static byte[] New(int length)
    {
        NoteLarge(length);
        return new byte[length];
    }

    /// <summary>Notes that <paramref name="length"/> bytes were allocated outside <see cref="Rent"/> (RocksDB's memtable, a binlog buffer).</summary>
    public static void NoteLarge(long length)
    {
        if (length >= ReleaseThreshold)
        {
            Volatile.Write(ref _wanted, 1);
        }
    }

    /// <summary>
    /// After a command is answered: if it used a large buffer, (re)starts the countdown to a release, which so runs when
    /// such commands have stopped for a second and their buffers are garbage.
    /// </summary>
    public static void ReleaseIfWanted()
    {
        if (Volatile.Read(ref _wanted) != 0 && Interlocked.Exchange(ref _wanted, 0) != 0)
        {
            ReleaseTimer.Change(ReleaseDelay, Timeout.InfiniteTimeSpan);
        }
    }

    private static void Release()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        if (OperatingSystem.IsLinux())
        {
            _ = MallocTrim(0);
        }

        Interlocked.Increment(ref _releases);
    }

    /// <summary>
    /// Makes glibc serve every native allocation of <see cref="PooledLimit"/> or more (RocksDB's buffers for a large
    /// value: its write batch, memtable block, the blocks a read decompresses) with its own mapping, which free unmaps
    /// at once. By default glibc raises that threshold to the size of the last such block freed, up to 32 MiB, after
    /// which freed blocks below it stay in its heap (seen: 400 MiB held after a 512 MiB value was read and deleted).
    /// </summary>
    public static void ConfigureNativeAllocator()
    {
        const int MmapThreshold = -3;
        if (OperatingSystem.IsLinux())
        {
            _ = Mallopt(MmapThreshold, PooledLimit);
        }
    }

    [LibraryImport("libc", EntryPoint = "mallopt")]
    private static partial int Mallopt(int parameter, int value);

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);
}

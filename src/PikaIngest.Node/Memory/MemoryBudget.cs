namespace PikaIngest.Node.Memory;

/// <summary>
/// The maxmemory guard. As Redis with the noeviction policy, a command that may grow memory (a <c>denyoom</c> row of
/// the command table) is refused with <c>-OOM command not allowed when used memory &gt; 'maxmemory'.</c> when memory in
/// use would pass the budget; reads, DEL and the rest still work, so a client can make room. Unlike Redis, which
/// checks only the memory already used, the memory the command itself needs is counted too (a 512 MiB SETRANGE builds
/// its value before storing it), so one command cannot carry the node far past the budget.
/// </summary>
/// <remarks>
/// Memory in use is the process's resident set (VmRSS): it covers the managed heap, RocksDB's memtables and block
/// cache and glibc's arenas alike, which is what exhausts a host. Reading it costs a /proc read, so it is refreshed
/// at most every <see cref="RefreshInterval"/>; a burst of writes within one interval is let through on the last figure.
/// </remarks>
internal sealed class MemoryBudget
{
    private static readonly TimeSpan RefreshInterval = TimeSpan.FromMilliseconds(100);

    private long _residentBytes;
    private long _readAtTicks;
    private long _peakResidentBytes;

    /// <summary>The default budget: half the memory the process may use (the host's, or its cgroup limit).</summary>
    public static long DefaultMaxMemory => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 2;

    /// <summary>Resident bytes of the process, at most <see cref="RefreshInterval"/> old.</summary>
    public long ResidentBytes
    {
        get
        {
            var now = Environment.TickCount64;
            // Never read yet (0) or stale.
            if (Volatile.Read(ref _residentBytes) == 0 || now - Volatile.Read(ref _readAtTicks) >= RefreshInterval.TotalMilliseconds)
            {
                Refresh(now);
            }

            return Volatile.Read(ref _residentBytes);
        }
    }

    /// <summary>The largest resident size seen by the guard or INFO.</summary>
    public long PeakResidentBytes => Volatile.Read(ref _peakResidentBytes);

    /// <summary>
    /// False when <paramref name="maxMemory"/> is set (non-zero) and the memory in use plus <paramref name="needed"/>
    /// bytes would pass it.
    /// </summary>
    public bool Allows(long maxMemory, long needed) => maxMemory == 0 || ResidentBytes + needed <= maxMemory;

    /// <summary>
    /// A memory size as Redis's memtoull reads maxmemory: digits, then optionally b, k (1000), kb (1024), m, mb, g or
    /// gb, in any case.
    /// </summary>
    public static bool TryParseSize(ReadOnlySpan<char> text, out long bytes)
    {
        bytes = 0;
        var digits = text.IndexOfAnyExceptInRange('0', '9');
        var number = digits < 0 ? text : text[..digits];
        var unit = digits < 0 ? [] : text[digits..];
        long multiplier = unit.ToString().ToLowerInvariant() switch
        {
            "" or "b" => 1,
            "k" => 1000,
            "kb" => 1024,
            "m" => 1000 * 1000,
            "mb" => 1024 * 1024,
            "g" => 1000L * 1000 * 1000,
            "gb" => 1024L * 1024 * 1024,
            _ => 0,
        };
        if (multiplier == 0 || number.IsEmpty || !long.TryParse(number, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value)
            || value > long.MaxValue / multiplier)
        {
            return false;
        }

        bytes = value * multiplier;
        return true;
    }

    private void Refresh(long now)
    {
        var resident = Environment.WorkingSet;
        Volatile.Write(ref _residentBytes, resident);
        Volatile.Write(ref _readAtTicks, now);
        long peak;
        while (resident > (peak = Volatile.Read(ref _peakResidentBytes)) && Interlocked.CompareExchange(ref _peakResidentBytes, resident, peak) != peak)
        {
        }
    }
}

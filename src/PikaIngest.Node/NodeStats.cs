namespace PikaIngest.Node;

/// <summary>Counters for INFO clients and INFO stats; updated from many sessions at once.</summary>
internal sealed class NodeStats
{
    private long _connectedClients;
    private long _totalConnections;
    private long _totalCommands;
    private long _rejectedConnections;
    private long _expiredKeys;

    public long ConnectedClients => Interlocked.Read(ref _connectedClients);

    public long TotalConnections => Interlocked.Read(ref _totalConnections);

    public long TotalCommands => Interlocked.Read(ref _totalCommands);

    public long RejectedConnections => Interlocked.Read(ref _rejectedConnections);

    public long ExpiredKeys => Interlocked.Read(ref _expiredKeys);

    public void Connected()
    {
        Interlocked.Increment(ref _connectedClients);
        Interlocked.Increment(ref _totalConnections);
    }

    public void Disconnected() => Interlocked.Decrement(ref _connectedClients);

    public void Rejected() => Interlocked.Increment(ref _rejectedConnections);

    public void CommandsProcessed(long count) => Interlocked.Add(ref _totalCommands, count);

    public void Expired(long count) => Interlocked.Add(ref _expiredKeys, count);

    public void Reset()
    {
        Interlocked.Exchange(ref _totalConnections, 0);
        Interlocked.Exchange(ref _totalCommands, 0);
        Interlocked.Exchange(ref _rejectedConnections, 0);
        Interlocked.Exchange(ref _expiredKeys, 0);
    }
}

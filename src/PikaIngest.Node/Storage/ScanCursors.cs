namespace PikaIngest.Node.Storage;

/// <summary>
/// Maps the numbers SCAN hands out to where each scan stopped. RocksDB positions are keys, not
/// integers, so (as Pika does) the node remembers a bounded number of open cursors; a cursor that
/// has been evicted or never existed starts the scan over, which SCAN's guarantees allow.
/// </summary>
internal sealed class ScanCursors(int capacity)
{
    private readonly Dictionary<ulong, (int Instance, byte[] NextKey)> _open = [];
    private readonly Queue<ulong> _age = new();
    private readonly Lock _lock = new();
    private ulong _last;

    public ulong Add(int instance, byte[] nextKey)
    {
        lock (_lock)
        {
            while (_open.Count >= capacity && _age.TryDequeue(out var oldest))
            {
                _open.Remove(oldest);
            }

            var cursor = ++_last;
            _open[cursor] = (instance, nextKey);
            _age.Enqueue(cursor);
            return cursor;
        }
    }

    public (int Instance, byte[]? NextKey)? Take(ulong cursor)
    {
        lock (_lock)
        {
            return _open.TryGetValue(cursor, out var position) ? (position.Instance, position.NextKey) : null;
        }
    }
}

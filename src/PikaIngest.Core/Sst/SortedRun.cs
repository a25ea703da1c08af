using PikaIngest.Core.Shards;

namespace PikaIngest.Core.Sst;

/// <summary>
/// A spilled sorted run of the external sort: records of one chunk and one instance, unique and
/// in key order, as <c>varint keyLength, key, varint valueLength, value, varint expire</c>.
/// The file lives only for the duration of one conversion, so it carries no header (the run
/// objects the map stage keeps, <see cref="RunFormat"/>, are framed, indexed and checksummed).
/// </summary>
internal static class SortedRun
{
    private const int BufferSize = 1 << 20;

    public static void Write(string path, RecordStore store, uint[] ordinals, int count)
    {
        using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, BufferSize);
        Span<byte> header = stackalloc byte[10];
        for (var i = 0; i < count; i++)
        {
            var ordinal = (int)ordinals[i];
            var key = store.Key(ordinal);
            var value = store.Value(ordinal);
            file.Write(header[..RunFormat.WriteVarint(header, (ulong)key.Length)]);
            file.Write(key);
            file.Write(header[..RunFormat.WriteVarint(header, (ulong)value.Length)]);
            file.Write(value);
            file.Write(header[..RunFormat.WriteVarint(header, (ulong)store.Expire(ordinal))]);
        }
    }

    /// <summary>Reads one run sequentially; the current record stays valid until the next <see cref="MoveNext"/>.</summary>
    public sealed class Reader : ISortedSource
    {
        private readonly FileStream _file;
        private byte[] _key = new byte[256];
        private byte[] _value = new byte[256];

        public Reader(string path, int order)
        {
            _file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize, FileOptions.SequentialScan);
            Order = order;
        }

        /// <summary>Position of the run in input order: a later run overrides an earlier one.</summary>
        public int Order { get; }

        public int KeyLength { get; private set; }

        public int ValueLength { get; private set; }

        public long Expire { get; private set; }

        public ReadOnlySpan<byte> Key => _key.AsSpan(0, KeyLength);

        public ReadOnlySpan<byte> Value => _value.AsSpan(0, ValueLength);

        public bool MoveNext()
        {
            var first = _file.ReadByte();
            if (first < 0)
            {
                return false;
            }

            KeyLength = (int)ReadVarint((byte)first);
            ReadField(ref _key, KeyLength);
            ValueLength = (int)ReadVarint((byte)_file.ReadByte());
            ReadField(ref _value, ValueLength);
            Expire = (long)ReadVarint((byte)_file.ReadByte());
            return true;
        }

        private void ReadField(ref byte[] buffer, int length)
        {
            if (buffer.Length < length)
            {
                buffer = new byte[Math.Max(length, buffer.Length * 2)];
            }

            _file.ReadExactly(buffer, 0, length);
        }

        private ulong ReadVarint(byte first)
        {
            ulong value = first & 0x7FUL;
            var shift = 7;
            var current = first;
            while ((current & 0x80) != 0)
            {
                var next = _file.ReadByte();
                if (next < 0 || shift > 63)
                {
                    throw new InvalidDataException($"{_file.Name}: truncated sorted run");
                }

                current = (byte)next;
                value |= (ulong)(current & 0x7F) << shift;
                shift += 7;
            }

            return value;
        }

        public void Dispose() => _file.Dispose();
    }
}

/// <summary>K-way merge of sorted sources (spilled runs, run object slices); among equal keys the record of the highest order wins.</summary>
public sealed class MergedRuns : IDisposable
{
    private readonly List<ISortedSource> _readers = [];
    private readonly PriorityQueue<ISortedSource, ISortedSource> _queue = new(RunComparer.Instance);
    private byte[] _lastKey = [];
    private int _lastKeyLength = -1;
    private ISortedSource? _current;

    /// <summary>Merges the sources it is given and disposes them with itself.</summary>
    public MergedRuns(IEnumerable<ISortedSource> sources)
    {
        try
        {
            foreach (var reader in sources)
            {
                _readers.Add(reader);
                if (reader.MoveNext())
                {
                    _queue.Enqueue(reader, reader);
                }
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Merges spilled sorted runs in the given order (a later path is a later run).</summary>
    internal static MergedRuns OfSpilled(IReadOnlyList<string> runPaths) =>
        new(OpenSpilled(runPaths));

    private static IEnumerable<ISortedSource> OpenSpilled(IReadOnlyList<string> runPaths)
    {
        for (var i = 0; i < runPaths.Count; i++)
        {
            yield return new SortedRun.Reader(runPaths[i], i);
        }
    }

    /// <summary>Records merged so far (unique keys handed out).</summary>
    public long Count { get; private set; }

    /// <summary>Hands every remaining record to <paramref name="sink"/>.</summary>
    public void CopyTo(IRecordSink sink)
    {
        while (Next(out var key, out var value, out var expire))
        {
            sink.Add(key, value, expire);
        }
    }

    /// <summary>The next unique record in ascending key order; valid until the next call.</summary>
    public bool Next(out ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value, out long expireUnixSeconds)
    {
        if (_current is not null && _current.MoveNext())
        {
            _queue.Enqueue(_current, _current);
        }

        _current = null;
        while (_queue.TryDequeue(out var reader, out _))
        {
            if (_lastKeyLength >= 0 && reader.Key.SequenceEqual(_lastKey.AsSpan(0, _lastKeyLength)))
            {
                // An earlier run's record for a key already written from a later run.
                if (reader.MoveNext())
                {
                    _queue.Enqueue(reader, reader);
                }

                continue;
            }

            if (_lastKey.Length < reader.Key.Length)
            {
                _lastKey = new byte[Math.Max(reader.Key.Length, _lastKey.Length * 2)];
            }

            reader.Key.CopyTo(_lastKey);
            _lastKeyLength = reader.Key.Length;
            _current = reader;
            Count++;
            key = reader.Key;
            value = reader.Value;
            expireUnixSeconds = reader.Expire;
            return true;
        }

        key = value = default;
        expireUnixSeconds = 0;
        return false;
    }

    public void Dispose()
    {
        foreach (var reader in _readers)
        {
            reader.Dispose();
        }
    }

    private sealed class RunComparer : IComparer<ISortedSource>
    {
        public static readonly RunComparer Instance = new();

        public int Compare(ISortedSource? x, ISortedSource? y)
        {
            var order = x!.Key.SequenceCompareTo(y!.Key);
            return order != 0 ? order : y.Order.CompareTo(x.Order);
        }
    }
}

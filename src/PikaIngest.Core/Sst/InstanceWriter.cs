using PikaIngest.Core.Formats;
using PikaIngest.Core.Shards;

namespace PikaIngest.Core.Sst;

/// <summary>
/// Encodes sorted user records into one instance's SST. Records are encoded into a contiguous
/// batch first and only then handed to RocksDB, so the gathering loop (<see cref="SortedRecords"/>)
/// runs tight; when a spare core is available, RocksDB writes one batch on a second thread while
/// the next batch is gathered.
/// </summary>
internal sealed class InstanceWriter : IRecordSink
{
    private const int BatchBytes = 4 << 20;
    private const int BatchRecords = 1 << 16;

    private readonly SstFileBuilder _builder;
    private readonly RecordEncoding _encoding;
    private readonly long _createdUnixMs;
    private readonly string _sourceName;
    private readonly Action<long> _progress;
    private readonly bool _pipelined;
    private Batch _batch = new();
    private Batch _spare = new();
    private Task? _writing;
    private byte[] _last = new byte[256];

    public InstanceWriter(SstFileBuilder builder, RecordEncoding encoding, long createdUnixMs, string sourceName, Action<long> progress, bool pipelined)
    {
        _builder = builder;
        _encoding = encoding;
        _createdUnixMs = createdUnixMs;
        _sourceName = sourceName;
        _progress = progress;
        _pipelined = pipelined;
    }

    /// <summary>Encoded records waiting for RocksDB: the bytes, and (offset, key length, value length) per record.</summary>
    private sealed class Batch
    {
        public readonly byte[] Bytes = RecordStore.AllocateBuffer(BatchBytes);
        public readonly int[] Layout = new int[BatchRecords * 3];
        public int Used;
        public int Count;
    }

    public byte[]? Smallest { get; private set; }

    public ReadOnlySpan<byte> Largest => _last.AsSpan(0, LastLength);

    private int LastLength { get; set; }

    public void Add(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, long expireUnixSeconds)
    {
        var keyRoom = _encoding.MaxEncodedKeyLength(key.Length);
        var valueLength = _encoding.EncodedValueLength(value.Length);
        var batch = _batch;
        if (batch.Count == BatchRecords || batch.Used + keyRoom + valueLength > batch.Bytes.Length)
        {
            Hand();
            batch = _batch;
        }

        Smallest ??= key.ToArray();
        if (_last.Length < key.Length)
        {
            _last = new byte[Math.Max(key.Length, _last.Length * 2)];
        }

        key.CopyTo(_last);
        LastLength = key.Length;
        if (keyRoom + valueLength > batch.Bytes.Length)
        {
            Hand();
            _writing?.GetAwaiter().GetResult();
            PutAlone(key, value, expireUnixSeconds, keyRoom, valueLength);
            return;
        }

        var keyLength = _encoding.EncodeKey(key, batch.Bytes.AsSpan(batch.Used));
        EncodeValue(key, value, expireUnixSeconds, batch.Bytes.AsSpan(batch.Used + keyLength, valueLength));
        var slot = batch.Count * 3;
        batch.Layout[slot] = batch.Used;
        batch.Layout[slot + 1] = keyLength;
        batch.Layout[slot + 2] = valueLength;
        batch.Used += keyLength + valueLength;
        batch.Count++;
    }

    /// <summary>Writes everything added so far to RocksDB.</summary>
    public void Flush()
    {
        Hand();
        _writing?.GetAwaiter().GetResult();
        _writing = null;
    }

    /// <summary>After a failure: waits for an in-flight batch and drops the rest (the caller reports the first error).</summary>
    public void Abandon()
    {
        try
        {
            _writing?.GetAwaiter().GetResult();
        }
        catch (IOException)
        {
            // The file is being discarded; the error that made us abandon it is the one that matters.
        }

        _writing = null;
    }

    /// <summary>Passes the current batch to RocksDB (on the writer thread when pipelined) and starts the next.</summary>
    private void Hand()
    {
        var full = _batch;
        if (full.Count == 0)
        {
            return;
        }

        // One batch in flight at a time: RocksDB's writer is single-threaded and order matters.
        _writing?.GetAwaiter().GetResult();
        _batch = _spare;
        _spare = full;
        if (_pipelined)
        {
            _writing = Task.Run(() => Put(full));
        }
        else
        {
            Put(full);
        }
    }

    private unsafe void Put(Batch batch)
    {
        fixed (byte* bytes = batch.Bytes)
        {
            for (var i = 0; i < batch.Count; i++)
            {
                var offset = batch.Layout[i * 3];
                var keyLength = batch.Layout[(i * 3) + 1];
                _builder.Put(new ReadOnlySpan<byte>(bytes + offset, keyLength), new ReadOnlySpan<byte>(bytes + offset + keyLength, batch.Layout[(i * 3) + 2]));
            }
        }

        _progress(batch.Count);
        batch.Count = 0;
        batch.Used = 0;
    }

    /// <summary>A record larger than the batch buffer (values may reach 512 MiB) is encoded on its own.</summary>
    private void PutAlone(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, long expireUnixSeconds, int keyRoom, int valueLength)
    {
        var encodedKey = new byte[keyRoom];
        var keyLength = _encoding.EncodeKey(key, encodedKey);
        var encodedValue = GC.AllocateUninitializedArray<byte>(valueLength);
        EncodeValue(key, value, expireUnixSeconds, encodedValue);
        _builder.Put(encodedKey.AsSpan(0, keyLength), encodedValue);
        _progress(1);
    }

    private void EncodeValue(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, long expireUnixSeconds, Span<byte> target)
    {
        if (expireUnixSeconds > _encoding.MaxExpireUnixSeconds)
        {
            var limit = DateTimeOffset.FromUnixTimeSeconds(_encoding.MaxExpireUnixSeconds).ToString("u", System.Globalization.CultureInfo.InvariantCulture);
            throw new ShardFormatException(_sourceName, 0, $"key {ShardConverter.Describe(key)}: expire {expireUnixSeconds} is later than {_encoding.Format.Name()} can store ({limit})");
        }

        _encoding.EncodeValue(value, expireUnixSeconds, _createdUnixMs, target);
    }
}

using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using PikaIngest.Core.Formats;
using PikaIngest.Core.Shards;

namespace PikaIngest.Core.Sst;

/// <summary>
/// Encodes sorted user records into one instance's SST. Records are gathered and encoded into a
/// contiguous batch first and only then handed to RocksDB: gathering in key order is a stream of
/// random memory reads, and doing them in a tight loop with prefetching (instead of between
/// RocksDB calls) lets the CPU overlap the cache misses.
/// </summary>
internal sealed unsafe class InstanceWriter
{
    private const int BatchBytes = 4 << 20;
    private const int BatchRecords = 1 << 16;

    /// <summary>How many records ahead the gather loop prefetches record references and field bytes.</summary>
    private const int PrefetchReference = 16;
    private const int PrefetchData = 8;

    private readonly SstFileBuilder _builder;
    private readonly RecordEncoding _encoding;
    private readonly long _createdUnixMs;
    private readonly string _sourceName;
    private readonly Action<long> _progress;
    private readonly byte[] _batch = RecordStore.AllocateBuffer(BatchBytes);
    private readonly int[] _layout = new int[BatchRecords * 3];
    private int _used;
    private int _count;
    private byte[] _last = new byte[256];

    public InstanceWriter(SstFileBuilder builder, RecordEncoding encoding, long createdUnixMs, string sourceName, Action<long> progress)
    {
        _builder = builder;
        _encoding = encoding;
        _createdUnixMs = createdUnixMs;
        _sourceName = sourceName;
        _progress = progress;
    }

    public byte[]? Smallest { get; private set; }

    public ReadOnlySpan<byte> Largest => _last.AsSpan(0, LastLength);

    private int LastLength { get; set; }

    /// <summary>Writes the records of <paramref name="store"/> at <c>ordinals[..count]</c>, which are sorted and unique.</summary>
    public void AddSorted(RecordStore store, uint[] ordinals, int count)
    {
        var refs = store.Records;
        var pointers = new IntPtr[store.BufferCount];
        for (var b = 0; b < pointers.Length; b++)
        {
            pointers[b] = (IntPtr)store.Pointer(b);
        }

        for (var i = 0; i < count; i++)
        {
            if (Sse.IsSupported)
            {
                if (i + PrefetchReference < count)
                {
                    Sse.Prefetch0(Unsafe.AsPointer(ref refs[ordinals[i + PrefetchReference]]));
                }

                if (i + PrefetchData < count)
                {
                    ref readonly var ahead = ref refs[ordinals[i + PrefetchData]];
                    Sse.Prefetch0((byte*)pointers[ahead.KeyBuffer] + ahead.KeyOffset);
                    Sse.Prefetch0((byte*)pointers[ahead.ValueBuffer] + ahead.ValueOffset);
                }
            }

            ref readonly var record = ref refs[ordinals[i]];
            Add(
                new ReadOnlySpan<byte>((byte*)pointers[record.KeyBuffer] + record.KeyOffset, record.KeyLength),
                new ReadOnlySpan<byte>((byte*)pointers[record.ValueBuffer] + record.ValueOffset, record.ValueLength),
                record.ExpireUnixSeconds);
        }
    }

    public void AddAll(SortedRecords records)
    {
        while (records.Next(out var key, out var value, out var expire))
        {
            Add(key, value, expire);
        }
    }

    public void Add(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, long expireUnixSeconds)
    {
        var keyRoom = _encoding.MaxEncodedKeyLength(key.Length);
        var valueLength = _encoding.EncodedValueLength(value.Length);
        if (_count == BatchRecords || _used + keyRoom + valueLength > _batch.Length)
        {
            Flush();
        }

        Smallest ??= key.ToArray();
        if (_last.Length < key.Length)
        {
            _last = new byte[Math.Max(key.Length, _last.Length * 2)];
        }

        key.CopyTo(_last);
        LastLength = key.Length;
        if (keyRoom + valueLength > _batch.Length)
        {
            PutAlone(key, value, expireUnixSeconds, keyRoom, valueLength);
            return;
        }

        var keyLength = _encoding.EncodeKey(key, _batch.AsSpan(_used));
        EncodeValue(key, value, expireUnixSeconds, _batch.AsSpan(_used + keyLength, valueLength));
        var slot = _count * 3;
        _layout[slot] = _used;
        _layout[slot + 1] = keyLength;
        _layout[slot + 2] = valueLength;
        _used += keyLength + valueLength;
        _count++;
    }

    /// <summary>Hands the batched records to RocksDB.</summary>
    public void Flush()
    {
        fixed (byte* batch = _batch)
        {
            for (var i = 0; i < _count; i++)
            {
                var offset = _layout[i * 3];
                var keyLength = _layout[(i * 3) + 1];
                _builder.Put(new ReadOnlySpan<byte>(batch + offset, keyLength), new ReadOnlySpan<byte>(batch + offset + keyLength, _layout[(i * 3) + 2]));
            }
        }

        _progress(_count);
        _count = 0;
        _used = 0;
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
        try
        {
            _encoding.EncodeValue(value, expireUnixSeconds, _createdUnixMs, target);
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw new ShardFormatException(_sourceName, 0, $"key {ShardConverter.Describe(key)}: {e.Message.Split(Environment.NewLine)[0]}");
        }
    }
}

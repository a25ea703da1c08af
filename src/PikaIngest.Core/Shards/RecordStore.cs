using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace PikaIngest.Core.Shards;

/// <summary>Where one record's key and value bytes live: buffers of a <see cref="RecordStore"/>.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 4)]
public struct RecordRef
{
    public int KeyBuffer;
    public int KeyOffset;
    public int KeyLength;
    public int ValueBuffer;
    public int ValueOffset;
    public int ValueLength;
    public long ExpireUnixSeconds;
}

/// <summary>
/// Parsed records of a shard (or of one chunk of it) in input order: the record's index is its
/// generation order, which decides which duplicate wins. Keys and values are slices of the
/// buffers the shard was read into, or of decode arenas for escaped and base64 fields, so
/// parsing copies nothing in the common case.
/// </summary>
public sealed class RecordStore
{
    private readonly List<byte[]> _buffers = [];
    private readonly List<IntPtr> _pointers = [];
    private readonly Lock _buffersLock = new();
    private RecordRef[] _records = [];

    public int Count { get; private set; }

    public long SourceBytes { get; internal set; }

    /// <summary>Allocates a buffer that never moves, so the SST writer can prefetch and read it by address.</summary>
    public static byte[] AllocateBuffer(int length) => GC.AllocateUninitializedArray<byte>(length, pinned: true);

    /// <summary>Registers a buffer from <see cref="AllocateBuffer"/>; returns its index for <see cref="RecordRef"/>.</summary>
    public unsafe int AddBuffer(byte[] buffer)
    {
        lock (_buffersLock)
        {
            _buffers.Add(buffer);
            _pointers.Add((IntPtr)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(buffer)));
            return _buffers.Count - 1;
        }
    }

    internal RecordRef[] Records => _records;

    internal int BufferCount => _buffers.Count;

    internal unsafe byte* Pointer(int buffer) => (byte*)_pointers[buffer];

    internal void SetRecords(RecordRef[] records, int count)
    {
        _records = records;
        Count = count;
    }

    public ref readonly RecordRef this[int index] => ref _records[index];

    public ReadOnlySpan<byte> Key(int index)
    {
        ref readonly var r = ref _records[index];
        return new ReadOnlySpan<byte>(_buffers[r.KeyBuffer], r.KeyOffset, r.KeyLength);
    }

    public ReadOnlySpan<byte> Value(int index)
    {
        ref readonly var r = ref _records[index];
        return new ReadOnlySpan<byte>(_buffers[r.ValueBuffer], r.ValueOffset, r.ValueLength);
    }

    public long Expire(int index) => _records[index].ExpireUnixSeconds;

    internal byte[] Buffer(int index) => _buffers[index];
}

/// <summary>Growable list of records produced by one parser.</summary>
internal sealed class RecordList
{
    private RecordRef[] _items;

    public RecordList(int capacity) => _items = new RecordRef[Math.Max(16, capacity)];

    public int Count { get; private set; }

    public RecordRef[] Items => _items;

    public void Add(in RecordRef record)
    {
        if (Count == _items.Length)
        {
            Array.Resize(ref _items, checked(_items.Length * 2));
        }

        _items[Count++] = record;
    }
}

/// <summary>Append-only byte space for field bytes that are not verbatim slices of the input.</summary>
internal sealed class DecodeArena(RecordStore store)
{
    private const int BlockSize = 4 * 1024 * 1024;
    private byte[] _block = [];
    private int _blockIndex = -1;
    private int _used;

    /// <summary>Reserves <paramref name="length"/> bytes; returns where they live.</summary>
    public Span<byte> Reserve(int length, out int buffer, out int offset)
    {
        if (_blockIndex < 0 || _block.Length - _used < length)
        {
            _block = RecordStore.AllocateBuffer(Math.Max(BlockSize, length));
            _blockIndex = store.AddBuffer(_block);
            _used = 0;
        }

        buffer = _blockIndex;
        offset = _used;
        _used += length;
        return _block.AsSpan(offset, length);
    }

    /// <summary>Gives back the unused tail of the last reservation.</summary>
    public void Shrink(int reserved, int used) => _used -= reserved - used;
}

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
/// memory the shard was mapped or read into, or of decode arenas for escaped and base64
/// fields, so parsing copies nothing in the common case. Buffers are addressed by pointer
/// (memory-mapped input, pinned arrays) so the SST writer can prefetch them.
/// </summary>
public sealed unsafe class RecordStore : IDisposable
{
    private readonly List<IntPtr> _pointers = [];
    private readonly List<object> _owners = [];
    private readonly Lock _buffersLock = new();
    private RecordRef[] _records = [];

    public int Count { get; private set; }

    /// <summary>Allocates a buffer that never moves, so its address stays valid.</summary>
    public static byte[] AllocateBuffer(int length) => GC.AllocateUninitializedArray<byte>(length, pinned: true);

    /// <summary>Registers a buffer from <see cref="AllocateBuffer"/>; returns its index for <see cref="RecordRef"/>.</summary>
    public int AddBuffer(byte[] buffer) =>
        AddRegion((byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(buffer)), buffer);

    /// <summary>Registers memory that <paramref name="owner"/> keeps valid for the life of this store.</summary>
    internal int AddRegion(byte* pointer, object owner)
    {
        lock (_buffersLock)
        {
            _pointers.Add((IntPtr)pointer);
            _owners.Add(owner);
            return _pointers.Count - 1;
        }
    }

    internal void SetRecords(RecordRef[] records, int count)
    {
        _records = records;
        Count = count;
    }

    internal RecordRef[] Records => _records;

    internal byte* Pointer(int buffer) => (byte*)_pointers[buffer];

    public ref readonly RecordRef this[int index] => ref _records[index];

    /// <summary>Key access for hot loops: the caller holds <see cref="Records"/> and a snapshot of the buffer addresses.</summary>
    internal static ReadOnlySpan<byte> Key(RecordRef[] records, IntPtr[] pointers, uint index)
    {
        ref readonly var r = ref records[index];
        return new ReadOnlySpan<byte>((byte*)pointers[r.KeyBuffer] + r.KeyOffset, r.KeyLength);
    }

    internal IntPtr[] PointerSnapshot()
    {
        lock (_buffersLock)
        {
            return [.. _pointers];
        }
    }

    public ReadOnlySpan<byte> Key(int index)
    {
        ref readonly var r = ref _records[index];
        return new ReadOnlySpan<byte>((byte*)_pointers[r.KeyBuffer] + r.KeyOffset, r.KeyLength);
    }

    public ReadOnlySpan<byte> Value(int index)
    {
        ref readonly var r = ref _records[index];
        return new ReadOnlySpan<byte>((byte*)_pointers[r.ValueBuffer] + r.ValueOffset, r.ValueLength);
    }

    public long Expire(int index) => _records[index].ExpireUnixSeconds;

    /// <summary>Releases owned mappings; the store's spans are invalid afterwards.</summary>
    public void Dispose()
    {
        lock (_buffersLock)
        {
            foreach (var owner in _owners.OfType<IDisposable>().Distinct())
            {
                owner.Dispose();
            }

            _owners.Clear();
            _pointers.Clear();
        }
    }
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

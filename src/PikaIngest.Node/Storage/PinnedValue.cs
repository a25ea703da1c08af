using System.Buffers;
using RocksDbSharp;

namespace PikaIngest.Node.Storage;

/// <summary>
/// A large value left where RocksDB read it (its pinnable slice: for a blob value, the buffer the blob file was read
/// into), for a GET's reply to be sent from there after the read returns. Holds the store's swap lock shared until
/// disposed, so a full sync cannot close the instance under the slice.
/// </summary>
internal sealed unsafe class PinnedValue : MemoryManager<byte>
{
    private readonly SwapLock _swap;
    private readonly byte* _value;
    private readonly int _length;
    private IntPtr _slice;

    /// <param name="slice">The pinnable slice, destroyed on dispose.</param>
    /// <param name="value">The user value inside the slice.</param>
    public PinnedValue(IntPtr slice, ReadOnlySpan<byte> value, SwapLock swap)
    {
        _swap = swap;
        _swap.EnterReadLock();
        _slice = slice;
        fixed (byte* start = value)
        {
            // The slice's memory is native and does not move: the pointer stays valid until the slice is destroyed.
            _value = start;
        }

        _length = value.Length;
    }

    public override Span<byte> GetSpan() => new(_value, _length);

    public override MemoryHandle Pin(int elementIndex = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(elementIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(elementIndex, _length);
        return new MemoryHandle(_value + elementIndex);
    }

    public override void Unpin()
    {
    }

    protected override void Dispose(bool disposing)
    {
        var slice = Interlocked.Exchange(ref _slice, IntPtr.Zero);
        if (slice != IntPtr.Zero)
        {
            Native.Instance.rocksdb_pinnableslice_destroy(slice);
            _swap.ExitReadLock();
        }
    }
}

using PikaIngest.Core.Shards;

namespace PikaIngest.Core.Sst;

/// <summary>A stream of unique records in ascending user-key order, ready to be written to one SST.</summary>
internal abstract class SortedRecords
{
    public abstract long Count { get; }

    public abstract bool Next(out ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value, out long expireUnixSeconds);
}

/// <summary>Records of an in-memory store, in the order of an already sorted, deduplicated ordinal list.</summary>
internal sealed class StoreRecords(RecordStore store, uint[] ordinals, int count) : SortedRecords
{
    private int _next;

    public override long Count => count;

    public override bool Next(out ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value, out long expireUnixSeconds)
    {
        if (_next == count)
        {
            key = value = default;
            expireUnixSeconds = 0;
            return false;
        }

        var ordinal = (int)ordinals[_next++];
        key = store.Key(ordinal);
        value = store.Value(ordinal);
        expireUnixSeconds = store.Expire(ordinal);
        return true;
    }
}

using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;
using PikaIngest.Core.Shards;

namespace PikaIngest.Core.Sst;

/// <summary>Hands sorted in-memory records to a writer (SST or run).</summary>
internal static unsafe class SortedRecords
{
    /// <summary>How many records ahead the loop prefetches record references and field bytes.</summary>
    private const int PrefetchReference = 16;
    private const int PrefetchData = 8;

    /// <summary>
    /// Adds the records of <paramref name="store"/> at <c>ordinals[..count]</c> (sorted, unique) to
    /// <paramref name="sink"/>. Visiting records in key order is a stream of random memory reads;
    /// prefetching a few records ahead lets the CPU overlap the cache misses.
    /// </summary>
    public static void Copy(RecordStore store, uint[] ordinals, int count, IRecordSink sink)
    {
        var refs = store.Records;
        var pointers = store.PointerSnapshot();
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
            sink.Add(
                new ReadOnlySpan<byte>((byte*)pointers[record.KeyBuffer] + record.KeyOffset, record.KeyLength),
                new ReadOnlySpan<byte>((byte*)pointers[record.ValueBuffer] + record.ValueOffset, record.ValueLength),
                record.ExpireUnixSeconds);
        }
    }
}

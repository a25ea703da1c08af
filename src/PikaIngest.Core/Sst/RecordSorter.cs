using System.Buffers.Binary;
using PikaIngest.Core.Shards;

namespace PikaIngest.Core.Sst;

/// <summary>
/// Sorts records by user key (bytewise, as RocksDB's default comparator) and drops every
/// record that a later one with the same key overrides. A comparison-delegate sort is the slow
/// path here, so keys are sorted by integer "digits": 7 key bytes after the shared prefix plus a
/// length class, refined digit by digit only inside runs that tie. Large ranges are sorted by
/// an LSD radix sort (stable, passes over constant bytes skipped), small ones by introsort.
/// </summary>
public static class RecordSorter
{
    /// <summary>Beyond this many 7-byte digits a tie run falls back to a comparison sort (bounds recursion).</summary>
    private const int MaxDigitDepth = 48;

    /// <summary>Ranges at least this long are radix-sorted; below it introsort wins.</summary>
    private const int RadixThreshold = 1 << 12;

    /// <summary>
    /// Sorts <c>ordinals[..count]</c> (indexes into the record set, higher = later in the input)
    /// by key and removes overridden duplicates in place. Returns the number of unique records,
    /// which are left in <c>ordinals[..result]</c> in ascending key order.
    /// </summary>
    public static int SortUnique(RecordStore store, uint[] ordinals, int count)
    {
        if (count <= 1)
        {
            return count;
        }

        var sorter = new Sorter(store, ordinals, new ulong[count]);
        sorter.Sort(0, count, CommonPrefixLength(store, ordinals, count), 0);
        return sorter.Written;
    }

    private static int CommonPrefixLength(RecordStore store, uint[] ordinals, int count)
    {
        var first = store.Key((int)ordinals[0]);
        var common = first.Length;
        for (var i = 1; i < count && common > 0; i++)
        {
            common = Math.Min(common, first.CommonPrefixLength(store.Key((int)ordinals[i])));
        }

        return common;
    }

    /// <summary>Stable LSD radix sort of keys[start..start+length) carrying values along.</summary>
    private static void RadixSort(ulong[] keys, uint[] values, int start, int length)
    {
        var counts = new int[8 * 256];
        for (var i = start; i < start + length; i++)
        {
            var key = keys[i];
            for (var b = 0; b < 8; b++)
            {
                counts[(b << 8) | (int)((key >> (8 * b)) & 0xFF)]++;
            }
        }

        var sourceKeys = keys.AsSpan(start, length);
        var sourceValues = values.AsSpan(start, length);
        var spareKeys = GC.AllocateUninitializedArray<ulong>(length);
        var spareValues = GC.AllocateUninitializedArray<uint>(length);
        Span<ulong> targetKeys = spareKeys;
        Span<uint> targetValues = spareValues;
        Span<int> offsets = stackalloc int[256];
        for (var b = 0; b < 8; b++)
        {
            var histogram = counts.AsSpan(b << 8, 256);
            if (histogram.Contains(length))
            {
                continue;
            }

            var sum = 0;
            for (var d = 0; d < 256; d++)
            {
                offsets[d] = sum;
                sum += histogram[d];
            }

            var shift = 8 * b;
            for (var i = 0; i < length; i++)
            {
                var key = sourceKeys[i];
                var at = offsets[(int)((key >> shift) & 0xFF)]++;
                targetKeys[at] = key;
                targetValues[at] = sourceValues[i];
            }

            var keysSwap = sourceKeys;
            sourceKeys = targetKeys;
            targetKeys = keysSwap;
            var valuesSwap = sourceValues;
            sourceValues = targetValues;
            targetValues = valuesSwap;
        }

        if (!sourceKeys.Overlaps(keys.AsSpan(start, length)))
        {
            sourceKeys.CopyTo(keys.AsSpan(start, length));
            sourceValues.CopyTo(values.AsSpan(start, length));
        }
    }

    /// <summary>Seven key bytes from <paramref name="offset"/>, big-endian, then how many bytes remain (capped at 8).</summary>
    private static ulong Digit(ReadOnlySpan<byte> key, int offset)
    {
        var remaining = key.Length - offset;
        if (remaining >= 8)
        {
            return (BinaryPrimitives.ReadUInt64BigEndian(key[offset..]) & ~0xFFUL) | 8UL;
        }

        if (remaining <= 0)
        {
            return 0;
        }

        ulong value = 0;
        for (var k = 0; k < remaining; k++)
        {
            value |= (ulong)key[offset + k] << (56 - (8 * k));
        }

        return (value & ~0xFFUL) | (uint)remaining;
    }

    private sealed class Sorter(RecordStore store, uint[] ordinals, ulong[] digits)
    {
        private readonly RecordRef[] _records = store.Records;
        private readonly IntPtr[] _pointers = store.PointerSnapshot();

        public int Written { get; private set; }

        /// <summary>
        /// Sorts ordinals[start..start+length) whose keys agree on their first <paramref name="offset"/>
        /// bytes and emits the unique ones at <see cref="Written"/>. Emission never overtakes the
        /// region being read, so the compaction can share the ordinals array.
        /// </summary>
        public void Sort(int start, int length, int offset, int depth)
        {
            if (depth >= MaxDigitDepth)
            {
                SortByComparison(start, length, offset);
                return;
            }

            for (var i = start; i < start + length; i++)
            {
                digits[i] = Digit(RecordStore.Key(_records, _pointers, ordinals[i]), offset);
            }

            if (length >= RadixThreshold)
            {
                RadixSort(digits, ordinals, start, length);
            }
            else
            {
                Array.Sort(digits, ordinals, start, length);
            }
            var end = start + length;
            var run = start;
            while (run < end)
            {
                var next = run + 1;
                while (next < end && digits[next] == digits[run])
                {
                    next++;
                }

                if (next - run == 1)
                {
                    ordinals[Written++] = ordinals[run];
                }
                else if ((digits[run] & 0xFF) < 8)
                {
                    // The digit covered the rest of the key: these are equal keys; the latest wins.
                    ordinals[Written++] = Max(run, next);
                }
                else
                {
                    Sort(run, next - run, offset + 7, depth + 1);
                }

                run = next;
            }
        }

        private uint Max(int from, int to)
        {
            var max = ordinals[from];
            for (var i = from + 1; i < to; i++)
            {
                max = Math.Max(max, ordinals[i]);
            }

            return max;
        }

        private void SortByComparison(int start, int length, int offset)
        {
            Array.Sort(ordinals, start, length, Comparer<uint>.Create((a, b) =>
            {
                var order = store.Key((int)a)[offset..].SequenceCompareTo(store.Key((int)b)[offset..]);
                return order != 0 ? order : a.CompareTo(b);
            }));
            for (var i = start; i < start + length; i++)
            {
                var isOverridden = i + 1 < start + length && store.Key((int)ordinals[i]).SequenceEqual(store.Key((int)ordinals[i + 1]));
                if (!isOverridden)
                {
                    ordinals[Written++] = ordinals[i];
                }
            }
        }
    }
}

namespace PikaIngest.Core.Shards;

/// <summary>
/// Reads a shard file into parsed <see cref="RecordStore"/>s: the whole file at once, or in
/// chunks of about a given size for the external sort. The file is memory-mapped and lines are
/// parsed by several threads in place.
/// </summary>
public static unsafe class ShardReader
{
    /// <summary>Largest region one store buffer spans (record offsets are 32-bit); a chunk may hold several.</summary>
    private const long MaxRegionBytes = 1L << 30;

    /// <summary>Below this a chunk is parsed by one thread: splitting costs more than it saves.</summary>
    private const long MinParallelBytes = 4L << 20;

    /// <summary>Reads and parses the whole shard; the caller disposes the store (which unmaps the file).</summary>
    public static RecordStore ReadAll(string path, string source, int parallelism = 1, Action<long>? progress = null)
    {
        var file = MappedFile.Open(path, source);
        var store = new RecordStore();
        try
        {
            Parse(file, store, file, source, long.MaxValue, new Cursor(StartOffset(file)), parallelism, progress);
            if (store.Count == 0)
            {
                throw new ShardFormatException(source, 0, "shard has no records");
            }

            return store;
        }
        catch
        {
            store.Dispose();
            file.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Parses the shard in chunks of whole lines, each about <paramref name="chunkBytes"/> of input
    /// (a single longer line makes its chunk longer). Records keep input order within and across
    /// chunks. A chunk is valid until the next one is requested. A shard without records is an error.
    /// </summary>
    public static IEnumerable<RecordStore> ReadChunks(string path, string source, long chunkBytes, int parallelism = 1, Action<long>? progress = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkBytes, 1);
        using var file = MappedFile.Open(path, source);
        var cursor = new Cursor(StartOffset(file));
        var any = false;
        while (cursor.Offset < file.Length)
        {
            var chunkStart = cursor.Offset;
            using (var store = new RecordStore())
            {
                Parse(file, store, keepAlive: cursor, source, chunkBytes, cursor, parallelism, progress);
                if (store.Count > 0)
                {
                    any = true;
                    yield return store;
                }
            }

            // Hold memory to about one chunk: the mapped pages and the chunk's arrays go before the next.
            file.ReleaseRange(chunkStart, cursor.Offset - chunkStart);
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        }

        if (!any)
        {
            throw new ShardFormatException(source, 0, "shard has no records");
        }
    }

    /// <summary>Where parsing resumes: the next unread byte and the number of the next line.</summary>
    private sealed class Cursor(long offset)
    {
        public long Offset { get; set; } = offset;

        public long NextLine { get; set; } = 1;
    }

    /// <summary>Skips a UTF-8 byte order mark.</summary>
    private static long StartOffset(MappedFile file) =>
        file.Length >= 3 && file.Pointer[0] == 0xEF && file.Pointer[1] == 0xBB && file.Pointer[2] == 0xBF ? 3 : 0;

    private static void Parse(MappedFile file, RecordStore store, object keepAlive, string source, long chunkBytes, Cursor cursor, int parallelism, Action<long>? progress)
    {
        var rest = new ReadOnlySpan<byte>(file.Pointer + cursor.Offset, (int)Math.Min(file.Length - cursor.Offset, 4096));
        var first = rest.IndexOfAnyExcept(" \t\r\n"u8);
        if (cursor.Offset == StartOffset(file) && first >= 0 && rest[first] == (byte)'[')
        {
            ParseArray(file, store, keepAlive, source, cursor, progress);
            return;
        }

        var lists = new List<RecordList>();
        var chunkEnd = LineBoundaryAtOrAfter(file, Math.Min(file.Length, cursor.Offset + chunkBytes));
        while (cursor.Offset < chunkEnd)
        {
            var regionEnd = LineBoundaryAtOrAfter(file, Math.Min(chunkEnd, cursor.Offset + MaxRegionBytes));
            if (regionEnd - cursor.Offset > int.MaxValue)
            {
                throw new ShardFormatException(source, cursor.NextLine, "line longer than 2 GiB");
            }

            var length = (int)(regionEnd - cursor.Offset);
            var buffer = store.AddRegion(file.Pointer + cursor.Offset, keepAlive);
            cursor.NextLine = ParseRegion(store, buffer, length, source, cursor.NextLine, length < MinParallelBytes ? 1 : parallelism, lists);
            cursor.Offset = regionEnd;
            progress?.Invoke(length);
        }

        if (lists.Count == 1)
        {
            store.SetRecords(lists[0].Items, lists[0].Count);
            return;
        }

        var records = GC.AllocateUninitializedArray<RecordRef>(lists.Sum(l => l.Count));
        var at = 0;
        foreach (var list in lists)
        {
            Array.Copy(list.Items, 0, records, at, list.Count);
            at += list.Count;
        }

        store.SetRecords(records, at);
    }

    /// <summary>The offset just past the first newline at or after <paramref name="offset"/> - 1, or the end of the file.</summary>
    private static long LineBoundaryAtOrAfter(MappedFile file, long offset)
    {
        if (offset >= file.Length)
        {
            return file.Length;
        }

        var position = Math.Max(offset - 1, 0);
        while (position < file.Length)
        {
            var window = (int)Math.Min(file.Length - position, 1 << 20);
            var newline = new ReadOnlySpan<byte>(file.Pointer + position, window).IndexOf((byte)'\n');
            if (newline >= 0)
            {
                return position + newline + 1;
            }

            position += window;
        }

        return file.Length;
    }

    private static void ParseArray(MappedFile file, RecordStore store, object keepAlive, string source, Cursor cursor, Action<long>? progress)
    {
        var length = file.Length - cursor.Offset;
        if (length > int.MaxValue)
        {
            throw new ShardFormatException(source, 0, "JSON array shards over 2 GiB are not supported; write JSON Lines instead");
        }

        var output = new RecordList((int)(length / 64));
        var buffer = store.AddRegion(file.Pointer + cursor.Offset, keepAlive);
        new ShardParser(store, output, source).ParseArray(buffer, 0, (int)length);
        cursor.Offset = file.Length;
        store.SetRecords(output.Items, output.Count);
        progress?.Invoke(length);
    }

    /// <summary>Parses one region in parallel segments split at line boundaries; returns the number of the line after it.</summary>
    private static long ParseRegion(RecordStore store, int buffer, int length, string source, long firstLine, int parts, List<RecordList> lists)
    {
        var data = store.Pointer(buffer);
        var segments = SplitAtLines(data, length, parts);
        var firstLines = new long[segments.Count];
        var line = firstLine;
        for (var s = 0; s < segments.Count; s++)
        {
            firstLines[s] = line;
            line += new ReadOnlySpan<byte>(data + segments[s].Start, segments[s].End - segments[s].Start).Count((byte)'\n');
        }

        var outputs = new RecordList[segments.Count];
        var errors = new Exception?[segments.Count];
        Parallel.For(0, segments.Count, new ParallelOptions { MaxDegreeOfParallelism = parts }, s =>
        {
            var (start, end) = segments[s];
            outputs[s] = new RecordList((end - start) / 56);
            try
            {
                new ShardParser(store, outputs[s], source).ParseLines(buffer, start, end, firstLines[s]);
            }
            catch (ShardFormatException e)
            {
                errors[s] = e;
            }
        });

        // Report the earliest bad line, whichever thread found it first.
        if (errors.FirstOrDefault(e => e is not null) is { } error)
        {
            throw error;
        }

        lists.AddRange(outputs);
        return line;
    }

    private static List<(int Start, int End)> SplitAtLines(byte* data, int length, int parts)
    {
        var segments = new List<(int, int)>(parts);
        var start = 0;
        for (var p = 1; p < parts && start < length; p++)
        {
            var target = (int)((long)length * p / parts);
            if (target <= start)
            {
                continue;
            }

            var newline = new ReadOnlySpan<byte>(data + target, length - target).IndexOf((byte)'\n');
            if (newline < 0)
            {
                break;
            }

            var end = target + newline + 1;
            segments.Add((start, end));
            start = end;
        }

        segments.Add((start, length));
        return segments;
    }
}

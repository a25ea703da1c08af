namespace PikaIngest.Core.Shards;

/// <summary>
/// Reads a shard file into parsed <see cref="RecordStore"/>s: the whole file at once, or in
/// chunks of about a given size for the external sort. Lines are split across threads.
/// </summary>
public static class ShardReader
{
    /// <summary>Largest single buffer a chunk is read into; a chunk may hold several.</summary>
    private const int MaxBufferBytes = 1 << 30;

    private static readonly byte[] Utf8Bom = [0xEF, 0xBB, 0xBF];

    /// <summary>Reads and parses the whole shard; throws <see cref="ShardFormatException"/> for bad content.</summary>
    public static RecordStore ReadAll(string path, string source, int parallelism = 1, Action<long>? progress = null) =>
        ReadChunks(path, source, long.MaxValue, parallelism, progress).Single();

    /// <summary>
    /// Parses the shard in chunks of whole lines, each about <paramref name="chunkBytes"/> of input
    /// (a single line larger than that makes its chunk larger). Records keep input order within
    /// and across chunks. A shard without records is an error.
    /// </summary>
    public static IEnumerable<RecordStore> ReadChunks(string path, string source, long chunkBytes, int parallelism = 1, Action<long>? progress = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkBytes, 1);
        using var file = OpenShard(path, source);
        var length = file.Length;
        var prefix = SniffStart(file, out var skip);
        file.Position = skip;
        if (prefix == (byte)'[')
        {
            yield return ReadArray(file, length - skip, source, progress);
            yield break;
        }

        var reader = new LineChunker(file, length - skip, source, parallelism, progress);
        var any = false;
        while (reader.TryReadChunk(chunkBytes, out var store))
        {
            any |= store.Count > 0;
            if (store.Count > 0)
            {
                yield return store;
            }
        }

        if (!any)
        {
            throw new ShardFormatException(source, 0, "shard has no records");
        }
    }

    private static FileStream OpenShard(string path, string source)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ShardFormatException(source, 0, "no such file");
        }
        catch (UnauthorizedAccessException)
        {
            throw new ShardFormatException(source, 0, "permission denied");
        }
    }

    /// <summary>Returns the first significant byte (0 for an empty file) and how many leading bytes (BOM) to skip.</summary>
    private static byte SniffStart(FileStream file, out int skip)
    {
        Span<byte> head = stackalloc byte[4096];
        var read = file.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        head = head[..read];
        skip = head.StartsWith(Utf8Bom) ? Utf8Bom.Length : 0;
        var rest = head[skip..];
        var first = rest.IndexOfAnyExcept(" \t\r\n"u8);
        return first < 0 ? (byte)0 : rest[first];
    }

    private static RecordStore ReadArray(FileStream file, long length, string source, Action<long>? progress)
    {
        if (length > Array.MaxLength)
        {
            throw new ShardFormatException(source, 0, "JSON array shards over 2 GiB are not supported; write JSON Lines instead");
        }

        var data = RecordStore.AllocateBuffer((int)length);
        file.ReadExactly(data);
        progress?.Invoke(length);
        var store = new RecordStore { SourceBytes = length };
        var output = new RecordList((int)(length / 64));
        new ShardParser(store, output, source).ParseArray(data, store.AddBuffer(data), 0, data.Length);
        if (output.Count == 0)
        {
            throw new ShardFormatException(source, 0, "shard has no records");
        }

        store.SetRecords(output.Items, output.Count);
        return store;
    }

    /// <summary>Reads whole lines into buffers and parses them in parallel segments.</summary>
    private sealed class LineChunker(FileStream file, long length, string source, int parallelism, Action<long>? progress)
    {
        private byte[] _carry = [];
        private int _carryLength;
        private long _remaining = length;
        private long _nextLine = 1;

        public bool TryReadChunk(long chunkBytes, out RecordStore store)
        {
            store = new RecordStore();
            if (_remaining == 0 && _carryLength == 0)
            {
                return false;
            }

            var lists = new List<RecordList>();
            long consumed = 0;
            while (consumed < chunkBytes && (_remaining > 0 || _carryLength > 0))
            {
                var wanted = Math.Min(Math.Min(chunkBytes - consumed, _remaining) + _carryLength, MaxBufferBytes);
                var (buffer, complete) = FillBuffer((int)Math.Max(wanted, _carryLength + 1));
                var bufferIndex = store.AddBuffer(buffer);
                ParseSegments(store, buffer, bufferIndex, complete, lists);
                consumed += complete;
                progress?.Invoke(complete);
            }

            store.SourceBytes = consumed;
            var total = lists.Sum(l => l.Count);
            var records = GC.AllocateUninitializedArray<RecordRef>(total);
            var at = 0;
            foreach (var list in lists)
            {
                Array.Copy(list.Items, 0, records, at, list.Count);
                at += list.Count;
            }

            store.SetRecords(records, total);
            return true;
        }

        /// <summary>Fills a buffer with the carried partial line plus new input; returns how many bytes are complete lines.</summary>
        private (byte[] Buffer, int Complete) FillBuffer(int size)
        {
            var buffer = RecordStore.AllocateBuffer(size);
            _carry.AsSpan(0, _carryLength).CopyTo(buffer);
            var filled = _carryLength;
            while (true)
            {
                var toRead = (int)Math.Min(buffer.Length - filled, _remaining);
                if (toRead > 0)
                {
                    file.ReadExactly(buffer, filled, toRead);
                    filled += toRead;
                    _remaining -= toRead;
                }

                if (_remaining == 0)
                {
                    _carryLength = 0;
                    return (buffer, filled);
                }

                var lastNewline = buffer.AsSpan(0, filled).LastIndexOf((byte)'\n');
                if (lastNewline >= 0)
                {
                    var complete = lastNewline + 1;
                    _carryLength = filled - complete;
                    if (_carry.Length < _carryLength)
                    {
                        _carry = new byte[Math.Max(_carryLength, 64 * 1024)];
                    }

                    buffer.AsSpan(complete, _carryLength).CopyTo(_carry);
                    return (buffer, complete);
                }

                // One line longer than the buffer: grow until it fits, bounded by the field limits.
                if (buffer.Length >= Array.MaxLength)
                {
                    throw new ShardFormatException(source, _nextLine, "line longer than 2 GiB");
                }

                var larger = RecordStore.AllocateBuffer((int)Math.Min((long)buffer.Length * 2, Array.MaxLength));
                buffer.AsSpan(0, filled).CopyTo(larger);
                buffer = larger;
            }
        }

        private void ParseSegments(RecordStore store, byte[] buffer, int bufferIndex, int complete, List<RecordList> lists)
        {
            var segments = SplitAtLines(buffer, complete, complete < 4 * 1024 * 1024 ? 1 : parallelism);
            var firstLines = new long[segments.Count];
            var line = _nextLine;
            for (var s = 0; s < segments.Count; s++)
            {
                firstLines[s] = line;
                line += buffer.AsSpan(segments[s].Start, segments[s].End - segments[s].Start).Count((byte)'\n');
            }

            _nextLine = line;
            var outputs = new RecordList[segments.Count];
            var errors = new Exception?[segments.Count];
            Parallel.For(0, segments.Count, new ParallelOptions { MaxDegreeOfParallelism = parallelism }, s =>
            {
                var (start, end) = segments[s];
                outputs[s] = new RecordList((end - start) / 56);
                try
                {
                    new ShardParser(store, outputs[s], source).ParseLines(buffer, bufferIndex, start, end, firstLines[s]);
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
        }

        private static List<(int Start, int End)> SplitAtLines(byte[] buffer, int length, int parts)
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

                var newline = buffer.AsSpan(target, length - target).IndexOf((byte)'\n');
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
}

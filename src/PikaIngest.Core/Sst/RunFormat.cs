using System.Buffers.Binary;
using System.IO.Hashing;
using K4os.Compression.LZ4;

namespace PikaIngest.Core.Sst;

/// <summary>
/// The sorted run object (<c>runs/&lt;batch&gt;/&lt;seq&gt;-&lt;instance&gt;.run</c>, docs/FORMATS.md §9): one
/// shard's records for one instance, unique and in key order, written by the map stage and read
/// in key ranges by the merges. Layout, all integers little-endian:
/// <code>
/// header  "PIKARUN\0" · version u32 (1) · reserved u32 (0)
/// blocks  records as (varint key length, key, varint value length, value, varint expire seconds),
///         each block LZ4-compressed unless that would not shrink it
/// index   block count u32 · per block: offset u64 · stored length u32 · raw length u32 · records u32 ·
///         codec u8 (0 none, 1 LZ4) · XXH3-64 of the stored bytes u64 · first key (varint length, bytes);
///         then the run's largest key (varint length, bytes)
/// footer  index offset u64 · index length u32 · records u64 · XXH3-64 of the index u64 · version u32 · "PIKARUN\0"
/// </code>
/// The index is a sparse key index: a merge reads it (one range GET, its offset, length and checksum
/// are in the map stage's record), then fetches only the blocks that can hold its key range.
/// </summary>
public static class RunFormat
{
    public const int Version = 1;

    public const int HeaderLength = 16;

    public const int FooterLength = 40;

    /// <summary>Raw bytes per block: small enough that a range boundary costs little extra reading, large enough to compress.</summary>
    public const int DefaultBlockBytes = 32 << 10;

    public const byte CodecNone = 0;

    public const byte CodecLz4 = 1;

    /// <summary>Largest index a reader accepts (a 4 GiB run of 32 KiB blocks has an index of a few MB).</summary>
    public const int MaxIndexBytes = 64 << 20;

    public static ReadOnlySpan<byte> Magic => "PIKARUN\0"u8;

    public static ulong Checksum(ReadOnlySpan<byte> bytes) => XxHash3.HashToUInt64(bytes);

    internal static int WriteVarint(Span<byte> target, ulong value)
    {
        var i = 0;
        while (value >= 0x80)
        {
            target[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        target[i++] = (byte)value;
        return i;
    }

    /// <summary>Reads a varint of at most 10 bytes; false when the bytes end first or it is longer.</summary>
    internal static bool TryReadVarint(ReadOnlySpan<byte> source, ref int position, out ulong value)
    {
        value = 0;
        for (var shift = 0; shift < 70 && position < source.Length; shift += 7)
        {
            var current = source[position++];
            value |= (ulong)(current & 0x7F) << shift;
            if ((current & 0x80) == 0)
            {
                return shift < 63 || current <= 1;
            }
        }

        return false;
    }
}

/// <summary>Run index checksums as records carry them: 16 lower-case hex digits.</summary>
public static class RunChecksums
{
    public static string Format(ulong checksum) => checksum.ToString("x16", System.Globalization.CultureInfo.InvariantCulture);

    public static bool TryParse(string text, out ulong checksum)
    {
        checksum = 0;
        return text.Length == 16 && ulong.TryParse(text, System.Globalization.NumberStyles.AllowHexSpecifier, System.Globalization.CultureInfo.InvariantCulture, out checksum);
    }
}

/// <summary>One block as the run's index describes it.</summary>
public sealed record RunBlock(long Offset, int StoredLength, int RawLength, int Records, byte Codec, ulong Checksum, byte[] FirstKey);

/// <summary>What a finished run holds and where its index is.</summary>
public sealed record RunSummary(long Size, long Records, long IndexOffset, int IndexLength, ulong IndexChecksum, byte[] Smallest, byte[] Largest, IReadOnlyList<RunBlock> Blocks);

/// <summary>Receives records in ascending key order.</summary>
public interface IRecordSink
{
    void Add(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, long expireUnixSeconds);
}

/// <summary>
/// Writes a run object under a temporary name beside its target; <see cref="Commit"/> renames it.
/// Records must come in strictly ascending key order (the writer checks).
/// </summary>
public sealed class RunWriter : IRecordSink, IDisposable
{
    private readonly string _path;
    private readonly string _temporaryPath;
    private readonly FileStream _file;
    private readonly int _blockBytes;
    private readonly List<RunBlock> _blocks = [];
    private byte[] _raw;
    private byte[] _compressed;
    private int _rawUsed;
    private int _blockRecords;
    private byte[]? _blockFirst;
    private byte[] _last = new byte[256];
    private int _lastLength = -1;
    private long _records;
    private RunSummary? _summary;
    private bool _committed;

    public RunWriter(string path, int blockBytes = RunFormat.DefaultBlockBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(blockBytes, 64);
        _path = Path.GetFullPath(path);
        _temporaryPath = $"{_path}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        _blockBytes = blockBytes;
        _raw = new byte[blockBytes + 64];
        _compressed = new byte[LZ4Codec.MaximumOutputSize(_raw.Length)];
        Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
        _file = new FileStream(_temporaryPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20);
        Span<byte> header = stackalloc byte[RunFormat.HeaderLength];
        RunFormat.Magic.CopyTo(header);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], RunFormat.Version);
        BinaryPrimitives.WriteUInt32LittleEndian(header[12..], 0);
        _file.Write(header);
    }

    public long Records => _records;

    public void Add(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, long expireUnixSeconds)
    {
        if (_lastLength >= 0 && key.SequenceCompareTo(_last.AsSpan(0, _lastLength)) <= 0)
        {
            throw new InvalidOperationException($"{_path}: keys must be strictly ascending ({ShardConverter.Describe(key)} after {ShardConverter.Describe(_last.AsSpan(0, _lastLength))})");
        }

        var length = 30 + key.Length + value.Length;
        if (_blockRecords > 0 && _rawUsed + length > _blockBytes)
        {
            FlushBlock();
        }

        if (_rawUsed + length > _raw.Length)
        {
            // A record larger than a block makes a block of its own.
            Array.Resize(ref _raw, _rawUsed + length);
            _compressed = new byte[LZ4Codec.MaximumOutputSize(_raw.Length)];
        }

        if (_blockRecords == 0)
        {
            _blockFirst = key.ToArray();
        }

        var target = _raw.AsSpan(_rawUsed);
        var at = RunFormat.WriteVarint(target, (ulong)key.Length);
        key.CopyTo(target[at..]);
        at += key.Length;
        at += RunFormat.WriteVarint(target[at..], (ulong)value.Length);
        value.CopyTo(target[at..]);
        at += value.Length;
        at += RunFormat.WriteVarint(target[at..], (ulong)expireUnixSeconds);
        _rawUsed += at;
        _blockRecords++;
        _records++;
        if (_last.Length < key.Length)
        {
            _last = new byte[Math.Max(key.Length, _last.Length * 2)];
        }

        key.CopyTo(_last);
        _lastLength = key.Length;
    }

    /// <summary>Writes the last block, the index and the footer; the run stays under its temporary name until <see cref="Commit"/>.</summary>
    public RunSummary Finish()
    {
        if (_summary is not null)
        {
            return _summary;
        }

        if (_blockRecords > 0)
        {
            FlushBlock();
        }

        var indexOffset = _file.Position;
        using var index = new MemoryStream();
        Span<byte> scratch = stackalloc byte[37];
        BinaryPrimitives.WriteUInt32LittleEndian(scratch, (uint)_blocks.Count);
        index.Write(scratch[..4]);
        foreach (var block in _blocks)
        {
            BinaryPrimitives.WriteInt64LittleEndian(scratch, block.Offset);
            BinaryPrimitives.WriteInt32LittleEndian(scratch[8..], block.StoredLength);
            BinaryPrimitives.WriteInt32LittleEndian(scratch[12..], block.RawLength);
            BinaryPrimitives.WriteInt32LittleEndian(scratch[16..], block.Records);
            scratch[20] = block.Codec;
            BinaryPrimitives.WriteUInt64LittleEndian(scratch[21..], block.Checksum);
            var length = RunFormat.WriteVarint(scratch[29..], (ulong)block.FirstKey.Length);
            index.Write(scratch[..(29 + length)]);
            index.Write(block.FirstKey);
        }

        var largest = _lastLength >= 0 ? _last.AsSpan(0, _lastLength).ToArray() : [];
        index.Write(scratch[..RunFormat.WriteVarint(scratch, (ulong)largest.Length)]);
        index.Write(largest);
        var indexBytes = index.GetBuffer().AsSpan(0, (int)index.Length);
        var indexChecksum = RunFormat.Checksum(indexBytes);
        _file.Write(indexBytes);

        Span<byte> footer = stackalloc byte[RunFormat.FooterLength];
        BinaryPrimitives.WriteInt64LittleEndian(footer, indexOffset);
        BinaryPrimitives.WriteInt32LittleEndian(footer[8..], indexBytes.Length);
        BinaryPrimitives.WriteInt64LittleEndian(footer[12..], _records);
        BinaryPrimitives.WriteUInt64LittleEndian(footer[20..], indexChecksum);
        BinaryPrimitives.WriteUInt32LittleEndian(footer[28..], RunFormat.Version);
        RunFormat.Magic.CopyTo(footer[32..]);
        _file.Write(footer);
        _file.Flush();
        var smallest = _blocks.Count > 0 ? _blocks[0].FirstKey : [];
        _summary = new RunSummary(_file.Length, _records, indexOffset, indexBytes.Length, indexChecksum, smallest, largest, [.. _blocks]);
        _file.Dispose();
        return _summary;
    }

    public void Commit()
    {
        if (_summary is null)
        {
            throw new InvalidOperationException($"{_path}: commit before finish");
        }

        File.Move(_temporaryPath, _path, overwrite: true);
        _committed = true;
    }

    public void Dispose()
    {
        _file.Dispose();
        if (!_committed)
        {
            File.Delete(_temporaryPath);
        }
    }

    private void FlushBlock()
    {
        var raw = _raw.AsSpan(0, _rawUsed);
        var compressed = LZ4Codec.Encode(raw, _compressed);
        var codec = compressed > 0 && compressed < raw.Length ? RunFormat.CodecLz4 : RunFormat.CodecNone;
        ReadOnlySpan<byte> stored = codec == RunFormat.CodecLz4 ? _compressed.AsSpan(0, compressed) : raw;
        _blocks.Add(new RunBlock(_file.Position, stored.Length, raw.Length, _blockRecords, codec, RunFormat.Checksum(stored), _blockFirst!));
        _file.Write(stored);
        _rawUsed = 0;
        _blockRecords = 0;
    }
}

/// <summary>A run's parsed index: its blocks and largest key, checked against the checksum the map stage recorded.</summary>
public sealed class RunIndex
{
    private RunIndex(IReadOnlyList<RunBlock> blocks, byte[] largest)
    {
        Blocks = blocks;
        Largest = largest;
    }

    public IReadOnlyList<RunBlock> Blocks { get; }

    public byte[] Largest { get; }

    /// <summary>Parses index bytes read at the recorded offset; <paramref name="name"/> names the run object in errors.</summary>
    public static RunIndex Parse(ReadOnlySpan<byte> index, ulong expectedChecksum, long indexOffset, string name)
    {
        if (RunFormat.Checksum(index) != expectedChecksum)
        {
            throw new InvalidDataException($"{name}: run index checksum mismatch (the run object is damaged, truncated or not the one the map stage recorded)");
        }

        var position = 0;
        if (index.Length < 4)
        {
            throw Corrupt(name, "index shorter than its block count");
        }

        var count = BinaryPrimitives.ReadUInt32LittleEndian(index);
        position = 4;
        if (count > index.Length / 30)
        {
            throw Corrupt(name, $"index claims {count} blocks");
        }

        var blocks = new List<RunBlock>((int)count);
        var expectedOffset = (long)RunFormat.HeaderLength;
        byte[]? previousFirst = null;
        for (var i = 0; i < count; i++)
        {
            if (index.Length - position < 29)
            {
                throw Corrupt(name, $"index entry {i} is cut short");
            }

            var entry = index[position..];
            var block = new RunBlock(
                BinaryPrimitives.ReadInt64LittleEndian(entry),
                BinaryPrimitives.ReadInt32LittleEndian(entry[8..]),
                BinaryPrimitives.ReadInt32LittleEndian(entry[12..]),
                BinaryPrimitives.ReadInt32LittleEndian(entry[16..]),
                entry[20],
                BinaryPrimitives.ReadUInt64LittleEndian(entry[21..]),
                []);
            position += 29;
            var firstKey = ReadKey(index, ref position, name);
            if (block.Offset != expectedOffset || block.StoredLength <= 0 || block.RawLength <= 0 || block.Records <= 0 || block.Codec > RunFormat.CodecLz4)
            {
                throw Corrupt(name, $"index entry {i} is inconsistent (offset {block.Offset}, stored {block.StoredLength}, raw {block.RawLength}, records {block.Records}, codec {block.Codec})");
            }

            if (previousFirst is not null && firstKey.AsSpan().SequenceCompareTo(previousFirst) <= 0)
            {
                throw Corrupt(name, $"index entry {i}'s first key is not above the previous block's");
            }

            expectedOffset += block.StoredLength;
            previousFirst = firstKey;
            blocks.Add(block with { FirstKey = firstKey });
        }

        var largest = ReadKey(index, ref position, name);
        if (position != index.Length || expectedOffset != indexOffset)
        {
            throw Corrupt(name, "index does not end where it should");
        }

        return new RunIndex(blocks, largest);
    }

    /// <summary>
    /// The blocks that can hold keys in [<paramref name="lower"/>, <paramref name="upper"/>) (null: unbounded):
    /// from the last block starting at or below the lower bound to the last block starting below the upper one.
    /// </summary>
    public (int First, int Count) BlocksFor(byte[]? lower, byte[]? upper)
    {
        if (Blocks.Count == 0 || (lower is not null && lower.AsSpan().SequenceCompareTo(Largest) > 0))
        {
            return (0, 0);
        }

        var first = lower is null ? 0 : Math.Max(0, LastStartingAtOrBelow(lower, inclusive: true));
        var last = upper is null ? Blocks.Count - 1 : LastStartingAtOrBelow(upper, inclusive: false);
        return last < first ? (first, 0) : (first, last - first + 1);
    }

    /// <summary>Index of the last block whose first key is ≤ (or &lt;) the key; -1 when none is.</summary>
    private int LastStartingAtOrBelow(byte[] key, bool inclusive)
    {
        int low = 0, high = Blocks.Count - 1, found = -1;
        while (low <= high)
        {
            var middle = (low + high) >>> 1;
            var order = Blocks[middle].FirstKey.AsSpan().SequenceCompareTo(key);
            if (order < 0 || (inclusive && order == 0))
            {
                found = middle;
                low = middle + 1;
            }
            else
            {
                high = middle - 1;
            }
        }

        return found;
    }

    private static byte[] ReadKey(ReadOnlySpan<byte> index, ref int position, string name)
    {
        if (!RunFormat.TryReadVarint(index, ref position, out var length) || length > (ulong)(index.Length - position))
        {
            throw Corrupt(name, "a key in the index runs past its end");
        }

        var key = index.Slice(position, (int)length).ToArray();
        position += (int)length;
        return key;
    }

    private static InvalidDataException Corrupt(string name, string what) => new($"{name}: corrupt run index: {what}");
}

/// <summary>A source of unique records in ascending key order, for <see cref="MergedRuns"/>.</summary>
public interface ISortedSource : IDisposable
{
    /// <summary>Position in generation order: among equal keys the highest order wins.</summary>
    int Order { get; }

    ReadOnlySpan<byte> Key { get; }

    ReadOnlySpan<byte> Value { get; }

    long Expire { get; }

    bool MoveNext();
}

/// <summary>
/// Reads the records of a run slice (consecutive blocks fetched with one range GET) that fall in
/// [lower, upper). Every block is checked against its checksum, raw length and record count, and
/// keys must ascend; any mismatch is an <see cref="InvalidDataException"/> naming the run and block.
/// </summary>
public sealed class RunSliceReader : ISortedSource
{
    private readonly string _name;
    private readonly ReadOnlyMemory<byte> _slice;
    private readonly long _sliceOffset;
    private readonly List<RunBlock> _blocks;
    private readonly int _firstBlock;
    private readonly byte[]? _lower;
    private readonly byte[]? _upper;
    private byte[] _raw = [];
    private int _block = -1;
    private int _rawLength;
    private int _position;
    private int _recordsInBlock;
    private int _keyStart;
    private int _keyLength = -1;
    private int _valueStart;
    private int _valueLength;
    private byte[] _previous = new byte[64];
    private int _previousLength = -1;
    private bool _done;

    /// <param name="blocks">The run's blocks; the slice holds <paramref name="count"/> of them from <paramref name="first"/>.</param>
    public RunSliceReader(string name, ReadOnlyMemory<byte> slice, IReadOnlyList<RunBlock> blocks, int first, int count, byte[]? lower, byte[]? upper, int order)
    {
        _name = name;
        _slice = slice;
        _blocks = count == 0 ? [] : blocks.Skip(first).Take(count).ToList();
        _firstBlock = first;
        _sliceOffset = count == 0 ? 0 : blocks[first].Offset;
        _lower = lower;
        _upper = upper;
        Order = order;
        var expected = _blocks.Sum(b => (long)b.StoredLength);
        if (slice.Length != expected)
        {
            throw new InvalidDataException($"{name}: got {slice.Length} bytes of blocks {first}..{first + count - 1}; the index says {expected} (run object truncated?)");
        }
    }

    public int Order { get; }

    public ReadOnlySpan<byte> Key => _raw.AsSpan(_keyStart, _keyLength);

    public ReadOnlySpan<byte> Value => _raw.AsSpan(_valueStart, _valueLength);

    public long Expire { get; private set; }

    /// <summary>Records handed out so far (those in the range).</summary>
    public long RecordsInRange { get; private set; }

    public bool MoveNext()
    {
        while (!_done)
        {
            if (_block < 0 || _position >= _rawLength)
            {
                if (_block >= 0 && _recordsInBlock != _blocks[_block].Records)
                {
                    throw Corrupt($"holds {_recordsInBlock} records; the index says {_blocks[_block].Records}");
                }

                if (++_block >= _blocks.Count)
                {
                    _done = true;
                    return false;
                }

                LoadBlock();
                continue;
            }

            ReadRecord();
            if (_lower is not null && Key.SequenceCompareTo(_lower) < 0)
            {
                continue;
            }

            if (_upper is not null && Key.SequenceCompareTo(_upper) >= 0)
            {
                _done = true;
                return false;
            }

            RecordsInRange++;
            return true;
        }

        return false;
    }

    public void Dispose()
    {
    }

    private void LoadBlock()
    {
        var block = _blocks[_block];
        var stored = _slice.Span.Slice((int)(block.Offset - _sliceOffset), block.StoredLength);
        if (RunFormat.Checksum(stored) != block.Checksum)
        {
            throw Corrupt("checksum mismatch");
        }

        if (_raw.Length < block.RawLength)
        {
            _raw = new byte[Math.Max(block.RawLength, RunFormat.DefaultBlockBytes + 64)];
        }

        if (block.Codec == RunFormat.CodecLz4)
        {
            if (LZ4Codec.Decode(stored, _raw.AsSpan(0, block.RawLength)) != block.RawLength)
            {
                throw Corrupt("does not decompress to its raw length");
            }
        }
        else if (block.StoredLength != block.RawLength)
        {
            throw Corrupt("stored uncompressed with a length other than its raw length");
        }
        else
        {
            stored.CopyTo(_raw);
        }

        _rawLength = block.RawLength;
        _position = 0;
        _recordsInBlock = 0;
    }

    private void ReadRecord()
    {
        var raw = _raw.AsSpan(0, _rawLength);
        if (!RunFormat.TryReadVarint(raw, ref _position, out var keyLength) || keyLength > (ulong)(_rawLength - _position))
        {
            throw Corrupt($"record {_recordsInBlock + 1}: key runs past the block");
        }

        _keyStart = _position;
        _keyLength = (int)keyLength;
        _position += _keyLength;
        if (!RunFormat.TryReadVarint(raw, ref _position, out var valueLength) || valueLength > (ulong)(_rawLength - _position))
        {
            throw Corrupt($"record {_recordsInBlock + 1}: value runs past the block");
        }

        _valueStart = _position;
        _valueLength = (int)valueLength;
        _position += _valueLength;
        if (!RunFormat.TryReadVarint(raw, ref _position, out var expire) || expire > long.MaxValue)
        {
            throw Corrupt($"record {_recordsInBlock + 1}: bad expiry");
        }

        Expire = (long)expire;
        if (_recordsInBlock == 0 && !Key.SequenceEqual(_blocks[_block].FirstKey))
        {
            throw Corrupt("first key differs from the index");
        }

        if (_previousLength >= 0 && Key.SequenceCompareTo(_previous.AsSpan(0, _previousLength)) <= 0)
        {
            throw Corrupt($"record {_recordsInBlock + 1}: keys out of order");
        }

        if (_previous.Length < _keyLength)
        {
            _previous = new byte[Math.Max(_keyLength, _previous.Length * 2)];
        }

        Key.CopyTo(_previous);
        _previousLength = _keyLength;
        _recordsInBlock++;
    }

    private InvalidDataException Corrupt(string what) => new($"{_name}: corrupt run block {_firstBlock + _block}: {what}");
}

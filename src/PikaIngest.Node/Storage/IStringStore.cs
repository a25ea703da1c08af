namespace PikaIngest.Node.Storage;

internal enum StoreStatus
{
    Ok,
    NotFound,
}

/// <summary>Receives a stored value straight from the storage engine's buffer, so a GET can copy it once, into the reply.</summary>
internal interface IValueSink
{
    void Accept(ReadOnlySpan<byte> value, long expireUnixMs);
}

/// <summary>
/// A sink that takes a large value's storage buffer itself, to use it after the read returns: a GET's reply is sent
/// from RocksDB's buffer, so a 512 MiB value is in memory once while it is sent, not also as a reply copy.
/// </summary>
internal interface IPinnedValueSink : IValueSink
{
    /// <summary>Takes <paramref name="value"/>, which it must dispose once done with it.</summary>
    void AcceptPinned(PinnedValue value, long expireUnixMs);
}

internal readonly record struct StoredString(byte[] Value, long ExpireUnixMs);

/// <summary>One page of a SCAN: the cursor to continue from (0 when done) and the live keys found.</summary>
internal sealed record ScanPage(ulong NextCursor, IReadOnlyList<byte[]> Keys);

/// <summary>One key to write as part of an atomic group (MSET, binlog replay).</summary>
internal readonly record struct StringWrite(byte[] Key, byte[] Value, long ExpireUnixMs);

/// <summary>
/// The node's string keyspace. Times are Unix milliseconds; an expiry of 0 means none, and a key
/// whose expiry has passed reads as absent. Writers are serialised by the caller (the node's
/// write gate), which is what makes read-then-write commands such as INCR or SET NX atomic.
/// </summary>
internal interface IStringStore : IDisposable
{
    int Instances { get; }

    StoreStatus Get(ReadOnlySpan<byte> key, long nowMs, IValueSink sink);

    StoreStatus Read(ReadOnlySpan<byte> key, long nowMs, out StoredString value);

    /// <summary>Whether a live key exists, without copying its value.</summary>
    StoreStatus Exists(ReadOnlySpan<byte> key, long nowMs);

    /// <summary>Writes a key; between <see cref="StartBatching"/> and <see cref="StopBatching"/> it is held in a batch instead.</summary>
    void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, long expireUnixMs, long nowMs);

    /// <summary>
    /// From now on <see cref="Put"/> and <see cref="PutMany"/> collect into one RocksDB write batch per instance
    /// (a pipeline of SETs becomes one write, not one per key). Reads do not see batched writes until
    /// <see cref="FlushBatch"/>; only the write-gate holder batches, and it flushes before it reads.
    /// </summary>
    void StartBatching();

    /// <summary>Applies the batched writes and keeps batching.</summary>
    void FlushBatch();

    /// <summary>Applies the batched writes and writes directly again.</summary>
    void StopBatching();

    /// <summary>Writes all keys; each instance's share is one atomic RocksDB batch (or joins the current batch).</summary>
    void PutMany(IReadOnlyList<StringWrite> writes, long nowMs);

    /// <summary>Removes a key; <see cref="StoreStatus.NotFound"/> when it was absent or already expired.</summary>
    StoreStatus Delete(ReadOnlySpan<byte> key, long nowMs);

    /// <summary>
    /// Removes every key of every instance (FLUSHDB, FLUSHALL) in time independent of their number: one range
    /// deletion per instance, then the SST files it covers are dropped whole.
    /// </summary>
    void DeleteAll();

    /// <summary>A live key picked at random (RANDOMKEY), or null when there is none.</summary>
    byte[]? RandomKey(long nowMs);

    /// <summary>Live keys from a cursor; <paramref name="count"/> bounds the keys examined, as in Redis.</summary>
    ScanPage Scan(ulong cursor, int count, Func<byte[], bool>? filter, long nowMs);

    long CountKeys(long nowMs);

    /// <summary>The logical digest of all live keys (see <see cref="Core.Formats.LogicalDigest"/>).</summary>
    string Digest(long nowMs);

    /// <summary>Up to <paramref name="max"/> keys past their expiry, continuing from <paramref name="resume"/> (null: from the start).</summary>
    IReadOnlyList<byte[]> FindExpired(ref ExpiryScanPosition? resume, int max, long nowMs);

    /// <summary>Removes a key only if it is (still) expired; the sweeper calls this holding the write gate.</summary>
    bool DeleteIfExpired(ReadOnlySpan<byte> key, long nowMs);

    /// <summary>
    /// Hands buffered write-ahead-log records to the OS. Writes are visible to readers at once, but their WAL
    /// records wait in RocksDB's buffer until this is called (once per batch of commands, before replying).
    /// </summary>
    void PublishWrites();

    /// <summary>Ingests SST files into one instance in the given order, so a later file wins for the same key.</summary>
    void IngestFiles(int instance, IReadOnlyList<string> paths);

    /// <summary>A consistent copy of every instance as <c>folder/&lt;i&gt;</c> (hard links where possible); the caller holds the gate.</summary>
    void Checkpoint(string folder);

    /// <summary>Swaps in the instances under <paramref name="folder"/> (a full sync's copy); the caller holds the gate.</summary>
    void ReplaceWith(string folder);

    /// <summary>RocksDB's estimate of the number of keys (expired and overwritten ones included), for INFO.</summary>
    long EstimateKeys();

    /// <summary>Every instance's levels, compaction backlog and compaction and write-stall totals, for INFO rocksdb.</summary>
    IReadOnlyList<InstanceStats> GetInstanceStats();

    /// <summary>Native memory the storage engine holds now, for INFO memory and the maxmemory guard.</summary>
    StoreMemory Memory() => default;
}

/// <summary>
/// Bytes RocksDB holds in memory: every instance's memtables (active, immutable and those kept for readers) and the
/// shared block cache (of which pinned: entries in use, which the cache cannot evict).
/// </summary>
internal readonly record struct StoreMemory(long MemTables, long BlockCache, long BlockCachePinned)
{
    public long Total => MemTables + BlockCache;
}

/// <summary>The SST files in one level of an instance's LSM tree and their size on disk.</summary>
internal readonly record struct LevelStats(long Files, long Bytes);

/// <summary>
/// One RocksDB instance as it is now (files per level, index = level; compaction still owed) and totals since the
/// process started (compaction I/O, write stalls), which carry over when a full sync swaps the instance.
/// </summary>
internal sealed record InstanceStats(
    IReadOnlyList<LevelStats> Levels,
    bool CompactionPending,
    long CompactionPendingBytes,
    long RunningCompactions,
    long CompactionReadBytes,
    long CompactionWriteBytes,
    long WriteStallCount,
    long WriteStopCount,
    long WriteStallMicros,
    bool WriteStopped);

/// <summary>Where an incremental expiry scan stopped: an instance and the next encoded key to look at.</summary>
internal sealed record ExpiryScanPosition(int Instance, byte[] NextEncodedKey);

using System.Buffers;
using System.Buffers.Binary;
using PikaIngest.Core.Formats;
using PikaIngest.Node.Memory;
using RocksDbSharp;

namespace PikaIngest.Node.Storage;

/// <summary>
/// Strings in Pika 4's on-disk layout (docs/FORMATS.md §2) across <c>instances</c> RocksDB databases
/// under <c>DATA/db0/&lt;i&gt;</c>, each key in the instance Pika would pick
/// (<see cref="InstanceRouter"/>) — which is what lets converter-built SSTs be ingested as they are.
/// </summary>
internal sealed unsafe class RocksStringStore : IStringStore
{
    private const int StackKeyLimit = 512;
    private const int MaxOpenCursors = 4096;

    /// <summary>
    /// Values from this size go to blob files, and each write of one is flushed from the memtable at once (see
    /// <see cref="PutLarge"/>): below it, values are ordinary SST entries.
    /// </summary>
    public const int LargeValueBytes = LargeBuffers.PooledLimit;

    /// <summary>What <c>--block-cache-mb</c> defaults to.</summary>
    public const int DefaultBlockCacheMb = 256;

    private readonly string _dataFolder;

    /// <summary>How often the expiry sweep reads large (blob) values to find expired ones; reads treat them as absent meanwhile.</summary>
    public static readonly TimeSpan LargeSweepInterval = TimeSpan.FromMinutes(5);

    // Blob values the node reads are at least LargeValueBytes each: a few of the smaller ones stay cached.
    private const ulong BlobCacheBytes = 16UL << 20;

    private static readonly Cache BlobCache = Cache.CreateLru(BlobCacheBytes);

    // One cache for all instances (and for those a full sync reopens), so its size is the node's, not per instance.
    private readonly Cache _blockCache;

    // Every operation holds this for reading; a full sync's swap takes it for writing, so no read is left
    // using an instance it closes (RocksDB must close an instance before another can open its folder).
    private readonly SwapLock _swap = new();
    private RocksDb[] _databases;
    private readonly WriteOptions _writeOptions = new();
    private readonly ReadOptions _readOptions = new();

    /// <summary>Whole-database reads (DBSIZE, DEBUG DIGEST): large readahead, and no eviction of the hot keys from the block cache.</summary>
    private readonly ReadOptions _scanOptions = new ReadOptions().SetFillCache(false).SetReadaheadSize(2 << 20);
    /// <summary>
    /// The expiry sweep's reads: a blob value is not loaded when the iterator reaches it (its value reads as empty), so
    /// a sweep every 100 ms does not read a 512 MiB value each time (seen: RSS swinging by 400 MiB on an idle node).
    /// </summary>
    private readonly ReadOptions _sweepOptions = UnpreparedValues(new ReadOptions().SetFillCache(false));

    // When the sweep next loads blob values to read their expiry (Unix ms), see FindExpired.
    private bool _largeSweep;
    private long _nextLargeSweepMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + (long)LargeSweepInterval.TotalMilliseconds;
    private readonly ScanCursors _cursors = new(MaxOpenCursors);
    private readonly bool[] _unpublished;
    private readonly WriteBatch[] _batches;
    private bool _batching;
    private bool _batched;

    // Totals of the instances a full sync swapped out, so INFO's compaction and stall counters cover the whole process.
    private readonly LifetimeCounters[] _retired;

    private RocksStringStore(string dataFolder, RocksDb[] databases, Cache blockCache)
    {
        _dataFolder = dataFolder;
        _databases = databases;
        _blockCache = blockCache;
        _unpublished = new bool[databases.Length];
        _batches = [.. databases.Select(_ => new WriteBatch())];
        _retired = new LifetimeCounters[databases.Length];
    }

    public int Instances => _databases.Length;

    public static string InstanceFolder(string dataFolder, int instance) =>
        Path.Combine(dataFolder, "db0", instance.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>
    /// Opens (creating when new) the instances; refuses a data folder laid out for another instance count. Their data
    /// blocks share one LRU cache of <paramref name="blockCacheMb"/> MiB.
    /// </summary>
    public static RocksStringStore Open(string dataFolder, int instances, int blockCacheMb = DefaultBlockCacheMb)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(instances, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(blockCacheMb);
        var root = Path.Combine(dataFolder, "db0");
        foreach (var retired in Directory.Exists(dataFolder) ? Directory.GetDirectories(dataFolder, "db0.replaced-*") : [])
        {
            Directory.Delete(retired, recursive: true);
        }

        if (Directory.Exists(root))
        {
            var existing = Directory.GetDirectories(root).Select(Path.GetFileName).Where(n => int.TryParse(n, out _)).Count();
            if (existing != 0 && existing != instances)
            {
                throw new InvalidOperationException(
                    $"{root} holds {existing} instances but --instances is {instances}; keys are routed by instance count, so it cannot change on existing data");
            }
        }

        var blockCache = Cache.CreateLru((ulong)blockCacheMb << 20);
        var databases = OpenInstances(dataFolder, instances, blockCache);

        return new RocksStringStore(dataFolder, databases, blockCache);
    }

    private static RocksDb[] OpenInstances(string dataFolder, int instances, Cache blockCache)
    {
        var databases = new RocksDb[instances];
        try
        {
            for (var i = 0; i < instances; i++)
            {
                var folder = InstanceFolder(dataFolder, i);
                Directory.CreateDirectory(folder);
                databases[i] = RocksDb.Open(CreateOptions(blockCache), folder);
            }
        }
        catch
        {
            foreach (var db in databases)
            {
                db?.Dispose();
            }

            throw;
        }

        return databases;
    }

    public void Checkpoint(string folder)
    {
        using var reading = Reading();
        Directory.CreateDirectory(folder);
        for (var i = 0; i < _databases.Length; i++)
        {
            // No memtable flush (log_size_for_flush = max): the live WAL is copied instead, which holds the same writes (the
            // caller has published them). A flush waits until no write stall is pending, and right after a large ingest
            // L0 is past the slowdown trigger until compaction catches up: the flush then waited minutes, with the
            // caller holding the write gate (a 2.6 GB full sync spent 110 s there before sending a byte).
            using var checkpoint = _databases[i].Checkpoint();
            checkpoint.Save(Path.Combine(folder, i.ToString(System.Globalization.CultureInfo.InvariantCulture)), ulong.MaxValue);
        }
    }

    public void ReplaceWith(string folder)
    {
        _swap.EnterWriteLock();
        try
        {
            ReplaceWithLocked(folder);
        }
        finally
        {
            _swap.ExitWriteLock();
        }
    }

    private void ReplaceWithLocked(string folder)
    {
        var instances = Directory.GetDirectories(folder).Select(Path.GetFileName).Count(n => int.TryParse(n, out _));
        if (instances != _databases.Length)
        {
            throw new InvalidDataException($"the full sync holds {instances} instances; this node has {_databases.Length}");
        }

        foreach (var db in _databases)
        {
            FlushWal(db, sync: true);
        }

        for (var i = 0; i < _databases.Length; i++)
        {
            _retired[i] += LifetimeCountersOf(_databases[i]);
        }

        foreach (var db in _databases)
        {
            db.Dispose();
        }

        // A crash from here on leaves db0 missing or half-moved; the slave's recorded position already says
        // "no history", so it full-syncs again on restart.
        var root = Path.Combine(_dataFolder, "db0");
        var retired = $"{root}.replaced-{DateTime.UtcNow.Ticks}";
        Directory.Move(root, retired);
        Directory.Move(folder, root);
        _databases = OpenInstances(_dataFolder, instances, _blockCache);
        Array.Clear(_unpublished);
        Directory.Delete(retired, recursive: true);
    }

    /// <summary>
    /// Compactions run at the lowest CPU priority (RocksDB's LowerThreadPoolCPUPriority, nice 19 on Linux): the ones
    /// that do come (an ingest of a version 1 manifest, whose shard files overlap in L0; ordinary writes) must not take
    /// the cores from clients, replication or a verification reading the data meanwhile. Flushes keep normal priority.
    /// </summary>
    private static readonly Lazy<bool> CompactionPriorityLowered = new(() =>
    {
        Native.Instance.rocksdb_env_lower_thread_pool_cpu_priority(Native.Instance.rocksdb_create_default_env());
        return true;
    });

    private static DbOptions CreateOptions(Cache blockCache)
    {
        _ = CompactionPriorityLowered.Value;
        var options = new DbOptions();
        // The WAL is written to the OS once per batch of commands (PublishWrites), not once per write:
        // a pipeline of SETs costs one system call, not one per key.
        Native.Instance.rocksdb_options_set_manual_wal_flush(options.Handle, 1);
        // INFO rocksdb's compaction bytes and stall time are statistics tickers. The lowest level that still counts
        // tickers (no histograms, no timers) costs GET and SET a per-core counter increment, not a clock read.
        options.EnableStatistics();
        // Large values live in blob files (RocksDB's integrated BlobDB): a flush writes such a value to a blob file as
        // it is, where an SST would build it into one block of its size and compress that (a 512 MiB value needed
        // another GiB while its memtable was flushed), compaction never rewrites it, and a read fills a buffer of the
        // value's size from the file instead of decompressing a block. The LSM keeps a small reference.
        Native.Instance.rocksdb_options_set_enable_blob_files(options.Handle, 1);
        Native.Instance.rocksdb_options_set_min_blob_size(options.Handle, LargeValueBytes);
        // A blob read is handed out from the blob cache (the read pins the entry) instead of copied once more into the
        // read's own buffer (RocksDB's BlobSource::GetBlob: PinSelf without a cache), and a GET's reply is sent from
        // there (PinnedValue). The cache is small: an entry larger than it lives only while pinned.
        Native.Instance.rocksdb_options_set_blob_cache(options.Handle, BlobCache.Handle);
        // Blobs stay uncompressed: the read then holds the value twice for a moment (BlobFileReader::ReadFromFile's
        // buffer, copied into the cache entry), but LZ4 made the flush hold a third value-sized buffer (write peak
        // 3.0x instead of 2.0x for 512 MiB, bench/memory.sh), and a read of a value that does not compress holds two anyway.
        Native.Instance.rocksdb_options_set_statistics_level(options.Handle, (int)StatisticsLevel.ExceptHistogramOrTimers);
        // The filter is a full one over whole keys, which is what a GET asks (no prefix is ever looked up). Filters are
        // kept on every level, optimize_filters_for_hits notwithstanding: Redis clients GET missing keys routinely, and
        // after an ingest most keys are in the last level, where the filter is what answers a miss without a block read.
        var table = new BlockBasedTableOptions()
            .SetBlockCache(blockCache.Handle)
            .SetFilterPolicy(BloomFilterPolicy.Create(10, false))
            .SetFormatVersion(5);
        return options
            .SetCreateIfMissing(true)
            .IncreaseParallelism(Math.Max(2, Environment.ProcessorCount))
            .SetMaxBackgroundCompactions(2)
            .SetCompression(Compression.Lz4)
            .SetWriteBufferSize(64UL << 20)
            .SetMaxWriteBufferNumber(4)
            // Every level is available to ingests: a batch arrives as disjoint files, which RocksDB puts in the deepest
            // level where they overlap nothing. Dynamic level sizing (RocksDB's default) leaves the levels above the
            // last one unused until compaction fills them, so a batch that overwrites keys of an earlier one fell back
            // to L0 (seen in the 16-shard process test) and was compacted from there; with fixed level targets it
            // lands in the level above the earlier batch.
            .SetLevelCompactionDynamicLevelBytes(false)

            // A manifest of the one-file-per-shard layout (version 1) still puts overlapping files in L0; the defaults
            // (20/36) would stall writes after one such ingest.
            .SetLevel0SlowdownWritesTrigger(64)
            .SetLevel0StopWritesTrigger(128)
            .SetBlockBasedTableFactory(table);
    }

    public StoreStatus Get(ReadOnlySpan<byte> key, long nowMs, IValueSink sink)
    {
        using var reading = Reading();
        var db = _databases[InstanceRouter.Instance(key, _databases.Length)];
        byte[]? rented = null;
        var encoded = EncodeKey(key, stackalloc byte[StackKeyLimit], ref rented);
        try
        {
            // Pinned: a value read from an SST block is used where it lies in the block, not first copied out (a 512 MiB
            // GET then holds the block and the reply, not also a copy between them).
            IntPtr pinned;
            IntPtr error;
            fixed (byte* k = encoded)
            {
                pinned = Native.Instance.rocksdb_get_pinned(db.Handle, _readOptions.Handle, k, (UIntPtr)encoded.Length, out error);
            }

            ThrowOnError(error);
            if (pinned == IntPtr.Zero)
            {
                return StoreStatus.NotFound;
            }

            try
            {
                var value = Native.Instance.rocksdb_pinnableslice_value(pinned, out var length);
                var stored = new ReadOnlySpan<byte>((void*)value, checked((int)length));
                LargeBuffers.NoteLarge(stored.Length);
                var expire = ExpireOf(stored, key);
                if (IsExpired(expire, nowMs))
                {
                    return StoreStatus.NotFound;
                }

                var user = UserValue(stored);
                if (user.Length >= LargeValueBytes && sink is IPinnedValueSink taker)
                {
                    var handed = new PinnedValue(pinned, user, _swap);
                    pinned = IntPtr.Zero;
                    try
                    {
                        taker.AcceptPinned(handed, expire);
                    }
                    catch
                    {
                        // Not taken: left behind it would hold the swap lock, and a full sync would wait for ever.
                        ((IDisposable)handed).Dispose();
                        throw;
                    }
                }
                else
                {
                    sink.Accept(user, expire);
                }

                return StoreStatus.Ok;
            }
            finally
            {
                if (pinned != IntPtr.Zero)
                {
                    Native.Instance.rocksdb_pinnableslice_destroy(pinned);
                }
            }
        }
        finally
        {
            Return(rented);
        }
    }

    public StoreStatus Read(ReadOnlySpan<byte> key, long nowMs, out StoredString value)
    {
        var sink = new CopySink();
        var status = Get(key, nowMs, sink);
        value = sink.Value;
        return status;
    }

    public void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, long expireUnixMs, long nowMs)
    {
        using var reading = Reading();
        var instance = InstanceRouter.Instance(key, _databases.Length);
        byte[]? rentedKey = null;
        var encodedKey = EncodeKey(key, stackalloc byte[StackKeyLimit], ref rentedKey);
        try
        {
            if (value.Length >= LargeValueBytes)
            {
                PutLarge(instance, encodedKey, value, expireUnixMs, nowMs);
                return;
            }

            var valueBuffer = LargeBuffers.Rent(PikaV4Encoding.Instance.EncodedValueLength(value.Length));
            try
            {
                var length = PikaV4Encoding.EncodeValueMs(value, expireUnixMs, nowMs, valueBuffer);
                if (_batching)
                {
                    _batches[instance].Put(encodedKey, valueBuffer.AsSpan(0, length));
                    _batched = true;
                }
                else
                {
                    _databases[instance].Put(encodedKey, valueBuffer.AsSpan(0, length), writeOptions: _writeOptions);
                    _unpublished[instance] = true;
                }
            }
            finally
            {
                LargeBuffers.Return(valueBuffer);
            }
        }
        finally
        {
            Return(rentedKey);
        }
    }

    /// <summary>
    /// A large value goes into a batch of its own in three parts (type byte, value, suffix), so the encoded value is
    /// never built here: RocksDB's batch is the one copy. A flush of the instance's memtable is then started (the value
    /// goes to a blob file as it is), so the memtable does not hold the value until 64 MiB of other writes fill it (a
    /// DEL of the key alone would free nothing there). It runs in the background: waiting for it kept the memtable
    /// alive while the binlog framed the value, a third copy at once.
    /// </summary>
    private void PutLarge(int instance, ReadOnlySpan<byte> encodedKey, ReadOnlySpan<byte> value, long expireUnixMs, long nowMs)
    {
        // Writes batched before it must reach RocksDB first, in order.
        FlushBatch();
        Span<byte> ends = stackalloc byte[PikaV4Encoding.Instance.EncodedValueLength(0)];
        PikaV4Encoding.EncodeValueMs([], expireUnixMs, nowMs, ends);
        using var batch = new WriteBatch();
        fixed (byte* k = encodedKey)
        fixed (byte* v = value)
        fixed (byte* e = ends)
        {
            IntPtr[] keys = [(IntPtr)k];
            UIntPtr[] keyLengths = [(UIntPtr)encodedKey.Length];
            IntPtr[] parts = [(IntPtr)e, (IntPtr)v, (IntPtr)(e + 1)];
            UIntPtr[] partLengths = [(UIntPtr)1, (UIntPtr)value.Length, (UIntPtr)(ends.Length - 1)];
            Native.Instance.rocksdb_writebatch_putv(batch.Handle, 1, keys, keyLengths, parts.Length, parts, partLengths);
        }

        var db = _databases[instance];
        db.Write(batch, _writeOptions);
        _unpublished[instance] = true;
        db.Flush(new FlushOptions().SetWaitForFlush(false));
        LargeBuffers.NoteLarge(value.Length);
    }

    public void PutMany(IReadOnlyList<StringWrite> writes, long nowMs)
    {
        using var reading = Reading();
        if (_batching)
        {
            foreach (var write in writes)
            {
                Put(write.Key, write.Value, write.ExpireUnixMs, nowMs);
            }

            return;
        }

        var batches = new WriteBatch?[_databases.Length];
        try
        {
            foreach (var write in writes)
            {
                var instance = InstanceRouter.Instance(write.Key, _databases.Length);
                var batch = batches[instance] ??= new WriteBatch();
                var value = new byte[PikaV4Encoding.Instance.EncodedValueLength(write.Value.Length)];
                PikaV4Encoding.EncodeValueMs(write.Value, write.ExpireUnixMs, nowMs, value);
                batch.Put(PikaV4Encoding.Instance.EncodeKey(write.Key), value);
            }

            for (var i = 0; i < batches.Length; i++)
            {
                if (batches[i] is { } batch)
                {
                    _databases[i].Write(batch, _writeOptions);
                    _unpublished[i] = true;
                }
            }
        }
        finally
        {
            foreach (var batch in batches)
            {
                batch?.Dispose();
            }
        }
    }

    public StoreStatus Delete(ReadOnlySpan<byte> key, long nowMs)
    {
        using var reading = Reading();
        var status = Exists(key, nowMs);
        RemoveEncoded(key);
        return status;
    }

    public StoreStatus Exists(ReadOnlySpan<byte> key, long nowMs) => Get(key, nowMs, NullSink.Instance);

    private void RemoveEncoded(ReadOnlySpan<byte> key)
    {
        var instance = InstanceRouter.Instance(key, _databases.Length);
        var db = _databases[instance];
        _unpublished[instance] = true;
        byte[]? rented = null;
        var encoded = EncodeKey(key, stackalloc byte[StackKeyLimit], ref rented);
        try
        {
            db.Remove(encoded, writeOptions: _writeOptions);
        }
        finally
        {
            Return(rented);
        }
    }

    public bool DeleteIfExpired(ReadOnlySpan<byte> key, long nowMs)
    {
        using var reading = Reading();
        var probe = new ExpirySink();
        if (Get(key, long.MinValue, probe) != StoreStatus.Ok || !IsExpired(probe.ExpireUnixMs, nowMs))
        {
            return false;
        }

        RemoveEncoded(key);
        return true;
    }

    // Every stored key starts with 8 zero bytes (Pika 4's reserved prefix), so [empty, 00×7 01) holds them all.
    private static readonly byte[] AllKeysEnd = [0, 0, 0, 0, 0, 0, 0, 1];

    public void DeleteAll()
    {
        using var reading = Reading();
        for (var i = 0; i < _databases.Length; i++)
        {
            // The range tombstone makes the deletion atomic and logged in the WAL; dropping the files it covers
            // frees their space now instead of at the next compaction, without reading or rewriting them.
            using (var batch = new WriteBatch())
            {
                batch.DeleteRange([], 0, AllKeysEnd, (ulong)AllKeysEnd.Length);
                _databases[i].Write(batch, _writeOptions);
            }

            _unpublished[i] = true;
            fixed (byte* end = AllKeysEnd)
            {
                Native.Instance.rocksdb_delete_file_in_range(_databases[i].Handle, end, UIntPtr.Zero, end, (UIntPtr)AllKeysEnd.Length, out var error);
                ThrowOnError(error);
            }
        }
    }

    private const int RandomKeyNeighbours = 16;

    public byte[]? RandomKey(long nowMs)
    {
        using var reading = Reading();
        var examined = 0;
        var start = Random.Shared.Next(_databases.Length);
        for (var step = 0; step < _databases.Length; step++)
        {
            using var iterator = _databases[(start + step) % _databases.Length].NewIterator(readOptions: _readOptions);
            iterator.SeekToLast();
            if (!iterator.Valid())
            {
                continue;
            }

            var last = iterator.GetKeySpan().ToArray();
            iterator.SeekToFirst();
            iterator.Seek(RandomKeyBetween(iterator.GetKeySpan(), last));

            // One of the next live keys after a random point between the first and last keys (wrapping once): every key
            // can be picked without counting them. Keys after a wide gap in the key space are likelier; taking one of
            // several neighbours at random spreads that (Redis's own pick is uniform per hash bucket, not per key).
            var candidates = new List<byte[]>(RandomKeyNeighbours);
            var wrapped = false;
            while (candidates.Count < RandomKeyNeighbours && examined++ < 10_000)
            {
                if (!iterator.Valid())
                {
                    if (wrapped)
                    {
                        break;
                    }

                    wrapped = true;
                    iterator.SeekToFirst();
                    continue;
                }

                if (wrapped && candidates.Count > 0 && iterator.GetKeySpan().SequenceEqual(candidates[0]))
                {
                    break;
                }

                if (!IsExpired(ExpireOf(iterator.GetValueSpan(), iterator.GetKeySpan()), nowMs))
                {
                    candidates.Add(iterator.GetKeySpan().ToArray());
                }

                iterator.Next();
            }

            if (candidates.Count > 0)
            {
                return PikaV4Encoding.DecodeKey(candidates[Random.Shared.Next(candidates.Count)]);
            }
        }

        return null;
    }

    /// <summary>A key uniformly placed between two keys: their common prefix, then a random 8-byte point between where they differ.</summary>
    private static byte[] RandomKeyBetween(ReadOnlySpan<byte> first, ReadOnlySpan<byte> last)
    {
        var common = first.CommonPrefixLength(last);
        Span<byte> low = stackalloc byte[8];
        Span<byte> high = stackalloc byte[8];
        low.Clear();
        high.Clear();
        first[common..][..Math.Min(8, first.Length - common)].CopyTo(low);
        last[common..][..Math.Min(8, last.Length - common)].CopyTo(high);
        var from = BinaryPrimitives.ReadUInt64BigEndian(low);
        var to = BinaryPrimitives.ReadUInt64BigEndian(high);
        var point = to > from ? from + (ulong)(Random.Shared.NextDouble() * (to - from)) : from;
        var key = new byte[common + 8];
        first[..common].CopyTo(key);
        BinaryPrimitives.WriteUInt64BigEndian(key.AsSpan(common), point);
        return key;
    }

    public ScanPage Scan(ulong cursor, int count, Func<byte[], bool>? filter, long nowMs)
    {
        using var reading = Reading();
        var (instance, from) = cursor == 0 ? (0, null) : _cursors.Take(cursor) ?? (0, null);
        var keys = new List<byte[]>();
        var examined = 0;
        while (instance < _databases.Length)
        {
            using var iterator = IterateFrom(instance, from);

            for (; iterator.Valid(); iterator.Next())
            {
                if (examined == count)
                {
                    var next = _cursors.Add(instance, iterator.GetKeySpan().ToArray());
                    return new ScanPage(next, keys);
                }

                examined++;
                var value = iterator.GetValueSpan();
                var userKey = PikaV4Encoding.DecodeKey(iterator.GetKeySpan());
                if (!IsExpired(ExpireOf(value, userKey), nowMs) && (filter is null || filter(userKey)))
                {
                    keys.Add(userKey);
                }
            }

            instance++;
            from = null;
        }

        return new ScanPage(0, keys);
    }

    /// <summary>An iterator over one instance, at <paramref name="from"/> (an encoded key) or at its first key.</summary>
    private Iterator IterateFrom(int instance, byte[]? from, ReadOptions? options = null)
    {
        var iterator = _databases[instance].NewIterator(readOptions: options ?? _readOptions);
        if (from is null)
        {
            iterator.SeekToFirst();
        }
        else
        {
            iterator.Seek(from);
        }

        return iterator;
    }

    public long CountKeys(long nowMs)
    {
        using var reading = Reading();
        var live = new long[_databases.Length];
        Parallel.For(0, _databases.Length, instance =>
        {
            using var iterator = _databases[instance].NewIterator(readOptions: _scanOptions);
            for (iterator.SeekToFirst(); iterator.Valid(); iterator.Next())
            {
                if (!IsExpired(ExpireOf(iterator.GetValueSpan(), iterator.GetKeySpan()), nowMs))
                {
                    live[instance]++;
                }
            }
        });
        return live.Sum();
    }

    public string Digest(long nowMs)
    {
        using var reading = Reading();
        var partial = new LogicalDigest[_databases.Length];
        // Instances are independent and the digest is a sum: each is read by its own thread.
        Parallel.For(0, _databases.Length, instance =>
        {
            var digest = partial[instance] = new LogicalDigest();
            using var iterator = _databases[instance].NewIterator(readOptions: _scanOptions);
            for (iterator.SeekToFirst(); iterator.Valid(); iterator.Next())
            {
                var stored = iterator.GetValueSpan();
                var expire = ExpireOf(stored, iterator.GetKeySpan());
                if (!IsExpired(expire, nowMs))
                {
                    digest.Add(PikaV4Encoding.DecodeKey(iterator.GetKeySpan()), UserValue(stored), expire);
                }
            }
        });
        var total = new LogicalDigest();
        foreach (var digest in partial)
        {
            total.Merge(digest);
        }

        return total.ToHex();
    }

    public IReadOnlyList<byte[]> FindExpired(ref ExpiryScanPosition? resume, int max, long nowMs)
    {
        using var reading = Reading();
        var found = new List<byte[]>();
        var instance = resume?.Instance ?? 0;
        var from = resume?.NextEncodedKey;
        var budget = max * 16;
        // A round through all keys loads the blob values (each one value-sized read) only every LargeSweepInterval, as
        // Pika removes expired strings only when compaction reaches them.
        if (resume is null)
        {
            _largeSweep = nowMs >= _nextLargeSweepMs;
            if (_largeSweep)
            {
                _nextLargeSweepMs = nowMs + (long)LargeSweepInterval.TotalMilliseconds;
            }
        }

        while (instance < _databases.Length)
        {
            using var iterator = IterateFrom(instance, from, _sweepOptions);

            for (; iterator.Valid(); iterator.Next())
            {
                if (found.Count == max || budget-- == 0)
                {
                    resume = new ExpiryScanPosition(instance, iterator.GetKeySpan().ToArray());
                    return found;
                }

                var key = iterator.GetKeySpan();
                var value = iterator.GetValueSpan();
                // Every stored value holds at least its type byte and suffix: an empty one is a blob not loaded.
                var expired = value.IsEmpty
                    ? _largeSweep && IsExpiredLarge(PikaV4Encoding.DecodeKey(key), nowMs)
                    : IsExpired(ExpireOf(value, key), nowMs);
                if (expired)
                {
                    found.Add(PikaV4Encoding.DecodeKey(key));
                }
            }

            instance++;
            from = null;
        }

        resume = null;
        return found;
    }

    public void IngestFiles(int instance, IReadOnlyList<string> paths)
    {
        using var reading = Reading();
        // move_files hard-links the staged files (same volume), falling back to a copy; RocksDB
        // assigns overlapping files increasing sequence numbers in list order, so later files win.
        var options = new IngestExternalFileOptions().SetMoveFiles(true);
        _databases[instance].IngestExternalFiles([.. paths], options);
    }

    public void StartBatching() => _batching = true;

    public void FlushBatch()
    {
        using var reading = Reading();
        if (!_batched)
        {
            return;
        }

        _batched = false;
        for (var i = 0; i < _batches.Length; i++)
        {
            if (_batches[i].Count() > 0)
            {
                try
                {
                    _databases[i].Write(_batches[i], _writeOptions);
                }
                finally
                {
                    _batches[i].Clear();
                }

                _unpublished[i] = true;
            }
        }
    }

    public void StopBatching()
    {
        try
        {
            FlushBatch();
        }
        finally
        {
            _batching = false;
        }
    }

    public void PublishWrites()
    {
        using var reading = Reading();
        for (var i = 0; i < _databases.Length; i++)
        {
            if (_unpublished[i])
            {
                _unpublished[i] = false;
                FlushWal(_databases[i], sync: false);
            }
        }
    }

    private static void FlushWal(RocksDb db, bool sync)
    {
        Native.Instance.rocksdb_flush_wal(db.Handle, sync ? (byte)1 : (byte)0, out var error);
        ThrowOnError(error);
    }

    public long EstimateKeys()
    {
        using var reading = Reading();
        return _databases.Sum(db => long.TryParse(db.GetProperty("rocksdb.estimate-num-keys"), out var keys) ? keys : 0);
    }

    public IReadOnlyList<InstanceStats> GetInstanceStats()
    {
        using var reading = Reading();
        var stats = new InstanceStats[_databases.Length];
        for (var i = 0; i < stats.Length; i++)
        {
            var db = _databases[i];
            var lifetime = _retired[i] + LifetimeCountersOf(db);
            stats[i] = new InstanceStats(
                LevelsOf(db),
                IntProperty(db, "rocksdb.compaction-pending") != 0,
                IntProperty(db, "rocksdb.estimate-pending-compaction-bytes"),
                IntProperty(db, "rocksdb.num-running-compactions"),
                lifetime.CompactionReadBytes,
                lifetime.CompactionWriteBytes,
                lifetime.WriteStallCount,
                lifetime.WriteStopCount,
                lifetime.WriteStallMicros,
                IntProperty(db, "rocksdb.is-write-stopped") != 0);
        }

        return stats;
    }

    public StoreMemory Memory()
    {
        using var reading = Reading();
        return new StoreMemory(
            _databases.Sum(db => IntProperty(db, "rocksdb.size-all-mem-tables")),
            (long)Native.Instance.rocksdb_cache_get_usage(_blockCache.Handle),
            (long)Native.Instance.rocksdb_cache_get_pinned_usage(_blockCache.Handle));
    }

    /// <summary>
    /// Files and bytes per level from the column family's metadata: one call gives both, from one version of the tree
    /// and exact (rocksdb.num-files-at-level&lt;N&gt; has no bytes, and rocksdb.levelstats rounds them to MB).
    /// </summary>
    private static LevelStats[] LevelsOf(RocksDb db)
    {
        var metadata = Native.Instance.rocksdb_get_column_family_metadata(db.Handle);
        try
        {
            var levels = new LevelStats[(int)Native.Instance.rocksdb_column_family_metadata_get_level_count(metadata)];
            for (var i = 0; i < levels.Length; i++)
            {
                var level = Native.Instance.rocksdb_column_family_metadata_get_level_metadata(metadata, (UIntPtr)i);
                try
                {
                    levels[i] = new LevelStats(
                        (long)Native.Instance.rocksdb_level_metadata_get_file_count(level),
                        (long)Native.Instance.rocksdb_level_metadata_get_size(level));
                }
                finally
                {
                    Native.Instance.rocksdb_level_metadata_destroy(level);
                }
            }

            return levels;
        }
        finally
        {
            Native.Instance.rocksdb_column_family_metadata_destroy(metadata);
        }
    }

    /// <summary>
    /// Compaction I/O and write stalls since the instance was opened. Bytes and stall time are the statistics tickers
    /// COMPACT_READ_BYTES, COMPACT_WRITE_BYTES and STALL_MICROS, exact to the byte and microsecond. They are looked up
    /// by name in the statistics text because the C API's ticker getter takes the C++ enum's number, which moves
    /// between RocksDB releases. rocksdb.cfstats' "Cumulative compaction" line would not do: it is in GB to two
    /// decimals, so an ingest's compaction of a few MB reads 0.00. Stall counts exist only as the text of
    /// rocksdb.cf-write-stall-stats (RocksDB counts a stall each time it re-evaluates the condition, not per write).
    /// </summary>
    private static LifetimeCounters LifetimeCountersOf(RocksDb db)
    {
        const string StatisticsProperty = "rocksdb.options-statistics";
        const string StallsProperty = "rocksdb.cf-write-stall-stats";
        var statistics = "\n" + db.GetProperty(StatisticsProperty);
        var stalls = db.GetProperty(StallsProperty);
        var stops = CountAfter(stalls, " total-stops: ", StallsProperty);
        return new LifetimeCounters(
            CountAfter(statistics, "\nrocksdb.compact.read.bytes COUNT : ", StatisticsProperty),
            CountAfter(statistics, "\nrocksdb.compact.write.bytes COUNT : ", StatisticsProperty),
            CountAfter(stalls, " total-delays: ", StallsProperty) + stops,
            stops,
            CountAfter(statistics, "\nrocksdb.stall.micros COUNT : ", StatisticsProperty));
    }

    private static long CountAfter(string? text, string label, string property)
    {
        var at = text?.IndexOf(label, StringComparison.Ordinal) ?? -1;
        if (at < 0)
        {
            throw new InvalidDataException($"RocksDB's {property} has no '{label.Trim()}'");
        }

        var digits = text.AsSpan(at + label.Length);
        var end = digits.IndexOfAnyExceptInRange('0', '9');
        return long.Parse(end < 0 ? digits : digits[..end], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static long IntProperty(RocksDb db, string name)
    {
        ulong value;
        if (Native.Instance.rocksdb_property_int(db.Handle, name, (IntPtr)(&value)) != 0)
        {
            throw new InvalidOperationException($"RocksDB has no integer property {name}");
        }

        return checked((long)value);
    }

    /// <summary>Whether a large value has expired, read as a GET reads it (pinned, not copied).</summary>
    private bool IsExpiredLarge(byte[] key, long nowMs)
    {
        var probe = new ExpirySink();
        return Get(key, long.MinValue, probe) == StoreStatus.Ok && IsExpired(probe.ExpireUnixMs, nowMs);
    }

    private static ReadOptions UnpreparedValues(ReadOptions options)
    {
        Native.Instance.rocksdb_readoptions_set_allow_unprepared_value(options.Handle, 1);
        return options;
    }

    private ReadScope Reading()
    {
        _swap.EnterReadLock();
        return new ReadScope(_swap);
    }

    public void Dispose()
    {
        foreach (var db in _databases)
        {
            FlushWal(db, sync: true);
            db.Dispose();
        }

        foreach (var batch in _batches)
        {
            batch.Dispose();
        }
    }

    private static bool IsExpired(long expireUnixMs, long nowMs) => expireUnixMs != 0 && nowMs > expireUnixMs;

    private static long ExpireOf(ReadOnlySpan<byte> stored, ReadOnlySpan<byte> keyForErrors)
    {
        if (stored.Length < 1 + PikaV4Encoding.ValueSuffixLength || stored[0] != PikaV4Encoding.StringType)
        {
            throw new InvalidDataException(
                $"stored value of key {Convert.ToHexString(keyForErrors)} is not a pika-v4 string ({stored.Length} bytes)");
        }

        return PikaV4Encoding.FromStoredTime(BinaryPrimitives.ReadUInt64LittleEndian(stored[^8..]));
    }

    private static ReadOnlySpan<byte> UserValue(ReadOnlySpan<byte> stored) => stored[1..^PikaV4Encoding.ValueSuffixLength];

    private static ReadOnlySpan<byte> EncodeKey(ReadOnlySpan<byte> key, Span<byte> stack, ref byte[]? rented)
    {
        var needed = PikaV4Encoding.Instance.MaxEncodedKeyLength(key.Length);
        var buffer = needed <= stack.Length ? stack : (rented = ArrayPool<byte>.Shared.Rent(needed));
        var length = PikaV4Encoding.Instance.EncodeKey(key, buffer);
        return buffer[..length];
    }

    private static void Return(byte[]? rented)
    {
        if (rented is not null)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private static void ThrowOnError(IntPtr error)
    {
        if (error != IntPtr.Zero)
        {
            throw new RocksDbException(error);
        }
    }

    private sealed class CopySink : IValueSink
    {
        public StoredString Value { get; private set; }

        public void Accept(ReadOnlySpan<byte> value, long expireUnixMs)
        {
            LargeBuffers.NoteLarge(value.Length);
            Value = new StoredString(value.ToArray(), expireUnixMs);
        }
    }

    private sealed class ExpirySink : IValueSink
    {
        public long ExpireUnixMs { get; private set; }

        public void Accept(ReadOnlySpan<byte> value, long expireUnixMs) => ExpireUnixMs = expireUnixMs;
    }

    private sealed class NullSink : IValueSink
    {
        public static readonly NullSink Instance = new();

        public void Accept(ReadOnlySpan<byte> value, long expireUnixMs)
        {
        }
    }

    private readonly record struct LifetimeCounters(
        long CompactionReadBytes, long CompactionWriteBytes, long WriteStallCount, long WriteStopCount, long WriteStallMicros)
    {
        public static LifetimeCounters operator +(LifetimeCounters a, LifetimeCounters b) => new(
            a.CompactionReadBytes + b.CompactionReadBytes,
            a.CompactionWriteBytes + b.CompactionWriteBytes,
            a.WriteStallCount + b.WriteStallCount,
            a.WriteStopCount + b.WriteStopCount,
            a.WriteStallMicros + b.WriteStallMicros);
    }

    private readonly ref struct ReadScope(SwapLock swap)
    {
        public void Dispose() => swap.ExitReadLock();
    }
}

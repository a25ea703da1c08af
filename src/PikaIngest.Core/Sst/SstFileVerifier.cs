using System.Buffers.Binary;
using System.Text;
using PikaIngest.Core.Formats;

namespace PikaIngest.Core.Sst;

/// <summary>
/// What a manifest (or the INGEST_SST item made from it) says one staged SST is. Null members were not recorded
/// (an item written before they were) and are not compared.
/// </summary>
/// <param name="Key">The file's object key, which errors name.</param>
/// <param name="Instance">The instance the file is ingested into: every key must route there.</param>
/// <param name="Entries">Its number of records.</param>
/// <param name="SmallestKey">Its smallest user key (not the stored RocksDB key).</param>
/// <param name="LargestKey">Its largest user key.</param>
/// <param name="Disjoint">
/// A range file (manifest version 2): no two such files of one instance may share a key. Files of a version 1
/// manifest may overlap by design (a later shard wins), so they are not compared.
/// </param>
public sealed record ExpectedSst(string Key, int Instance, long? Entries, byte[]? SmallestKey, byte[]? LargestKey, bool Disjoint)
{
    /// <summary>From a manifest's (or an INGEST_SST item's) members, whose key bounds are base64.</summary>
    /// <exception cref="InvalidDataException">A bound is not base64: named with the file.</exception>
    public static ExpectedSst FromRecorded(string key, int instance, long? entries, string? smallestKey, string? largestKey, bool disjoint) =>
        new(key, instance, entries, Bound(key, smallestKey), Bound(key, largestKey), disjoint);

    private static byte[]? Bound(string key, string? base64)
    {
        try
        {
            return base64 is null ? null : Convert.FromBase64String(base64);
        }
        catch (FormatException)
        {
            throw new InvalidDataException($"file {key}: key bound '{base64}' is not base64");
        }
    }
}

/// <summary>
/// Reads every staged SST of a batch in full before any instance takes one, so a file that is damaged, of another
/// format, or filed under the wrong instance is refused while nothing is touched: pika-node's INGEST_S3, a slave's
/// replay of INGEST_SST and <c>pika-ingest apply</c> all call this one check.
/// </summary>
/// <remarks>
/// <para>RocksDB's C API has no SstFileReader, so each file is hard-linked into a throwaway database on the same
/// volume and ingested there (the staged name is untouched; global sequence numbers are refused, so RocksDB never
/// writes into the file: a file ingested into an empty database needs none). Opening it reads and checksums the
/// footer, index and meta blocks; an iterator with <c>verify_checksums</c> then reads every data block, checking its
/// checksum and decompressing it.</para>
/// <para>On each record: keys strictly ascending, the stored key of the target format, the value's layout, and the
/// instance its routing key belongs to (CRC-32 of the hash tag, decoded from the stored key into a reused buffer).
/// Then the table properties against the manifest: entries, smallest and largest key, comparator, compression, no
/// deletions or merge operands. Last, the range files of each instance must not overlap.</para>
/// </remarks>
public static unsafe class SstFileVerifier
{
    /// <summary>Pika stores strings with RocksDB's default comparator.</summary>
    public const string BytewiseComparator = "leveldb.BytewiseComparator";

    /// <summary>What the SST stage writes (<see cref="SstCompression"/>); a file compressed otherwise was not made by it.</summary>
    private static readonly HashSet<string> KnownCompressions = new(StringComparer.Ordinal) { "NoCompression", "LZ4", "ZSTD" };

    // table/table_properties.cc: records a batch file must not hold.
    private static readonly string[] ForbiddenCounts = ["rocksdb.deleted.keys", "rocksdb.merge.operands", "rocksdb.num.range-deletions"];

    private const int MaxShownKeyBytes = 64;

    /// <summary>Verifies every file (<paramref name="paths"/>[i] is <paramref name="files"/>[i]), files in parallel.</summary>
    /// <param name="work">A folder on the volume of the staged files, for the throwaway databases; removed again.</param>
    /// <exception cref="InvalidDataException">A file is not what the manifest says: the message names the batch, the file and what differs.</exception>
    /// <exception cref="IOException">The scratch databases cannot be made.</exception>
    public static void Verify(string batchId, TargetFormat format, int instances, IReadOnlyList<ExpectedSst> files, IReadOnlyList<string> paths, string work, CancellationToken cancellation = default)
    {
        if (files.Count != paths.Count)
        {
            throw new ArgumentException($"{files.Count} files but {paths.Count} paths", nameof(paths));
        }

        var found = new FoundRange[files.Count];
        Directory.CreateDirectory(work);
        try
        {
            var parallel = new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = cancellation };
            Parallel.For(0, files.Count, parallel, i => found[i] = VerifyFile(batchId, format, instances, files[i], paths[i], Path.Combine(work, i.ToString(System.Globalization.CultureInfo.InvariantCulture))));
        }
        catch (AggregateException e)
        {
            // One line for the first file found wrong (or the first failure to read at all), not a list.
            var first = e.InnerExceptions.OfType<InvalidDataException>().FirstOrDefault() ?? e.InnerExceptions[0];
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(first).Throw();
            throw;
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }

        CheckDisjoint(batchId, files, found);
    }

    private readonly record struct FoundRange(byte[] Smallest, byte[] Largest);

    private static void CheckDisjoint(string batchId, IReadOnlyList<ExpectedSst> files, FoundRange[] found)
    {
        foreach (var instance in files.Where(f => f.Disjoint).GroupBy(f => f.Instance))
        {
            var ordered = files.Select((file, i) => (file, range: found[i]))
                .Where(x => x.file.Disjoint && x.file.Instance == instance.Key)
                .OrderBy(x => x.range.Smallest, BytewiseComparer.Instance)
                .ToList();
            for (var i = 1; i < ordered.Count; i++)
            {
                if (ordered[i].range.Smallest.AsSpan().SequenceCompareTo(ordered[i - 1].range.Largest) <= 0)
                {
                    throw new InvalidDataException(
                        $"batch {batchId}: file {ordered[i].file.Key} overlaps file {ordered[i - 1].file.Key} of instance {instance.Key} " +
                        $"(its smallest key {Show(ordered[i].range.Smallest)} is not above the other's largest {Show(ordered[i - 1].range.Largest)}); the range files of an instance must be disjoint");
                }
            }
        }
    }

    private static FoundRange VerifyFile(string batchId, TargetFormat format, int instances, ExpectedSst expected, string path, string work)
    {
        InvalidDataException Mismatch(string what) => new($"batch {batchId}: file {expected.Key}: {what}");

        SstTableProperties properties;
        try
        {
            properties = SstTableProperties.Read(path);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"batch {batchId}: file {expected.Key}: not a readable SST file ({e.Message})", e);
        }

        if (properties.ComparatorName != BytewiseComparator)
        {
            throw Mismatch($"its keys are ordered by comparator '{properties.ComparatorName}'; Pika's strings need {BytewiseComparator}");
        }

        foreach (var count in ForbiddenCounts)
        {
            if (properties.All.TryGetValue(count, out var raw) && raw.AsSpan().ContainsAnyExcept((byte)0))
            {
                throw Mismatch($"it holds {count} records; a batch file holds only values");
            }
        }

        if (properties.CompressionName.Split(',').FirstOrDefault(c => !KnownCompressions.Contains(c)) is { } compression)
        {
            throw Mismatch($"compression '{compression}' is not one the SST stage writes ({string.Join(", ", KnownCompressions)})");
        }

        if (expected.Entries is { } entries && properties.NumEntries != entries)
        {
            throw Mismatch($"its table properties count {properties.NumEntries} entries; the manifest says {entries}");
        }

        var scan = Scan(format, instances, expected, path, work, Mismatch);
        if (scan.Entries != properties.NumEntries)
        {
            throw Mismatch($"it yields {scan.Entries} records; its table properties count {properties.NumEntries}");
        }

        if (expected.SmallestKey is { } smallest && !smallest.AsSpan().SequenceEqual(scan.Smallest))
        {
            throw Mismatch($"its smallest key is {Show(scan.Smallest)}; the manifest says {Show(smallest)}");
        }

        if (expected.LargestKey is { } largest && !largest.AsSpan().SequenceEqual(scan.Largest))
        {
            throw Mismatch($"its largest key is {Show(scan.Largest)}; the manifest says {Show(largest)}");
        }

        return new FoundRange(scan.Smallest, scan.Largest);
    }

    private readonly record struct ScanResult(long Entries, byte[] Smallest, byte[] Largest);

    /// <summary>Ingests the file into a throwaway database and reads every record with checksums verified.</summary>
    private static ScanResult Scan(TargetFormat format, int instances, ExpectedSst expected, string path, string work, Func<string, InvalidDataException> mismatch)
    {
        Directory.CreateDirectory(work);
        var link = Path.Combine(work, "verify.sst");
        if (Storage.HardLinks.TryCreate(Path.GetFullPath(path), link) != Storage.HardLinkOutcome.Created)
        {
            File.Copy(path, link);
        }

        var options = RocksNative.OptionsCreate();
        var ingest = RocksNative.IngestOptionsCreate();
        var read = RocksNative.ReadOptionsCreate();
        var db = IntPtr.Zero;
        var iterator = IntPtr.Zero;
        try
        {
            RocksNative.OptionsSetCreateIfMissing(options, 1);
            IntPtr error;
            var folder = Encoding.UTF8.GetBytes(Path.Combine(work, "db") + "\0");
            fixed (byte* name = folder)
            {
                db = RocksNative.Open(options, name, &error);
            }

            RocksNative.Check(error, $"cannot open a scratch database in {work}");

            // The link is moved in (its name taken over by RocksDB, the staged name kept); no global sequence
            // number, so RocksDB never rewrites the file's bytes.
            RocksNative.IngestOptionsSetMoveFiles(ingest, 1);
            RocksNative.IngestOptionsSetAllowGlobalSeqno(ingest, 0);
            var linkName = Encoding.UTF8.GetBytes(link + "\0");
            fixed (byte* name = linkName)
            {
                var list = name;
                RocksNative.IngestExternalFile(db, &list, 1, ingest, &error);
            }

            if (RocksNative.TakeError(error) is { } refused)
            {
                throw mismatch($"RocksDB cannot read it: {refused}");
            }

            RocksNative.ReadOptionsSetVerifyChecksums(read, 1);
            RocksNative.ReadOptionsSetFillCache(read, 0);
            RocksNative.ReadOptionsSetReadaheadSize(read, 4 << 20);
            iterator = RocksNative.CreateIterator(db, read);
            return Iterate(format, instances, expected, iterator, mismatch);
        }
        finally
        {
            if (iterator != IntPtr.Zero)
            {
                RocksNative.IteratorDestroy(iterator);
            }

            if (db != IntPtr.Zero)
            {
                RocksNative.Close(db);
            }

            RocksNative.ReadOptionsDestroy(read);
            RocksNative.IngestOptionsDestroy(ingest);
            RocksNative.OptionsDestroy(options);
        }
    }

    private static ScanResult Iterate(TargetFormat format, int instances, ExpectedSst expected, IntPtr iterator, Func<string, InvalidDataException> mismatch)
    {
        var user = new byte[256];
        var previous = new byte[256];
        var previousLength = -1;
        byte[]? smallest = null;
        long entries = 0;
        for (RocksNative.IteratorSeekToFirst(iterator); RocksNative.IteratorValid(iterator) != 0; RocksNative.IteratorNext(iterator))
        {
            nuint keyLength;
            nuint valueLength;
            var keyPointer = RocksNative.IteratorKey(iterator, &keyLength);
            var valuePointer = RocksNative.IteratorValue(iterator, &valueLength);
            var stored = new ReadOnlySpan<byte>(keyPointer, checked((int)keyLength));
            var value = new ReadOnlySpan<byte>(valuePointer, checked((int)valueLength));
            entries++;
            if (user.Length < stored.Length)
            {
                user = new byte[stored.Length * 2];
            }

            int length;
            try
            {
                length = UserKey(format, stored, value, user);
            }
            catch (FormatException e)
            {
                throw mismatch($"record #{entries} (stored key {Show(stored)}) is not a {format.Name()} string: {e.Message}");
            }

            var key = user.AsSpan(0, length);
            var instance = InstanceRouter.Instance(key, instances);
            if (instance != expected.Instance)
            {
                throw mismatch($"key {Show(key)} (record #{entries}) belongs to instance {instance} of {instances}; the manifest lists the file under instance {expected.Instance}");
            }

            if (previousLength >= 0 && key.SequenceCompareTo(previous.AsSpan(0, previousLength)) <= 0)
            {
                throw mismatch($"key {Show(key)} (record #{entries}) is not above the key before it");
            }

            smallest ??= key.ToArray();
            (user, previous) = (previous, user);
            previousLength = length;
        }

        IntPtr error;
        RocksNative.IteratorGetError(iterator, &error);
        if (RocksNative.TakeError(error) is { } failed)
        {
            throw mismatch($"RocksDB cannot read it after record #{entries}: {failed}");
        }

        return entries == 0
            ? throw mismatch("it holds no records")
            : new ScanResult(entries, smallest!, previous.AsSpan(0, previousLength).ToArray());
    }

    /// <summary>The user key of a stored record (its routing key), written to <paramref name="user"/>; the value's layout is checked too.</summary>
    private static int UserKey(TargetFormat format, ReadOnlySpan<byte> stored, ReadOnlySpan<byte> value, Span<byte> user)
    {
        switch (format)
        {
            case TargetFormat.PikaV4:
                if (value.Length < 1 + PikaV4Encoding.ValueSuffixLength || value[0] != PikaV4Encoding.StringType)
                {
                    throw new FormatException($"its value of {value.Length} bytes is not a pika-v4 string value");
                }

                return PikaV4Encoding.DecodeKey(stored, user);
            case TargetFormat.PikaV35:
                if (value.Length < 4 || BinaryPrimitives.ReadInt32LittleEndian(value[^4..]) < 0)
                {
                    throw new FormatException($"its value of {value.Length} bytes does not end in a pika-v3.5 expiry");
                }

                stored.CopyTo(user);
                return stored.Length;
            default:
                stored.CopyTo(user);
                return stored.Length;
        }
    }

    /// <summary>A key for an error message: printable ASCII as is, other bytes as \xNN, long keys cut.</summary>
    public static string Show(ReadOnlySpan<byte> key)
    {
        var text = new StringBuilder("'");
        foreach (var b in key[..Math.Min(key.Length, MaxShownKeyBytes)])
        {
            text.Append(b is >= 0x20 and < 0x7f and not (byte)'\'' and not (byte)'\\' ? (char)b : $"\\x{b:x2}");
        }

        return text.Append(key.Length > MaxShownKeyBytes ? $"'... ({key.Length} bytes)" : "'").ToString();
    }
}

using System.Globalization;
using PikaIngest.Core.Formats;
using PikaIngest.Core.Sst;
using RocksDbSharp;

namespace PikaIngest.Core.StockPika;

/// <summary>The stock Pika releases whose on-disk layout <c>apply</c> writes into.</summary>
public enum PikaVersion
{
    /// <summary>Pika 4.0.x: <c>db-instance-num</c> RocksDB instances in <c>db0/&lt;i&gt;</c>, strings in each one's default column family.</summary>
    V4,

    /// <summary>Pika 3.5.x: one RocksDB per data type; strings in <c>db0/strings</c>.</summary>
    V35,
}

/// <summary>
/// A stopped stock Pika's <c>db-path</c>, checked before anything is written: that it is a Pika database of
/// the given version and instance count, and that no Pika holds its RocksDB instances (RocksDB's own lock).
/// </summary>
public sealed class PikaDataFolder
{
    private PikaDataFolder(string path, PikaVersion version, IReadOnlyList<string> instances)
    {
        Path = path;
        Version = version;
        Instances = instances;
    }

    public string Path { get; }

    public PikaVersion Version { get; }

    /// <summary>The RocksDB folder each instance's files go into, by instance number.</summary>
    public IReadOnlyList<string> Instances { get; }

    public TargetFormat Format => Version == PikaVersion.V4 ? TargetFormat.PikaV4 : TargetFormat.PikaV35;

    /// <exception cref="InvalidDataException">The folder is not a Pika database of that version and instance count.</exception>
    public static PikaDataFolder Inspect(string path, PikaVersion version, int instances)
    {
        var full = System.IO.Path.GetFullPath(path);
        var db0 = System.IO.Path.Combine(full, "db0");
        if (!Directory.Exists(db0))
        {
            throw new InvalidDataException($"{full} is not a Pika database: it has no db0/ folder (give Pika's db-path)");
        }

        var numbered = Directory.GetDirectories(db0)
            .Select(System.IO.Path.GetFileName)
            .Where(name => name!.Length > 0 && name.All(char.IsAsciiDigit))
            .Select(name => int.Parse(name!, CultureInfo.InvariantCulture))
            .Order()
            .ToList();
        var strings = System.IO.Path.Combine(db0, "strings");
        if (version == PikaVersion.V35)
        {
            if (numbered.Count > 0)
            {
                throw new InvalidDataException($"{db0} holds numbered instance folders, Pika 4's layout, not Pika 3.5's: use --pika-version 4.0.1");
            }

            RequireRocksDb(strings);
            if (instances != 1)
            {
                throw new InvalidDataException($"Pika 3.5 keeps all strings in one RocksDB ({strings}): --instances must be 1, not {instances}");
            }

            return new PikaDataFolder(full, version, [strings]);
        }

        if (Directory.Exists(strings))
        {
            throw new InvalidDataException($"{db0} holds a strings/ folder, Pika 3.5's layout, not Pika 4's: use --pika-version 3.5");
        }

        if (!numbered.SequenceEqual(Enumerable.Range(0, numbered.Count)) || numbered.Count != instances)
        {
            throw new InvalidDataException(
                $"{db0} holds instance folders [{string.Join(", ", numbered)}], not 0..{instances - 1}: the Pika there runs with db-instance-num {numbered.Count}, and --instances must match it");
        }

        var folders = numbered.Select(i => System.IO.Path.Combine(db0, i.ToString(CultureInfo.InvariantCulture))).ToList();
        folders.ForEach(RequireRocksDb);
        return new PikaDataFolder(full, version, folders);
    }

    /// <summary>
    /// Opens every instance with all of its column families (as RocksDB requires), taking RocksDB's lock on each,
    /// before anything is ingested into any: a Pika that is running, or any instance that cannot be opened, stops
    /// the apply with nothing written. Opening must not write either (see <see cref="Open"/>).
    /// </summary>
    /// <param name="logFolder">Where RocksDB writes its info log for these opens, so that Pika's own LOG files are left as they are.</param>
    public IReadOnlyList<PikaInstance> OpenAll(string logFolder)
    {
        // RocksDB renames the info log before it takes the lock, so a running Pika is found by the lock itself first.
        foreach (var folder in Instances)
        {
            RequireUnlocked(folder);
        }

        Directory.CreateDirectory(logFolder);
        var opened = new List<PikaInstance>();
        try
        {
            foreach (var folder in Instances)
            {
                opened.Add(PikaInstance.Open(folder, logFolder));
            }

            return opened;
        }
        catch
        {
            opened.ForEach(instance => instance.Dispose());
            throw;
        }
    }

    /// <summary>Takes and releases the POSIX lock RocksDB holds on <c>LOCK</c> (fcntl F_SETLK over the whole file) while a database is open.</summary>
    private static void RequireUnlocked(string folder)
    {
        var lockFile = System.IO.Path.Combine(folder, "LOCK");
        if (!File.Exists(lockFile) || !OperatingSystem.IsLinux())
        {
            // No lock file, nothing to hold it; off Linux (where stock Pika does not run) RocksDB's own lock still refuses.
            return;
        }

        using var stream = new FileStream(lockFile, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
        try
        {
            stream.Lock(0, 0);
            stream.Unlock(0, 0);
        }
        catch (IOException e)
        {
            throw new InvalidOperationException($"{folder} is locked by another process: Pika is running; stop it first ({e.Message})", e);
        }
    }

    private static void RequireRocksDb(string folder)
    {
        if (!File.Exists(System.IO.Path.Combine(folder, "CURRENT")))
        {
            throw new InvalidDataException($"{folder} is not a RocksDB database (no CURRENT file): is this Pika's db-path?");
        }
    }
}

/// <summary>One of a stopped Pika's RocksDB instances, open for an ingest into its default column family.</summary>
public sealed class PikaInstance : IDisposable
{
    private readonly RocksDb _db;

    private PikaInstance(string folder, RocksDb db)
    {
        Folder = folder;
        _db = db;
    }

    public string Folder { get; }

    /// <summary>
    /// Opens without writing anything Pika's RocksDB (8.7.3) would need to read beyond what an ingest adds: the
    /// WAL Pika left is replayed into memory only (no flush on recovery or at close), compactions are off, and a
    /// file RocksDB still has to write (the default column family's memtable, when an ingested range overlaps it)
    /// uses the SST format version our converter writes. Pika's list and zset-score column families get Pika's
    /// comparators, which RocksDB checks by name and orders the replayed WAL with. RocksDB's info log goes to
    /// <paramref name="logFolder"/>, not over Pika's LOG.
    /// </summary>
    /// <exception cref="InvalidOperationException">RocksDB refused to open it; a held lock means Pika is running.</exception>
    public static PikaInstance Open(string folder, string logFolder)
    {
        var options = new DbOptions().SetCreateIfMissing(false).SetCreateMissingColumnFamilies(false).SetDbLogDir(logFolder);
        Native.Instance.rocksdb_options_set_avoid_flush_during_recovery(options.Handle, 1);
        Native.Instance.rocksdb_options_set_avoid_flush_during_shutdown(options.Handle, 1);
        string[] names;
        try
        {
            names = [.. RocksDb.ListColumnFamilies(options, folder)];
        }
        catch (RocksDbException e)
        {
            throw new InvalidOperationException($"{folder}: RocksDB cannot read its column families: {e.Message}", e);
        }

        var families = new ColumnFamilies();
        foreach (var name in names)
        {
            families.Add(name, new ColumnFamilyOptions()
                .SetDisableAutoCompactions(1)
                .SetBlockBasedTableFactory(new BlockBasedTableOptions().SetFormatVersion(SstOptions.DefaultFormatVersion))
                .WithPikaComparator(name));
        }

        try
        {
            return new PikaInstance(folder, RocksDb.Open(options, folder, families));
        }
        catch (RocksDbException e) when (e.Message.Contains("lock", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException($"{folder} is locked by another process: Pika is running; stop it first ({e.Message})", e);
        }
        catch (RocksDbException e)
        {
            throw new InvalidOperationException($"{folder}: RocksDB cannot open it: {e.Message}", e);
        }
    }

    /// <summary>
    /// Ingests the files into the default column family, in order (a later file wins for the same key), hard-linking
    /// them when they are on the same volume.
    /// </summary>
    public void Ingest(IReadOnlyList<string> files) =>
        _db.IngestExternalFiles([.. files], new IngestExternalFileOptions().SetMoveFiles(true), _db.GetDefaultColumnFamily());

    public void Dispose() => _db.Dispose();
}

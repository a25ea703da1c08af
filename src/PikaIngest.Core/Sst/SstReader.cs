using RocksDbSharp;

namespace PikaIngest.Core.Sst;

/// <summary>
/// Reads the records of an SST file through RocksDB itself. RocksDB's C API has no SST reader, so
/// the file is ingested (copied, the original is not touched) into a throwaway database, which
/// also makes RocksDB check the file before anything is read.
/// </summary>
public sealed class SstReader : IDisposable
{
    private readonly string _folder;
    private readonly RocksDb _db;

    private SstReader(string folder, RocksDb db)
    {
        _folder = folder;
        _db = db;
    }

    public static SstReader Open(string path, string? tempDirectory = null)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path}: no such file", path);
        }

        var folder = Path.Combine(tempDirectory ?? Path.GetTempPath(), $"pika-ingest-read-{Environment.ProcessId}-{Guid.NewGuid():N}");
        RocksDb? db = null;
        try
        {
            db = RocksDb.Open(new DbOptions().SetCreateIfMissing(true), folder);
            var ingest = new IngestExternalFileOptions().SetMoveFiles(false);
            db.IngestExternalFiles([Path.GetFullPath(path)], ingest);
            return new SstReader(folder, db);
        }
        catch (RocksDbException e)
        {
            db?.Dispose();
            Directory.Delete(folder, recursive: true);
            throw new InvalidDataException($"{path}: not a readable SST file ({e.Message})", e);
        }
        catch
        {
            db?.Dispose();
            Directory.Delete(folder, recursive: true);
            throw;
        }
    }

    /// <summary>Stored key/value pairs in key order.</summary>
    public IEnumerable<(byte[] Key, byte[] Value)> Scan()
    {
        using var iterator = _db.NewIterator();
        for (iterator.SeekToFirst(); iterator.Valid(); iterator.Next())
        {
            yield return (iterator.Key(), iterator.Value());
        }
    }

    public void Dispose()
    {
        _db.Dispose();
        Directory.Delete(_folder, recursive: true);
    }
}

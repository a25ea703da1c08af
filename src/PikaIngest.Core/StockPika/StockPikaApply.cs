using System.Diagnostics;
using System.Text;
using PikaIngest.Core.Layout;
using PikaIngest.Core.Sst;
using PikaIngest.Core.Storage;

namespace PikaIngest.Core.StockPika;

/// <summary>Where a manifest is: a bucket's store and the manifest's key in it.</summary>
public sealed record ManifestSource(IObjectStore Store, string Key)
{
    /// <summary>
    /// <c>s3://bucket/manifests/&lt;batch&gt;.json</c> (the standard AWS chain and <c>AWS_ENDPOINT_URL_S3</c>), or the
    /// path of a manifest in a folder store, <c>&lt;bucket folder&gt;/manifests/&lt;batch&gt;.json</c>.
    /// </summary>
    public static ManifestSource Parse(string location)
    {
        if (location.StartsWith("s3://", StringComparison.OrdinalIgnoreCase))
        {
            var rest = location["s3://".Length..];
            var slash = rest.IndexOf('/', StringComparison.Ordinal);
            if (slash <= 0)
            {
                throw new InvalidDataException($"{location}: expected s3://<bucket>/manifests/<batch>.json");
            }

            return new ManifestSource(ObjectStores.OpenProvider("s3").Bucket(rest[..slash]), rest[(slash + 1)..]);
        }

        var path = Path.GetFullPath(location.StartsWith("file://", StringComparison.OrdinalIgnoreCase) ? new Uri(location).LocalPath : location);
        var manifests = Path.GetDirectoryName(path);
        if (!File.Exists(path) || Path.GetFileName(manifests) != "manifests")
        {
            throw new InvalidDataException($"{path}: expected an existing <bucket folder>/manifests/<batch>.json");
        }

        return new ManifestSource(new LocalFolderStore(Path.GetDirectoryName(manifests)!), $"{ObjectLayout.ManifestsPrefix}{Path.GetFileName(path)}");
    }

    public override string ToString() => $"{Store.Location}/{Key}";
}

/// <summary>A batch <c>apply</c> put into a stopped Pika: one line of <c>pika-ingest-applied.jsonl</c> beside <c>db0/</c>.</summary>
public sealed record StockPikaAppliedRecord
{
    public const int CurrentVersion = 1;

    public int Version { get; init; } = CurrentVersion;

    public required string BatchId { get; init; }

    public required string Manifest { get; init; }

    public required int Files { get; init; }

    public required long Bytes { get; init; }

    public required DateTimeOffset AppliedAt { get; init; }
}

/// <summary>An apply under way: which instances already hold the batch (<c>pika-ingest-applying.json</c>).</summary>
public sealed record StockPikaApplyingRecord
{
    public const int CurrentVersion = 1;

    public int Version { get; init; } = CurrentVersion;

    public required string BatchId { get; init; }

    public required IReadOnlyList<int> InstancesDone { get; init; }

    /// <summary>Each instance's CURRENT (its MANIFEST's name) while this apply held it open: a different one later means it was opened since.</summary>
    public IReadOnlyList<string>? Currents { get; init; }
}

public enum ApplyOutcome
{
    Applied,
    AlreadyApplied,
}

/// <summary>
/// <c>pika-ingest apply</c>: loads a converted batch into a stopped stock Pika (and, the same way, each of its
/// stopped slaves). Everything that can refuse — the data folder, the manifest, the files' sizes and SHA-256, their
/// contents read back in full (<see cref="SstFileVerifier"/>), RocksDB's locks — is checked before the first file goes in. The instances then take their files one after the
/// other, each recorded as done, so an interrupted apply run again finishes the rest and never ingests an
/// instance twice; the batch is then recorded as applied, and a repeat is a no-op.
/// </summary>
public sealed class StockPikaApply(Action<string> log)
{
    public const string AppliedFileName = "pika-ingest-applied.jsonl";
    public const string ApplyingFileName = "pika-ingest-applying.json";
    public const string StagingFolderName = "pika-ingest-staging";

    public async Task<ApplyOutcome> RunAsync(ManifestSource source, string pikaData, int instances, PikaVersion version, CancellationToken cancellation = default)
    {
        var folder = PikaDataFolder.Inspect(pikaData, version, instances);
        var appliedPath = Path.Combine(folder.Path, AppliedFileName);
        var applyingPath = Path.Combine(folder.Path, ApplyingFileName);
        var applied = ReadApplied(appliedPath);

        Manifest manifest;
        try
        {
            var json = await source.Store.GetBytesAsync(source.Key, new ManifestLimits().MaxManifestBytes, cancellation).ConfigureAwait(false);
            manifest = Manifests.Parse(json, source.ToString(), folder.Format, instances, new ManifestLimits());
        }
        catch (ObjectNotFoundException)
        {
            throw new InvalidDataException($"manifest not found: {source}");
        }
        catch (FormatException e)
        {
            throw new InvalidDataException($"invalid manifest {source}: {e.Message}", e);
        }

        if (source.Key != ObjectLayout.Manifest(manifest.BatchId))
        {
            throw new InvalidDataException($"{source} is the manifest of batch '{manifest.BatchId}', whose key is {ObjectLayout.Manifest(manifest.BatchId)}");
        }

        if (applied.FirstOrDefault(a => a.BatchId == manifest.BatchId) is { } earlier)
        {
            log($"batch {manifest.BatchId} was already applied to {folder.Path} at {earlier.AppliedAt:O}; nothing to do");
            return ApplyOutcome.AlreadyApplied;
        }

        var applying = ReadApplying(applyingPath);
        if (applying is not null && applying.BatchId != manifest.BatchId)
        {
            throw new InvalidDataException($"{applyingPath}: an apply of batch {applying.BatchId} was interrupted; run that apply again first, so that no batch is left half in");
        }

        var done = new HashSet<int>(applying?.InstancesDone ?? []);
        var clock = Stopwatch.StartNew();
        var staging = Path.Combine(folder.Path, StagingFolderName, manifest.BatchId);
        var files = manifest.Files.Select(f => new BatchFile(f.Key, f.Size, f.Sha256)).ToList();
        var paths = await BatchFileTransfer.DownloadAsync(manifest.BatchId, files, source.Store, staging, 8, null, cancellation).ConfigureAwait(false);
        try
        {
            await BatchFileTransfer.VerifyAsync(manifest.BatchId, files, paths, source.Store, cancellation).ConfigureAwait(false);
            var expected = manifest.Files.Select(f => ExpectedSst.FromRecorded(f.Key, f.Instance, f.Entries, f.SmallestKey, f.LargestKey, f.Range is not null)).ToList();
            await Task.Run(() => SstFileVerifier.Verify(manifest.BatchId, folder.Format, instances, expected, paths, Path.Combine(staging, "verify"), cancellation), cancellation).ConfigureAwait(false);
        }
        catch (InvalidDataException)
        {
            // Nothing is touched yet: the staged copies of a batch that is not what its manifest says are dropped.
            Directory.Delete(staging, recursive: true);
            throw;
        }

        var fetched = clock.Elapsed;
        log($"batch {manifest.BatchId}: {files.Count} files, {files.Sum(f => f.Size)} bytes fetched, verified and read back in {fetched.TotalSeconds:F2} s");

        // Every open writes a new MANIFEST and points CURRENT at it. An instance left not done whose CURRENT is no
        // longer the one this apply saw was opened since (by Pika): it may hold writes newer than the batch, and
        // whether the batch went in before the interruption is unknown, so it is not touched.
        var reopened = applying?.Currents is { } seen
            ? Enumerable.Range(0, folder.Instances.Count).Where(i => !done.Contains(i) && i < seen.Count && seen[i] != Current(folder.Instances[i])).ToList()
            : [];
        if (reopened.Count > 0)
        {
            throw new InvalidDataException(
                $"{applyingPath}: instance(s) {string.Join(", ", reopened)} were opened (by Pika?) after the apply of batch {manifest.BatchId} was interrupted, "
                + "so their data may be newer than the batch; restore the data folder from its backup and apply again");
        }

        var opened = folder.OpenAll(Path.Combine(staging, "rocksdb-log"));
        try
        {
            var currents = folder.Instances.Select(Current).ToList();
            AtomicFile.Write(applyingPath, LayoutJson.Serialize(new StockPikaApplyingRecord { BatchId = manifest.BatchId, InstancesDone = [.. done.Order()], Currents = currents }));
            for (var instance = 0; instance < opened.Count; instance++)
            {
                if (done.Contains(instance))
                {
                    log($"instance {instance} ({opened[instance].Folder}) took this batch before the apply was interrupted; skipped");
                    continue;
                }

                var mine = manifest.Files.Select((file, i) => (file, i)).Where(x => x.file.Instance == instance).Select(x => paths[x.i]).ToList();
                if (mine.Count > 0)
                {
                    try
                    {
                        opened[instance].Ingest(mine);
                    }
                    catch (RocksDbSharp.RocksDbException e)
                    {
                        var held = done.Count == 0 ? "no instance holds the batch yet" : $"instance(s) {string.Join(", ", done.Order())} hold the batch";
                        throw new IOException($"instance {instance} ({opened[instance].Folder}) refused the files of batch {manifest.BatchId}: {e.Message}; {held}: fix the cause and run this same apply again, which finishes the rest", e);
                    }
                }

                done.Add(instance);
                AtomicFile.Write(applyingPath, LayoutJson.Serialize(new StockPikaApplyingRecord { BatchId = manifest.BatchId, InstancesDone = [.. done.Order()], Currents = currents }));
                log($"instance {instance} ({opened[instance].Folder}): {mine.Count} files ingested");
            }
        }
        finally
        {
            foreach (var instance in opened)
            {
                instance.Dispose();
            }
        }

        var record = new StockPikaAppliedRecord
        {
            BatchId = manifest.BatchId,
            Manifest = source.ToString(),
            Files = files.Count,
            Bytes = files.Sum(f => f.Size),
            AppliedAt = DateTimeOffset.UtcNow,
        };
        WriteApplied(appliedPath, [.. applied, record]);
        AtomicFile.DeleteIfExists(applyingPath);
        Directory.Delete(staging, recursive: true);
        log($"batch {manifest.BatchId} applied to {folder.Path} in {clock.Elapsed.TotalSeconds:F2} s; recorded in {appliedPath}");
        return ApplyOutcome.Applied;
    }

    private static string Current(string instanceFolder) => File.ReadAllText(Path.Combine(instanceFolder, "CURRENT")).Trim();

    /// <summary>The batches applied so far; a damaged line stops the apply, naming the file and line.</summary>
    public static List<StockPikaAppliedRecord> ReadApplied(string path)
    {
        if (!File.Exists(path))
        {
            return [];
        }

        var records = new List<StockPikaAppliedRecord>();
        var number = 0;
        foreach (var line in File.ReadLines(path))
        {
            number++;
            if (line.Length == 0)
            {
                continue;
            }

            var record = Parse<StockPikaAppliedRecord>(Encoding.UTF8.GetBytes(line), $"{path} line {number}");
            records.Add(record.Version == StockPikaAppliedRecord.CurrentVersion ? record : throw new InvalidDataException($"{path} line {number}: unsupported version {record.Version}"));
        }

        return records;
    }

    private static StockPikaApplyingRecord? ReadApplying(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        var record = Parse<StockPikaApplyingRecord>(File.ReadAllBytes(path), path);
        return record.Version == StockPikaApplyingRecord.CurrentVersion ? record : throw new InvalidDataException($"{path}: unsupported version {record.Version}");
    }

    private static T Parse<T>(byte[] json, string source)
    {
        try
        {
            return LayoutJson.Deserialize<T>(json, source);
        }
        catch (FormatException e)
        {
            throw new InvalidDataException($"{e.Message} (a damaged record: restore it, or remove it only if you know that batch is not in Pika)", e);
        }
    }

    private static void WriteApplied(string path, IEnumerable<StockPikaAppliedRecord> records)
    {
        var text = new StringBuilder();
        foreach (var record in records)
        {
            text.Append(Encoding.UTF8.GetString(LayoutJson.Serialize(record))).Append('\n');
        }

        AtomicFile.Write(path, Encoding.UTF8.GetBytes(text.ToString()));
    }
}

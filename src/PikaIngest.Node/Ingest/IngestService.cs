using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using PikaIngest.Core.Formats;
using PikaIngest.Core.Layout;
using PikaIngest.Core.Storage;
using PikaIngest.Node.Storage;

namespace PikaIngest.Node.Ingest;

/// <summary>A reason an ingest was refused or failed; the reply is <c>-ERR</c> and this message.</summary>
internal sealed class IngestException : Exception
{
    public IngestException(string message)
        : base(message)
    {
    }

    public IngestException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public IngestException()
    {
    }
}

internal enum IngestOutcome
{
    Applied,
    AlreadyApplied,
}

/// <summary>
/// INGEST_S3 (DESIGN.md, "Semantics"): fetch and validate the manifest, download and verify every
/// file with no lock held, then under the write gate ingest instance by instance in manifest
/// order, append one INGEST_SST binlog item and record the batch as applied. Until the gate is
/// taken nothing has touched the database or the binlog, so every refusal leaves both unchanged.
/// </summary>
internal sealed class IngestService : IDisposable
{
    private readonly IObjectStoreProvider _stores;
    private readonly IStringStore _store;
    private readonly WriteGate _gate;
    private readonly AppliedBatches _applied;
    private readonly IngestSettings _settings;
    private readonly Action<string> _log;
    private readonly SemaphoreSlim _oneAtATime = new(1, 1);

    public IngestService(IObjectStoreProvider stores, IStringStore store, WriteGate gate, AppliedBatches applied, IngestSettings settings, Action<string> log)
    {
        _stores = stores;
        _store = store;
        _gate = gate;
        _applied = applied;
        _settings = settings;
        _log = log;
        CleanStaging();
    }

    public IngestStats Stats { get; } = new();

    public int AppliedCount => _applied.Count;

    public async Task<IngestOutcome> IngestS3Async(string bucket, string manifestKey, CancellationToken cancellation)
    {
        if (!_settings.AllowedBuckets.Contains(bucket))
        {
            throw new IngestException($"bucket '{bucket}' is not allowed on this node (allow it with --ingest-allow-bucket)");
        }

        if (!ObjectStores.IsValidKey(manifestKey) || !manifestKey.StartsWith(ObjectLayout.ManifestsPrefix, StringComparison.Ordinal))
        {
            throw new IngestException($"manifest key '{manifestKey}' is not under {ObjectLayout.ManifestsPrefix}");
        }

        await _oneAtATime.WaitAsync(cancellation).ConfigureAwait(false);
        try
        {
            var store = _stores.Bucket(bucket);
            var source = $"{_stores.Location} bucket {bucket} key {manifestKey}";
            Manifest manifest;
            try
            {
                var json = await store.GetBytesAsync(manifestKey, _settings.Limits.MaxManifestBytes, cancellation).ConfigureAwait(false);
                manifest = Manifests.Parse(json, manifestKey, TargetFormat.PikaV4, _store.Instances, _settings.Limits);
            }
            catch (ObjectNotFoundException)
            {
                throw new IngestException($"manifest not found: {source}");
            }
            catch (Exception e) when (e is InvalidDataException or FormatException)
            {
                throw new IngestException($"invalid manifest: {e.Message}", e);
            }

            if (manifestKey != ObjectLayout.Manifest(manifest.BatchId))
            {
                throw new IngestException($"manifest {manifestKey} is for batch '{manifest.BatchId}', whose manifest key is {ObjectLayout.Manifest(manifest.BatchId)}");
            }

            if (_applied.TryGet(manifest.BatchId, out var earlier))
            {
                Stats.Repeated();
                _log($"ingest: batch {manifest.BatchId} was already applied at {earlier!.AppliedAt:O} (binlog {earlier.BinlogPosition}); nothing to do");
                return IngestOutcome.AlreadyApplied;
            }

            await ApplyAsync(IngestPlan.FromManifest(bucket, manifestKey, manifest), store, cancellation).ConfigureAwait(false);
            return IngestOutcome.Applied;
        }
        finally
        {
            _oneAtATime.Release();
        }
    }

    /// <summary>A slave replaying INGEST_SST: the same checks and steps as the master's, unless the batch is already in.</summary>
    public async Task ReplayAsync(IngestPlan plan, CancellationToken cancellation)
    {
        if (!_settings.AllowedBuckets.Contains(plan.Bucket))
        {
            throw new IngestException($"bucket '{plan.Bucket}' is not allowed on this node (allow it with --ingest-allow-bucket)");
        }

        await _oneAtATime.WaitAsync(cancellation).ConfigureAwait(false);
        try
        {
            if (_applied.TryGet(plan.BatchId, out _))
            {
                return;
            }

            await ApplyAsync(plan, _stores.Bucket(plan.Bucket), cancellation).ConfigureAwait(false);
        }
        finally
        {
            _oneAtATime.Release();
        }
    }

    /// <summary>Stages, verifies and ingests a plan; a slave replaying INGEST_SST calls this with the record's plan.</summary>
    public async Task ApplyAsync(IngestPlan plan, IObjectStore store, CancellationToken cancellation)
    {
        Stats.Started(plan.BatchId, plan.Files.Count);
        var staging = Path.Combine(_settings.StagingFolder, $"{plan.BatchId}-{Guid.NewGuid():N}");
        try
        {
            EnsureSpace(plan);
            var clock = Stopwatch.StartNew();
            var paths = await DownloadAsync(plan, store, staging, cancellation).ConfigureAwait(false);
            var download = clock.Elapsed;
            await VerifyAsync(plan, paths, store, cancellation).ConfigureAwait(false);
            var verify = clock.Elapsed - download;
            Ingest(plan, paths);
            var ingest = clock.Elapsed - download - verify;
            Stats.Applied(plan, download, verify, ingest);
            _log(string.Create(CultureInfo.InvariantCulture,
                $"ingest: batch {plan.BatchId}: {plan.Files.Count} files, {plan.TotalBytes} bytes; download {download.TotalSeconds:F2}s, verify {verify.TotalSeconds:F2}s, ingest {ingest.TotalSeconds:F2}s"));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Stats.Failed(e.Message);
            _log($"ingest: batch {plan.BatchId} failed: {e.Message}");
            throw;
        }
        finally
        {
            DeleteFolder(staging);
        }
    }

    private async Task<string[]> DownloadAsync(IngestPlan plan, IObjectStore store, string staging, CancellationToken cancellation)
    {
        Directory.CreateDirectory(staging);
        var paths = plan.Files.Select((_, i) => Path.Combine(staging, i.ToString("D6", CultureInfo.InvariantCulture) + ".sst")).ToArray();
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = _settings.DownloadParallelism, CancellationToken = cancellation };
        await Parallel.ForEachAsync(Enumerable.Range(0, plan.Files.Count), parallel, async (i, token) =>
        {
            var file = plan.Files[i];
            // A folder store on the data volume needs no copy: the staged file is a second name for the object's
            // bytes (verified like a download). The store replaces objects by rename, never in place, so what the
            // node ingests cannot change under it; RocksDB's block checksums would catch it if it did.
            if (store is LocalFolderStore folder && HardLinks.TryCreate(folder.PathOf(file.Key), paths[i]) == HardLinkOutcome.Created)
            {
                Stats.Staged();
                return;
            }

            try
            {
                await store.DownloadAsync(file.Key, paths[i], token).ConfigureAwait(false);
                Stats.Staged();
            }
            catch (ObjectNotFoundException)
            {
                throw new IngestException($"batch {plan.BatchId}: file {file.Key} is missing from bucket {store.Bucket}");
            }
        }).ConfigureAwait(false);
        return paths;
    }

    private static async Task VerifyAsync(IngestPlan plan, string[] paths, IObjectStore store, CancellationToken cancellation)
    {
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = cancellation };
        await Parallel.ForEachAsync(Enumerable.Range(0, plan.Files.Count), parallel, async (i, token) =>
        {
            var file = plan.Files[i];
            var size = new FileInfo(paths[i]).Length;
            if (size != file.Size)
            {
                throw new IngestException($"batch {plan.BatchId}: file {file.Key} in bucket {store.Bucket} is {size} bytes; the manifest says {file.Size}");
            }

            var stream = new FileStream(paths[i], FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.Asynchronous | FileOptions.SequentialScan);
            await using (stream.ConfigureAwait(false))
            {
                var sha256 = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, token).ConfigureAwait(false));
                if (sha256 != file.Sha256)
                {
                    throw new IngestException($"batch {plan.BatchId}: file {file.Key} in bucket {store.Bucket} has sha256 {sha256}; the manifest says {file.Sha256}");
                }
            }
        }).ConfigureAwait(false);
    }

    private void Ingest(IngestPlan plan, string[] paths)
    {
        using var scope = _gate.Enter();
        var instance = 0;
        try
        {
            for (; instance < _store.Instances; instance++)
            {
                var files = plan.Files.Select((f, i) => (f, i)).Where(x => x.f.Instance == instance).Select(x => paths[x.i]).ToList();
                if (files.Count > 0)
                {
                    _store.IngestFiles(instance, files);
                }
            }
        }
        catch (Exception e) when (e is not IngestException)
        {
            // RocksDB refused a verified file (disk full, I/O error). Instances before this one
            // hold the batch; it is not recorded as applied, so repeating INGEST_S3 ingests the
            // same files again, which converges to the same contents.
            throw new IngestException(instance == 0
                ? $"batch {plan.BatchId}: RocksDB refused the files of instance 0: {e.Message}"
                : $"batch {plan.BatchId}: RocksDB refused the files of instance {instance} after instances 0-{instance - 1} took theirs: {e.Message}; repeat INGEST_S3 to finish the batch", e);
        }

        var position = _gate.AppendIngest(plan.ToRecord());
        _gate.Publish();
        _applied.Record(new AppliedBatch(AppliedBatch.CurrentVersion, plan.BatchId, plan.Bucket, plan.ManifestKey,
            plan.Files.Count, plan.TotalBytes, position.ToString(), DateTimeOffset.UtcNow));
    }

    private void EnsureSpace(IngestPlan plan)
    {
        Directory.CreateDirectory(_settings.StagingFolder);
        var free = new DriveInfo(Path.GetFullPath(_settings.StagingFolder)).AvailableFreeSpace;
        if (free < plan.TotalBytes + _settings.SpaceReserveBytes)
        {
            throw new IngestException($"batch {plan.BatchId} needs {plan.TotalBytes} bytes of staging space; the data volume has {free} free");
        }
    }

    private void CleanStaging()
    {
        if (Directory.Exists(_settings.StagingFolder))
        {
            foreach (var leftover in Directory.GetDirectories(_settings.StagingFolder))
            {
                _log($"ingest: removing staging left by an earlier run: {leftover}");
                DeleteFolder(leftover);
            }
        }
    }

    public void Dispose() => _oneAtATime.Dispose();

    private static void DeleteFolder(string folder)
    {
        if (Directory.Exists(folder))
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}

internal sealed record IngestSettings(
    IReadOnlySet<string> AllowedBuckets,
    string StagingFolder,
    ManifestLimits Limits,
    int DownloadParallelism = 8,
    long SpaceReserveBytes = 64L << 20);

using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Amazon.Runtime;
using PikaIngest.Core.Formats;
using PikaIngest.Core.Layout;
using PikaIngest.Core.Sst;
using PikaIngest.Core.Storage;
using PikaIngest.Node.Binlog;
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

    /// <summary>Nothing of the batch reached the database: the client may be told it failed.</summary>
    public bool NothingTouched { get; init; }
}

internal enum IngestOutcome
{
    Applied,
    AlreadyApplied,
}

/// <summary>
/// INGEST_S3 (docs/ARCHITECTURE.md §6): fetch and validate the manifest, download and verify every
/// file with no lock held, write a durable intent, then under the write gate ingest instance by
/// instance in manifest order, append one INGEST_SST binlog item and record the batch as applied.
/// The intent makes the batch all-or-nothing across instances: it records which instances took
/// their files, and a node that dies half-way finishes the batch from it on start-up (<see cref="Recover"/>)
/// before it serves clients or replication. The staged files of an instance are hard-linked aside
/// while RocksDB moves them in, so an instance whose ingest was cut short can be ingested again
/// (the same records again: the write gate admits no other write in between).
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
    private readonly IngestIntents _intents;

    private readonly IIngestFaults _faults;

    public IngestService(IObjectStoreProvider stores, IStringStore store, WriteGate gate, AppliedBatches applied, IngestSettings settings, Action<string> log, IIngestFaults? faults = null)
    {
        _faults = faults ?? IngestFaults.None;
        _stores = stores;
        _store = store;
        _gate = gate;
        _applied = applied;
        _settings = settings;
        _log = log;
        _intents = new IngestIntents(settings.IntentFolder);
    }

    public IngestStats Stats { get; } = new();

    /// <summary>
    /// Why a batch's intent is unfinished and what to do about it, while one could not be finished (null otherwise):
    /// some instances may hold the batch and others not, so the node answers data commands with this instead of
    /// serving half a batch, and takes no other batch.
    /// </summary>
    public string? Unfinished => Volatile.Read(ref _unfinished);

    private string? _unfinished;

    public int AppliedCount => _applied.Count;

    /// <summary>After FLUSHALL: no batch counts as applied any more, so the same manifest loads its keys again.</summary>
    public void ForgetAppliedBatches() => _applied.Forget();

    /// <summary>
    /// INGEST_S3: fetches and checks the manifest, then applies the batch unless it is already in. Every refusal,
    /// the object store's failures included, arrives as an <see cref="IngestException"/> naming the bucket and key.
    /// </summary>
    public async Task<IngestOutcome> IngestS3Async(string bucket, string manifestKey, CancellationToken cancellation)
    {
        if (!ObjectStores.IsValidKey(manifestKey) || !manifestKey.StartsWith(ObjectLayout.ManifestsPrefix, StringComparison.Ordinal))
        {
            throw new IngestException($"manifest key '{manifestKey}' is not under {ObjectLayout.ManifestsPrefix}");
        }

        try
        {
            return await ExclusivelyAsync(bucket, () => IngestManifestAsync(bucket, manifestKey, cancellation), cancellation).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectStoreAccessDeniedException or AmazonServiceException or AmazonClientException)
        {
            _log($"ingest: {bucket}/{manifestKey}: {e}");
            throw new IngestException($"{bucket}/{manifestKey}: {e.Message}", e);
        }
    }

    /// <summary>A slave replaying INGEST_SST: the same checks and steps as the master's, unless the batch is already in.</summary>
    public Task ReplayAsync(IngestPlan plan, CancellationToken cancellation) => ExclusivelyAsync(plan.Bucket, async () =>
    {
        if (_applied.TryGet(plan.BatchId, out _))
        {
            return IngestOutcome.AlreadyApplied;
        }

        RefuseWhileUnfinished();
        await ApplyAsync(plan, _stores.Bucket(plan.Bucket), cancellation).ConfigureAwait(false);
        return IngestOutcome.Applied;
    }, cancellation);

    /// <summary>What the master and a replaying slave share: only allowed buckets, and one batch at a time.</summary>
    private async Task<IngestOutcome> ExclusivelyAsync(string bucket, Func<Task<IngestOutcome>> ingest, CancellationToken cancellation)
    {
        if (!_settings.AllowedBuckets.Contains(bucket))
        {
            throw new IngestException($"bucket '{bucket}' is not allowed on this node (allow it with --ingest-allow-bucket)");
        }

        await _oneAtATime.WaitAsync(cancellation).ConfigureAwait(false);
        try
        {
            return await ingest().ConfigureAwait(false);
        }
        finally
        {
            _oneAtATime.Release();
        }
    }

    private async Task<IngestOutcome> IngestManifestAsync(string bucket, string manifestKey, CancellationToken cancellation)
    {
        RefuseWhileUnfinished();
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

    /// <summary>Stages, verifies and ingests a plan; a slave replaying INGEST_SST calls this with the record's plan.</summary>
    public async Task ApplyAsync(IngestPlan plan, IObjectStore store, CancellationToken cancellation)
    {
        Stats.Started(plan.BatchId, plan.Files.Count);
        var stagingName = $"{plan.BatchId}-{Guid.NewGuid():N}";
        var staging = Path.Combine(_settings.StagingFolder, stagingName);
        var promised = false;
        try
        {
            EnsureSpace(plan);
            var clock = Stopwatch.StartNew();
            var paths = await DownloadAsync(plan, store, staging, cancellation).ConfigureAwait(false);
            var download = clock.Elapsed;
            await VerifyAsync(plan, paths, store, cancellation).ConfigureAwait(false);
            var hashed = clock.Elapsed;
            await Task.Run(() => ReadBack(plan, paths, staging, cancellation), cancellation).ConfigureAwait(false);
            var verify = clock.Elapsed - download;
            var readBack = clock.Elapsed - hashed;
            var intent = new IngestIntent(
                IngestIntent.CurrentVersion, plan.BatchId, plan.Bucket, plan.ManifestKey, plan.Files, stagingName,
                [.. paths.Select(Path.GetFileName)!], _gate.Position.ToString(), []);
            _intents.Save(intent);
            promised = true;
            _faults.At("after-verify");
            Complete(intent, recovering: false);

            var ingest = clock.Elapsed - download - verify;
            Stats.Applied(plan, download, verify, readBack, ingest);
            _log(string.Create(CultureInfo.InvariantCulture,
                $"ingest: batch {plan.BatchId}: {plan.Files.Count} files, {plan.TotalBytes} bytes; download {download.TotalSeconds:F2}s, verify {verify.TotalSeconds:F2}s (of which read back {readBack.TotalSeconds:F2}s), ingest {ingest.TotalSeconds:F2}s"));
        }
        catch (IngestException e) when (promised && e.NothingTouched)
        {
            // RocksDB refused the first instance: nothing is in, so the promise is withdrawn and the client told.
            _intents.Delete(plan.BatchId);
            promised = false;
            Stats.Failed(e.Message);
            _log($"ingest: batch {plan.BatchId} failed: {e.Message}");
            throw;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Stats.Failed(e.Message);
            _log($"ingest: batch {plan.BatchId} failed: {e.Message}");
            throw;
        }
        finally
        {
            if (!promised)
            {
                DeleteFolder(staging);
            }
        }
    }

    /// <summary>
    /// Finishes every intent an earlier run left (before the node serves anyone): the staged files of the instances
    /// not yet done are checked again (SHA-256 and contents; fetched again from the store where they are gone or
    /// changed), they take them, then the INGEST_SST item and the applied record are written if they are missing.
    /// Staging folders no intent names are removed. An intent that cannot be finished does not keep the node from
    /// starting: it is left in place and the node serves with it reported (<see cref="Unfinished"/>).
    /// </summary>
    /// <exception cref="IngestIntentException">An intent file is damaged.</exception>
    public void Recover(IReadOnlySet<string> discard)
    {
        foreach (var batch in discard.Where(b => File.Exists(_intents.PathOf(b))))
        {
            _log($"ingest: discarding the intent of batch {batch} as told (--discard-ingest-intent): some instances may hold part of it; repeat its INGEST_S3 before clients write");
            _intents.Delete(batch);
        }

        var intents = _intents.LoadAll();
        CleanStaging(intents.Select(i => i.Staging).ToHashSet(StringComparer.Ordinal));
        foreach (var intent in intents)
        {
            if (Unfinished is not null)
            {
                _log($"ingest: batch {intent.BatchId} left by an earlier run waits until the unfinished batch is resolved");
                continue;
            }

            _log($"ingest: finishing batch {intent.BatchId} left by an earlier run (instances done: {(intent.InstancesDone.Count == 0 ? "none" : string.Join(",", intent.InstancesDone))})");
            try
            {
                var paths = EnsureStaged(intent);
                var pending = Enumerable.Range(0, intent.Files.Count).Where(i => !intent.InstancesDone.Contains(intent.Files[i].Instance)).ToList();
                var plan = intent.Plan with { Files = [.. pending.Select(i => intent.Files[i])] };
                ReadBack(plan, [.. pending.Select(i => paths[i])], Path.Combine(_settings.StagingFolder, intent.Staging), CancellationToken.None);
                Complete(intent, recovering: true);
            }
            catch (IngestException e) when (Unfinished is null)
            {
                // A file that cannot be had intact: held like a batch Complete gave up on (which has held it already).
                Hold(intent, e.Message, e);
            }
            catch (IngestException)
            {
            }
        }
    }

    /// <summary>
    /// The staged path of each file of the instances not yet done, re-checked against its SHA-256 and fetched again
    /// from the store where it is gone or no longer the verified file.
    /// </summary>
    /// <exception cref="IngestException">A file is neither staged intact nor fetchable intact.</exception>
    private string[] EnsureStaged(IngestIntent intent)
    {
        var folder = Path.Combine(_settings.StagingFolder, intent.Staging);
        Directory.CreateDirectory(folder);
        var paths = new string[intent.Files.Count];
        for (var i = 0; i < intent.Files.Count; i++)
        {
            var file = intent.Files[i];
            var path = Path.Combine(folder, intent.StagedNames[i]);
            paths[i] = path;
            if (intent.InstancesDone.Contains(file.Instance))
            {
                continue;
            }

            if (!File.Exists(path) && File.Exists(path + KeepSuffix))
            {
                HardLinks.TryCreate(path + KeepSuffix, path);
            }

            if (IsIntact(path, file))
            {
                continue;
            }

            _log($"ingest: batch {intent.BatchId}: staged file of {file.Key} is gone or changed; fetching it again from bucket {intent.Bucket}");
            try
            {
                File.Delete(path);
                File.Delete(path + KeepSuffix);
                _stores.Bucket(intent.Bucket).DownloadAsync(file.Key, path).GetAwaiter().GetResult();
                if (!IsIntact(path, file))
                {
                    throw new InvalidDataException($"{file.Key} in bucket {intent.Bucket} is no longer the file the batch verified");
                }
            }
            catch (Exception e) when (e is not IngestException)
            {
                throw new IngestException($"{_intents.PathOf(intent.BatchId)} needs {file.Key} for instance {file.Instance}, which is neither staged nor fetchable intact ({e.Message})", e);
            }
        }

        return paths;
    }

    private static bool IsIntact(string path, IngestSstFile file)
    {
        if (!HasLength(path, file.Size))
        {
            return false;
        }

        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream)) == file.Sha256;
    }

    /// <summary>
    /// Reads every staged file in full (<see cref="SstFileVerifier"/>) while no instance is touched and the write gate
    /// is free: a file that is damaged, of another format, or under the wrong instance is refused here.
    /// </summary>
    private void ReadBack(IngestPlan plan, IReadOnlyList<string> paths, string staging, CancellationToken cancellation)
    {
        try
        {
            SstFileVerifier.Verify(plan.BatchId, TargetFormat.PikaV4, _store.Instances, plan.ExpectedFiles, paths, Path.Combine(staging, VerifyFolder), cancellation);
        }
        catch (InvalidDataException e)
        {
            throw new IngestException(e.Message, e);
        }
    }

    private const string VerifyFolder = "verify";

    private static bool HasLength(string path, long size) => File.Exists(path) && new FileInfo(path).Length == size;

    private async Task<string[]> DownloadAsync(IngestPlan plan, IObjectStore store, string staging, CancellationToken cancellation)
    {
        try
        {
            return await BatchFileTransfer.DownloadAsync(plan.BatchId, plan.BatchFiles, store, staging, _settings.DownloadParallelism, Stats.Staged, cancellation).ConfigureAwait(false);
        }
        catch (InvalidDataException e)
        {
            throw new IngestException(e.Message, e);
        }
    }

    private static async Task VerifyAsync(IngestPlan plan, string[] paths, IObjectStore store, CancellationToken cancellation)
    {
        try
        {
            await BatchFileTransfer.VerifyAsync(plan.BatchId, plan.BatchFiles, paths, store, cancellation).ConfigureAwait(false);
        }
        catch (InvalidDataException e)
        {
            throw new IngestException(e.Message, e);
        }
    }

    private const string KeepSuffix = ".keep";

    /// <summary>
    /// Under the write gate: ingests the instances the intent does not list as done, recording each, then appends the
    /// INGEST_SST item (unless a recovery finds it already in the binlog) and the applied record, then drops the
    /// intent and its staging.
    /// </summary>
    private void Complete(IngestIntent intent, bool recovering)
    {
        var folder = Path.Combine(_settings.StagingFolder, intent.Staging);
        var plan = intent.Plan;
        using (_gate.Enter())
        {
            var instances = plan.Files.Select(f => f.Instance).Distinct().Order().ToList();
            foreach (var instance in instances.Where(i => !intent.InstancesDone.Contains(i)))
            {
                var files = plan.Files.Select((f, i) => (f, i)).Where(x => x.f.Instance == instance).Select(x => Path.Combine(folder, intent.StagedNames[x.i])).ToList();
                IngestInstance(intent, instance, files, mayRefuse: !recovering && intent.InstancesDone.Count == 0);
                intent = intent.WithDone(instance);
                var done = intent;
                Retry(intent, $"record instance {instance} in {_intents.PathOf(intent.BatchId)}", () => _intents.Save(done));
                foreach (var path in files)
                {
                    File.Delete(path + KeepSuffix);
                }

                _faults.At($"after-instance-{instance}");
                if (instance == instances[^1])
                {
                    _faults.At("after-last-instance");
                }
            }

            // The item may be in already: appended by the run that died, or written by an attempt whose fsync failed.
            var from = BinlogPosition.TryParse(intent.BinlogFrom, out var start) ? start : throw new IngestIntentException($"{_intents.PathOf(intent.BatchId)}: bad binlog position '{intent.BinlogFrom}'");
            var position = default(BinlogPosition);
            Retry(intent, "append its INGEST_SST item to the binlog", () =>
            {
                if (BinlogSearch.TryFindIngest(_gate.BinlogFolder, from, plan.BatchId, out position))
                {
                    _gate.FlushBinlog();
                }
                else
                {
                    position = _gate.AppendIngest(plan.ToRecord());
                }
            });
            _faults.At("after-binlog");
            if (!_applied.TryGet(plan.BatchId, out _))
            {
                var applied = new AppliedBatch(AppliedBatch.CurrentVersion, plan.BatchId, plan.Bucket, plan.ManifestKey, plan.Files.Count, plan.TotalBytes, position.ToString(), DateTimeOffset.UtcNow);
                Retry(intent, "record the batch as applied", () => _applied.Record(applied));
            }

            _faults.At("after-applied");
            Retry(intent, $"remove {_intents.PathOf(intent.BatchId)}", () => _intents.Delete(plan.BatchId));
        }

        DeleteFolder(folder);
    }

    /// <summary>
    /// One instance takes its files. While nothing of the batch is in, any refusal is final (the client is told,
    /// the intent withdrawn). After that, a refusal that can pass is retried with the gate held (<see cref="Retry"/>);
    /// one that cannot holds the batch unfinished (<see cref="Hold"/>).
    /// </summary>
    private void IngestInstance(IngestIntent intent, int instance, List<string> files, bool mayRefuse)
    {
        if (!mayRefuse)
        {
            Retry(intent, $"ingest the files of instance {instance}", () =>
            {
                KeepAside(files);
                _store.IngestFiles(instance, files);
            });
            return;
        }

        try
        {
            KeepAside(files);
            _store.IngestFiles(instance, files);
        }
        catch (Exception e) when (e is not IngestException)
        {
            throw new IngestException($"batch {intent.BatchId}: RocksDB refused the files of instance {instance}: {e.Message}", e) { NothingTouched = true };
        }
    }

    /// <summary>
    /// Once an instance may hold the batch, every step to the end must happen. A refusal that can pass (a full disk,
    /// an I/O error, a busy resource: <see cref="IsTransient"/>) is retried with backoff, the gate held and the reason
    /// in the log and INFO ingest, up to <see cref="IngestSettings.RetryLimit"/> attempts; a permanent one (a corrupt
    /// or invalid file) or the last attempt holds the batch unfinished.
    /// </summary>
    private void Retry(IngestIntent intent, string what, Action step)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                step();
                if (attempt > 1)
                {
                    _log($"ingest: batch {intent.BatchId}: could {what} at attempt {attempt}");
                }

                Stats.RetryPassed();
                return;
            }
            catch (Exception e) when (e is not IngestException)
            {
                if (!IsTransient(e))
                {
                    throw Hold(intent, $"could not {what}: {e.Message} (a permanent refusal: retrying cannot help)", e);
                }

                if (attempt >= _settings.RetryLimit)
                {
                    throw Hold(intent, $"could not {what} in {attempt} attempts: {e.Message}", e);
                }

                var delay = Backoff(attempt);
                var why = $"batch {intent.BatchId}: cannot {what} (attempt {attempt} of {_settings.RetryLimit}): {e.Message}; the batch is held, not abandoned; next try in {delay.TotalSeconds:0.#} s";
                Stats.Retrying(why);
                _log("ingest: " + why);
                Thread.Sleep(delay);
            }
        }
    }

    /// <summary>
    /// Whether a refusal can pass by itself. RocksDB reports a Status (include/rocksdb/status.h, whose ToString
    /// prefixes the messages): "IO error" (a full disk among them), "Resource busy", "Operation timed out",
    /// "Operation failed. Try again." can; "Corruption", "Invalid argument", "Not implemented" and the rest cannot.
    /// The node's own file steps fail with <see cref="IOException"/>, which can pass.
    /// </summary>
    internal static bool IsTransient(Exception e) => e switch
    {
        InvalidDataException => false,
        IOException or UnauthorizedAccessException => true,
        _ => TransientStatuses.Any(prefix => e.Message.StartsWith(prefix, StringComparison.Ordinal)),
    };

    private static readonly string[] TransientStatuses = ["IO error", "Resource busy", "Operation timed out", "Operation failed. Try again.", "Operation aborted"];

    /// <summary>
    /// Leaves the batch unfinished with its intent and staging in place: the gate is released, and until the node is
    /// restarted (which tries again) data commands are answered with the reason and the safe command, never with half
    /// a batch. Returns the exception for the caller to throw.
    /// </summary>
    private IngestException Hold(IngestIntent intent, string reason, Exception inner)
    {
        var done = intent.InstancesDone;
        var message =
            $"batch {intent.BatchId} is unfinished: {reason}. Instances done: {(done.Count == 0 ? "none recorded" : string.Join(",", done))} of {string.Join(",", intent.Files.Select(f => f.Instance).Distinct().Order())}, " +
            $"so reads and writes are refused until it is finished: restore its files in bucket {intent.Bucket} and restart the node (it finishes the batch on start), " +
            $"or restart it with --discard-ingest-intent {intent.BatchId} and repeat INGEST_S3 {intent.Bucket} {intent.ManifestKey}";
        Volatile.Write(ref _unfinished, message);
        Stats.Unfinished(message);
        _log("ingest: " + message);
        return new IngestException(message, inner);
    }

    private void RefuseWhileUnfinished()
    {
        if (Unfinished is { } why)
        {
            throw new IngestException(why);
        }
    }

    private static TimeSpan Backoff(int attempt) => TimeSpan.FromMilliseconds(Math.Min(30_000, 100 * (1 << Math.Min(attempt, 9))));

    /// <summary>A second name for each staged file, so a file RocksDB moved in and then lost with a crash can be ingested again.</summary>
    private static void KeepAside(List<string> files)
    {
        foreach (var path in files)
        {
            var keep = path + KeepSuffix;
            if (!File.Exists(path) && File.Exists(keep))
            {
                HardLinks.TryCreate(keep, path);
            }
            else if (!File.Exists(keep) && HardLinks.TryCreate(path, keep) != HardLinkOutcome.Created)
            {
                File.Copy(path, keep);
            }
        }
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

    private void CleanStaging(HashSet<string> keep)
    {
        if (Directory.Exists(_settings.StagingFolder))
        {
            foreach (var leftover in Directory.GetDirectories(_settings.StagingFolder).Where(d => !keep.Contains(Path.GetFileName(d))))
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
    string IntentFolder,
    ManifestLimits Limits,
    int DownloadParallelism = 8,
    long SpaceReserveBytes = 64L << 20,
    int RetryLimit = 12);

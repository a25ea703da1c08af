using System.Globalization;
using System.Security.Cryptography;
using PikaIngest.Core.Storage;

namespace PikaIngest.Core.Layout;

/// <summary>One file a manifest lists: where it is in the bucket and what it must be.</summary>
public readonly record struct BatchFile(string Key, long Size, string Sha256);

/// <summary>
/// Brings a batch's files from the store into a local folder and checks each against the size and SHA-256 the
/// manifest gives, as pika-node does before an ingest and <c>pika-ingest apply</c> does for a stopped Pika.
/// A missing or different file is an <see cref="InvalidDataException"/> naming the file and the bucket.
/// </summary>
public static class BatchFileTransfer
{
    /// <summary>Stages file i as <c>staging/&lt;i:D6&gt;.sst</c>; returns the paths in manifest order.</summary>
    public static async Task<string[]> DownloadAsync(string batchId, IReadOnlyList<BatchFile> files, IObjectStore store, string staging, int parallelism, Action? staged, CancellationToken cancellation)
    {
        Directory.CreateDirectory(staging);
        var paths = files.Select((_, i) => Path.Combine(staging, i.ToString("D6", CultureInfo.InvariantCulture) + ".sst")).ToArray();
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = cancellation };
        await Parallel.ForEachAsync(Enumerable.Range(0, files.Count), parallel, async (i, token) =>
        {
            var file = files[i];
            // A folder store on the same volume needs no copy: the staged file is a second name for the object's
            // bytes (verified like a download). The store replaces objects by rename, never in place, so what is
            // ingested cannot change underneath; RocksDB's block checksums would catch it if it did.
            if (store is LocalFolderStore folder && HardLinks.TryCreate(folder.PathOf(file.Key), paths[i]) == HardLinkOutcome.Created)
            {
                staged?.Invoke();
                return;
            }

            try
            {
                await store.DownloadAsync(file.Key, paths[i], token).ConfigureAwait(false);
                staged?.Invoke();
            }
            catch (ObjectNotFoundException)
            {
                throw new InvalidDataException($"batch {batchId}: file {file.Key} is missing from bucket {store.Bucket}");
            }
        }).ConfigureAwait(false);
        return paths;
    }

    public static async Task VerifyAsync(string batchId, IReadOnlyList<BatchFile> files, string[] paths, IObjectStore store, CancellationToken cancellation)
    {
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = cancellation };
        await Parallel.ForEachAsync(Enumerable.Range(0, files.Count), parallel, async (i, token) =>
        {
            var file = files[i];
            var size = new FileInfo(paths[i]).Length;
            if (size != file.Size)
            {
                throw new InvalidDataException($"batch {batchId}: file {file.Key} in bucket {store.Bucket} is {size} bytes; the manifest says {file.Size}");
            }

            var stream = new FileStream(paths[i], FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.Asynchronous | FileOptions.SequentialScan);
            await using (stream.ConfigureAwait(false))
            {
                var sha256 = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, token).ConfigureAwait(false));
                if (sha256 != file.Sha256)
                {
                    throw new InvalidDataException($"batch {batchId}: file {file.Key} in bucket {store.Bucket} has sha256 {sha256}; the manifest says {file.Sha256}");
                }
            }
        }).ConfigureAwait(false);
    }
}

using System.Runtime.CompilerServices;
using PikaIngest.Core.Layout;

namespace PikaIngest.Core.Storage;

/// <summary>
/// A bucket kept as a local folder: object <c>K</c> is the file <c>ROOT/K</c>. The embedded
/// default store, laid out exactly like the S3 bucket so local runs and the cloud behave the same.
/// Writes go to a temporary name and are renamed; conditional creates link the temporary file
/// under the key's name, which fails if the name exists.
/// </summary>
public sealed class LocalFolderStore : IObjectStore
{
    private const string TemporaryMarker = ".tmp-";

    public LocalFolderStore(string root, string? bucket = null)
    {
        Root = Path.GetFullPath(root);
        Bucket = bucket ?? Path.GetFileName(Root.TrimEnd(Path.DirectorySeparatorChar));
    }

    public string Root { get; }

    public string Bucket { get; }

    public string Location => Root;

    public Task<bool> SupportsConditionalCreateAsync(CancellationToken cancellation = default) => Task.FromResult(true);

    /// <summary>Maps a key to its file, refusing keys that would leave the folder.</summary>
    public string PathOf(string key)
    {
        return Path.Combine(Root, ObjectStores.RequireValidKey(key));
    }

    public Task<ObjectInfo?> HeadAsync(string key, CancellationToken cancellation = default)
    {
        var file = new FileInfo(PathOf(key));
        return Task.FromResult(file.Exists ? Info(key, file) : null);
    }

    public async Task<byte[]> GetBytesAsync(string key, long maxBytes, CancellationToken cancellation = default)
    {
        var file = new FileInfo(PathOf(key));
        if (!file.Exists)
        {
            throw new ObjectNotFoundException($"{Root}/{key}");
        }

        if (file.Length > maxBytes)
        {
            throw new InvalidDataException($"{Root}/{key}: {file.Length} bytes, more than the {maxBytes} allowed");
        }

        return await File.ReadAllBytesAsync(file.FullName, cancellation).ConfigureAwait(false);
    }

    public async Task<byte[]> GetRangeAsync(string key, long offset, int length, CancellationToken cancellation = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        FileStream input;
        try
        {
            input = new FileStream(PathOf(key), FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1, FileOptions.Asynchronous);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ObjectNotFoundException($"{Root}/{key}");
        }

        await using (input.ConfigureAwait(false))
        {
            var content = GC.AllocateUninitializedArray<byte>(length);
            input.Position = offset;
            var read = await input.ReadAtLeastAsync(content, length, throwOnEndOfStream: false, cancellation).ConfigureAwait(false);
            return read == length
                ? content
                : throw new InvalidDataException($"{Root}/{key}: {input.Length} bytes; cannot read {length} bytes at {offset}");
        }
    }

    public async Task<ObjectInfo> DownloadAsync(string key, string path, CancellationToken cancellation = default)
    {
        var source = new FileInfo(PathOf(key));
        if (!source.Exists)
        {
            throw new ObjectNotFoundException($"{Root}/{key}");
        }

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var temporary = TemporaryName(path);
        try
        {
            await using (var input = new FileStream(source.FullName, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.Asynchronous | FileOptions.SequentialScan))
            await using (var output = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20, FileOptions.Asynchronous))
            {
                await input.CopyToAsync(output, cancellation).ConfigureAwait(false);
            }

            File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }

        return Info(key, source);
    }

    public Task<ObjectInfo> PutBytesAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellation = default)
    {
        var path = PathOf(key);
        AtomicFile.Write(path, content.Span);
        return Task.FromResult(Info(key, new FileInfo(path)));
    }

    public async Task<ObjectInfo> UploadAsync(string key, string path, string? sha256 = null, IProgress<long>? progress = null, CancellationToken cancellation = default)
    {
        var target = PathOf(key);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        var temporary = TemporaryName(target);
        try
        {
            await using (var input = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.Asynchronous | FileOptions.SequentialScan))
            await using (var output = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20, FileOptions.Asynchronous))
            {
                var buffer = new byte[1 << 20];
                int read;
                while ((read = await input.ReadAsync(buffer, cancellation).ConfigureAwait(false)) > 0)
                {
                    await output.WriteAsync(buffer.AsMemory(0, read), cancellation).ConfigureAwait(false);
                    progress?.Report(read);
                }
            }

            File.Move(temporary, target, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }

        return Info(key, new FileInfo(target)) with { Sha256 = sha256 };
    }

    public Task<CreateOutcome> CreateIfAbsentAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellation = default)
    {
        var path = PathOf(key);
        if (File.Exists(path))
        {
            return Task.FromResult(CreateOutcome.AlreadyExists);
        }

        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temporary = TemporaryName(path);
        try
        {
            using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write))
            {
                file.Write(content.Span);
                file.Flush(flushToDisk: true);
            }

            return Task.FromResult(Publish(temporary, path) ? CreateOutcome.Created : CreateOutcome.AlreadyExists);
        }
        catch (IOException) when (File.Exists(path))
        {
            return Task.FromResult(CreateOutcome.AlreadyExists);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    /// <summary>
    /// Gives the finished temporary file the name <paramref name="path"/> unless that name exists; false if it did.
    /// link(2) does both in one step, so of two racing creators exactly one wins. .NET's no-overwrite
    /// File.Move does not: on Unix it checks for the destination, then renames, and two creators can both
    /// pass the check. It remains the way on Windows (MoveFileEx without replace is atomic there) and on
    /// file systems without hard links.
    /// </summary>
    private static bool Publish(string temporary, string path)
    {
        switch (HardLinks.TryCreate(temporary, path))
        {
            case HardLinkOutcome.Created:
                return true;
            case HardLinkOutcome.NameTaken:
                return false;
        }

        try
        {
            File.Move(temporary, path, overwrite: false);
            return true;
        }
        catch (IOException) when (File.Exists(path))
        {
            return false;
        }
    }

    public async IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellation = default)
    {
        await Task.Yield();
        var folder = prefix.Contains('/', StringComparison.Ordinal) ? PathOf(prefix[..prefix.LastIndexOf('/')]) : Root;
        if (!Directory.Exists(folder))
        {
            yield break;
        }

        var keys = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(Root, f).Replace(Path.DirectorySeparatorChar, '/'))
            .Where(k => k.StartsWith(prefix, StringComparison.Ordinal) && !k.Contains(TemporaryMarker, StringComparison.Ordinal))
            .Order(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            cancellation.ThrowIfCancellationRequested();
            var file = new FileInfo(Path.Combine(Root, key));
            if (file.Exists)
            {
                yield return Info(key, file);
            }
        }
    }

    public Task DeleteAsync(string key, CancellationToken cancellation = default)
    {
        AtomicFile.DeleteIfExists(PathOf(key));
        return Task.CompletedTask;
    }

    private static ObjectInfo Info(string key, FileInfo file) =>
        new(key, file.Length, AtomicFile.LocalETag(file), file.LastWriteTimeUtc);

    private static string TemporaryName(string path) => $"{path}{TemporaryMarker}{Environment.ProcessId}-{Guid.NewGuid():N}";
}

/// <summary>A folder whose sub-folders are buckets: bucket <c>B</c> is <c>ROOT/B</c>.</summary>
public sealed class LocalFolderStoreProvider(string root) : IObjectStoreProvider
{
    public string Root { get; } = Path.GetFullPath(root);

    public string Location => new Uri(Root).AbsoluteUri;

    public IObjectStore Bucket(string name)
    {
        if (!ObjectLayout.IsValidBatchId(name) || name.Contains("..", StringComparison.Ordinal))
        {
            throw new ArgumentException($"invalid bucket name '{name}'");
        }

        return new LocalFolderStore(Path.Combine(Root, name), name);
    }
}

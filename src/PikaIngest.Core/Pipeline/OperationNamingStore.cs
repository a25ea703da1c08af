using System.Runtime.CompilerServices;
using PikaIngest.Core.Storage;

namespace PikaIngest.Core.Pipeline;

/// <summary>
/// Wraps a store so that an error escaping any request carries the request, the object and the IAM action it
/// needs (in <see cref="Exception.Data"/>): an SDK error says "Access Denied" and nothing of which key, and a
/// failure record must name it. The exception itself passes through unchanged, type and stack included, so every
/// catch in the stages still sees what the store threw.
/// </summary>
public sealed class OperationNamingStore(IObjectStore inner) : IObjectStore
{
    public string Bucket => inner.Bucket;

    public string Location => inner.Location;

    public async Task<bool> SupportsConditionalCreateAsync(CancellationToken cancellation = default)
    {
        try
        {
            return await inner.SupportsConditionalCreateAsync(cancellation).ConfigureAwait(false);
        }
        catch (Exception e) when (Name(e, "PUT", ".pika-ingest-probe/", "s3:PutObject and s3:DeleteObject"))
        {
            throw;
        }
    }

    public async Task<ObjectInfo?> HeadAsync(string key, CancellationToken cancellation = default)
    {
        try
        {
            return await inner.HeadAsync(key, cancellation).ConfigureAwait(false);
        }
        catch (Exception e) when (Name(e, "HEAD", key, "s3:GetObject"))
        {
            throw;
        }
    }

    public async Task<byte[]> GetBytesAsync(string key, long maxBytes, CancellationToken cancellation = default)
    {
        try
        {
            return await inner.GetBytesAsync(key, maxBytes, cancellation).ConfigureAwait(false);
        }
        catch (Exception e) when (Name(e, "GET", key, "s3:GetObject"))
        {
            throw;
        }
    }

    public async Task<byte[]> GetRangeAsync(string key, long offset, int length, CancellationToken cancellation = default)
    {
        try
        {
            return await inner.GetRangeAsync(key, offset, length, cancellation).ConfigureAwait(false);
        }
        catch (Exception e) when (Name(e, "GET", key, "s3:GetObject"))
        {
            throw;
        }
    }

    public async Task<ObjectInfo> DownloadAsync(string key, string path, CancellationToken cancellation = default)
    {
        try
        {
            return await inner.DownloadAsync(key, path, cancellation).ConfigureAwait(false);
        }
        catch (Exception e) when (Name(e, "GET", key, "s3:GetObject"))
        {
            throw;
        }
    }

    public async Task<ObjectInfo> PutBytesAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellation = default)
    {
        try
        {
            return await inner.PutBytesAsync(key, content, cancellation).ConfigureAwait(false);
        }
        catch (Exception e) when (Name(e, "PUT", key, "s3:PutObject"))
        {
            throw;
        }
    }

    public async Task<ObjectInfo> UploadAsync(string key, string path, string? sha256 = null, IProgress<long>? progress = null, CancellationToken cancellation = default)
    {
        try
        {
            return await inner.UploadAsync(key, path, sha256, progress, cancellation).ConfigureAwait(false);
        }
        catch (Exception e) when (Name(e, "PUT", key, "s3:PutObject"))
        {
            throw;
        }
    }

    public async Task<CreateOutcome> CreateIfAbsentAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellation = default)
    {
        try
        {
            return await inner.CreateIfAbsentAsync(key, content, cancellation).ConfigureAwait(false);
        }
        catch (Exception e) when (Name(e, "PUT", key, "s3:PutObject"))
        {
            throw;
        }
    }

    public async IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellation = default)
    {
        var objects = inner.ListAsync(prefix, cancellation).GetAsyncEnumerator(cancellation);
        await using (objects.ConfigureAwait(false))
        {
            while (true)
            {
                bool more;
                try
                {
                    more = await objects.MoveNextAsync().ConfigureAwait(false);
                }
                catch (Exception e) when (Name(e, "LIST", prefix, "s3:ListBucket"))
                {
                    throw;
                }

                if (!more)
                {
                    yield break;
                }

                yield return objects.Current;
            }
        }
    }

    public async Task DeleteAsync(string key, CancellationToken cancellation = default)
    {
        try
        {
            await inner.DeleteAsync(key, cancellation).ConfigureAwait(false);
        }
        catch (Exception e) when (Name(e, "DELETE", key, "s3:DeleteObject"))
        {
            throw;
        }
    }

    /// <summary>
    /// Records the request on the exception and returns false: run as an exception filter, it never catches, so the
    /// error propagates as thrown. The innermost request is the one that failed; an outer one does not overwrite it.
    /// </summary>
    private bool Name(Exception error, string operation, string key, string permission)
    {
        if (!error.Data.Contains(PermanentFailures.OperationData))
        {
            error.Data[PermanentFailures.OperationData] = operation;
            error.Data[PermanentFailures.ObjectData] = $"{inner.Location}/{key}";
            error.Data[PermanentFailures.PermissionData] = permission;
        }

        return false;
    }
}

/// <summary>Opens every bucket through <see cref="OperationNamingStore"/>.</summary>
public sealed class OperationNamingStoreProvider(IObjectStoreProvider inner) : IObjectStoreProvider
{
    public string Location => inner.Location;

    public IObjectStore Bucket(string name) => new OperationNamingStore(inner.Bucket(name));
}

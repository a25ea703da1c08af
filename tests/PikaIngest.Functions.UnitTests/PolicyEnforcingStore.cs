using System.Runtime.CompilerServices;
using PikaIngest.Core.Storage;

namespace PikaIngest.Functions.UnitTests;

/// <summary>Opens buckets whose every request is checked against one role's policy first, as S3 checks it.</summary>
public sealed class PolicyEnforcingStoreProvider(IObjectStoreProvider inner, IamPolicy policy, string partition = "aws") : IObjectStoreProvider
{
    public string Location => inner.Location;

    public IObjectStore Bucket(string name) => new PolicyEnforcingStore(inner.Bucket(name), policy, partition);
}

/// <summary>
/// A store that answers as S3 does for a role holding <paramref name="policy"/>: each request needs the action S3
/// authorizes it by (S3ObjectStore sends: GET, range GET and HEAD need s3:GetObject; PUT, conditional PUT and multipart
/// uploads s3:PutObject; DELETE s3:DeleteObject, on the object's ARN; LIST s3:ListBucket on the bucket's ARN). A request
/// the policy does not allow fails before it reaches the store, with the <see cref="ObjectStoreAccessDeniedException"/>
/// S3ObjectStore raises for S3's 403. A GET or HEAD of a missing key is "not found" only when the role may list the
/// bucket; otherwise S3 answers 403, so as not to tell a caller that may not list whether the key exists (AWS S3 API
/// reference, GetObject, "Permissions").
/// </summary>
public sealed class PolicyEnforcingStore(IObjectStore inner, IamPolicy policy, string partition) : IObjectStore
{
    public string Bucket => inner.Bucket;

    public string Location => inner.Location;

    private string BucketArn => $"arn:{partition}:s3:::{Bucket}";

    public Task<bool> SupportsConditionalCreateAsync(CancellationToken cancellation = default) => inner.SupportsConditionalCreateAsync(cancellation);

    public async Task<ObjectInfo?> HeadAsync(string key, CancellationToken cancellation = default)
    {
        Require(S3Actions.GetObject, key);
        return await inner.HeadAsync(key, cancellation).ConfigureAwait(false) ?? (MayKnowAbsence() ? null : throw MissingKeyDenied(key));
    }

    public Task<byte[]> GetBytesAsync(string key, long maxBytes, CancellationToken cancellation = default) =>
        ReadAsync(key, () => inner.GetBytesAsync(key, maxBytes, cancellation));

    public Task<byte[]> GetRangeAsync(string key, long offset, int length, CancellationToken cancellation = default) =>
        ReadAsync(key, () => inner.GetRangeAsync(key, offset, length, cancellation));

    public Task<ObjectInfo> DownloadAsync(string key, string path, CancellationToken cancellation = default) =>
        ReadAsync(key, () => inner.DownloadAsync(key, path, cancellation));

    public Task<ObjectInfo> PutBytesAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellation = default)
    {
        Require(S3Actions.PutObject, key);
        return inner.PutBytesAsync(key, content, cancellation);
    }

    public Task<ObjectInfo> UploadAsync(string key, string path, string? sha256 = null, IProgress<long>? progress = null, CancellationToken cancellation = default)
    {
        Require(S3Actions.PutObject, key);
        return inner.UploadAsync(key, path, sha256, progress, cancellation);
    }

    /// <summary>A PUT with If-None-Match: S3 authorizes it as s3:PutObject whether or not the key exists (412 needs nothing more).</summary>
    public Task<CreateOutcome> CreateIfAbsentAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellation = default)
    {
        Require(S3Actions.PutObject, key);
        return inner.CreateIfAbsentAsync(key, content, cancellation);
    }

    /// <summary>Checked when enumeration starts, which is when S3ObjectStore sends its first LIST.</summary>
    public async IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellation = default)
    {
        if (!policy.Allows(S3Actions.ListBucket, BucketArn))
        {
            throw new ObjectStoreAccessDeniedException(Bucket, prefix, S3Actions.ListBucket);
        }

        await foreach (var info in inner.ListAsync(prefix, cancellation).ConfigureAwait(false))
        {
            yield return info;
        }
    }

    /// <summary>S3 answers a DELETE of a missing key with 204, so only the permission matters.</summary>
    public Task DeleteAsync(string key, CancellationToken cancellation = default)
    {
        Require(S3Actions.DeleteObject, key);
        return inner.DeleteAsync(key, cancellation);
    }

    private async Task<T> ReadAsync<T>(string key, Func<Task<T>> read)
    {
        Require(S3Actions.GetObject, key);
        try
        {
            return await read().ConfigureAwait(false);
        }
        catch (ObjectNotFoundException) when (!MayKnowAbsence())
        {
            throw MissingKeyDenied(key);
        }
    }

    private void Require(string action, string key)
    {
        if (!policy.Allows(action, $"{BucketArn}/{key}"))
        {
            throw new ObjectStoreAccessDeniedException(Bucket, key, action);
        }
    }

    private bool MayKnowAbsence() => policy.Allows(S3Actions.ListBucket, BucketArn);

    // S3's 403 for a missing key answers the GET itself, so S3ObjectStore can only name the action it sent.
    private ObjectStoreAccessDeniedException MissingKeyDenied(string key) => new(Bucket, key, S3Actions.GetObject);
}

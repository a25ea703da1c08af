using System.Net;
using System.Runtime.CompilerServices;
using Amazon.S3;
using PikaIngest.Core.Storage;

namespace PikaIngest.Functions.UnitTests;

/// <summary>
/// A folder store whose requests can be made to fail the way S3 fails them: it observes the functions' side of the
/// store boundary and answers some requests with the SDK's exception instead of the folder's answer, a 403 turned into
/// <see cref="ObjectStoreAccessDeniedException"/> as <see cref="S3ObjectStore"/> turns it.
/// </summary>
/// <param name="fault">Given the request ("GET", "HEAD", "PUT", "LIST", "DELETE"), the key and whether the object exists: the error to throw, or null.</param>
public sealed class FaultyStores(IObjectStoreProvider inner, Func<string, string, bool, Exception?> fault) : IObjectStoreProvider
{
    public string Location => inner.Location;

    public IObjectStore Bucket(string name) => new FaultyStore(inner.Bucket(name), fault);

    /// <summary>What S3 answers a caller its policy does not allow (and, without s3:ListBucket, a read of a missing key).</summary>
    public static AmazonS3Exception AccessDenied(string message = "Access Denied") =>
        new(message) { StatusCode = HttpStatusCode.Forbidden, ErrorCode = "AccessDenied" };

    public static AmazonS3Exception SlowDown() =>
        new("Please reduce your request rate.") { StatusCode = HttpStatusCode.ServiceUnavailable, ErrorCode = "SlowDown" };

    private sealed class FaultyStore(IObjectStore inner, Func<string, string, bool, Exception?> fault) : IObjectStore
    {
        public string Bucket => inner.Bucket;

        public string Location => inner.Location;

        public Task<bool> SupportsConditionalCreateAsync(CancellationToken cancellation = default) => inner.SupportsConditionalCreateAsync(cancellation);

        public async Task<ObjectInfo?> HeadAsync(string key, CancellationToken cancellation = default)
        {
            await FailAsync("HEAD", key).ConfigureAwait(false);
            return await inner.HeadAsync(key, cancellation).ConfigureAwait(false);
        }

        public async Task<byte[]> GetBytesAsync(string key, long maxBytes, CancellationToken cancellation = default)
        {
            await FailAsync("GET", key).ConfigureAwait(false);
            return await inner.GetBytesAsync(key, maxBytes, cancellation).ConfigureAwait(false);
        }

        public async Task<byte[]> GetRangeAsync(string key, long offset, int length, CancellationToken cancellation = default)
        {
            await FailAsync("GET", key).ConfigureAwait(false);
            return await inner.GetRangeAsync(key, offset, length, cancellation).ConfigureAwait(false);
        }

        public async Task<ObjectInfo> DownloadAsync(string key, string path, CancellationToken cancellation = default)
        {
            await FailAsync("GET", key).ConfigureAwait(false);
            return await inner.DownloadAsync(key, path, cancellation).ConfigureAwait(false);
        }

        public async Task<ObjectInfo> PutBytesAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellation = default)
        {
            await FailAsync("PUT", key).ConfigureAwait(false);
            return await inner.PutBytesAsync(key, content, cancellation).ConfigureAwait(false);
        }

        public async Task<ObjectInfo> UploadAsync(string key, string path, string? sha256 = null, IProgress<long>? progress = null, CancellationToken cancellation = default)
        {
            await FailAsync("PUT", key).ConfigureAwait(false);
            return await inner.UploadAsync(key, path, sha256, progress, cancellation).ConfigureAwait(false);
        }

        public async Task<CreateOutcome> CreateIfAbsentAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellation = default)
        {
            await FailAsync("PUT", key).ConfigureAwait(false);
            return await inner.CreateIfAbsentAsync(key, content, cancellation).ConfigureAwait(false);
        }

        public async IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellation = default)
        {
            if (fault("LIST", prefix, true) is { } error)
            {
                throw AsS3ObjectStoreWould(error, "LIST", prefix);
            }

            await foreach (var info in inner.ListAsync(prefix, cancellation).ConfigureAwait(false))
            {
                yield return info;
            }
        }

        public async Task DeleteAsync(string key, CancellationToken cancellation = default)
        {
            await FailAsync("DELETE", key).ConfigureAwait(false);
            await inner.DeleteAsync(key, cancellation).ConfigureAwait(false);
        }

        private async Task FailAsync(string operation, string key)
        {
            if (fault(operation, key, await inner.HeadAsync(key).ConfigureAwait(false) is not null) is { } error)
            {
                throw AsS3ObjectStoreWould(error, operation, key);
            }
        }

        private Exception AsS3ObjectStoreWould(Exception error, string operation, string key) => error is AmazonS3Exception { StatusCode: HttpStatusCode.Forbidden } denied
            ? new ObjectStoreAccessDeniedException(Bucket, key, ActionOf(operation), $"403 {denied.ErrorCode}: {denied.Message}", denied)
            : error;

        private static string ActionOf(string operation) => operation switch
        {
            "GET" or "HEAD" => S3Actions.GetObject,
            "PUT" => S3Actions.PutObject,
            "DELETE" => S3Actions.DeleteObject,
            "LIST" => S3Actions.ListBucket,
            _ => throw new ArgumentOutOfRangeException(nameof(operation), operation, "not a store request"),
        };
    }
}

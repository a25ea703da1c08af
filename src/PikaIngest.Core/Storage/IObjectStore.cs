namespace PikaIngest.Core.Storage;

/// <summary>What a store knows about one object.</summary>
/// <param name="Key">Object key relative to the store's bucket (and prefix).</param>
/// <param name="ETag">The store's entity tag, quotes included as S3 returns them.</param>
/// <param name="Sha256">Lower-case hex SHA-256 when the store recorded one (our uploads do), else null.</param>
public sealed record ObjectInfo(string Key, long Size, string? ETag, DateTimeOffset LastModified, string? Sha256 = null);

/// <summary>Result of a conditional create (<c>If-None-Match: *</c>).</summary>
public enum CreateOutcome
{
    Created,

    /// <summary>An object already had that key; nothing was written.</summary>
    AlreadyExists,
}

/// <summary>The object does not exist.</summary>
public sealed class ObjectNotFoundException : Exception
{
    public ObjectNotFoundException(string location)
        : base($"{location}: no such object")
    {
        Location = location;
    }

    public ObjectNotFoundException()
        : this("object")
    {
    }

    public ObjectNotFoundException(string message, Exception innerException)
        : base(message, innerException)
    {
        Location = message;
    }

    public string Location { get; } = "";
}

/// <summary>The S3 permissions each store operation needs (S3's actions and the IAM policy vocabulary for them).</summary>
public static class S3Actions
{
    /// <summary>GET, range GET and HEAD of an object.</summary>
    public const string GetObject = "s3:GetObject";

    /// <summary>PUT (conditional or not) and every request of a multipart upload but its abort.</summary>
    public const string PutObject = "s3:PutObject";

    public const string DeleteObject = "s3:DeleteObject";

    /// <summary>LIST, granted on the bucket's ARN; also what turns S3's answer for a missing object from 403 into 404.</summary>
    public const string ListBucket = "s3:ListBucket";
}

/// <summary>
/// S3 refused a request (HTTP 403): the caller's policies do not grant <see cref="Action"/> on the object or bucket.
/// Not retried: the same request is refused again until the policy changes.
/// </summary>
public sealed class ObjectStoreAccessDeniedException : Exception
{
    /// <param name="detail">What the server said, for the message (S3's error code and text).</param>
    public ObjectStoreAccessDeniedException(string bucket, string key, string action, string? detail = null, Exception? innerException = null)
        : base(Describe(bucket, key, action, detail), innerException)
    {
        Bucket = bucket;
        Key = key;
        Action = action;
    }

    public ObjectStoreAccessDeniedException()
        : this("access denied")
    {
    }

    public ObjectStoreAccessDeniedException(string message)
        : base(message)
    {
    }

    public ObjectStoreAccessDeniedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public string Bucket { get; } = "";

    /// <summary>The object's key, or the listed prefix for <see cref="S3Actions.ListBucket"/>.</summary>
    public string Key { get; } = "";

    public string Action { get; } = "";

    private static string Describe(string bucket, string key, string action, string? detail)
    {
        var what = action == S3Actions.ListBucket ? $"listing s3://{bucket}/ under '{key}'" : $"s3://{bucket}/{key}";
        var because = detail is null ? "" : $" ({detail})";

        // S3 hides whether a key exists from callers that may not list the bucket: such a GET or HEAD of a missing key is a 403 too
        // (AWS's GetObject permissions note), so the permission to look at may be the bucket's.
        var hint = action == S3Actions.GetObject ? $"; S3 also answers so for a missing object when {S3Actions.ListBucket} on the bucket is not granted" : "";
        return $"{what}: access denied to {action}{because}{hint}";
    }
}

/// <summary>
/// One bucket of an object store (optionally narrowed to a key prefix): S3 or a local folder
/// laid out the same way. Keys are always '/'-separated and relative to the bucket (and prefix).
/// Writes are atomic: a reader sees the whole new object or the old one, never a part.
/// </summary>
public interface IObjectStore
{
    string Bucket { get; }

    /// <summary>Where this is, for messages: <c>s3://bucket/prefix</c> or a folder path.</summary>
    string Location { get; }

    /// <summary>
    /// Whether <see cref="CreateIfAbsentAsync"/> is really conditional on this store, so creators of one key may race
    /// (some S3-compatible servers ignore the condition; on those, callers create one key from one writer at a time).
    /// </summary>
    Task<bool> SupportsConditionalCreateAsync(CancellationToken cancellation = default);

    /// <summary>Metadata of an object, or null when it does not exist.</summary>
    Task<ObjectInfo?> HeadAsync(string key, CancellationToken cancellation = default);

    /// <summary>Reads a whole (small) object; throws <see cref="ObjectNotFoundException"/> or, past <paramref name="maxBytes"/>, <see cref="InvalidDataException"/>.</summary>
    Task<byte[]> GetBytesAsync(string key, long maxBytes, CancellationToken cancellation = default);

    /// <summary>
    /// Reads <paramref name="length"/> bytes from <paramref name="offset"/> (an HTTP range GET on S3); throws
    /// <see cref="ObjectNotFoundException"/>, or <see cref="InvalidDataException"/> when the object ends before the range does.
    /// </summary>
    Task<byte[]> GetRangeAsync(string key, long offset, int length, CancellationToken cancellation = default);

    /// <summary>Downloads an object to a local file (temporary name, renamed when complete); returns its metadata.</summary>
    Task<ObjectInfo> DownloadAsync(string key, string path, CancellationToken cancellation = default);

    /// <summary>Writes (or replaces) an object from bytes.</summary>
    Task<ObjectInfo> PutBytesAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellation = default);

    /// <summary>Uploads a local file (multipart when large), recording its SHA-256 with the object.</summary>
    Task<ObjectInfo> UploadAsync(string key, string path, string? sha256 = null, IProgress<long>? progress = null, CancellationToken cancellation = default);

    /// <summary>Creates an object only if no object has the key (<c>If-None-Match: *</c>).</summary>
    Task<CreateOutcome> CreateIfAbsentAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellation = default);

    /// <summary>Objects whose keys start with <paramref name="prefix"/>, in key order.</summary>
    IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, CancellationToken cancellation = default);

    /// <summary>Removes an object; a missing object is not an error.</summary>
    Task DeleteAsync(string key, CancellationToken cancellation = default);
}

/// <summary>A whole store: opens any of its buckets (S3 account/endpoint, or a folder of bucket folders).</summary>
public interface IObjectStoreProvider
{
    /// <summary>What this is, for messages: <c>s3</c> (and endpoint) or <c>file:///root</c>.</summary>
    string Location { get; }

    IObjectStore Bucket(string name);
}

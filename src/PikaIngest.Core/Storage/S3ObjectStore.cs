using System.Collections.Concurrent;
using System.Net;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Amazon;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Polly;
using Polly.Retry;

namespace PikaIngest.Core.Storage;

/// <summary>Tuning and capabilities of an S3 store; the defaults suit AWS.</summary>
public sealed record S3StoreOptions
{
    public static S3StoreOptions Default { get; } = new();

    /// <summary>
    /// Whether the server honours <c>If-None-Match: *</c> on PUT (s3rver 3.7.1 ignores it and overwrites). Null: AWS
    /// itself does (since 2024); a custom endpoint is asked once, by a probe (<see cref="S3ObjectStore.SupportsConditionalCreateAsync"/>).
    /// </summary>
    public bool? SupportsConditionalCreate { get; init; }

    /// <summary>
    /// Signed aws-chunked bodies on PUT. Null: only for AWS itself (a client without a service URL),
    /// since S3-compatible servers need plain bodies.
    /// </summary>
    public bool? UseChunkEncoding { get; init; }

    /// <summary>Files larger than this are uploaded in parts.</summary>
    public long MultipartThreshold { get; init; } = 64L << 20;

    /// <summary>Part size of multipart uploads (S3 requires at least 5 MiB for all parts but the last).</summary>
    public long PartSize { get; init; } = 16L << 20;

    /// <summary>Parts of one upload in flight at once.</summary>
    public int PartConcurrency { get; init; } = 4;

    /// <summary>Keys per ListObjectsV2 page (S3 returns at most 1000).</summary>
    public int ListPageSize { get; init; } = 1000;

    /// <summary>Attempts per request, the first included.</summary>
    public int MaxAttempts { get; init; } = 5;

    /// <summary>Base delay of the exponential backoff (with jitter) between attempts.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromMilliseconds(200);
}

/// <summary>
/// An S3 account or S3-compatible endpoint (MinIO, Ceph, s3rver). <see cref="FromEnvironment"/>
/// follows the standard AWS chain: credentials and region from the environment, profile or
/// instance role; the endpoint from <c>AWS_ENDPOINT_URL_S3</c> or <c>AWS_ENDPOINT_URL</c>.
/// </summary>
public sealed class S3ObjectStoreProvider : IObjectStoreProvider, IDisposable
{
    private readonly IAmazonS3 _client;
    private readonly bool _ownsClient;
    private readonly S3StoreOptions _options;

    /// <summary>Wraps a client the caller keeps and disposes.</summary>
    public S3ObjectStoreProvider(IAmazonS3 client, S3StoreOptions? options = null)
        : this(client, options, ownsClient: false)
    {
    }

    private S3ObjectStoreProvider(IAmazonS3 client, S3StoreOptions? options, bool ownsClient)
    {
        ArgumentNullException.ThrowIfNull(client);
        _client = client;
        _options = S3ObjectStore.RequireValidOptions(options ?? S3StoreOptions.Default);
        _ownsClient = ownsClient;
    }

    /// <summary>The custom endpoint, or null for AWS itself.</summary>
    public string? Endpoint => _client.Config.ServiceURL?.TrimEnd('/');

    public string Location => Endpoint is null ? "s3" : $"s3 ({Endpoint})";

    /// <summary>The store as the environment describes it (see the class summary).</summary>
    public static S3ObjectStoreProvider FromEnvironment() =>
        ForEndpoint(EndpointFromEnvironment(), credentials: null);

    /// <summary>
    /// A store at <paramref name="endpoint"/> (null: AWS), configured as <see cref="FromEnvironment"/>
    /// would configure it; credentials default to the standard chain.
    /// </summary>
    public static S3ObjectStoreProvider ForEndpoint(string? endpoint, AWSCredentials? credentials, S3StoreOptions? options = null)
    {
        var config = CreateConfig(endpoint);
        var client = credentials is null ? new AmazonS3Client(config) : new AmazonS3Client(credentials, config);
        return new S3ObjectStoreProvider(client, options, ownsClient: true);
    }

    /// <summary>
    /// Client settings for AWS (<paramref name="endpoint"/> null) or an S3-compatible endpoint:
    /// path-style addressing for custom endpoints, and checksums only where an operation requires
    /// them: S3-compatible servers reject the SDK's default CRC trailers (aws-chunked bodies) or,
    /// like s3rver 3.7.1, store the framing as object content. Stores on a client with a service
    /// URL also send plain bodies (see <see cref="S3StoreOptions.UseChunkEncoding"/>).
    /// </summary>
    public static AmazonS3Config CreateConfig(string? endpoint)
    {
        var region = FallbackRegionFactory.GetRegionEndpoint() ?? RegionEndpoint.USEast1;
        var config = new AmazonS3Config
        {
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,

            // The store's Polly pipeline is the one retry layer; SDK retries underneath would multiply its attempts.
            MaxErrorRetry = 0,
        };
        if (endpoint is null)
        {
            config.RegionEndpoint = region;
        }
        else
        {
            if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            {
                throw new ArgumentException($"invalid S3 endpoint '{endpoint}': expected http(s)://host[:port]");
            }

            config.ServiceURL = endpoint;
            config.AuthenticationRegion = region.SystemName;
            config.ForcePathStyle = true;
        }

        return config;
    }

    public IObjectStore Bucket(string name) => Bucket(name, "");

    /// <summary>A bucket narrowed to the keys under <paramref name="prefix"/> ('/'-separated, no leading or trailing '/' needed).</summary>
    public IObjectStore Bucket(string name, string prefix) => new S3ObjectStore(_client, name, prefix, _options);

    public void Dispose()
    {
        if (_ownsClient)
        {
            _client.Dispose();
        }
    }

    private static string? EndpointFromEnvironment()
    {
        var endpoint = Environment.GetEnvironmentVariable("AWS_ENDPOINT_URL_S3");
        if (string.IsNullOrWhiteSpace(endpoint))
        {
            endpoint = Environment.GetEnvironmentVariable("AWS_ENDPOINT_URL");
        }

        return string.IsNullOrWhiteSpace(endpoint) ? null : endpoint.Trim();
    }
}

/// <summary>
/// One S3 bucket, optionally under a key prefix. Every request runs through a retry pipeline:
/// throttling (503 SlowDown, 429), other 5xx, timeouts and connection failures are retried with
/// exponential backoff and jitter; any other 4xx fails at once.
/// </summary>
public sealed partial class S3ObjectStore : IObjectStore
{
    private const long MinPartSize = 5L << 20;
    private const long MaxPartSize = 5L << 30;
    private const int MaxParts = 10_000;
    private const string Sha256Metadata = "x-amz-meta-sha256";

    /// <summary>Probe answers per endpoint and bucket: a property of the server, asked once per process, not per store view.</summary>
    private static readonly ConcurrentDictionary<(string Endpoint, string Bucket), Lazy<Task<bool>>> ConditionalCreateProbes = new();

    private readonly IAmazonS3 _client;
    private readonly string _prefix;
    private readonly S3StoreOptions _options;
    private readonly bool _useChunkEncoding;
    private readonly ResiliencePipeline _pipeline;

    public S3ObjectStore(IAmazonS3 client, string bucket, string prefix = "", S3StoreOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        _client = client;
        Bucket = RequireValidBucketName(bucket);
        var trimmed = prefix.Trim('/');
        if (trimmed.Length > 0)
        {
            ObjectStores.RequireValidKey(trimmed);
        }

        _prefix = trimmed.Length == 0 ? "" : trimmed + "/";
        _options = RequireValidOptions(options ?? S3StoreOptions.Default);
        _useChunkEncoding = _options.UseChunkEncoding ?? client.Config.ServiceURL is null;
        // Polly refuses a retry strategy of zero retries, so one attempt means no strategy at all.
        _pipeline = _options.MaxAttempts == 1 ? ResiliencePipeline.Empty : new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } e && IsTransient(e, args.Context.CancellationToken)),
                MaxRetryAttempts = _options.MaxAttempts - 1,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = _options.RetryDelay,
                MaxDelay = TimeSpan.FromSeconds(20),
            })
            .Build();
    }

    public string Bucket { get; }

    /// <summary>The key prefix this view is narrowed to, with its trailing '/' (empty for the whole bucket).</summary>
    public string Prefix => _prefix;

    public string Location => $"s3://{Bucket}/{_prefix.TrimEnd('/')}".TrimEnd('/');

    /// <summary>
    /// As configured, true for AWS itself, else found out once per endpoint and bucket by creating a probe object
    /// twice under <c>.pika-ingest-probe/</c> with <c>If-None-Match: *</c>: a server that lets the second PUT through
    /// ignores the condition. The probe object is deleted.
    /// </summary>
    public Task<bool> SupportsConditionalCreateAsync(CancellationToken cancellation = default) =>
        _options.SupportsConditionalCreate is { } configured ? Task.FromResult(configured)
            : _client.Config.ServiceURL is not { } endpoint ? Task.FromResult(true)
            : ConditionalCreateProbes.GetOrAdd((endpoint, Bucket), _ => new Lazy<Task<bool>>(() => ProbeConditionalCreateAsync(CancellationToken.None))).Value.WaitAsync(cancellation);

    private async Task<bool> ProbeConditionalCreateAsync(CancellationToken cancellation)
    {
        var probe = FullKey($".pika-ingest-probe/{Guid.NewGuid():N}");
        try
        {
            await PutIfAbsentAsync(probe, "probe"u8.ToArray(), cancellation).ConfigureAwait(false);
            await PutIfAbsentAsync(probe, "probe"u8.ToArray(), cancellation).ConfigureAwait(false);
            return false;
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.PreconditionFailed)
        {
            return true;
        }
        finally
        {
            await SendAsync(S3Actions.DeleteObject, probe,
                async token => await _client.DeleteObjectAsync(new DeleteObjectRequest { BucketName = Bucket, Key = probe }, token).ConfigureAwait(false),
                CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>S3's bucket naming rules: 3-63 of [a-z0-9.-], starting and ending with a letter or digit.</summary>
    public static bool IsValidBucketName(string? name) =>
        name is not null && BucketNamePattern().IsMatch(name) && !name.Contains("..", StringComparison.Ordinal) && !IpAddressPattern().IsMatch(name);

    public async Task<ObjectInfo?> HeadAsync(string key, CancellationToken cancellation = default)
    {
        var fullKey = FullKey(key);
        try
        {
            var response = await SendAsync(S3Actions.GetObject, fullKey,
                async token => await _client.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = Bucket, Key = fullKey }, token).ConfigureAwait(false),
                cancellation).ConfigureAwait(false);
            return new ObjectInfo(key, response.ContentLength, response.ETag, Time(response.LastModified), response.Metadata[Sha256Metadata]);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    public async Task<byte[]> GetBytesAsync(string key, long maxBytes, CancellationToken cancellation = default)
    {
        var fullKey = FullKey(key);
        return await SendAsync(S3Actions.GetObject, fullKey,
            async token => await ReadCheckedAsync(fullKey, ReadContentAsync, token).ConfigureAwait(false),
            cancellation).ConfigureAwait(false);

        async Task<byte[]> ReadContentAsync(GetObjectResponse response, CancellationToken token)
        {
            if (response.ContentLength > maxBytes)
            {
                throw new InvalidDataException($"{UriOf(fullKey)}: {response.ContentLength} bytes, more than the {maxBytes} allowed");
            }

            var content = new byte[response.ContentLength];
            await response.ResponseStream.ReadExactlyAsync(content, token).ConfigureAwait(false);
            return content;
        }
    }

    public async Task<byte[]> GetRangeAsync(string key, long offset, int length, CancellationToken cancellation = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (length == 0)
        {
            return [];
        }

        var fullKey = FullKey(key);
        var request = new GetObjectRequest { BucketName = Bucket, Key = fullKey, ByteRange = new ByteRange(offset, offset + length - 1) };
        try
        {
            return await SendAsync(S3Actions.GetObject, fullKey,
                async token => await ReadCheckedAsync(fullKey, request, ReadRangeAsync, token).ConfigureAwait(false),
                cancellation).ConfigureAwait(false);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
        {
            throw new InvalidDataException($"{UriOf(fullKey)}: ends before byte {offset}; cannot read {length} bytes there", e);
        }

        async Task<byte[]> ReadRangeAsync(GetObjectResponse response, CancellationToken token)
        {
            // A server returns less than asked when the object ends inside the range.
            var content = GC.AllocateUninitializedArray<byte>(length);
            var read = await response.ResponseStream.ReadAtLeastAsync(content, length, throwOnEndOfStream: false, token).ConfigureAwait(false);
            return read == length && response.ContentLength == length
                ? content
                : throw new InvalidDataException($"{UriOf(fullKey)}: got {read} of the {length} bytes at {offset} (the object is shorter)");
        }
    }

    public async Task<ObjectInfo> DownloadAsync(string key, string path, CancellationToken cancellation = default)
    {
        var fullKey = FullKey(key);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        return await SendAsync(S3Actions.GetObject, fullKey,
            async token =>
            {
                var temporary = $"{path}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
                try
                {
                    // Moved into place only once the whole body has passed the SDK's check.
                    var info = await ReadCheckedAsync(fullKey, (response, readToken) => CopyToAsync(response, temporary, readToken), token).ConfigureAwait(false);
                    File.Move(temporary, path, overwrite: true);
                    return info;
                }
                catch
                {
                    File.Delete(temporary);
                    throw;
                }
            },
            cancellation).ConfigureAwait(false);

        async Task<ObjectInfo> CopyToAsync(GetObjectResponse response, string temporary, CancellationToken token)
        {
            await using (var output = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20, FileOptions.Asynchronous))
            {
                await response.ResponseStream.CopyToAsync(output, 1 << 20, token).ConfigureAwait(false);
            }

            var length = new FileInfo(temporary).Length;
            if (length != response.ContentLength)
            {
                throw new IOException($"{UriOf(fullKey)}: got {length} of {response.ContentLength} bytes");
            }

            return new ObjectInfo(key, response.ContentLength, response.ETag, Time(response.LastModified), response.Metadata[Sha256Metadata]);
        }
    }

    public async Task<ObjectInfo> PutBytesAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellation = default)
    {
        var fullKey = FullKey(key);
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(content.Span));
        var response = await SendAsync(S3Actions.PutObject, fullKey,
            async token => await _client.PutObjectAsync(PutRequest(fullKey, content, sha256), token).ConfigureAwait(false),
            cancellation).ConfigureAwait(false);
        return Written(key, content.Length, response.ETag, sha256);
    }

    /// <summary>
    /// Uploads a local file in one PUT up to <see cref="S3StoreOptions.MultipartThreshold"/>, else in
    /// parts read straight from the file. Progress is reported in bytes sent and may come from several
    /// threads; a failed attempt reports its bytes back as a negative amount before it is retried, and
    /// when this returns the reports add up to exactly the file's size.
    /// </summary>
    public async Task<ObjectInfo> UploadAsync(string key, string path, string? sha256 = null, IProgress<long>? progress = null, CancellationToken cancellation = default)
    {
        var fullKey = FullKey(key);
        var file = new FileInfo(path);
        if (!file.Exists)
        {
            throw new FileNotFoundException($"{path}: no such file", path);
        }

        // S3 takes metadata with the request headers, before any of the body, so the hash needs its own pass.
        sha256 ??= await HashFileAsync(file.FullName, cancellation).ConfigureAwait(false);
        if (file.Length <= _options.MultipartThreshold)
        {
            var response = await SendAsync(S3Actions.PutObject, fullKey,
                async token => await WithProgressAsync(progress, file.Length, async report =>
                {
                    var request = new PutObjectRequest { BucketName = Bucket, Key = fullKey, FilePath = file.FullName, UseChunkEncoding = _useChunkEncoding, StreamTransferProgress = report };
                    request.Metadata[Sha256Metadata] = sha256;
                    return await _client.PutObjectAsync(request, token).ConfigureAwait(false);
                }).ConfigureAwait(false),
                cancellation).ConfigureAwait(false);
            return Written(key, file.Length, response.ETag, sha256);
        }

        return await UploadPartsAsync(key, fullKey, file, sha256, progress, cancellation).ConfigureAwait(false);
    }

    /// <summary>
    /// One PUT with <c>If-None-Match: *</c>. On a server that ignores the condition, a HEAD first keeps a second
    /// creator from overwriting (callers must not race creators of one key there: HEAD then PUT is not atomic).
    /// </summary>
    public async Task<CreateOutcome> CreateIfAbsentAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellation = default)
    {
        if (!await SupportsConditionalCreateAsync(cancellation).ConfigureAwait(false) && await HeadAsync(key, cancellation).ConfigureAwait(false) is not null)
        {
            return CreateOutcome.AlreadyExists;
        }

        try
        {
            await PutIfAbsentAsync(FullKey(key), content, cancellation).ConfigureAwait(false);
            return CreateOutcome.Created;
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.PreconditionFailed)
        {
            return CreateOutcome.AlreadyExists;
        }
    }

    private Task<PutObjectResponse> PutIfAbsentAsync(string fullKey, ReadOnlyMemory<byte> content, CancellationToken cancellation)
    {
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(content.Span));

        // 409 ConditionalRequestConflict (a concurrent conditional write) is retried by the pipeline.
        return SendAsync(S3Actions.PutObject, fullKey,
            async token =>
            {
                var request = PutRequest(fullKey, content, sha256);
                request.IfNoneMatch = "*";
                return await _client.PutObjectAsync(request, token).ConfigureAwait(false);
            },
            cancellation);
    }

    /// <summary>Objects under <paramref name="prefix"/> in S3's key order; List carries no metadata, so <see cref="ObjectInfo.Sha256"/> is null.</summary>
    public async IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellation = default)
    {
        string? continuation = null;
        do
        {
            var request = new ListObjectsV2Request { BucketName = Bucket, Prefix = _prefix + prefix, MaxKeys = _options.ListPageSize, ContinuationToken = continuation };
            var page = await SendAsync(S3Actions.ListBucket, request.Prefix,
                async token => await _client.ListObjectsV2Async(request, token).ConfigureAwait(false),
                cancellation).ConfigureAwait(false);
            foreach (var item in page.S3Objects ?? [])
            {
                yield return new ObjectInfo(item.Key[_prefix.Length..], item.Size ?? 0, item.ETag, Time(item.LastModified));
            }

            continuation = page.IsTruncated == true ? page.NextContinuationToken : null;
        }
        while (continuation is not null);
    }

    public async Task DeleteAsync(string key, CancellationToken cancellation = default)
    {
        var fullKey = FullKey(key);
        await SendAsync(S3Actions.DeleteObject, fullKey,
            async token => await _client.DeleteObjectAsync(new DeleteObjectRequest { BucketName = Bucket, Key = fullKey }, token).ConfigureAwait(false),
            cancellation).ConfigureAwait(false);
    }

    /// <summary>Whether a failed request may succeed when repeated.</summary>
    internal static bool IsTransient(Exception exception, CancellationToken cancellation) => exception switch
    {
        AmazonServiceException { StatusCode: >= HttpStatusCode.InternalServerError or HttpStatusCode.TooManyRequests } => true,
        AmazonServiceException { ErrorCode: "SlowDown" or "RequestTimeout" or "ConditionalRequestConflict" } => true,
        AmazonServiceException or AmazonClientException => exception.InnerException is { } inner && IsTransient(inner, cancellation),
        FileNotFoundException or DirectoryNotFoundException => false,
        IOException or HttpRequestException or TimeoutException => true,
        OperationCanceledException => !cancellation.IsCancellationRequested,
        _ => false,
    };

    internal static S3StoreOptions RequireValidOptions(S3StoreOptions options) =>
        options.PartSize is >= MinPartSize and <= MaxPartSize && options.MultipartThreshold >= 0 && options.PartConcurrency >= 1 && options.ListPageSize is >= 1 and <= 1000 && options.MaxAttempts >= 1
            ? options
            : throw new ArgumentException($"invalid S3 store options: {options}", nameof(options));

    private static string RequireValidBucketName(string name) =>
        IsValidBucketName(name) ? name : throw new ArgumentException($"invalid S3 bucket name '{name}': use 3-63 of [a-z0-9.-], starting and ending with a letter or digit");

    private static DateTimeOffset Time(DateTime? time) =>
        time is { } value ? new DateTimeOffset(value.ToUniversalTime(), TimeSpan.Zero) : DateTimeOffset.MinValue;

    // PUT replies carry no Last-Modified; the time of the reply is within a round trip of it.
    private static ObjectInfo Written(string key, long size, string? etag, string sha256) =>
        new(key, size, etag, DateTimeOffset.UtcNow, sha256);

    private static async Task<string> HashFileAsync(string path, CancellationToken cancellation)
    {
        await using var input = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.Asynchronous | FileOptions.SequentialScan);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(input, cancellation).ConfigureAwait(false));
    }

    /// <summary>
    /// Sends one attempt of <paramref name="bytes"/> bytes and leaves its progress settled when the attempt ends: the
    /// whole <paramref name="bytes"/> on success, nothing on failure. The SDK raises its transfer events on one shared
    /// background thread, late, and drops them when more than 100 wait (AWSSDK.Core's BackgroundDispatcher), so its
    /// events only show the way; each attempt's account is squared when the request returns, and later events are ignored.
    /// </summary>
    private static async Task<T> WithProgressAsync<T>(IProgress<long>? progress, long bytes, Func<EventHandler<StreamTransferProgressArgs>?, Task<T>> send)
    {
        if (progress is null)
        {
            return await send(null).ConfigureAwait(false);
        }

        var attempt = new AttemptProgress(progress);
        try
        {
            var response = await send(attempt.OnTransferred).ConfigureAwait(false);
            attempt.Settle(bytes);
            return response;
        }
        catch
        {
            attempt.Settle(0);
            throw;
        }
    }

    private async Task<ObjectInfo> UploadPartsAsync(string key, string fullKey, FileInfo file, string sha256, IProgress<long>? progress, CancellationToken cancellation)
    {
        var size = file.Length;
        var partSize = Math.Min(MaxPartSize, Math.Max(_options.PartSize, (size + MaxParts - 1) / MaxParts));
        var count = (int)((size + partSize - 1) / partSize);
        var initiate = new InitiateMultipartUploadRequest { BucketName = Bucket, Key = fullKey };
        initiate.Metadata[Sha256Metadata] = sha256;
        var upload = await SendAsync(S3Actions.PutObject, fullKey,
            async token => await _client.InitiateMultipartUploadAsync(initiate, token).ConfigureAwait(false),
            cancellation).ConfigureAwait(false);
        try
        {
            var parts = new PartETag[count];
            var parallel = new ParallelOptions { MaxDegreeOfParallelism = _options.PartConcurrency, CancellationToken = cancellation };
            await Parallel.ForEachAsync(Enumerable.Range(0, count), parallel, async (index, partCancellation) =>
            {
                var offset = index * partSize;
                var length = Math.Min(partSize, size - offset);
                var response = await SendAsync(S3Actions.PutObject, fullKey,
                    async token => await WithProgressAsync(progress, length, async report => await _client.UploadPartAsync(
                        new UploadPartRequest
                        {
                            BucketName = Bucket,
                            Key = fullKey,
                            UploadId = upload.UploadId,
                            PartNumber = index + 1,
                            FilePath = file.FullName,
                            FilePosition = offset,
                            PartSize = length,
                            IsLastPart = index == count - 1,
                            UseChunkEncoding = _useChunkEncoding,
                            StreamTransferProgress = report,
                        },
                        token).ConfigureAwait(false)).ConfigureAwait(false),
                    partCancellation).ConfigureAwait(false);
                parts[index] = new PartETag(index + 1, response.ETag);
            }).ConfigureAwait(false);

            var complete = new CompleteMultipartUploadRequest { BucketName = Bucket, Key = fullKey, UploadId = upload.UploadId, PartETags = [.. parts] };
            var completed = await SendAsync(S3Actions.PutObject, fullKey,
                async token => await _client.CompleteMultipartUploadAsync(complete, token).ConfigureAwait(false),
                cancellation).ConfigureAwait(false);
            return Written(key, size, completed.ETag, sha256);
        }
        catch
        {
            await AbortQuietlyAsync(fullKey, upload.UploadId).ConfigureAwait(false);
            throw;
        }
    }

    private async Task AbortQuietlyAsync(string fullKey, string uploadId)
    {
        try
        {
            await _client.AbortMultipartUploadAsync(new AbortMultipartUploadRequest { BucketName = Bucket, Key = fullKey, UploadId = uploadId }, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is AmazonServiceException or AmazonClientException or HttpRequestException or IOException)
        {
            // The upload's own failure is the one worth reporting; S3 lifecycle rules collect abandoned parts.
        }
    }

    private PutObjectRequest PutRequest(string fullKey, ReadOnlyMemory<byte> content, string sha256)
    {
        var body = MemoryMarshal.TryGetArray(content, out var segment)
            ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(content.ToArray(), writable: false);
        var request = new PutObjectRequest { BucketName = Bucket, Key = fullKey, InputStream = body, UseChunkEncoding = _useChunkEncoding };
        request.Metadata[Sha256Metadata] = sha256;
        return request;
    }

    /// <summary>
    /// GETs the object, lets <paramref name="read"/> consume the body, and returns only after the
    /// SDK has checked the body against its MD5 ETag, which it does when the body is disposed. The
    /// SDK reports a mismatch as a bare client error: a body damaged in transit, or, on servers
    /// without atomic overwrites (s3rver rewrites an object's files in place), a GET that raced a
    /// PUT of the same key. Reading again is the cure, so the mismatch becomes an
    /// <see cref="IOException"/>, which the retry pipeline repeats.
    /// </summary>
    private Task<T> ReadCheckedAsync<T>(string fullKey, Func<GetObjectResponse, CancellationToken, Task<T>> read, CancellationToken cancellation) =>
        ReadCheckedAsync(fullKey, new GetObjectRequest { BucketName = Bucket, Key = fullKey }, read, cancellation);

    private async Task<T> ReadCheckedAsync<T>(string fullKey, GetObjectRequest request, Func<GetObjectResponse, CancellationToken, Task<T>> read, CancellationToken cancellation)
    {
        var response = await GetAsync(fullKey, request, cancellation).ConfigureAwait(false);
        try
        {
            using (response)
            {
                return await read(response, cancellation).ConfigureAwait(false);
            }
        }
        catch (AmazonClientException e) when (e.InnerException is null)
        {
            throw new IOException($"{UriOf(fullKey)}: the body does not match its checksum ({e.Message})", e);
        }
    }

    private async Task<GetObjectResponse> GetAsync(string fullKey, GetObjectRequest request, CancellationToken cancellation)
    {
        try
        {
            return await _client.GetObjectAsync(request, cancellation).ConfigureAwait(false);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            throw new ObjectNotFoundException(UriOf(fullKey));
        }
        catch (ArgumentOutOfRangeException e) when (e.ParamName == "hex")
        {
            // The SDK parses a single-part ETag as hex to check the body with; s3rver serves an empty
            // ETag while a PUT of the key is rewriting its MD5 file. A later GET sees the whole object.
            throw new IOException($"{UriOf(fullKey)}: the reply's ETag is not an MD5 ({e.Message})", e);
        }
    }

    /// <summary>
    /// Runs one request through the retry pipeline. A 403 becomes <see cref="ObjectStoreAccessDeniedException"/> naming the
    /// object and the permission the request needs: the SDK's exception names neither, and nothing else here can act on it.
    /// </summary>
    private async Task<T> SendAsync<T>(string action, string fullKey, Func<CancellationToken, ValueTask<T>> send, CancellationToken cancellation)
    {
        try
        {
            return await _pipeline.ExecuteAsync(send, cancellation).ConfigureAwait(false);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.Forbidden)
        {
            throw new ObjectStoreAccessDeniedException(Bucket, fullKey, action, $"403 {e.ErrorCode}: {e.Message}", e);
        }
    }

    private string FullKey(string key) => _prefix + ObjectStores.RequireValidKey(key);

    private string UriOf(string fullKey) => $"s3://{Bucket}/{fullKey}";

    /// <summary>The bytes one request attempt has reported, until <see cref="Settle"/> closes its account.</summary>
    private sealed class AttemptProgress(IProgress<long> progress)
    {
        private readonly Lock _lock = new();
        private long _reported;
        private bool _settled;

        public void OnTransferred(object? sender, StreamTransferProgressArgs e)
        {
            lock (_lock)
            {
                if (!_settled)
                {
                    _reported += e.IncrementTransferred;
                    progress.Report(e.IncrementTransferred);
                }
            }
        }

        /// <summary>Brings the attempt's reports to exactly <paramref name="total"/> bytes; events after this are dropped.</summary>
        public void Settle(long total)
        {
            lock (_lock)
            {
                _settled = true;
                if (total != _reported)
                {
                    progress.Report(total - _reported);
                }
            }
        }
    }

    [GeneratedRegex(@"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\z")]
    private static partial Regex BucketNamePattern();

    [GeneratedRegex(@"^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+\z")]
    private static partial Regex IpAddressPattern();
}

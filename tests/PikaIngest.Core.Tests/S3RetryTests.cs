using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Amazon.Runtime;
using Amazon.S3;
using PikaIngest.Core.Storage;

namespace PikaIngest.Core.Tests;

/// <summary>
/// The S3 store's error handling on the wire, against a tiny HTTP listener that answers with
/// scripted statuses: what is retried (throttling, 5xx, 409 conflicts of conditional writes) and
/// what is not (other 4xx).
/// </summary>
public sealed class S3RetryTests : IDisposable
{
    private static readonly Dictionary<string, (Exception Failure, bool Cancelled, bool Transient)> Failures = new()
    {
        ["503 SlowDown"] = (S3Error(HttpStatusCode.ServiceUnavailable, "SlowDown"), false, true),
        ["429"] = (S3Error(HttpStatusCode.TooManyRequests, "TooManyRequests"), false, true),
        ["502"] = (S3Error(HttpStatusCode.BadGateway, "BadGateway"), false, true),
        ["400 RequestTimeout"] = (S3Error(HttpStatusCode.BadRequest, "RequestTimeout"), false, true),
        ["409 ConditionalRequestConflict"] = (S3Error(HttpStatusCode.Conflict, "ConditionalRequestConflict"), false, true),
        ["409 BucketNotEmpty"] = (S3Error(HttpStatusCode.Conflict, "BucketNotEmpty"), false, false),
        ["403 AccessDenied"] = (S3Error(HttpStatusCode.Forbidden, "AccessDenied"), false, false),
        ["404 NoSuchKey"] = (S3Error(HttpStatusCode.NotFound, "NoSuchKey"), false, false),
        ["412 PreconditionFailed"] = (S3Error(HttpStatusCode.PreconditionFailed, "PreconditionFailed"), false, false),
        ["connection refused"] = (new HttpRequestException("connection refused"), false, true),
        ["connection reset"] = (new IOException("connection reset"), false, true),
        ["SDK-wrapped broken pipe"] = (new AmazonClientException("send failed", new IOException("broken pipe")), false, true),
        ["HTTP timeout"] = (new TaskCanceledException("HttpClient.Timeout elapsed", new TimeoutException()), false, true),
        ["caller cancelled"] = (new TaskCanceledException("the caller gave up"), true, false),
        ["missing local file"] = (new FileNotFoundException("no such file"), false, false),
        ["object too large"] = (new InvalidDataException("too large"), false, false),
    };

    private readonly ScriptedS3 _server = new();
    private readonly S3ObjectStoreProvider _provider;
    private readonly S3ObjectStoreProvider _conditionalProvider;

    public S3RetryTests()
    {
        _provider = S3ObjectStoreProvider.ForEndpoint(_server.Endpoint, new BasicAWSCredentials("test", "test"), new S3StoreOptions { RetryDelay = TimeSpan.FromMilliseconds(1) });
        _conditionalProvider = S3ObjectStoreProvider.ForEndpoint(_server.Endpoint, new BasicAWSCredentials("test", "test"), new S3StoreOptions { RetryDelay = TimeSpan.FromMilliseconds(1), SupportsConditionalCreate = true });
    }

    [Fact]
    public async Task Throttling_is_retried_until_the_request_succeeds()
    {
        _server.Script(Reply.Error(503, "SlowDown"), Reply.Error(429, "TooManyRequests"), Reply.Body("hello"));
        var store = _provider.Bucket("bucket");

        var content = await store.GetBytesAsync("key.txt", 100);

        Assert.Equal("hello"u8.ToArray(), content);
        Assert.Equal(3, _server.Requests.Count);
        Assert.All(_server.Requests, r => Assert.Equal("GET /bucket/key.txt", r));
    }

    [Fact]
    public async Task Server_errors_are_retried_a_bounded_number_of_times()
    {
        _server.Script([.. Enumerable.Repeat(Reply.Error(500, "InternalError"), 10)]);
        var store = _provider.Bucket("bucket");

        var failure = await Assert.ThrowsAsync<AmazonS3Exception>(() => store.PutBytesAsync("key.txt", "x"u8.ToArray()));

        Assert.Equal(HttpStatusCode.InternalServerError, failure.StatusCode);
        Assert.Equal(S3StoreOptions.Default.MaxAttempts, _server.Requests.Count);
    }

    [Fact]
    public async Task A_body_that_does_not_match_its_etag_is_read_again()
    {
        // What s3rver serves when a GET races a PUT of the same key: the old ETag with part of the new body.
        // s3rver's other torn state: an empty ETag while the MD5 file is being rewritten.
        _server.Script(Reply.Torn("hel", etagOf: "hello"), Reply.Torn("HELLO", etagOf: "hello"), Reply.Body("hello") with { Etag = "\"\"" }, Reply.Body("hello"));
        var store = _provider.Bucket("bucket");

        var content = await store.GetBytesAsync("key.txt", 100);

        Assert.Equal("hello"u8.ToArray(), content);
        Assert.Equal(4, _server.Requests.Count);
    }

    [Fact]
    public async Task A_download_whose_body_does_not_match_its_etag_is_fetched_again_and_leaves_no_temporary()
    {
        var folder = Directory.CreateTempSubdirectory("pika-retry-");
        try
        {
            _server.Script(Reply.Torn("HELLO", etagOf: "hello"), Reply.Body("hello"));
            var store = _provider.Bucket("bucket");
            var path = Path.Combine(folder.FullName, "key.txt");

            await store.DownloadAsync("key.txt", path);

            Assert.Equal("hello", await File.ReadAllTextAsync(path));
            Assert.Equal([path], Directory.GetFiles(folder.FullName));
            Assert.Equal(2, _server.Requests.Count);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task A_body_that_never_matches_its_etag_fails_naming_the_object()
    {
        _server.Script([.. Enumerable.Repeat(Reply.Torn("HELLO", etagOf: "hello"), 10)]);
        var store = _provider.Bucket("bucket");

        var failure = await Assert.ThrowsAsync<IOException>(() => store.GetBytesAsync("key.txt", 100));

        Assert.StartsWith("s3://bucket/key.txt: ", failure.Message, StringComparison.Ordinal);
        Assert.Equal(S3StoreOptions.Default.MaxAttempts, _server.Requests.Count);
    }

    [Fact]
    public async Task A_download_that_never_matches_its_etag_leaves_no_file()
    {
        var folder = Directory.CreateTempSubdirectory("pika-retry-");
        try
        {
            _server.Script([.. Enumerable.Repeat(Reply.Torn("HELLO", etagOf: "hello"), 10)]);
            var store = _provider.Bucket("bucket");

            await Assert.ThrowsAsync<IOException>(() => store.DownloadAsync("key.txt", Path.Combine(folder.FullName, "key.txt")));

            Assert.Empty(Directory.GetFiles(folder.FullName));
            Assert.Equal(S3StoreOptions.Default.MaxAttempts, _server.Requests.Count);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    /// <summary>Each failed attempt takes back the bytes it reported, so an upload that needed retries reports its size once.</summary>
    [Fact]
    public async Task An_upload_retried_after_server_errors_reports_its_bytes_once()
    {
        var folder = Directory.CreateTempSubdirectory("pika-retry-");
        try
        {
            _server.Script(Reply.Error(500, "InternalError"), Reply.Error(503, "SlowDown"), Reply.Empty(200));
            var path = Path.Combine(folder.FullName, "file.bin");
            await File.WriteAllBytesAsync(path, new byte[1 << 20]);
            var progress = new ObjectStoreContract.Total();

            await _provider.Bucket("bucket").UploadAsync("file.bin", path, progress: progress);

            Assert.Equal(1 << 20, progress.Value);
            Assert.Equal(3, _server.Requests.Count);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Access_denied_is_not_retried_and_names_the_object_and_the_permission()
    {
        _server.Script(Reply.Error(403, "AccessDenied"), Reply.Body("never sent"));
        var store = _provider.Bucket("bucket", "pre");

        var denied = await Assert.ThrowsAsync<ObjectStoreAccessDeniedException>(() => store.GetBytesAsync("key.txt", 100));

        Assert.Equal(("bucket", "pre/key.txt", S3Actions.GetObject), (denied.Bucket, denied.Key, denied.Action));
        Assert.StartsWith("s3://bucket/pre/key.txt: access denied to s3:GetObject (403 AccessDenied: scripted)", denied.Message, StringComparison.Ordinal);
        Assert.Contains("when s3:ListBucket on the bucket is not granted", denied.Message, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, Assert.IsType<AmazonS3Exception>(denied.InnerException).StatusCode);
        Assert.Single(_server.Requests);
    }

    /// <summary>Every request a store sends maps its 403 to the permission IAM checks for it.</summary>
    [Theory]
    [InlineData("head", "HEAD /bucket/key.txt", S3Actions.GetObject)]
    [InlineData("range", "GET /bucket/key.txt", S3Actions.GetObject)]
    [InlineData("download", "GET /bucket/key.txt", S3Actions.GetObject)]
    [InlineData("put", "PUT /bucket/key.txt", S3Actions.PutObject)]
    [InlineData("upload", "PUT /bucket/key.txt", S3Actions.PutObject)]
    [InlineData("multipart", "POST /bucket/key.txt", S3Actions.PutObject)]
    [InlineData("create", "PUT /bucket/key.txt", S3Actions.PutObject)]
    [InlineData("list", "GET /bucket", S3Actions.ListBucket)]
    [InlineData("delete", "DELETE /bucket/key.txt", S3Actions.DeleteObject)]
    public async Task A_403_on_any_request_is_access_denied_for_its_action(string operation, string request, string action)
    {
        _server.Script(operation == "head" ? Reply.Empty(403) : Reply.Error(403, "AccessDenied"));
        using var multipart = S3ObjectStoreProvider.ForEndpoint(_server.Endpoint, new BasicAWSCredentials("test", "test"), new S3StoreOptions { MultipartThreshold = 1, SupportsConditionalCreate = true });
        var store = operation == "multipart" ? multipart.Bucket("bucket") : ConditionalStore();
        var file = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(file, "content");
            Task send = operation switch
            {
                "head" => store.HeadAsync("key.txt"),
                "range" => store.GetRangeAsync("key.txt", 1, 2),
                "download" => store.DownloadAsync("key.txt", file + ".out"),
                "put" => store.PutBytesAsync("key.txt", "x"u8.ToArray()),
                "upload" or "multipart" => store.UploadAsync("key.txt", file),
                "create" => store.CreateIfAbsentAsync("key.txt", "x"u8.ToArray()),
                "list" => store.ListAsync("key").ToListAsync().AsTask(),
                _ => store.DeleteAsync("key.txt"),
            };

            var denied = await Assert.ThrowsAsync<ObjectStoreAccessDeniedException>(() => send);

            Assert.Equal(("bucket", operation == "list" ? "key" : "key.txt", action), (denied.Bucket, denied.Key, denied.Action));
            Assert.Contains(action, denied.Message, StringComparison.Ordinal);
            Assert.StartsWith(request, Assert.Single(_server.Requests), StringComparison.Ordinal);
            Assert.False(File.Exists(file + ".out"));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task A_missing_object_is_not_retried_and_names_its_location()
    {
        _server.Script(Reply.Error(404, "NoSuchKey"), Reply.Empty(404));
        var store = _provider.Bucket("bucket", "pre");

        var missing = await Assert.ThrowsAsync<ObjectNotFoundException>(() => store.GetBytesAsync("key.txt", 100));

        Assert.Equal("s3://bucket/pre/key.txt", missing.Location);
        Assert.Null(await store.HeadAsync("key.txt"));
        Assert.Equal(["GET /bucket/pre/key.txt", "HEAD /bucket/pre/key.txt"], _server.Requests);
    }

    [Fact]
    public async Task A_conditional_create_sends_if_none_match_and_maps_412_to_already_exists()
    {
        _server.Script(Reply.Error(412, "PreconditionFailed"));
        var store = ConditionalStore();

        var outcome = await store.CreateIfAbsentAsync("manifests/b.json", "{}"u8.ToArray());

        Assert.Equal(CreateOutcome.AlreadyExists, outcome);
        Assert.Equal(["*"], _server.IfNoneMatch);
    }

    [Fact]
    public async Task A_conditional_create_retries_a_409_conflict()
    {
        _server.Script(Reply.Error(409, "ConditionalRequestConflict"), Reply.Empty(200));
        var store = ConditionalStore();

        var outcome = await store.CreateIfAbsentAsync("manifests/b.json", "{}"u8.ToArray());

        Assert.Equal(CreateOutcome.Created, outcome);
        Assert.Equal(["PUT /bucket/manifests/b.json", "PUT /bucket/manifests/b.json"], _server.Requests);
    }

    [Theory]
    [InlineData(412, true)]
    [InlineData(200, false)]
    public async Task A_custom_endpoint_is_probed_once_for_conditional_creates_and_the_probe_is_deleted(int secondPut, bool supported)
    {
        _server.Script(Reply.Empty(200), secondPut == 412 ? Reply.Error(412, "PreconditionFailed") : Reply.Empty(200), Reply.Empty(204));
        // Answers are kept per endpoint and bucket for the process: a bucket no other test uses.
        var bucket = $"probe-{secondPut}";
        var store = _provider.Bucket(bucket);

        Assert.Equal(supported, await store.SupportsConditionalCreateAsync());
        Assert.Equal(supported, await _provider.Bucket(bucket, "other/view").SupportsConditionalCreateAsync());

        Assert.Equal(3, _server.Requests.Count);
        Assert.Matches($@"^PUT /{bucket}/\.pika-ingest-probe/[0-9a-f]{{32}}$", _server.Requests[0]);
        Assert.Equal([_server.Requests[0], _server.Requests[0], "DELETE" + _server.Requests[0][3..]], _server.Requests);
        Assert.Equal(["*", "*"], _server.IfNoneMatch);
    }

    [Fact]
    public async Task Other_conflicts_are_not_retried()
    {
        _server.Script(Reply.Error(409, "OperationAborted"), Reply.Empty(200));
        var store = _provider.Bucket("bucket");

        await Assert.ThrowsAsync<AmazonS3Exception>(() => store.PutBytesAsync("key.txt", "x"u8.ToArray()));
        Assert.Single(_server.Requests);
    }

    [Theory]
    [MemberData(nameof(FailureNames))]
    public void Transient_failures_are_told_apart_from_permanent_ones(string name)
    {
        var (failure, cancelled, transient) = Failures[name];
        using var cancellation = new CancellationTokenSource();
        if (cancelled)
        {
            cancellation.Cancel();
        }

        Assert.Equal(transient, S3ObjectStore.IsTransient(failure, cancellation.Token));
    }

    public static TheoryData<string> FailureNames() => [.. Failures.Keys];

    public void Dispose()
    {
        _provider.Dispose();
        _conditionalProvider.Dispose();
        _server.Dispose();
    }

    private static AmazonS3Exception S3Error(HttpStatusCode status, string code) =>
        new($"scripted {code}", ErrorType.Unknown, code, "request-id", status);

    private sealed record Reply(int Status, string? Code, byte[] Content, string? Etag = null)
    {
        /// <summary>A body served with the ETag of another: what a GET gets that races a PUT on a server without atomic overwrites.</summary>
        public static Reply Torn(string text, string etagOf) => new(200, null, Encoding.UTF8.GetBytes(text), EtagOf(Encoding.UTF8.GetBytes(etagOf)));

        [SuppressMessage("Security", "CA5351", Justification = "An S3 single-part ETag is the body's MD5, and the SDK checks GET bodies against it.")]
        public static string EtagOf(byte[] content) => $"\"{Convert.ToHexStringLower(MD5.HashData(content))}\"";

        public static Reply Error(int status, string code) => new(status, code, Encoding.UTF8.GetBytes(
            $"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>scripted</Message><RequestId>1</RequestId></Error>"));

        public static Reply Body(string text) => new(200, null, Encoding.UTF8.GetBytes(text));

        public static Reply Empty(int status) => new(status, null, []);
    }

    /// <summary>An HTTP listener on 127.0.0.1 that answers requests with the next scripted reply.</summary>
    private sealed class ScriptedS3 : IDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly Queue<Reply> _replies = new();
        private readonly List<string> _requests = [];
        private readonly List<string> _ifNoneMatch = [];
        private readonly Task _serving;

        public ScriptedS3()
        {
            var port = FreePort();
            Endpoint = $"http://127.0.0.1:{port}";
            _listener.Prefixes.Add($"{Endpoint}/");
            _listener.Start();
            _serving = Task.Run(ServeAsync);
        }

        public string Endpoint { get; }

        public IReadOnlyList<string> Requests
        {
            get
            {
                lock (_replies)
                {
                    return [.. _requests];
                }
            }
        }

        public IReadOnlyList<string> IfNoneMatch
        {
            get
            {
                lock (_replies)
                {
                    return [.. _ifNoneMatch];
                }
            }
        }

        public void Script(params Reply[] replies)
        {
            lock (_replies)
            {
                foreach (var reply in replies)
                {
                    _replies.Enqueue(reply);
                }
            }
        }

        public void Dispose()
        {
            _listener.Stop();
            _listener.Close();
            _serving.Wait();
        }

        private static int FreePort()
        {
            using var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            return ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        private async Task ServeAsync()
        {
            while (true)
            {
                HttpListenerContext context;
                try
                {
                    context = await _listener.GetContextAsync();
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
                {
                    return;
                }

                await AnswerAsync(context);
            }
        }

        private async Task AnswerAsync(HttpListenerContext context)
        {
            var request = context.Request;
            await request.InputStream.CopyToAsync(Stream.Null);
            Reply reply;
            lock (_replies)
            {
                _requests.Add($"{request.HttpMethod} {request.Url!.AbsolutePath}");
                if (request.Headers["If-None-Match"] is { } ifNoneMatch)
                {
                    _ifNoneMatch.Add(ifNoneMatch);
                }

                reply = _replies.Count > 0 ? _replies.Dequeue() : Reply.Error(500, "NotScripted");
            }

            var response = context.Response;
            response.StatusCode = reply.Status;
            response.Headers["x-amz-request-id"] = "1";
            response.Headers["ETag"] = reply.Etag ?? Reply.EtagOf(reply.Content);
            response.Headers["Last-Modified"] = DateTime.UtcNow.ToString("R");
            response.ContentType = reply.Code is null ? "application/octet-stream" : "application/xml";
            response.ContentLength64 = reply.Content.Length;
            if (request.HttpMethod != "HEAD")
            {
                await response.OutputStream.WriteAsync(reply.Content);
            }

            response.Close();
        }
    }

    /// <summary>A view of the scripted server declared to honour conditional writes, so no probe takes its scripted replies.</summary>
    private IObjectStore ConditionalStore() => _conditionalProvider.Bucket("bucket");
}

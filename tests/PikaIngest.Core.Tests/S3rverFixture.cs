using System.Diagnostics;
using System.Text.RegularExpressions;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using PikaIngest.Core.Storage;

namespace PikaIngest.Core.Tests;

/// <summary>
/// The real npm <c>s3rver</c> (pinned in tests/s3rver/package.json) as a child process on
/// 127.0.0.1 and a port the server picks itself, serving a temporary folder; killed with its
/// whole process tree on dispose. Its clients are configured as <see cref="S3ObjectStoreProvider.FromEnvironment"/>
/// configures them for a custom endpoint.
/// </summary>
public sealed partial class S3rverFixture : IAsyncLifetime, IDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    private readonly string _directory = Directory.CreateTempSubdirectory("pika-s3rver-").FullName;
    private readonly TimeSpan? _writeDelay;
    private readonly TaskCompletionSource<string> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<string> _output = [];
    private Process? _process;
    private AmazonS3Client? _client;
    private int _buckets;

    /// <summary>s3rver 3.7.1 ignores <c>If-None-Match: *</c> on PUT and overwrites, so conditional creates are declared unsupported.</summary>
    public static S3StoreOptions Options { get; } = new()
    {
        SupportsConditionalCreate = false,
        MultipartThreshold = 8L << 20,
        PartSize = 5L << 20,
        ListPageSize = 7,
        RetryDelay = TimeSpan.FromMilliseconds(10),
    };

    public S3rverFixture()
    {
    }

    /// <summary>
    /// An s3rver whose every file stream write is reported done <paramref name="writeDelay"/> late
    /// (tests/s3rver/slow-disk.js), as on a loaded machine, so a reply sent before its bytes are
    /// written is caught by the next request.
    /// </summary>
    internal S3rverFixture(TimeSpan writeDelay) => _writeDelay = writeDelay;

    public string Endpoint { get; private set; } = "";

    public IAmazonS3 Client => _client ?? throw new InvalidOperationException("s3rver is not running");

    public S3ObjectStoreProvider Provider { get; private set; } = null!;

    public static string RepositoryRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "IngestFunctions.sln")))
            {
                return folder.FullName;
            }
        }

        throw new InvalidOperationException($"no IngestFunctions.sln above {AppContext.BaseDirectory}");
    }

    public async Task InitializeAsync()
    {
        var folder = Path.Combine(RepositoryRoot(), "tests", "s3rver");
        if (!File.Exists(Path.Combine(folder, "node_modules", ".bin", "s3rver")))
        {
            throw new InvalidOperationException($"{folder}/node_modules/.bin/s3rver is missing: run ./test.sh or `npm ci --prefix tests/s3rver` first");
        }

        // start.js runs s3rver's own command line with its store fixed (see its comments).
        var start = new ProcessStartInfo("node")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };

        // s3rver ciphers ListObjectsV2 continuation tokens with DES, which OpenSSL 3 (Node 17+) keeps in its legacy provider.
        start.Environment["NODE_OPTIONS"] = $"{Environment.GetEnvironmentVariable("NODE_OPTIONS")} --openssl-legacy-provider".Trim();
        if (_writeDelay is { } delay)
        {
            start.ArgumentList.Add("--require");
            start.ArgumentList.Add(Path.Combine(folder, "slow-disk.js"));
            start.Environment["S3RVER_WRITE_DELAY_MS"] = $"{delay.TotalMilliseconds:0}";
        }

        foreach (var argument in new[] { Path.Combine(folder, "start.js"), "--directory", _directory, "--address", "127.0.0.1", "--port", "0", "--silent", "--no-vhost-buckets" })
        {
            start.ArgumentList.Add(argument);
        }

        _process = new Process { StartInfo = start, EnableRaisingEvents = true };
        _process.OutputDataReceived += (_, e) => Observe(e.Data);
        _process.ErrorDataReceived += (_, e) => Observe(e.Data);
        _process.Exited += (_, _) => _listening.TrySetException(new InvalidOperationException($"s3rver exited early:{Environment.NewLine}{Output()}"));
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        var address = await _listening.Task.WaitAsync(StartTimeout);
        Endpoint = $"http://{address}";
        _client = new AmazonS3Client(new BasicAWSCredentials("S3RVER", "S3RVER"), S3ObjectStoreProvider.CreateConfig(Endpoint));
        Provider = new S3ObjectStoreProvider(_client, Options);
        await WaitUntilAnsweringAsync();
    }

    /// <summary>A new, empty bucket, so tests never see each other's objects.</summary>
    public async Task<string> CreateBucketAsync()
    {
        var name = $"bucket-{Interlocked.Increment(ref _buckets):d4}";
        await Client.PutBucketAsync(new PutBucketRequest { BucketName = name });
        return name;
    }

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose()
    {
        _client?.Dispose();
        if (_process is not null)
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit();
            }

            _process.Dispose();
        }

        Directory.Delete(_directory, recursive: true);
    }

    private async Task WaitUntilAnsweringAsync()
    {
        var deadline = DateTime.UtcNow + StartTimeout;
        while (true)
        {
            try
            {
                await Client.ListBucketsAsync();
                return;
            }
            catch (Exception e) when (e is HttpRequestException or AmazonServiceException && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }
        }
    }

    private void Observe(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.Add(line);
        }

        var match = ListeningLine().Match(line);
        if (match.Success)
        {
            _listening.TrySetResult(match.Groups["address"].Value);
        }
    }

    private string Output()
    {
        lock (_output)
        {
            return string.Join(Environment.NewLine, _output);
        }
    }

    [GeneratedRegex(@"S3rver listening on (?<address>[0-9.]+:[0-9]+)")]
    private static partial Regex ListeningLine();
}

using StackExchange.Redis;

namespace PikaIngest.Core.Pipeline;

/// <summary>
/// INGEST_S3 over one shared StackExchange.Redis connection. Pika is not Redis: the connection
/// is configured to skip the discovery commands (INFO, CONFIG, CLUSTER, CLIENT, ECHO, pub/sub) that
/// a Pika-compatible node may not implement, and SET, which the client would otherwise use to probe
/// whether the node is writable (a stray key with a short expiry in the user's data and binlog), so only
/// AUTH, PING and INGEST_S3 are sent.
/// </summary>
public sealed class RedisIngestClient : IIngestClient, IAsyncDisposable
{
    private static readonly HashSet<string> Unavailable = ["SET", "INFO", "CONFIG", "CLUSTER", "SENTINEL", "CLIENT", "ECHO", "SUBSCRIBE", "PSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE", "SSUBSCRIBE", "SUNSUBSCRIBE", "TRACKING", "HELLO"];

    private readonly Lazy<Task<ConnectionMultiplexer>> _connection;
    private readonly string _endpoint;

    /// <param name="endpoint">host:port of the Pika master.</param>
    /// <param name="timeout">How long one ingest may take before it counts as failed (large batches take minutes).</param>
    public RedisIngestClient(string endpoint, string? password, TimeSpan timeout)
    {
        _endpoint = endpoint;
        var options = new ConfigurationOptions
        {
            Password = string.IsNullOrEmpty(password) ? null : password,
            AbortOnConnectFail = false,
            ConnectTimeout = 10_000,
            ConnectRetry = 3,
            SyncTimeout = (int)timeout.TotalMilliseconds,
            AsyncTimeout = (int)timeout.TotalMilliseconds,
            CommandMap = CommandMap.Create(Unavailable, available: false),
            TieBreaker = "",
            ConfigurationChannel = "",
            Protocol = RedisProtocol.Resp2,
            ClientName = "pika-ingest",
        };
        options.EndPoints.Add(endpoint);
        _connection = new Lazy<Task<ConnectionMultiplexer>>(() => ConnectionMultiplexer.ConnectAsync(options));
    }

    public async Task<string> IngestAsync(string bucket, string manifestKey, CancellationToken cancellation = default)
    {
        try
        {
            var connection = await _connection.Value.ConfigureAwait(false);
            var reply = await connection.GetDatabase().ExecuteAsync("INGEST_S3", bucket, manifestKey).WaitAsync(cancellation).ConfigureAwait(false);
            return reply.ToString();
        }
        catch (RedisServerException e)
        {
            throw new IngestFailedException($"{_endpoint}: INGEST_S3 {bucket} {manifestKey} -> {e.Message}", e);
        }
        catch (Exception e) when (e is RedisTimeoutException or RedisConnectionException or TimeoutException)
        {
            throw new IngestFailedException($"{_endpoint}: INGEST_S3 {bucket} {manifestKey} got no reply ({e.Message})", e);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection.IsValueCreated && _connection.Value.IsCompletedSuccessfully)
        {
            await _connection.Value.Result.DisposeAsync().ConfigureAwait(false);
        }
    }
}

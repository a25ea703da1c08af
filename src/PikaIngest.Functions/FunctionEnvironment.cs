using System.Globalization;
using PikaIngest.Core.Pipeline;
using PikaIngest.Core.Storage;

namespace PikaIngest.Functions;

/// <summary>
/// The functions' settings, read from the environment once per container and validated, so a
/// misconfigured deployment fails at start-up with a message naming the variable.
/// </summary>
public sealed record FunctionEnvironment
{
    /// <summary>Store the events refer to: <c>s3</c> (default) or <c>file:///root</c> for local runs.</summary>
    public const string StoreVariable = "PIKA_INGEST_STORE";

    public const string WorkDirectoryVariable = "PIKA_INGEST_WORK_DIR";

    /// <summary>The SST function's /tmp size in MB (the template passes its EphemeralStorage): it must hold the shard and its SSTs.</summary>
    public const string EphemeralStorageVariable = "PIKA_INGEST_EPHEMERAL_MB";

    /// <summary>Set by Lambda itself: the function's memory in MB.</summary>
    public const string LambdaMemoryVariable = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE";

    public const string PikaEndpointVariable = "PIKA_ENDPOINT";

    /// <summary>The <see cref="PikaEndpointVariable"/> value that makes the manifest function stop at the manifest.</summary>
    public const string ManifestsOnly = "none";

    public const string PikaPasswordVariable = "PIKA_PASSWORD";

    public const string IngestTimeoutVariable = "PIKA_INGEST_TIMEOUT_SECONDS";

    /// <summary>Every variable the functions read (the SAM template must declare the non-Lambda ones).</summary>
    public static readonly IReadOnlyList<string> All =
        [StoreVariable, WorkDirectoryVariable, EphemeralStorageVariable, LambdaMemoryVariable, PikaEndpointVariable, PikaPasswordVariable, IngestTimeoutVariable];

    public required string Store { get; init; }

    public required SstStageOptions Sst { get; init; }

    public string? PikaEndpoint { get; init; }

    public string? PikaPassword { get; init; }

    public required TimeSpan IngestTimeout { get; init; }

    public static FunctionEnvironment Read(Func<string, string?>? variable = null)
    {
        variable ??= Environment.GetEnvironmentVariable;
        var memoryMb = Number(variable, LambdaMemoryVariable, 0, 1, 1 << 20);
        return new FunctionEnvironment
        {
            Store = variable(StoreVariable) is { Length: > 0 } store ? store : "s3",
            Sst = new SstStageOptions
            {
                WorkDirectory = variable(WorkDirectoryVariable) is { Length: > 0 } work ? work : Path.GetTempPath(),
                // The shard, its SSTs (about as large as the shard) and sort spill must fit: a third each.
                MaxShardBytes = Number(variable, EphemeralStorageVariable, 512, 64, 10_240) * (1L << 20) / 3,

                // Leave a third of the function's memory to the runtime and RocksDB; larger shards sort on disk.
                MemoryBudget = memoryMb > 0 ? memoryMb * (1L << 20) * 2 / 3 : new SstStageOptions().MemoryBudget,
            },
            PikaEndpoint = variable(PikaEndpointVariable) is { Length: > 0 } endpoint ? (endpoint == ManifestsOnly ? endpoint : RequireEndpoint(endpoint)) : null,
            PikaPassword = variable(PikaPasswordVariable) is { Length: > 0 } password ? password : null,
            IngestTimeout = TimeSpan.FromSeconds(Number(variable, IngestTimeoutVariable, 840, 1, 86_400)),
        };
    }

    public IObjectStoreProvider OpenStore() => ObjectStores.OpenProvider(Store);

    /// <summary>
    /// The master's INGEST_S3 client; null when <see cref="PikaEndpointVariable"/> is <see cref="ManifestsOnly"/>: the
    /// manifest is written and not ingested, for a stock Pika, which loads it with <c>pika-ingest apply</c>. Unset is an
    /// error, so that a forgotten variable never passes for a choice.
    /// </summary>
    public IIngestClient? IngestClient() => PikaEndpoint switch
    {
        null => throw new InvalidOperationException(
            $"{PikaEndpointVariable} is not set: the manifest function needs the Pika master's host:port (or '{ManifestsOnly}' to only write manifests, for pika-ingest apply on stock Pika)"),
        ManifestsOnly => null,
        var endpoint => new RedisIngestClient(endpoint, PikaPassword, IngestTimeout),
    };

    private static long Number(Func<string, string?> variable, string name, long fallback, long min, long max)
    {
        var text = variable(name);
        if (string.IsNullOrWhiteSpace(text))
        {
            return fallback;
        }

        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max
            ? value
            : throw new InvalidOperationException($"{name}='{text}' is not a whole number between {min} and {max}");
    }

    private static string RequireEndpoint(string endpoint)
    {
        var colon = endpoint.LastIndexOf(':');
        return colon > 0 && int.TryParse(endpoint[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and < 65536
            ? endpoint
            : throw new InvalidOperationException($"{PikaEndpointVariable}='{endpoint}' must be host:port");
    }
}

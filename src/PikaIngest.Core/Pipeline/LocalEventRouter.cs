using PikaIngest.Core.Layout;
using PikaIngest.Core.Storage;

namespace PikaIngest.Core.Pipeline;

/// <summary>How the local emulation of S3 → Lambda behaves.</summary>
public sealed record LocalEventRouterOptions
{
    /// <summary>Handler invocations running at once (Lambda's concurrency).</summary>
    public int MaxConcurrency { get; init; } = 4;

    /// <summary>
    /// Manifest-function invocations running at once (Lambda's reserved concurrency); null: <see cref="MaxConcurrency"/>.
    /// Use 1 on a store without conditional creates: each completed shard triggers an invocation, and racing ones
    /// would both write the batch's result there (on s3rver, whose overwrites are not atomic, one writer's body
    /// can end up under the other's ETag).
    /// </summary>
    public int? ManifestConcurrency { get; init; }

    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Attempts per event: Lambda retries a failed asynchronous invocation twice.</summary>
    public int MaxAttempts { get; init; } = 3;

    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Fraction of events delivered twice (S3 delivers at least once; tests turn this up).</summary>
    public double DuplicateRate { get; init; }

    /// <summary>Deliver each poll's events in random order (S3 does not promise order).</summary>
    public bool Shuffle { get; init; }

    public int Seed { get; init; } = 1;

    /// <summary>Deliver events of this batch only (a bucket may hold other batches that are none of this run's business).</summary>
    public string? OnlyBatch { get; init; }
}

/// <summary>
/// Emulates S3 event notifications for a bucket without Lambda: polls the store, turns every new
/// or replaced object under <c>incoming/…jsonl</c>, <c>tasks/…json</c> and <c>state/…json</c> into an
/// S3-shaped event (the same filters as the SAM template), and invokes the handlers with bounded concurrency and
/// Lambda-like retries. It keeps no state of its own: after a restart it delivers everything
/// again, which the idempotent handlers turn into no-ops, so nothing is ever acknowledged that
/// was not seen to succeed.
/// </summary>
public sealed class LocalEventRouter(
    IObjectStore store,
    Func<byte[], CancellationToken, Task> sstHandler,
    Func<byte[], CancellationToken, Task> manifestHandler,
    Func<byte[], CancellationToken, Task> mergeHandler,
    LocalEventRouterOptions options,
    Action<string> log)
{
    private readonly Dictionary<string, string?> _seen = new(StringComparer.Ordinal);
    private readonly Random _random = new(options.Seed);

    /// <summary>Events that failed every attempt (what Lambda would send to the on-failure destination).</summary>
    public List<(string Key, Exception Error)> DeadLetters { get; } = [];

    /// <summary>Delivers events for objects that are new since the last poll; returns how many objects were new.</summary>
    public async Task<int> PollOnceAsync(CancellationToken cancellation = default)
    {
        var batchFolder = options.OnlyBatch is { } batch ? batch + "/" : "";
        var shards = await NewObjectsAsync(ObjectLayout.IncomingPrefix + batchFolder, ObjectLayout.ShardSuffix, cancellation).ConfigureAwait(false);
        await DeliverAsync(shards, sstHandler, options.MaxConcurrency, cancellation).ConfigureAwait(false);
        var tasks = await NewObjectsAsync(ObjectLayout.TasksPrefix + batchFolder, ObjectLayout.TaskSuffix, cancellation).ConfigureAwait(false);
        await DeliverAsync(tasks, mergeHandler, options.MaxConcurrency, cancellation).ConfigureAwait(false);
        var states = await NewObjectsAsync(ObjectLayout.StatePrefix + batchFolder, ".json", cancellation).ConfigureAwait(false);
        await DeliverAsync(states, manifestHandler, options.ManifestConcurrency ?? options.MaxConcurrency, cancellation).ConfigureAwait(false);
        return shards.Count + tasks.Count + states.Count;
    }

    /// <summary>Polls until <paramref name="finished"/> says so (checked after every poll) or cancellation.</summary>
    public async Task RunAsync(Func<CancellationToken, Task<bool>> finished, CancellationToken cancellation = default)
    {
        while (true)
        {
            var delivered = await PollOnceAsync(cancellation).ConfigureAwait(false);
            if (await finished(cancellation).ConfigureAwait(false))
            {
                return;
            }

            if (delivered == 0)
            {
                await Task.Delay(options.PollInterval, cancellation).ConfigureAwait(false);
            }
        }
    }

    private async Task<List<ObjectInfo>> NewObjectsAsync(string prefix, string suffix, CancellationToken cancellation)
    {
        var fresh = new List<ObjectInfo>();
        await foreach (var info in store.ListAsync(prefix, cancellation).ConfigureAwait(false))
        {
            if (info.Key.EndsWith(suffix, StringComparison.Ordinal) && (!_seen.TryGetValue(info.Key, out var eTag) || eTag != info.ETag))
            {
                _seen[info.Key] = info.ETag;
                fresh.Add(info);
            }
        }

        return fresh;
    }

    private async Task DeliverAsync(List<ObjectInfo> objects, Func<byte[], CancellationToken, Task> handler, int concurrency, CancellationToken cancellation)
    {
        var deliveries = objects.SelectMany(o => _random.NextDouble() < options.DuplicateRate ? new[] { o, o } : [o]).ToList();
        if (options.Shuffle)
        {
            _random.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(deliveries));
        }

        await Parallel.ForEachAsync(deliveries, new ParallelOptions { MaxDegreeOfParallelism = concurrency, CancellationToken = cancellation }, async (info, token) =>
        {
            var payload = S3Event.Create(store.Bucket, info.Key, info.Size, info.ETag, DateTimeOffset.UtcNow);
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await handler(payload, token).ConfigureAwait(false);
                    return;
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    if (attempt >= options.MaxAttempts)
                    {
                        log($"event for {info.Key} failed {attempt} times, giving up (Lambda would send it to the on-failure destination): {e.Message}");
                        lock (DeadLetters)
                        {
                            DeadLetters.Add((info.Key, e));
                        }

                        return;
                    }

                    log($"event for {info.Key} failed (attempt {attempt} of {options.MaxAttempts}), retrying: {e.Message}");
                    await Task.Delay(options.RetryDelay * attempt, token).ConfigureAwait(false);
                }
            }
        }).ConfigureAwait(false);
    }
}

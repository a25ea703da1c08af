using System.Text;
using PikaIngest.Core.Formats;
using PikaIngest.Core.Layout;
using PikaIngest.Core.Storage;
using PikaIngest.Node.Binlog;
using PikaIngest.Node.Ingest;
using PikaIngest.Node.Storage;
using PikaIngest.Node.UnitTests.Support;

namespace PikaIngest.Node.UnitTests.Ingest;

/// <summary>
/// RocksDB refusing an instance's files (as it does on a full disk): before anything is in, the client is told;
/// after, the batch is held and retried until RocksDB takes the files. The real store does the work; the wrapper
/// only makes chosen ingests fail, which a real full disk cannot be made to do at a chosen instance.
/// </summary>
public sealed class IngestRefusalTests : IDisposable
{
    private readonly TempFolder _folder = new();
    private readonly List<string> _log = [];

    public void Dispose() => _folder.Dispose();

    private static readonly IReadOnlyList<IReadOnlyList<TestRecord>> Shards =
    [
        .. Enumerable.Range(0, 2).Select(s => (IReadOnlyList<TestRecord>)[.. Enumerable.Range(s * 50, 120).Select(i => new TestRecord($"k{i}", $"s{s}/{i}"))]),
    ];

    /// <summary>The node's own storage, with the ingests of one instance refused a number of times first.</summary>
    private sealed class RefusingStore(IStringStore inner, int instance, int refusals, Func<Exception> refusal) : IStringStore
    {
        public int Refused { get; private set; }

        public void IngestFiles(int target, IReadOnlyList<string> paths)
        {
            if (target == instance && Refused < refusals)
            {
                Refused++;
                throw refusal();
            }

            inner.IngestFiles(target, paths);
        }

        public int Instances => inner.Instances;

        public StoreStatus Get(ReadOnlySpan<byte> key, long nowMs, IValueSink sink) => inner.Get(key, nowMs, sink);

        public StoreStatus Read(ReadOnlySpan<byte> key, long nowMs, out StoredString value) => inner.Read(key, nowMs, out value);

        public StoreStatus Exists(ReadOnlySpan<byte> key, long nowMs) => inner.Exists(key, nowMs);

        public void Put(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, long expireUnixMs, long nowMs) => inner.Put(key, value, expireUnixMs, nowMs);

        public void StartBatching() => inner.StartBatching();

        public void FlushBatch() => inner.FlushBatch();

        public void StopBatching() => inner.StopBatching();

        public void PutMany(IReadOnlyList<StringWrite> writes, long nowMs) => inner.PutMany(writes, nowMs);

        public StoreStatus Delete(ReadOnlySpan<byte> key, long nowMs) => inner.Delete(key, nowMs);

        public void DeleteAll() => inner.DeleteAll();

        public byte[]? RandomKey(long nowMs) => inner.RandomKey(nowMs);

        public ScanPage Scan(ulong cursor, int count, Func<byte[], bool>? filter, long nowMs) => inner.Scan(cursor, count, filter, nowMs);

        public long CountKeys(long nowMs) => inner.CountKeys(nowMs);

        public string Digest(long nowMs) => inner.Digest(nowMs);

        public IReadOnlyList<byte[]> FindExpired(ref ExpiryScanPosition? resume, int max, long nowMs) => inner.FindExpired(ref resume, max, nowMs);

        public bool DeleteIfExpired(ReadOnlySpan<byte> key, long nowMs) => inner.DeleteIfExpired(key, nowMs);

        public void PublishWrites() => inner.PublishWrites();

        public void Checkpoint(string folder) => inner.Checkpoint(folder);

        public void ReplaceWith(string folder) => inner.ReplaceWith(folder);

        public long EstimateKeys() => inner.EstimateKeys();

        public IReadOnlyList<InstanceStats> GetInstanceStats() => inner.GetInstanceStats();

        public void Dispose() => inner.Dispose();
    }

    private static IOException NoSpace() => new IOException("No space left on device");

    private async Task<(IngestService Service, RefusingStore Store, AppliedBatches Applied, BinlogWriter Binlog, string Data)> NodeAsync(int instance, int refusals, Func<Exception>? refusal = null, int retryLimit = 12)
    {
        var data = _folder.Combine("data");
        await TestBatch.BuildAsync(_folder.Combine("store"), "local", "b1", Shards, 3);
        var store = new RefusingStore(RocksStringStore.Open(data, 3), instance, refusals, refusal ?? NoSpace);
        var binlog = BinlogWriter.Open(Path.Combine(data, "log_db0"), new BinlogOptions());
        var applied = AppliedBatches.Open(Path.Combine(data, "ingest", "applied.jsonl"), _ => { });
        var settings = new IngestSettings(new HashSet<string>(["local"], StringComparer.Ordinal), Path.Combine(data, "ingest", "staging"), Path.Combine(data, "ingest", "intents"), new ManifestLimits(), RetryLimit: retryLimit);
        var service = new IngestService(new LocalFolderStoreProvider(_folder.Combine("store")), store, new WriteGate(binlog, store), applied, settings, line =>
        {
            lock (_log)
            {
                _log.Add(line);
            }
        });
        return (service, store, applied, binlog, data);
    }

    private static string Expected()
    {
        var digest = new LogicalDigest();
        foreach (var record in TestBatch.Expected(Shards).Values)
        {
            digest.Add(Encoding.UTF8.GetBytes(record.Key), Encoding.UTF8.GetBytes(record.Value), 0);
        }

        return digest.ToHex();
    }

    [Fact]
    public async Task A_refusal_after_the_first_instance_is_retried_until_rocksdb_takes_the_files()
    {
        var (service, store, applied, binlog, data) = await NodeAsync(instance: 1, refusals: 2);
        using (service)
        using (store)
        using (applied)
        using (binlog)
        {
            Assert.Equal(IngestOutcome.Applied, await service.IngestS3Async("local", ObjectLayout.Manifest("b1"), CancellationToken.None));

            Assert.Equal(2, store.Refused);
            Assert.Equal(Expected(), store.Digest(0));
            Assert.True(applied.TryGet("b1", out _));
            Assert.Contains(_log, l => l.Contains("cannot ingest the files of instance 1 (attempt 2 of 12): No space left on device", StringComparison.Ordinal));
            Assert.Contains(_log, l => l.Contains("could ingest the files of instance 1 at attempt 3", StringComparison.Ordinal));
            Assert.Empty(Directory.GetFiles(Path.Combine(data, "ingest", "intents")));
            Assert.Empty(Directory.GetDirectories(Path.Combine(data, "ingest", "staging")));
        }
    }

    [Fact]
    public async Task A_refusal_of_the_first_instance_is_an_error_with_nothing_in_and_no_intent_left()
    {
        var (service, store, applied, binlog, data) = await NodeAsync(instance: 0, refusals: 1);
        using (service)
        using (store)
        using (applied)
        using (binlog)
        {
            var error = await Assert.ThrowsAsync<IngestException>(() => service.IngestS3Async("local", ObjectLayout.Manifest("b1"), CancellationToken.None));

            Assert.Contains("RocksDB refused the files of instance 0: No space left on device", error.Message, StringComparison.Ordinal);
            Assert.Equal(new LogicalDigest().ToHex(), store.Digest(0));
            Assert.False(applied.TryGet("b1", out _));
            Assert.Empty(Directory.GetFiles(Path.Combine(data, "ingest", "intents")));
            Assert.Empty(Directory.GetDirectories(Path.Combine(data, "ingest", "staging")));

            // Nothing is half-done, so the same INGEST_S3 simply works once RocksDB takes files again.
            Assert.Equal(IngestOutcome.Applied, await service.IngestS3Async("local", ObjectLayout.Manifest("b1"), CancellationToken.None));
            Assert.Equal(Expected(), store.Digest(0));
        }
    }

    public static TheoryData<string> HeldRefusals => ["Corruption: block checksum mismatch", "Invalid argument: external file has a different comparator", "No space left on device"];

    [Theory]
    [MemberData(nameof(HeldRefusals))]
    public async Task A_permanent_refusal_or_one_past_the_retry_limit_after_the_first_instance_holds_the_batch_unfinished(string refusal)
    {
        // RocksDB's Status text, as RocksDbException carries it through RocksStringStore; the full disk refuses past the limit of 2.
        Func<Exception> refuse = refusal.StartsWith("No space", StringComparison.Ordinal) ? NoSpace : () => new InvalidOperationException(refusal);
        var (service, store, applied, binlog, data) = await NodeAsync(instance: 1, refusals: 100, refuse, retryLimit: 2);
        using (service)
        using (store)
        using (applied)
        using (binlog)
        {
            var position = binlog.Position;
            var error = await Assert.ThrowsAsync<IngestException>(() => service.IngestS3Async("local", ObjectLayout.Manifest("b1"), CancellationToken.None));

            Assert.Contains("batch b1 is unfinished: could not ingest the files of instance 1", error.Message, StringComparison.Ordinal);
            Assert.Contains(refusal, error.Message, StringComparison.Ordinal);
            Assert.Contains("Instances done: 0 of 0,1,2", error.Message, StringComparison.Ordinal);
            Assert.Contains("--discard-ingest-intent b1 and repeat INGEST_S3 local manifests/b1.json", error.Message, StringComparison.Ordinal);
            Assert.Equal(refusal.StartsWith("No space", StringComparison.Ordinal) ? 2 : 1, store.Refused);
            Assert.Equal(error.Message, service.Unfinished);
            Assert.Single(Directory.GetFiles(Path.Combine(data, "ingest", "intents")));
            Assert.Equal(position, binlog.Position);
            Assert.False(applied.TryGet("b1", out _));

            // The gate is free again, and no other batch is taken while this one is unfinished.
            using (new WriteGate(binlog, store).Enter())
            {
            }

            var next = await Assert.ThrowsAsync<IngestException>(() => service.IngestS3Async("local", ObjectLayout.Manifest("b1"), CancellationToken.None));
            Assert.Equal(error.Message, next.Message);
        }
    }
}

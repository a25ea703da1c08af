using PikaIngest.Core.Formats;
using PikaIngest.Core.Layout;
using PikaIngest.Node.Binlog;
using PikaIngest.Node.Ingest;
using PikaIngest.Node.Tests.Support;
using PikaIngest.Node.UnitTests.Support;
using PikaIngest.Testing;

namespace PikaIngest.Node.Tests.Replication;

/// <summary>
/// Issue 18 on a slave: a master (here a fake one, as a master that verifies would never log such a batch) sends an
/// INGEST_SST item whose files have the right sizes and SHA-256 but are not what the item says. The slave reads
/// them back before touching anything: its data and binlog stay as they were, INFO names the file, the replay is
/// retried (never skipped) without the write gate held, and the slave writes at once when detached.
/// </summary>
[Collection(ReplicationProcesses.Name)]
public sealed class IngestReplayVerifyTests : IDisposable
{
    private const string Bucket = "local";
    private readonly string _root = Path.Combine(Path.GetTempPath(), "pika-node-replay-verify-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    private string Store => Path.Combine(_root, "store");

    private static readonly IReadOnlyList<IReadOnlyList<TestRecord>> Shards =
    [
        .. Enumerable.Range(0, 2).Select(s => (IReadOnlyList<TestRecord>)[.. Enumerable.Range(s * 100, 200).Select(i => new TestRecord($"user:{i}", $"shard {s} value {i}"))]),
    ];

    [Theory]
    [MemberData(nameof(BatchAttacks.All), MemberType = typeof(BatchAttacks))]
    public async Task A_replayed_batch_whose_files_are_not_what_the_item_says_is_refused_naming_the_file_and_nothing_changes(string attack, int position)
    {
        var manifestKey = await TestBatch.BuildAsync(Store, Bucket, "b1", Shards, 3);
        await TestBatch.BuildAsync(Store, Bucket, "b2", [[.. Enumerable.Range(0, 90).Select(i => new TestRecord($"other:{i}", "b2"))]], 3);
        var bucket = Path.Combine(Store, Bucket);
        var changed = BatchAttacks.Apply(bucket, Path.Combine(bucket, manifestKey), attack, position, (bucket, Path.Combine(bucket, ObjectLayout.Manifest("b2"))));
        var manifest = Manifests.Parse(File.ReadAllBytes(Path.Combine(bucket, manifestKey)), manifestKey, TargetFormat.PikaV4, 3, new ManifestLimits());
        var record = IngestPlan.FromManifest(Bucket, manifestKey, manifest).ToRecord();
        var item = new BinlogItem(BinlogItemType.IngestSst, 1_700_000_000, 0, 1, 0, 0, record.Encode()).Encode();

        await using var fake = FakeMaster.Start(item);
        var data = Path.Combine(_root, "slave");
        await using var slave = await NodeProcess.StartAsync(data, "--object-store", "file://" + Store);
        Assert.Equal("+OK", await Repl.CallAsync(slave, "SET", "kept", "before"));
        var digest = await Repl.DigestAsync(slave);

        Assert.Equal("+OK", await Repl.CallAsync(slave, "SLAVEOF", "127.0.0.1", Repl.Text(fake.Port)));
        var error = "";
        await Repl.WaitForAsync(
            "the replay fails naming the file",
            async () => (error = Repl.Field(await Repl.InfoAsync(slave), "ingest_replay_last_error")).Length > 0,
            slave);

        Assert.StartsWith("batch b1: file sst/b1/", error, StringComparison.Ordinal);
        Assert.Contains(changed, key => error.Contains($"file {key}", StringComparison.Ordinal));
        Assert.Equal(digest, await Repl.DigestAsync(slave));
        Assert.Equal(":1", await Repl.CallAsync(slave, "DBSIZE"));
        Assert.Equal("$before", await Repl.CallAsync(slave, "GET", "kept"));
        Assert.Equal("", Repl.Field(await Repl.InfoAsync(slave, "ingest"), "ingest_unfinished"));
        Assert.Empty(Directory.Exists(Path.Combine(data, "ingest", "intents")) ? Directory.GetFiles(Path.Combine(data, "ingest", "intents")) : []);
        Assert.Equal(0, IngestItems(data));

        // The gate was never held: detached, the slave takes a write at once.
        Assert.Equal("+OK", await Repl.CallAsync(slave, "SLAVEOF", "NO", "ONE"));
        Assert.Equal("+OK", await Repl.CallAsync(slave, "SET", "after", "flows"));
        Assert.Equal(0, IngestItems(data));
    }

    private static int IngestItems(string dataFolder)
    {
        var folder = Path.Combine(dataFolder, "log_db0");
        using var reader = BinlogReader.Open(folder, new BinlogPosition(BinlogFiles.List(folder).Min(), 0));
        var count = 0;
        while (reader.TryRead(out var read) == BinlogReadStatus.Item)
        {
            count += read.Type == BinlogItemType.IngestSst ? 1 : 0;
        }

        return count;
    }
}

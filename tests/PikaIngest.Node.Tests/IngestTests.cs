using System.Text;
using System.Text.Json.Nodes;
using PikaIngest.Core.Formats;
using PikaIngest.Core.Layout;
using PikaIngest.Node.Binlog;
using PikaIngest.Node.Storage;
using PikaIngest.Node.Tests.Support;
using PikaIngest.Node.UnitTests.Support;
using PikaIngest.Testing;

namespace PikaIngest.Node.Tests;

/// <summary>INGEST_S3 against an in-process node over a folder store holding batches built by the real SST and manifest stages.</summary>
public sealed class IngestTests
{
    private const string Bucket = "local";

    private static readonly IReadOnlyList<IReadOnlyList<TestRecord>> Shards =
    [
        [new("k1", "s1"), new("k2", "s1"), new("shared", "from shard 1"), new("k3", "s1 first"), new("k3", "s1 second"), new("bin\0key", "x\r\ny")],
        [new("k4", "s2"), new("shared", "from shard 2"), new("k5", "s2", 4_102_444_800)],
        [new("k6", "s3"), new("shared", "from shard 3"), new("k1", "s3 overrides s1")],
    ];

    private static string Digest(IEnumerable<(string Key, string Value, long ExpireMs)> records)
    {
        var digest = new LogicalDigest();
        foreach (var (key, value, expire) in records)
        {
            digest.Add(Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(value), expire);
        }

        return digest.ToHex();
    }

    private static async Task<string> BuildAsync(InProcessNode node, string batch, IReadOnlyList<IReadOnlyList<TestRecord>>? shards = null) =>
        await TestBatch.BuildAsync(node.StoreRoot, Bucket, batch, shards ?? Shards, node.Options.Instances);

    [Fact]
    public async Task Ingest_applies_later_shards_over_earlier_ones_and_writes_before_and_after_order_correctly()
    {
        await using var node = await InProcessNode.StartAsync();
        var manifest = await BuildAsync(node, "b1");
        using var client = await node.RawAsync();
        Assert.Equal("+OK", await client.CallAsync("SET", "k2", "written before the ingest"));
        Assert.Equal("+OK", await client.CallAsync("SET", "untouched", "before"));

        Assert.Equal("+OK", await client.CallAsync("INGEST_S3", Bucket, manifest));
        Assert.Equal("+OK", await client.CallAsync("SET", "k4", "written after the ingest"));

        var expected = TestBatch.Expected(Shards).Values.Select(r => (r.Key, r.Value, r.ExpireUnixSeconds * 1000)).ToList();
        expected.RemoveAll(r => r.Key == "k4");
        expected.Add(("k4", "written after the ingest", 0));
        expected.Add(("untouched", "before", 0));

        Assert.Equal("$from shard 3", await client.CallAsync("GET", "shared"));
        Assert.Equal("$s3 overrides s1", await client.CallAsync("GET", "k1"));
        Assert.Equal("$s1 second", await client.CallAsync("GET", "k3"));
        Assert.Equal("$s1", await client.CallAsync("GET", "k2"));
        Assert.Equal("$x\r\ny", await client.CallAsync("GET", "bin\0key"));
        Assert.Equal("$written after the ingest", await client.CallAsync("GET", "k4"));
        Assert.Equal($":{expected.Count}", await client.CallAsync("DBSIZE"));
        Assert.Equal("$" + Digest(expected), await client.CallAsync("DEBUG", "DIGEST"));
        var ttl = long.Parse((await client.CallAsync("TTL", "k5"))[1..], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(ttl, 4_102_444_800 - DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 5, 4_102_444_800 - DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 5);
    }

    [Fact]
    public async Task After_flushall_the_same_manifest_loads_its_keys_again_and_survives_a_restart()
    {
        await using var node = await InProcessNode.StartAsync();
        var manifest = await BuildAsync(node, "b1");
        using (var client = await node.RawAsync())
        {
            Assert.Equal("+OK", await client.CallAsync("INGEST_S3", Bucket, manifest));
            var loaded = await client.CallAsync("DEBUG", "DIGEST");
            Assert.Equal("+OK", await client.CallAsync("INGEST_S3", Bucket, manifest));
            Assert.Contains("ingest_batches_repeated:1\r\n", await client.CallAsync("INFO", "ingest"), StringComparison.Ordinal);

            Assert.Equal("+OK", await client.CallAsync("FLUSHALL"));
            Assert.Equal(":0", await client.CallAsync("DBSIZE"));
            Assert.Equal(0, node.Node.Ingest.AppliedCount);

            Assert.Equal("+OK", await client.CallAsync("INGEST_S3", Bucket, manifest));
            Assert.Equal(loaded, await client.CallAsync("DEBUG", "DIGEST"));
            Assert.Contains("ingest_batches_repeated:1\r\n", await client.CallAsync("INFO", "ingest"), StringComparison.Ordinal);
        }

        // The log forgot the batch before the flush and recorded it after: one batch, applied once, after a restart too.
        await node.RestartAsync();
        Assert.Equal(1, node.Node.Ingest.AppliedCount);
        using var again = await node.RawAsync();
        Assert.Equal("$from shard 3", await again.CallAsync("GET", "shared"));
    }

    [Fact]
    public async Task The_binlog_gets_one_ingest_item_between_the_writes_around_it()
    {
        await using var node = await InProcessNode.StartAsync();
        var manifest = await BuildAsync(node, "b1");
        using var client = await node.RawAsync();
        await client.CallAsync("SET", "before", "1");
        var start = node.Node.Gate.Position;
        Assert.Equal("+OK", await client.CallAsync("INGEST_S3", Bucket, manifest));
        await client.CallAsync("SET", "after", "1");
        await node.StopAsync();

        using var reader = BinlogReader.Open(node.Options.BinlogFolder, start);
        Assert.Equal(BinlogReadStatus.Item, reader.TryRead(out var ingest));
        Assert.Equal(BinlogItemType.IngestSst, ingest.Type);
        var record = IngestSstRecord.Decode(ingest.Content.Span);
        var written = LayoutJson.Deserialize<Manifest>(File.ReadAllBytes(Path.Combine(node.StoreRoot, Bucket, manifest)), manifest);
        Assert.Equal("b1", record.BatchId);
        Assert.Equal(manifest, record.ManifestKey);
        Assert.Equal(written.Files.Select(f => (f.Key, f.Instance, f.Size, f.Sha256)), record.Files.Select(f => (f.Key, f.Instance, f.Size, f.Sha256)));
        Assert.Equal(BinlogReadStatus.Item, reader.TryRead(out var after));
        Assert.Equal(BinlogItemType.Command, after.Type);
        Assert.Contains("after", Encoding.UTF8.GetString(after.Content.Span), StringComparison.Ordinal);
        Assert.Equal(BinlogReadStatus.End, reader.TryRead(out _));
    }

    [Fact]
    public async Task The_manifest_functions_client_sends_the_ingest_and_writes_nothing_else()
    {
        await using var node = await InProcessNode.StartAsync();
        var manifest = await BuildAsync(node, "b1");
        await using (var client = new Core.Pipeline.RedisIngestClient($"127.0.0.1:{node.Port}", null, TimeSpan.FromSeconds(30)))
        {
            Assert.Equal("OK", await client.IngestAsync(Bucket, manifest));
        }

        Assert.Equal(1UL, node.Node.Gate.LastLogicId);
        using var raw = await node.RawAsync();
        Assert.Equal($":{TestBatch.Expected(Shards).Count}", await raw.CallAsync("DBSIZE"));
    }

    [Fact]
    public async Task A_repeated_manifest_is_acknowledged_without_a_second_ingest_even_after_a_restart()
    {
        await using var node = await InProcessNode.StartAsync();
        var manifest = await BuildAsync(node, "b1");
        using (var client = await node.RawAsync())
        {
            Assert.Equal("+OK", await client.CallAsync("INGEST_S3", Bucket, manifest));
            await client.CallAsync("SET", "shared", "written after");
            var position = node.Node.Gate.Position;
            Assert.Equal("+OK", await client.CallAsync("INGEST_S3", Bucket, manifest));
            Assert.Equal(position, node.Node.Gate.Position);
            var info = await client.CallAsync("INFO", "ingest");
            Assert.Contains("ingest_batches_applied:1\r\n", info, StringComparison.Ordinal);
            Assert.Contains("ingest_batches_repeated:1\r\n", info, StringComparison.Ordinal);
            Assert.Contains("ingest_last_batch:b1\r\n", info, StringComparison.Ordinal);
        }

        await node.RestartAsync();
        using (var client = await node.RawAsync())
        {
            Assert.Equal("$written after", await client.CallAsync("GET", "shared"));
            Assert.Equal("$s3 overrides s1", await client.CallAsync("GET", "k1"));
            Assert.Equal("+OK", await client.CallAsync("INGEST_S3", Bucket, manifest));
            Assert.Equal("$written after", await client.CallAsync("GET", "shared"));
            Assert.Contains("ingest_batches_repeated:1\r\n", await client.CallAsync("INFO", "ingest"), StringComparison.Ordinal);
        }
    }

    public static TheoryData<string, string> BadManifests => new()
    {
        { "missing manifest", "manifest not found" },
        { "missing file", "is missing from bucket" },
        { "wrong size", "bytes; the manifest says" },
        { "wrong sha256", "has sha256" },
        { "path escape", "is not sst/b1/" },
        { "wrong format", "does not match this node's pika-v4" },
        { "wrong instances", "this node has 3" },
        { "unknown version", "unsupported version 3" },
        { "ranges out of order", "out of (instance, range) order" },
        { "bucket not allowed", "is not allowed on this node" },
        { "key outside manifests", "is not under manifests/" },
        { "manifest for another batch", "whose manifest key is manifests/b1.json" },
        { "not json", "invalid manifest" },
    };

    [Theory]
    [MemberData(nameof(BadManifests))]
    public async Task A_bad_manifest_is_refused_with_the_reason_and_changes_nothing(string fault, string reason)
    {
        await using var node = await InProcessNode.StartAsync();
        var manifestKey = await BuildAsync(node, "b1");
        var bucketFolder = Path.Combine(node.StoreRoot, Bucket);
        var manifestPath = Path.Combine(bucketFolder, manifestKey);
        var manifest = JsonNode.Parse(File.ReadAllBytes(manifestPath))!;
        var firstFile = manifest["files"]![0]!;
        var firstPath = Path.Combine(bucketFolder, (string)firstFile["key"]!);
        var bucket = Bucket;
        void Rewrite() => File.WriteAllText(manifestPath, manifest.ToJsonString());
        switch (fault)
        {
            case "missing manifest":
                manifestKey = "manifests/nope.json";
                break;
            case "missing file":
                File.Delete(firstPath);
                break;
            case "wrong size":
                File.AppendAllText(firstPath, "x");
                break;
            case "wrong sha256":
                var bytes = File.ReadAllBytes(firstPath);
                bytes[^100] ^= 0xff;
                File.WriteAllBytes(firstPath, bytes);
                break;
            case "path escape":
                firstFile["key"] = "sst/b1/../../incoming/b1/000001.json";
                Rewrite();
                break;
            case "wrong format":
                manifest["format"] = "pika-v3.5";
                Rewrite();
                break;
            case "wrong instances":
                manifest["instances"] = 2;
                Rewrite();
                break;
            case "ranges out of order":
                var files = manifest["files"]!.AsArray();
                var head = files[0]!.DeepClone();
                files[0] = files[1]!.DeepClone();
                files[1] = head;
                Rewrite();
                break;
            case "unknown version":
                manifest["version"] = 3;
                Rewrite();
                break;
            case "bucket not allowed":
                bucket = "other";
                break;
            case "key outside manifests":
                manifestKey = "sst/b1/000001-0.sst";
                break;
            case "manifest for another batch":
                File.Copy(manifestPath, Path.Combine(bucketFolder, "manifests/b2.json"));
                manifestKey = "manifests/b2.json";
                break;
            case "not json":
                File.WriteAllText(manifestPath, "{\"version\":1,");
                break;
        }

        using var client = await node.RawAsync();
        await client.CallAsync("SET", "k1", "kept");
        var digest = await client.CallAsync("DEBUG", "DIGEST");
        var position = node.Node.Gate.Position;

        var reply = await client.CallAsync("INGEST_S3", bucket, manifestKey);

        Assert.StartsWith("-ERR ", reply, StringComparison.Ordinal);
        Assert.Contains(reason, reply, StringComparison.Ordinal);
        Assert.Equal(digest, await client.CallAsync("DEBUG", "DIGEST"));
        Assert.Equal(position, node.Node.Gate.Position);
        Assert.Equal("$kept", await client.CallAsync("GET", "k1"));
        var staging = Path.Combine(node.Options.IngestFolder, "staging");
        Assert.True(!Directory.Exists(staging) || Directory.GetFileSystemEntries(staging).Length == 0, "staging must be cleaned");
        Assert.Contains("ingest_batches_applied:0\r\n", await client.CallAsync("INFO", "ingest"), StringComparison.Ordinal);
    }

    /// <summary>
    /// Issue 18: manifests whose sizes and SHA-256 are right but whose files are not what they say. Each is refused
    /// before the intent and the write gate, naming the batch and the file, with the data, the binlog and the
    /// applied list unchanged and writes answered at once.
    /// </summary>
    [Theory]
    [MemberData(nameof(BatchAttacks.All), MemberType = typeof(BatchAttacks))]
    public async Task A_manifest_whose_files_are_not_what_it_says_is_refused_naming_the_file_with_nothing_ingested(string attack, int position)
    {
        await using var node = await InProcessNode.StartAsync();
        var manifestKey = await BuildAsync(node, "b1");
        await BuildAsync(node, "b2", [[.. Enumerable.Range(0, 90).Select(i => new TestRecord($"other:{i}", "b2"))]]);
        var bucket = Path.Combine(node.StoreRoot, Bucket);
        var changed = BatchAttacks.Apply(bucket, Path.Combine(bucket, manifestKey), attack, position, (bucket, Path.Combine(bucket, ObjectLayout.Manifest("b2"))));

        using var client = await node.RawAsync();
        Assert.Equal("+OK", await client.CallAsync("SET", "k1", "kept"));
        var digest = await client.CallAsync("DEBUG", "DIGEST");
        var position0 = node.Node.Gate.Position;

        var reply = await client.CallAsync("INGEST_S3", Bucket, manifestKey);

        Assert.StartsWith("-ERR batch b1: file sst/b1/", reply, StringComparison.Ordinal);
        Assert.Contains(changed, key => reply.Contains($"file {key}", StringComparison.Ordinal));
        Assert.Contains(attack switch
        {
            BatchAttacks.WrongInstance => "belongs to instance",
            BatchAttacks.ForeignBatch => "the manifest says",
            _ => "not a readable SST file",
        }, reply, StringComparison.Ordinal);
        Assert.Equal(digest, await client.CallAsync("DEBUG", "DIGEST"));
        Assert.Equal(":1", await client.CallAsync("DBSIZE"));
        Assert.Equal("$kept", await client.CallAsync("GET", "k1"));
        Assert.Equal("$nil", await client.CallAsync("GET", "k6"));
        Assert.Equal(position0, node.Node.Gate.Position);
        var info = await client.CallAsync("INFO", "ingest");
        Assert.Contains("ingest_batches_applied:0\r\n", info, StringComparison.Ordinal);
        Assert.Contains("ingest_unfinished:\r\n", info, StringComparison.Ordinal);
        Assert.Empty(Directory.Exists(Path.Combine(node.Options.IngestFolder, "intents")) ? Directory.GetFiles(Path.Combine(node.Options.IngestFolder, "intents")) : []);

        // Writes never waited: the next SET is answered, and logged after the same position.
        Assert.Equal("+OK", await client.CallAsync("SET", "after", "flows"));
        Assert.Equal("$flows", await client.CallAsync("GET", "after"));
        Assert.True(node.Node.Gate.Position.CompareTo(position0) > 0);
    }
}

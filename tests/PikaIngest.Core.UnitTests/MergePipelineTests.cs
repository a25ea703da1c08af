using System.Text;
using System.Text.Json;
using CsCheck;
using PikaIngest.Core.Formats;
using PikaIngest.Core.Layout;
using PikaIngest.Core.Pipeline;
using PikaIngest.Core.Sst;
using PikaIngest.Core.Storage;

namespace PikaIngest.Core.UnitTests;

/// <summary>
/// Map → plan → merge → manifest over a folder store with the stages the functions run, checked
/// against an in-memory last-write-wins oracle, and the planner on its own.
/// </summary>
public sealed class MergePipelineTests
{
    private const string Bucket = "local";

    private sealed record Line(byte[] Key, byte[] Value, long Expire);

    private sealed record Batch(List<List<Line>> Shards, int Instances, long TargetFileBytes);

    private sealed class NoIngest : IIngestClient
    {
        public List<string> Manifests { get; } = [];

        public Task<string> IngestAsync(string bucket, string manifestKey, CancellationToken cancellation = default)
        {
            Manifests.Add(manifestKey);
            return Task.FromResult("OK");
        }
    }

    /// <summary>Keys from a shared pool (so shards repeat each other's keys), with 0x00 bytes, Codis hash tags and plain text.</summary>
    private static readonly Gen<byte[]> Keys = Gen.OneOf(
        Gen.Int[0, 3000].Select(i => Encoding.ASCII.GetBytes($"key_{i:D6}")),
        Gen.Int[0, 300].Select(i => Encoding.ASCII.GetBytes($"{{user{i % 7}}}:{i}")),
        Gen.Byte[0, 3].Array[1, 5].Select(b => (byte[])[.. "z\0"u8, .. b]));

    private static readonly Gen<Line> Lines =
        from key in Keys
        from value in Gen.Byte.Array[0, 120]
        from expires in Gen.Int[0, 4]
        select new Line(key, value, expires == 0 ? 4_102_444_800L + value.Length : 0);

    private static readonly Gen<Batch> Batches =
        from shards in Gen.Int[2, 6]
        from lines in Lines.List[100, 1500].List[shards]
        from instances in Gen.Int[1, 5]
        select new Batch(lines, instances, MergePlanner.MinTargetFileBytes);

    private static async Task<(LocalFolderStoreProvider Stores, NoIngest Ingest)> RunAsync(string root, string batch, Batch data)
    {
        var stores = new LocalFolderStoreProvider(root);
        var store = stores.Bucket(Bucket);
        var descriptor = new BatchDescriptor
        {
            BatchId = batch,
            Shards = data.Shards.Count,
            Format = "pika-v4",
            Instances = data.Instances,
            CreatedAt = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000),
            TargetFileBytes = data.TargetFileBytes,
        };
        await store.PutBytesAsync(ObjectLayout.Descriptor(batch), LayoutJson.Serialize(descriptor));
        for (var i = 0; i < data.Shards.Count; i++)
        {
            var text = new StringBuilder();
            foreach (var line in data.Shards[i])
            {
                text.Append(JsonSerializer.Serialize(new { key64 = Convert.ToBase64String(line.Key), value64 = Convert.ToBase64String(line.Value), expire = line.Expire })).Append('\n');
            }

            await store.PutBytesAsync(ObjectLayout.Shard(batch, i + 1), Encoding.UTF8.GetBytes(text.ToString()));
        }

        var options = new SstStageOptions { WorkDirectory = Path.Combine(root, "work"), Parallelism = 1 };
        var sst = new SstStage(stores, options, _ => { });
        var merge = new MergeStage(stores, options, _ => { });
        var ingest = new NoIngest();
        var manifest = new ManifestStage(stores, ingest, _ => { });
        for (var seq = 1; seq <= data.Shards.Count; seq++)
        {
            Assert.Equal(SstOutcome.Converted, (await sst.ProcessAsync(Created(ObjectLayout.Shard(batch, seq)))).Outcome);
        }

        Assert.Equal(BatchOutcome.Planned, (await manifest.ProcessAsync(Created(ObjectLayout.Mapped(batch, data.Shards.Count)))).Outcome);
        var plan = LayoutJson.Deserialize<MergePlan>(await store.GetBytesAsync(ObjectLayout.Plan(batch), 1 << 24), "plan");
        foreach (var task in plan.Tasks)
        {
            Assert.Equal(MergeOutcome.Merged, (await merge.ProcessAsync(Created(task.Key))).Outcome);
        }

        var last = plan.Tasks[^1];
        Assert.Equal(BatchOutcome.Ingested, (await manifest.ProcessAsync(Created(ObjectLayout.Merged(batch, last.Instance, last.Range)))).Outcome);
        return (stores, ingest);
    }

    private static S3ObjectEvent Created(string key) => new("ObjectCreated:Put", Bucket, key, 0, null);

    [Fact]
    public void The_merged_ssts_hold_exactly_the_last_write_of_every_key_in_disjoint_ascending_ranges()
    {
        Deterministic.Sample(Batches, data =>
        {
            using var temp = new TempFolder();
            RunAsync(temp.Path, "b", data).GetAwaiter().GetResult();
            var root = Path.Combine(temp.Path, Bucket);
            var manifest = LayoutJson.Deserialize<Manifest>(File.ReadAllBytes(Path.Combine(root, ObjectLayout.Manifest("b"))), "manifest");
            Manifests.Validate(manifest, TargetFormat.PikaV4, data.Instances, new ManifestLimits());
            Assert.Equal(Manifest.RangesVersion, manifest.Version);

            var oracle = new Dictionary<string, Line>(StringComparer.Ordinal);
            foreach (var line in data.Shards.SelectMany(s => s))
            {
                oracle[Convert.ToHexString(line.Key)] = line;
            }

            var seen = new Dictionary<string, DecodedRecord>(StringComparer.Ordinal);
            byte[]? previousLargest = null;
            var previousInstance = -1;
            foreach (var file in manifest.Files)
            {
                using var reader = SstReader.Open(Path.Combine(root, file.Key), temp.Path);
                var records = reader.Scan().Select(p => PikaV4Encoding.Instance.Decode(p.Key, p.Value)).ToList();
                Assert.Equal(file.Entries, records.Count);
                Assert.All(records, r => Assert.Equal(file.Instance, InstanceRouter.Instance(r.Key, data.Instances)));
                if (file.Instance == previousInstance)
                {
                    Assert.True(previousLargest.AsSpan().SequenceCompareTo(records[0].Key) < 0, $"{file.Key} overlaps the range before it");
                }

                foreach (var record in records)
                {
                    Assert.True(seen.TryAdd(Convert.ToHexString(record.Key), record), $"key {Convert.ToHexString(record.Key)} is in two files");
                }

                previousInstance = file.Instance;
                previousLargest = records[^1].Key;
            }

            Assert.Equal(oracle.Count, seen.Count);
            foreach (var (key, line) in oracle)
            {
                var record = seen[key];
                Assert.Equal(Convert.ToHexString(line.Value), Convert.ToHexString(record.Value));
                Assert.Equal(line.Expire * 1000, record.ExpireUnixMs);
            }
        }, iterations: 12);
    }

    [Fact]
    public async Task A_batch_large_enough_for_several_ranges_per_instance_gets_them_and_removes_its_runs_after_the_ingest()
    {
        using var temp = new TempFolder();
        var random = new Random(3);
        var shards = Enumerable.Range(0, 4).Select(_ => Enumerable.Range(0, 4000)
            .Select(_ => new Line(Encoding.ASCII.GetBytes($"key_{random.Next(20_000):D6}"), random.GetItems<byte>([.. Enumerable.Range(0, 256).Select(b => (byte)b)], 100), 0)).ToList()).ToList();

        var (_, ingest) = await RunAsync(temp.Path, "big", new Batch(shards, 2, MergePlanner.MinTargetFileBytes));

        var root = Path.Combine(temp.Path, Bucket);
        var manifest = LayoutJson.Deserialize<Manifest>(File.ReadAllBytes(Path.Combine(root, ObjectLayout.Manifest("big"))), "manifest");
        Assert.All(Enumerable.Range(0, 2), instance => Assert.True(manifest.Files.Count(f => f.Instance == instance) >= 3, $"instance {instance}: {manifest.Files.Count(f => f.Instance == instance)} ranges"));
        Assert.All(manifest.Files, f => Assert.InRange(f.Size, 1, 4 * MergePlanner.MinTargetFileBytes));
        Assert.Equal([ObjectLayout.Manifest("big")], ingest.Manifests);
        Assert.False(Directory.Exists(Path.Combine(root, ObjectLayout.RunsFolder("big"))) && Directory.EnumerateFiles(Path.Combine(root, ObjectLayout.RunsFolder("big"))).Any());
    }

    private static MappedRecord Mapped(int shard, int instances, Random random)
    {
        var runs = Enumerable.Range(0, instances).Select(instance =>
        {
            var keys = Enumerable.Range(0, random.Next(1, 40)).Select(_ => random.Next(1_000_000)).Distinct().Order().Select(k => Encoding.ASCII.GetBytes($"k{k:D7}")).ToList();
            return new RunFileEntry
            {
                Key = ObjectLayout.RunFile("p", shard, instance),
                Shard = shard,
                Instance = instance,
                Size = 1000,
                Records = keys.Count * 10,
                SmallestKey = Convert.ToBase64String(keys[0]),
                LargestKey = Convert.ToBase64String([.. keys[^1], (byte)'~']),
                IndexOffset = 900,
                IndexLength = 80,
                IndexChecksum = "0123456789abcdef",
                Samples = [.. keys.Select(k => new RunSample(Convert.ToBase64String(k), random.Next(10_000, 50_000)))],
            };
        }).ToList();
        return new MappedRecord { BatchId = "p", Shard = shard, Source = new SourceObject { Key = ObjectLayout.Shard("p", shard), Size = 1 }, RecordsRead = 1, UniqueKeys = 1, ElapsedMs = 1, Runs = runs };
    }

    private static BatchDescriptor Descriptor(int shards, int instances) => new()
    {
        BatchId = "p",
        Shards = shards,
        Format = "pika-v4",
        Instances = instances,
        CreatedAt = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000),
        TargetFileBytes = 200_000,
    };

    [Fact]
    public void The_plan_is_a_pure_function_of_the_mapped_records_whatever_order_they_are_read_in()
    {
        var random = new Random(11);
        var records = Enumerable.Range(1, 12).Select(s => Mapped(s, 3, random)).ToList();

        var (plan, tasks) = MergePlanner.Plan(Descriptor(12, 3), records);
        var (again, tasksAgain) = MergePlanner.Plan(Descriptor(12, 3), records.OrderBy(_ => random.Next()).ToList());

        Assert.Equal(Convert.ToHexString(LayoutJson.Serialize(plan)), Convert.ToHexString(LayoutJson.Serialize(again)));
        Assert.Equal(tasks.Select(t => Convert.ToHexString(t.Body)), tasksAgain.Select(t => Convert.ToHexString(t.Body)));
        Assert.Equal(plan.Tasks.Select(t => t.Key), tasks.Select(t => t.Key));
    }

    [Fact]
    public void Ranges_chain_from_unbounded_to_unbounded_and_split_the_bytes_evenly()
    {
        var random = new Random(5);
        var records = Enumerable.Range(1, 20).Select(s => Mapped(s, 2, random)).ToList();

        var (plan, tasks) = MergePlanner.Plan(Descriptor(20, 2), records);

        foreach (var instance in Enumerable.Range(0, 2))
        {
            var ranges = tasks.Select(t => t.Task).Where(t => t.Instance == instance).OrderBy(t => t.Range).ToList();
            var total = records.SelectMany(r => r.Runs).Where(r => r.Instance == instance).SelectMany(r => r.Samples).Sum(s => s.Bytes);
            Assert.Equal((int)Math.Ceiling(total / 200_000.0), ranges.Count);
            Assert.Null(ranges[0].LowerKey);
            Assert.Null(ranges[^1].UpperKey);
            Assert.All(ranges.Zip(ranges.Skip(1)), pair => Assert.Equal(pair.First.UpperKey, pair.Second.LowerKey));
            Assert.Equal(total, ranges.Sum(r => r.EstimatedBytes));
            Assert.All(ranges, r => Assert.InRange(r.EstimatedBytes, 200_000 / 2, 200_000 * 3 / 2));
            Assert.All(ranges, r => Assert.Equal(r.Runs.OrderBy(run => run.Shard).Select(run => run.Shard), r.Runs.Select(run => run.Shard)));
        }

        Assert.Equal(tasks.Count, plan.Tasks.Count);
    }

    [Fact]
    public void A_plan_needs_every_shard_mapped_once()
    {
        var random = new Random(7);
        var records = Enumerable.Range(1, 4).Where(s => s != 3).Select(s => Mapped(s, 2, random)).ToList();

        var error = Assert.Throws<InvalidDataException>(() => MergePlanner.Plan(Descriptor(4, 2), records));

        Assert.Contains("missing: 3", error.Message, StringComparison.Ordinal);
    }
}

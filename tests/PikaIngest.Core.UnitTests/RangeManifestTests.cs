using System.Text;
using PikaIngest.Core.Formats;
using PikaIngest.Core.Layout;

namespace PikaIngest.Core.UnitTests;

/// <summary>Manifest version 2 (key-range files) and the merge records it is built from: golden bytes and validation.</summary>
public sealed class RangeManifestTests
{
    private static readonly DateTimeOffset CreatedAt = DateTimeOffset.Parse("2026-11-23T19:00:00Z", System.Globalization.CultureInfo.InvariantCulture);

    private static readonly BatchDescriptor Descriptor = new()
    {
        BatchId = "b",
        Shards = 4,
        Format = "pika-v4",
        Instances = 2,
        CreatedAt = CreatedAt,
    };

    private static string B64(string text) => Convert.ToBase64String(Encoding.ASCII.GetBytes(text));

    private static SstFileEntry File(int instance, int range, string smallest, string largest) => new()
    {
        Key = ObjectLayout.RangeSstFile("b", instance, range),
        Range = range,
        Instance = instance,
        Size = 100 * range,
        Sha256 = new string((char)('a' + range), 64),
        Entries = 10,
        SmallestKey = B64(smallest),
        LargestKey = B64(largest),
    };

    private static (MergePlan Plan, List<MergedRecord> Merged) Batch(params SstFileEntry[] files)
    {
        var plan = new MergePlan
        {
            BatchId = "b",
            Shards = 4,
            TargetFileBytes = BatchDescriptor.DefaultTargetFileBytes,
            Tasks = [.. files.Select(f => new PlannedTask(f.Instance, f.Range!.Value, ObjectLayout.Task("b", f.Instance, f.Range.Value), new string('0', 64), 1000))],
        };
        var merged = files.Select(f => new MergedRecord { BatchId = "b", Instance = f.Instance, Range = f.Range!.Value, TaskSha256 = new string('0', 64), RecordsIn = 12, ElapsedMs = 5, File = f }).ToList();
        return (plan, merged);
    }

    [Fact]
    public void A_range_manifest_has_the_documented_bytes()
    {
        var (plan, merged) = Batch(File(0, 1, "a", "f"), File(0, 2, "g", "k"), File(1, 1, "b", "z"));

        var json = Encoding.UTF8.GetString(Manifests.Serialize(Manifests.BuildRanges(Descriptor, plan, merged)));

        const string Expected = """{"version":2,"batchId":"b","createdAt":"2026-11-23T19:00:00Z","format":"pika-v4","instances":2,"files":[""" +
            """{"key":"sst/b/i0-000001.sst","range":1,"instance":0,"size":100,"sha256":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","entries":10,"smallestKey":"YQ==","largestKey":"Zg=="},""" +
            """{"key":"sst/b/i0-000002.sst","range":2,"instance":0,"size":200,"sha256":"cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc","entries":10,"smallestKey":"Zw==","largestKey":"aw=="},""" +
            """{"key":"sst/b/i1-000001.sst","range":1,"instance":1,"size":100,"sha256":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","entries":10,"smallestKey":"Yg==","largestKey":"eg=="}],"totals":{"shards":4,"files":3,"entries":30,"bytes":400}}""";
        Assert.Equal(Expected, json);
        var parsed = Manifests.Parse(Encoding.UTF8.GetBytes(json), "m", TargetFormat.PikaV4, 2, new ManifestLimits());
        Assert.Equal(3, parsed.Files.Count);
    }

    [Fact]
    public void A_merge_task_has_the_documented_bytes()
    {
        var task = new MergeTask
        {
            BatchId = "b",
            Format = "pika-v4",
            Instances = 2,
            Compression = "lz4",
            SstFormatVersion = 5,
            CreatedAt = CreatedAt,
            Instance = 1,
            Range = 2,
            LowerKey = B64("g"),
            EstimatedBytes = 4096,
            Runs = [new MergeTaskRun { Key = ObjectLayout.RunFile("b", 3, 1), Shard = 3, Size = 9000, IndexOffset = 8000, IndexLength = 960, IndexChecksum = "00112233445566ff" }],
        };

        const string Expected =
            "{\"version\":1,\"batchId\":\"b\",\"format\":\"pika-v4\",\"instances\":2,\"compression\":\"lz4\",\"sstFormatVersion\":5,\"createdAt\":\"2026-11-23T19:00:00Z\"," +
            "\"instance\":1,\"range\":2,\"lowerKey\":\"Zw==\",\"estimatedBytes\":4096," +
            "\"runs\":[{\"key\":\"runs/b/000003-1.run\",\"shard\":3,\"size\":9000,\"indexOffset\":8000,\"indexLength\":960,\"indexChecksum\":\"00112233445566ff\"}]}";
        Assert.Equal(Expected, Encoding.UTF8.GetString(LayoutJson.Serialize(task)));
        Assert.Equal(task, LayoutJson.Deserialize<MergeTask>(Encoding.UTF8.GetBytes(Expected), "task") with { Runs = task.Runs });
        Assert.Throws<FormatException>(() => LayoutJson.Deserialize<MergeTask>(Encoding.UTF8.GetBytes(Expected.Replace("\"version\":1", "\"version\":2", StringComparison.Ordinal)), "task"));
    }

    public static TheoryData<string, SstFileEntry[], string> Bad => new()
    {
        { "overlapping ranges", [File(0, 1, "a", "h"), File(0, 2, "g", "k")], "overlaps sst/b/i0-000001.sst" },
        { "touching ranges", [File(0, 1, "a", "g"), File(0, 2, "g", "k")], "overlaps" },
        { "ranges out of order", [File(0, 2, "g", "k"), File(0, 1, "a", "f")], "out of (instance, range) order" },
        { "instances out of order", [File(1, 1, "a", "f"), File(0, 1, "g", "k")], "out of (instance, range) order" },
        { "a shard file in a range manifest", [File(0, 1, "a", "f") with { Shard = 1 }], "range files" },
        { "a key that is not the range's", [File(0, 1, "a", "f") with { Key = "sst/b/000001-0.sst" }], "is not sst/b/i0-000001.sst" },
        { "a path escape", [File(0, 1, "a", "f") with { Key = "sst/b/../../x.sst" }], "is not sst/b/i0-000001.sst" },
        { "bounds reversed", [File(0, 1, "k", "a")], "smallest key above its largest" },
        { "bounds not base64", [File(0, 1, "a", "f") with { SmallestKey = "***" }], "is not base64" },
    };

    [Theory]
    [MemberData(nameof(Bad))]
    public void Range_manifests_that_break_the_rules_are_refused(string what, SstFileEntry[] files, string reason)
    {
        var manifest = new Manifest
        {
            Version = Manifest.RangesVersion,
            BatchId = "b",
            CreatedAt = CreatedAt,
            Format = "pika-v4",
            Instances = 2,
            Files = files,
            Totals = new ManifestTotals { Shards = 4, Files = files.Length, Entries = files.Sum(f => f.Entries), Bytes = files.Sum(f => f.Size) },
        };

        var error = Assert.Throws<InvalidDataException>(() => Manifests.Validate(manifest, TargetFormat.PikaV4, 2, new ManifestLimits()));

        Assert.True(error.Message.Contains(reason, StringComparison.Ordinal), $"{what}: {error.Message}");
    }

    [Fact]
    public void A_manifest_needs_a_merge_record_for_every_task_of_the_plan_and_of_that_plan()
    {
        var (plan, merged) = Batch(File(0, 1, "a", "f"), File(1, 1, "b", "z"));

        var missing = Assert.Throws<InvalidDataException>(() => Manifests.BuildRanges(Descriptor, plan, merged.Take(1)));
        var stale = Assert.Throws<InvalidDataException>(() => Manifests.BuildRanges(Descriptor, plan, [merged[0], merged[1] with { TaskSha256 = new string('1', 64) }]));

        Assert.Contains("no merge record for task tasks/b/i1-000001.json", missing.Message, StringComparison.Ordinal);
        Assert.Contains("tasks/b/i1-000001.json", stale.Message, StringComparison.Ordinal);
    }
}

using System.Security.Cryptography;
using System.Text.Json;
using PikaIngest.Core.Formats;
using PikaIngest.Core.Layout;

namespace PikaIngest.Cli.Tests;

/// <summary><c>pika-ingest mock</c> and <c>convert</c> as real processes; SSTs read back by stock <c>sst_dump</c>.</summary>
public sealed class ConvertCommandTests : IDisposable
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    private string MockBatch(string batch, params string[] extra)
    {
        string[] defaults = ["--size", "3M", "--max-file-size", "1M", "--seed", "7", "--created-at", "1700000000"];
        var unset = defaults.Chunk(2).Where(pair => !extra.Contains(pair[0])).SelectMany(pair => pair);
        var result = ProcessRunner.PikaIngest(["mock", "--out", _temp["store"], "--batch", batch, .. unset, .. extra]);
        Assert.True(result.ExitCode == 0, result.ToString());
        return Path.Combine(_temp["store"], "incoming", batch);
    }

    private static BatchDescriptor Descriptor(string batchFolder) =>
        LayoutJson.Deserialize<BatchDescriptor>(File.ReadAllBytes(Path.Combine(batchFolder, "_batch.json")), "descriptor");

    private static void AssertConvertedExactly(string storeRoot, string batch, IEnumerable<string> shards, TargetFormat format, int instances, long createdUnixMs)
    {
        var expected = ConversionOracle.For(shards, format, instances, createdUnixMs);
        var actual = new Dictionary<int, List<(byte[] Key, byte[] Value)>>();
        foreach (var file in ConvertedFiles(storeRoot, batch))
        {
            var path = Path.Combine(storeRoot, file.Key);
            Assert.Equal(file.Size, new FileInfo(path).Length);
            Assert.Equal(file.Sha256, Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path))));
            var scan = SstDump.Scan(path);
            Assert.Equal(file.Entries, scan.Count);
            var decoded = scan.Select(p => format.Encoding().Decode(p.Key, p.Value).Key).ToList();
            Assert.Equal(Convert.FromBase64String(file.SmallestKey), decoded[0]);
            Assert.Equal(Convert.FromBase64String(file.LargestKey), decoded[^1]);
            Assert.All(scan, p => Assert.Equal(file.Instance, InstanceRouter.Instance(format.Encoding().Decode(p.Key, p.Value).Key, instances)));

            // Within a batch a key lives in one shard's file only when later shards do not repeat it;
            // the expected contents are the union, so merge shard files in shard order, later wins.
            var merged = actual.TryGetValue(file.Instance, out var existing) ? existing : actual[file.Instance] = [];
            merged.AddRange(scan);
        }

        foreach (var (instance, pairs) in expected)
        {
            var latestByKey = new Dictionary<string, byte[]>(StringComparer.Ordinal);
            foreach (var (key, value) in actual[instance])
            {
                latestByKey[Convert.ToHexString(key)] = value;
            }

            Assert.Equal(pairs.Count, latestByKey.Count);
            foreach (var (key, value) in pairs)
            {
                Assert.True(latestByKey.TryGetValue(Convert.ToHexString(key), out var stored), $"instance {instance} lacks key {Convert.ToHexString(key)}");
                Assert.Equal(value, stored);
            }
        }
    }

    /// <summary>
    /// The files of a converted batch in ingest order: a one-shard batch's from its completion record; a multi-shard
    /// batch's from its merge records, which must cover each instance's keys with disjoint, ascending ranges.
    /// </summary>
    private static List<SstFileEntry> ConvertedFiles(string storeRoot, string batch)
    {
        var merged = Path.Combine(storeRoot, "state", batch, "merged");
        if (!Directory.Exists(merged))
        {
            var done = Directory.GetFiles(Path.Combine(storeRoot, "state", batch, "done")).Order(StringComparer.Ordinal).ToList();
            return [.. done.SelectMany(f => LayoutJson.Deserialize<DoneRecord>(File.ReadAllBytes(f), f).Files)];
        }

        var files = Directory.GetFiles(merged).Select(f => LayoutJson.Deserialize<MergedRecord>(File.ReadAllBytes(f), f).File)
            .OrderBy(f => f.Instance).ThenBy(f => f.Range).ToList();
        Assert.NotEmpty(files);
        foreach (var (previous, next) in files.Zip(files.Skip(1)).Where(p => p.First.Instance == p.Second.Instance))
        {
            Assert.Equal(previous.Range + 1, next.Range);
            Assert.True(Convert.FromBase64String(previous.LargestKey).AsSpan().SequenceCompareTo(Convert.FromBase64String(next.SmallestKey)) < 0, $"{previous.Key} overlaps {next.Key}");
        }

        return files;
    }

    [Fact]
    public void Converted_batch_is_readable_by_stock_sst_dump_and_holds_exactly_the_last_write_of_every_key()
    {
        var folder = MockBatch("b1", "--dup-ratio", "0.3", "--expire-ratio", "0.2", "--distribution", "zipf");
        var result = ProcessRunner.PikaIngest("convert", "--in", _temp["store"]);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("converted 3 of 3 shards", result.Stdout, StringComparison.Ordinal);
        var descriptor = Descriptor(folder);
        var shards = Directory.GetFiles(folder, "*.jsonl").Order(StringComparer.Ordinal);
        AssertConvertedExactly(_temp["store"], "b1", shards, TargetFormat.PikaV4, descriptor.Instances, descriptor.CreatedAt.ToUnixTimeMilliseconds());
    }

    [Theory]
    [InlineData("pika-v3.5", "2", "zstd")]
    [InlineData("raw", "1", "none")]
    public void Other_formats_and_compressions_are_written_as_asked(string format, string instances, string compression)
    {
        MockBatch("b2", "--format", format, "--instances", instances, "--compression", compression);
        var result = ProcessRunner.PikaIngest("convert", "--in", _temp["store"], "--out", _temp["out"]);
        Assert.True(result.ExitCode == 0, result.ToString());
        var folder = Path.Combine(_temp["store"], "incoming", "b2");
        var descriptor = Descriptor(folder);
        AssertConvertedExactly(_temp["out"], "b2", Directory.GetFiles(folder, "*.jsonl").Order(StringComparer.Ordinal), TargetFormats.Parse(format), int.Parse(instances, System.Globalization.CultureInfo.InvariantCulture), descriptor.CreatedAt.ToUnixTimeMilliseconds());
        var sst = Directory.GetFiles(Path.Combine(_temp["out"], "sst", "b2")).First();
        var properties = SstDump.Properties(sst);
        Assert.Equal(compression switch { "zstd" => "ZSTD", "none" => "NoCompression", _ => "LZ4" }, properties["SST file compression algo"]);
    }

    [Fact]
    public void External_sort_under_a_small_memory_budget_writes_the_same_records_as_the_in_memory_path()
    {
        MockBatch("b3", "--dup-ratio", "0.5", "--size", "3M", "--max-file-size", "3M");
        var inMemory = ProcessRunner.PikaIngest("convert", "--in", _temp["store"], "--out", _temp["memory"]);
        Directory.CreateDirectory(_temp["spill"]);
        var external = ProcessRunner.PikaIngest("convert", "--in", _temp["store"], "--out", _temp["external"], "--memory", "1M", "--threads", "1", "--temp", _temp["spill"]);
        Assert.True(inMemory.ExitCode == 0, inMemory.ToString());
        Assert.True(external.ExitCode == 0, external.ToString());
        foreach (var instance in Enumerable.Range(0, 3))
        {
            var name = Path.Combine("sst", "b3", $"000001-{instance}.sst");
            var a = SstDump.Scan(Path.Combine(_temp["memory"], name));
            var b = SstDump.Scan(Path.Combine(_temp["external"], name));
            Assert.NotEmpty(a);
            Assert.Equal(a.Select(p => Convert.ToHexString(p.Key) + "=" + Convert.ToHexString(p.Value)), b.Select(p => Convert.ToHexString(p.Key) + "=" + Convert.ToHexString(p.Value)));
        }

        Assert.Empty(Directory.EnumerateFileSystemEntries(_temp["spill"]));
    }

    [Fact]
    public void A_bad_shard_gets_a_failed_record_naming_the_line_and_no_sst_while_the_others_convert()
    {
        var folder = MockBatch("b4");
        var bad = Path.Combine(folder, "000002.jsonl");
        var lines = File.ReadAllLines(bad);
        lines[41] = "{\"key\":\"k\",\"value\":";
        File.WriteAllLines(bad, lines);

        var result = ProcessRunner.PikaIngest("convert", "--in", _temp["store"]);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"{bad}:42:", result.Stderr, StringComparison.Ordinal);
        var failed = LayoutJson.Deserialize<FailedRecord>(File.ReadAllBytes(_temp["store/state/b4/failed/000002.json"]), "failed");
        Assert.Equal(42, failed.Line);
        Assert.Equal(2, failed.Shard);
        Assert.False(Directory.EnumerateFiles(_temp["store/runs/b4"], "000002-*").Any());
        Assert.False(Directory.Exists(_temp["store/sst/b4"]), "a batch with a failed shard must not be merged");
        Assert.True(File.Exists(_temp["store/state/b4/mapped/000001.json"]));
        Assert.True(File.Exists(_temp["store/state/b4/mapped/000003.json"]));
        Assert.Empty(Directory.EnumerateFiles(_temp["store"], "*.tmp*", SearchOption.AllDirectories));

        // Fixing the shard and converting again replaces the failure with a completion.
        lines[41] = "{\"key\":\"k\",\"value\":\"v\"}";
        File.WriteAllLines(bad, lines);
        Assert.Equal(0, ProcessRunner.PikaIngest("convert", "--in", _temp["store"]).ExitCode);
        Assert.False(File.Exists(_temp["store/state/b4/failed/000002.json"]));
        Assert.True(File.Exists(_temp["store/state/b4/mapped/000002.json"]));
        Assert.NotEmpty(Directory.GetFiles(_temp["store/sst/b4"], "i*.sst"));
    }

    [Fact]
    public void Invoke_merge_runs_the_merge_function_on_a_task_event_and_a_repeat_is_skipped()
    {
        MockBatch("b8", "--dup-ratio", "0.3");
        Assert.Equal(0, ProcessRunner.PikaIngest("convert", "--in", _temp["store"]).ExitCode);
        var task = ObjectLayout.Task("b8", 1, 1);
        var merged = _temp[Path.Combine("store", ObjectLayout.Merged("b8", 1, 1))];
        var sst = _temp[Path.Combine("store", ObjectLayout.RangeSstFile("b8", 1, 1))];
        var converted = SstDump.Scan(sst);
        File.Delete(merged);
        File.Delete(sst);
        var eventFile = _temp["task-event.json"];
        File.WriteAllText(eventFile, File.ReadAllText(Path.Combine(FlowRoot(), "events", "task-put.json"))
            .Replace("pika-ingest-123456789012-us-east-1", "store", StringComparison.Ordinal)
            .Replace("tasks/20261123T190000Z-7f3a/i0-000001.json", task, StringComparison.Ordinal));

        var first = ProcessRunner.PikaIngest("invoke", "merge", "--event", eventFile, "--store", "file://" + _temp.Path);
        var again = ProcessRunner.PikaIngest("invoke", "merge", "--event", eventFile, "--store", "file://" + _temp.Path);

        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Contains("\"outcome\":\"merged\"", first.Stdout, StringComparison.Ordinal);
        Assert.Contains("\"outcome\":\"alreadyDone\"", again.Stdout, StringComparison.Ordinal);
        Assert.True(File.Exists(merged));
        Assert.Equal(converted.Select(p => Convert.ToHexString(p.Key) + "=" + Convert.ToHexString(p.Value)), SstDump.Scan(sst).Select(p => Convert.ToHexString(p.Key) + "=" + Convert.ToHexString(p.Value)));
    }

    private static string FlowRoot()
    {
        var folder = new DirectoryInfo(AppContext.BaseDirectory);
        while (folder is not null && !File.Exists(Path.Combine(folder.FullName, "IngestFunctions.sln")))
        {
            folder = folder.Parent;
        }

        return folder!.FullName;
    }

    [Fact]
    public void Legacy_json_array_files_convert_like_json_lines()
    {
        var records = Enumerable.Range(0, 500).Select(i => new { key = $"k{i % 300:D4}", value = $"v{i}" }).ToList();
        File.WriteAllText(_temp["data_1.json"], JsonSerializer.Serialize(records, Indented));
        File.WriteAllLines(_temp["lines/000001.jsonl"].EnsureFolder(), records.Select(r => JsonSerializer.Serialize(r)));

        var array = ProcessRunner.PikaIngest("convert", "--in", _temp["data_1.json"], "--out", _temp["a"], "--batch", "legacy", "--format", "raw", "--instances", "1");
        var lines = ProcessRunner.PikaIngest("convert", "--in", _temp["lines/000001.jsonl"], "--out", _temp["l"], "--batch", "legacy", "--format", "raw", "--instances", "1");

        Assert.True(array.ExitCode == 0, array.ToString());
        Assert.True(lines.ExitCode == 0, lines.ToString());
        var fromArray = SstDump.Scan(_temp["a/sst/legacy/000001-0.sst"]);
        Assert.Equal(300, fromArray.Count);
        Assert.Equal("v499", System.Text.Encoding.UTF8.GetString(fromArray.Single(p => System.Text.Encoding.UTF8.GetString(p.Key) == "k0199").Value));
        Assert.Equal(fromArray.Select(p => Convert.ToHexString(p.Value)), SstDump.Scan(_temp["l/sst/legacy/000001-0.sst"]).Select(p => Convert.ToHexString(p.Value)));
    }

    [Fact]
    public void Missing_input_and_unwritable_output_are_one_line_errors_with_nothing_written()
    {
        var missing = ProcessRunner.PikaIngest("convert", "--in", _temp["nope"]);
        Assert.Equal(2, missing.ExitCode);
        Assert.StartsWith("error: ", missing.Stderr, StringComparison.Ordinal);
        Assert.Contains("nope", missing.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", missing.Stderr, StringComparison.Ordinal);

        MockBatch("b5");
        var unwritable = ProcessRunner.PikaIngest("convert", "--in", _temp["store"], "--out", "/proc/pika-ingest-cannot-write-here");
        Assert.Equal(2, unwritable.ExitCode);
        Assert.Contains("not writable", unwritable.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Flags_that_contradict_the_batch_descriptor_are_rejected()
    {
        MockBatch("b6", "--instances", "3");
        var result = ProcessRunner.PikaIngest("convert", "--in", _temp["store"], "--instances", "2");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--instances 2 contradicts", result.Stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_temp["store/sst"]));
    }

    [Fact]
    public void Inspect_reports_properties_and_decoded_records_of_a_converted_file()
    {
        MockBatch("b7", "--expire-ratio", "1", "--instances", "1", "--max-file-size", "3M");
        Assert.Equal(0, ProcessRunner.PikaIngest("convert", "--in", _temp["store"]).ExitCode);
        var sst = _temp["store/sst/b7/000001-0.sst"];
        var result = ProcessRunner.PikaIngest("inspect", sst, "--json", "--limit", "-1");
        Assert.True(result.ExitCode == 0, result.ToString());
        using var report = JsonDocument.Parse(result.Stdout);
        var root = report.RootElement;
        var scan = SstDump.Scan(sst);
        Assert.Equal(scan.Count, root.GetProperty("entries").GetInt64());
        Assert.Equal("pika-v4", root.GetProperty("format").GetString());
        Assert.Equal("LZ4", root.GetProperty("compression").GetString());
        var records = root.GetProperty("records").EnumerateArray().ToList();
        Assert.Equal(scan.Count, records.Count);
        Assert.All(records, r => Assert.Equal((1700000000L + 3600) * 1000, r.GetProperty("expireUnixMs").GetInt64()));
        Assert.Equal(PikaV4Encoding.Instance.Decode(scan[0].Key, scan[0].Value).Key, System.Text.Encoding.UTF8.GetBytes(records[0].GetProperty("key").GetString()!));

        var bad = ProcessRunner.PikaIngest("inspect", _temp["store/incoming/b7/000001.jsonl"]);
        Assert.Equal(2, bad.ExitCode);
        Assert.StartsWith("error: ", bad.Stderr, StringComparison.Ordinal);
    }
}

internal static class PathExtensions
{
    public static string EnsureFolder(this string file)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        return file;
    }
}

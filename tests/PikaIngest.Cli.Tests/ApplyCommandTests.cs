using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using PikaIngest.Core.Formats;
using PikaIngest.Core.StockPika;
using PikaIngest.Testing;
using RocksDbSharp;

namespace PikaIngest.Cli.Tests;

/// <summary>
/// <c>pika-ingest apply</c> into RocksDB folders laid out as a stopped Pika 4 leaves them (seven column families,
/// Pika's two custom comparators, its last writes still in the WAL), without a Pika: what it ingests, what it
/// leaves alone, and every refusal, each with nothing written. tests/PikaIngest.StockPika.Tests does the same
/// against a real Pika.
/// </summary>
public sealed class ApplyCommandTests : IDisposable
{
    private const string Batch = "20261204T110000Z-cd34";
    private const int Instances = 3;
    private static readonly string[] PikaColumnFamilies = ["default", "hash_data_cf", "set_data_cf", "list_data_cf", "zset_data_cf", "zset_score_cf", "stream_data_cf"];
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    private string Store => _temp["store"];

    private string Data => _temp["pika-db"];

    private string Manifest => Path.Combine(Store, "manifests", $"{Batch}.json");

    [Fact]
    public void A_batch_goes_into_each_instances_default_column_family_and_a_repeat_is_a_no_op()
    {
        var expected = ConvertedBatches.Write(Store, Batch, Instances);
        CreatePika4(Data, Instances);

        var result = Apply();

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains($"batch {Batch} applied", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("slaves: stop each slave and run this same apply on it", result.Stdout, StringComparison.Ordinal);
        var stored = ReadStrings(Data, Instances);
        foreach (var (key, (value, expire)) in expected)
        {
            var instance = InstanceRouter.Instance(Encoding.Latin1.GetBytes(key), Instances);
            Assert.True(stored[instance].TryGetValue(key, out var record), $"{key} is not in instance {instance}");
            Assert.Equal(expire * 1000, record.ExpireUnixMs);
            if (value is not null)
            {
                Assert.Equal(value, record.Value);
            }
            else
            {
                // Already expired in the batch: stored with its past expiry, which Pika reads as absent.
                Assert.InRange(record.ExpireUnixMs, 1, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            }
        }

        // What Pika had, in the default column family and (still in its WAL) in the others, is untouched.
        Assert.All(Enumerable.Range(0, Instances), i => Assert.Equal("kept", stored[i]["existing"].Value));
        AssertOtherFamiliesKept(Data, Instances);
        var applied = StockPikaApply.ReadApplied(Path.Combine(Data, StockPikaApply.AppliedFileName));
        Assert.Equal(Batch, Assert.Single(applied).BatchId);
        Assert.False(File.Exists(Path.Combine(Data, StockPikaApply.ApplyingFileName)));
        Assert.False(Directory.Exists(Path.Combine(Data, StockPikaApply.StagingFolderName, Batch)));

        var again = Apply();
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Contains("already applied", again.Stdout, StringComparison.Ordinal);
        Assert.Single(StockPikaApply.ReadApplied(Path.Combine(Data, StockPikaApply.AppliedFileName)));
    }

    [Fact]
    public void A_pika_3_5_batch_goes_into_db0_strings()
    {
        var expected = ConvertedBatches.Write(Store, Batch, 1, TargetFormat.PikaV35);
        var strings = Path.Combine(Data, "db0", "strings");
        Directory.CreateDirectory(strings);
        using (var db = RocksDb.Open(new DbOptions().SetCreateIfMissing(true), strings))
        {
            db.Put(PikaV35Encoding.Instance.EncodeKey("existing"u8), PikaV35Encoding.Instance.EncodeValue("kept"u8, 0, 0));
        }

        AssertRefused(Apply(instances: 3, version: "3.5"), "--instances must be 1, not 3");
        var result = Apply(instances: 1, version: "3.5");

        Assert.True(result.ExitCode == 0, result.ToString());
        using var read = RocksDb.OpenReadOnly(new DbOptions(), strings, false);
        using var iterator = read.NewIterator();
        var stored = new Dictionary<string, (string Value, long ExpireUnixMs)>(StringComparer.Ordinal);
        for (iterator.SeekToFirst(); iterator.Valid(); iterator.Next())
        {
            var record = PikaV35Encoding.Instance.Decode(iterator.Key(), iterator.Value());
            stored[Encoding.Latin1.GetString(record.Key)] = (Encoding.Latin1.GetString(record.Value), record.ExpireUnixMs);
        }

        Assert.Equal("kept", stored["existing"].Value);
        foreach (var (key, (value, expire)) in expected.Where(e => e.Value.Value is not null))
        {
            Assert.Equal((value!, expire * 1000), stored[key]);
        }
    }

    [Fact]
    public void An_apply_interrupted_after_some_instances_finishes_the_others_without_ingesting_those_again()
    {
        ConvertedBatches.Write(Store, Batch, Instances);
        CreatePika4(Data, Instances);
        var currents = Enumerable.Range(0, Instances).Select(i => File.ReadAllText(Path.Combine(Data, "db0", $"{i}", "CURRENT")).Trim()).ToList();
        var applying = Path.Combine(Data, StockPikaApply.ApplyingFileName);

        // Instance 2 was opened since (its CURRENT moved on): whether the batch is in it is unknown, so nothing is done.
        File.WriteAllText(applying, $$"""{"version":1,"batchId":"{{Batch}}","instancesDone":[0],"currents":["{{currents[0]}}","{{currents[1]}}","MANIFEST-000001"]}""");
        AssertRefused(Apply(), "instance(s) 2 were opened (by Pika?) after the apply of batch");
        Assert.All(ReadStrings(Data, Instances), strings => Assert.Equal(["existing"], strings.Keys));

        File.WriteAllText(applying, $$"""{"version":1,"batchId":"{{Batch}}","instancesDone":[0],"currents":["{{currents[0]}}","{{currents[1]}}","{{currents[2]}}"]}""");
        var result = Apply();

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("instance 0 (", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("took this batch before the apply was interrupted; skipped", result.Stdout, StringComparison.Ordinal);
        var stored = ReadStrings(Data, Instances);
        Assert.Equal(["existing"], stored[0].Keys);
        Assert.True(stored[1].Count > 1 && stored[2].Count > 1);
    }

    [Fact]
    public void Folders_that_are_not_the_pika_described_are_refused_naming_the_path_with_nothing_written()
    {
        ConvertedBatches.Write(Store, Batch, Instances);
        Directory.CreateDirectory(_temp["empty"]);
        CreatePika4(Data, Instances);

        AssertRefused(Apply(pikaData: _temp["empty"]), $"{_temp["empty"]} is not a Pika database: it has no db0/ folder");
        AssertRefused(Apply(instances: 5), $"{Path.Combine(Data, "db0")} holds instance folders [0, 1, 2], not 0..4: the Pika there runs with db-instance-num 3");
        AssertRefused(Apply(version: "3.5"), "holds numbered instance folders, Pika 4's layout, not Pika 3.5's: use --pika-version 4.0.1");
        AssertRefused(Apply(version: "5.0"), "--pika-version 5.0: expected 4.0.1 (any 4.0.x) or 3.5");
        AssertUntouched();
    }

    [Fact]
    public void A_manifest_for_another_format_or_a_file_that_differs_from_it_is_refused_with_nothing_written()
    {
        ConvertedBatches.Write(_temp["v35"], Batch, Instances, TargetFormat.PikaV35);
        ConvertedBatches.Write(Store, Batch, Instances);
        CreatePika4(Data, Instances);

        AssertRefused(Apply(manifest: Path.Combine(_temp["v35"], "manifests", $"{Batch}.json")), "format 'pika-v3.5'");

        var sst = Directory.GetFiles(Path.Combine(Store, "sst", Batch)).Order(StringComparer.Ordinal).First();
        File.AppendAllText(sst, "x");
        AssertRefused(Apply(), $"file sst/{Batch}/{Path.GetFileName(sst)} in bucket store is {new FileInfo(sst).Length} bytes; the manifest says");
        AssertUntouched();
    }

    [Fact]
    public void A_damaged_applied_record_or_another_batchs_unfinished_apply_stops_the_apply()
    {
        ConvertedBatches.Write(Store, Batch, Instances);
        CreatePika4(Data, Instances);
        var applied = Path.Combine(Data, StockPikaApply.AppliedFileName);
        File.WriteAllText(applied, "{\"version\":1,\"batchId\":\"earlier\",\"manifest\":\"m\",\"files\":1,\"bytes\":1,\"appliedAt\":\"2026-12-01T00:00:00Z\"}\n{\"version\":1,\"batchId\":\"torn");

        AssertRefused(Apply(), $"{applied} line 2:");

        File.Delete(applied);
        File.WriteAllText(Path.Combine(Data, StockPikaApply.ApplyingFileName), """{"version":1,"batchId":"other-batch","instancesDone":[1]}""");
        AssertRefused(Apply(), "an apply of batch other-batch was interrupted; run that apply again first");
        Assert.All(ReadStrings(Data, Instances), strings => Assert.Equal(["existing"], strings.Keys));
    }

    /// <summary>
    /// Issue 18: sizes and SHA-256 right, files not what the manifest says. Each is one <c>error:</c> line naming the
    /// batch and the file, exit 2, with nothing ingested, no applying record and no staged copies left.
    /// </summary>
    [Theory]
    [MemberData(nameof(BatchAttacks.All), MemberType = typeof(BatchAttacks))]
    public void A_manifest_whose_files_are_not_what_it_says_is_refused_in_one_line_with_nothing_ingested(string attack, int position)
    {
        ConvertedBatches.Write(Store, Batch, Instances);
        // ConvertedBatches always writes the same records: the other batch is cut for 4 instances, so its files differ.
        ConvertedBatches.Write(_temp["other"], "20261204T120000Z-ef56", 4);
        CreatePika4(Data, Instances);
        var changed = BatchAttacks.Apply(Store, Manifest, attack, position, (_temp["other"], Path.Combine(_temp["other"], "manifests", "20261204T120000Z-ef56.json")));

        var result = Apply();

        AssertRefused(result, $"error: batch {Batch}: file sst/{Batch}/");
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(changed, key => line.Contains($"file {key}", StringComparison.Ordinal));
        Assert.DoesNotContain("   at ", result.Stderr, StringComparison.Ordinal);
        AssertUntouched();
        Assert.False(Directory.Exists(Path.Combine(Data, StockPikaApply.StagingFolderName, Batch)), "the staged copies must be removed");
        AssertOtherFamiliesKept(Data, Instances);
    }

    private ProcessResult Apply(string? manifest = null, string? pikaData = null, int instances = Instances, string version = "4.0.1") =>
        ProcessRunner.PikaIngest("apply", "--manifest", manifest ?? Manifest, "--pika-data", pikaData ?? Data, "--instances", instances.ToString(CultureInfo.InvariantCulture), "--pika-version", version);

    private static void AssertRefused(ProcessResult result, string message)
    {
        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Contains(message, result.Stderr, StringComparison.Ordinal);
    }

    private void AssertUntouched()
    {
        Assert.False(File.Exists(Path.Combine(Data, StockPikaApply.AppliedFileName)));
        Assert.False(File.Exists(Path.Combine(Data, StockPikaApply.ApplyingFileName)));
        Assert.All(ReadStrings(Data, Instances), strings => Assert.Equal(["existing"], strings.Keys));
    }

    /// <summary>
    /// Pika 4's instance folders as <c>Redis::Open</c> creates them, each with one string, a list element and two
    /// zset scores written after the last flush, so they are in the WAL that an open replays with the comparators.
    /// </summary>
    private static void CreatePika4(string dbPath, int instances)
    {
        for (var i = 0; i < instances; i++)
        {
            var folder = Path.Combine(dbPath, "db0", i.ToString(CultureInfo.InvariantCulture));
            Directory.CreateDirectory(folder);
            using var db = RocksDb.Open(new DbOptions().SetCreateIfMissing(true).SetCreateMissingColumnFamilies(true), folder, Families());
            db.Put(PikaV4Encoding.Instance.EncodeKey("existing"u8), StringValue("kept"));
            db.Put(DataKey("list", 1, 7UL, []), "element"u8.ToArray(), db.GetColumnFamily("list_data_cf"));
            db.Put(DataKey("zset", 1, -1.5, "b"u8), Array.Empty<byte>(), db.GetColumnFamily("zset_score_cf"));
            db.Put(DataKey("zset", 1, 2.0, "a"u8), Array.Empty<byte>(), db.GetColumnFamily("zset_score_cf"));
        }
    }

    private static void AssertOtherFamiliesKept(string dbPath, int instances)
    {
        for (var i = 0; i < instances; i++)
        {
            using var db = RocksDb.OpenReadOnly(new DbOptions(), Path.Combine(dbPath, "db0", i.ToString(CultureInfo.InvariantCulture)), Families(), false);
            Assert.Equal("element"u8.ToArray(), db.Get(DataKey("list", 1, 7UL, []), db.GetColumnFamily("list_data_cf")));
            using var scores = db.NewIterator(db.GetColumnFamily("zset_score_cf"));
            var members = new List<string>();
            for (scores.SeekToFirst(); scores.Valid(); scores.Next())
            {
                members.Add(Encoding.ASCII.GetString(scores.Key()[^17..^16]));
            }

            // Pika's comparator orders by score: -1.5 ("b") before 2.0 ("a"), which bytes alone would not.
            Assert.Equal(["b", "a"], members);
        }
    }

    private static ColumnFamilies Families()
    {
        var families = new ColumnFamilies();
        foreach (var name in PikaColumnFamilies)
        {
            families.Add(name, new ColumnFamilyOptions().WithPikaComparator(name));
        }

        return families;
    }

    private static byte[] StringValue(string value)
    {
        var destination = new byte[value.Length + 33];
        var length = PikaV4Encoding.EncodeValueMs(Encoding.ASCII.GetBytes(value), 0, 1, destination);
        return destination[..length];
    }

    /// <summary>A list data key (8-byte field = index) or zset score key (field = score, then member): reserve | key | \0\0 | version | field | member | reserve.</summary>
    private static byte[] DataKey(string key, ulong version, double field, ReadOnlySpan<byte> member) =>
        DataKey(key, version, BitConverter.DoubleToUInt64Bits(field), member);

    private static byte[] DataKey(string key, ulong version, ulong field, ReadOnlySpan<byte> member)
    {
        var bytes = new byte[8 + key.Length + 2 + 8 + 8 + member.Length + 16];
        Encoding.ASCII.GetBytes(key, bytes.AsSpan(8));
        var at = 8 + key.Length + 2;
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(at), version);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(at + 8), field);
        member.CopyTo(bytes.AsSpan(at + 16));
        return bytes;
    }

    /// <summary>Every string of each instance's default column family, decoded (user key as Latin-1).</summary>
    private static List<Dictionary<string, (string Value, long ExpireUnixMs)>> ReadStrings(string dbPath, int instances)
    {
        var all = new List<Dictionary<string, (string, long)>>();
        for (var i = 0; i < instances; i++)
        {
            using var db = RocksDb.OpenReadOnly(new DbOptions(), Path.Combine(dbPath, "db0", i.ToString(CultureInfo.InvariantCulture)), Families(), false);
            using var iterator = db.NewIterator();
            var strings = new Dictionary<string, (string, long)>(StringComparer.Ordinal);
            for (iterator.SeekToFirst(); iterator.Valid(); iterator.Next())
            {
                var record = PikaV4Encoding.Instance.Decode(iterator.Key(), iterator.Value());
                strings[Encoding.Latin1.GetString(record.Key)] = (Encoding.Latin1.GetString(record.Value), record.ExpireUnixMs);
            }

            all.Add(strings);
        }

        return all;
    }
}

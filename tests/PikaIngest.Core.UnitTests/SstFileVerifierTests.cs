using System.Security.Cryptography;
using System.Text;
using PikaIngest.Core.Formats;
using PikaIngest.Core.Sst;

namespace PikaIngest.Core.UnitTests;

/// <summary>
/// The read-back check on real SST files written by RocksDB's SstFileWriter, as the SST stage writes them: every
/// way a staged file can differ from what its manifest says is refused with the batch, the file and what differs.
/// </summary>
public sealed class SstFileVerifierTests : IDisposable
{
    private const int Instances = 3;
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    private sealed record Built(List<ExpectedSst> Expected, List<string> Paths);

    /// <summary>Keys user:0..n-1 routed to their instances, one pika-v4 file per instance (or per range when <paramref name="ranges"/>).</summary>
    private Built Build(int keys = 300, int ranges = 1, SstCompression compression = SstCompression.Lz4, string batch = "b1")
    {
        var expected = new List<ExpectedSst>();
        var paths = new List<string>();
        var routed = Enumerable.Range(0, keys).Select(i => Encoding.UTF8.GetBytes($"user:{i}"))
            .GroupBy(k => InstanceRouter.Instance(k, Instances))
            .OrderBy(g => g.Key);
        foreach (var instance in routed)
        {
            var sorted = instance.OrderBy(k => k, BytewiseComparer.Instance).ToList();
            var size = (sorted.Count + ranges - 1) / ranges;
            for (var r = 0; r < ranges; r++)
            {
                var part = sorted.Skip(r * size).Take(size).ToList();
                var key = ranges == 1 ? $"sst/{batch}/000001-{instance.Key}.sst" : $"sst/{batch}/i{instance.Key}-{r + 1:D6}.sst";
                var path = _folder[$"{batch}-{instance.Key}-{r}.sst"];
                Write(path, part.Select(k => (PikaV4Encoding.Instance.EncodeKey(k), PikaV4Encoding.Instance.EncodeValue(Encoding.UTF8.GetBytes("v-" + Encoding.UTF8.GetString(k)), 0, 1_700_000_000_000))), compression);
                expected.Add(new ExpectedSst(key, instance.Key, part.Count, part[0], part[^1], ranges > 1));
                paths.Add(path);
            }
        }

        return new Built(expected, paths);
    }

    private static void Write(string path, IEnumerable<(byte[] Key, byte[] Value)> records, SstCompression compression = SstCompression.None)
    {
        using var builder = new SstFileBuilder(path, new SstOptions { Compression = compression });
        foreach (var (key, value) in records)
        {
            builder.Put(key, value);
        }

        builder.Finish();
        builder.Commit();
    }

    private void Verify(Built built, string batch = "b1") =>
        SstFileVerifier.Verify(batch, TargetFormat.PikaV4, Instances, built.Expected, built.Paths, _folder["work"]);

    private string Refused(Built built) => Assert.Throws<InvalidDataException>(() => Verify(built)).Message;

    [Theory]
    [InlineData(SstCompression.Lz4, 1)]
    [InlineData(SstCompression.Zstd, 1)]
    [InlineData(SstCompression.None, 3)]
    public void A_batch_that_is_what_its_manifest_says_passes_and_its_files_are_left_as_they_were(SstCompression compression, int ranges)
    {
        var built = Build(compression: compression, ranges: ranges);
        var before = built.Paths.Select(p => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(p)))).ToList();

        Verify(built);

        Assert.Equal(before, built.Paths.Select(p => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(p)))));
        Assert.False(Directory.Exists(_folder["work"]), "the scratch databases must be removed");
    }

    [Fact]
    public void Files_listed_under_the_wrong_instances_are_refused_naming_the_file_and_the_instance_of_its_keys()
    {
        var built = Build();
        // 0 <- file 1, 1 <- file 2, 2 <- file 0, the bounds and counts following their files.
        var rotated = new Built(
            [.. built.Expected.Select((e, i) => built.Expected[(i + 1) % 3] with { Key = e.Key, Instance = e.Instance })],
            [.. built.Paths.Select((_, i) => built.Paths[(i + 1) % 3])]);

        var error = Refused(rotated);

        Assert.Matches(@"^batch b1: file sst/b1/000001-\d\.sst: key 'user:\d+' \(record #1\) belongs to instance \d of 3; the manifest lists the file under instance \d$", error);
    }

    [Fact]
    public void A_file_of_another_batch_with_its_own_sha256_is_refused_by_its_count_and_bounds()
    {
        var built = Build();
        var foreign = Build(keys: 200, batch: "b2");
        built.Paths[1] = foreign.Paths[1];

        var error = Refused(built);

        Assert.StartsWith("batch b1: file sst/b1/000001-1.sst: its table properties count", error, StringComparison.Ordinal);
        Assert.Contains("the manifest says " + built.Expected[1].Entries, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Key_bounds_that_differ_from_the_manifest_are_named()
    {
        var built = Build();
        built.Expected[2] = built.Expected[2] with { SmallestKey = "user:0"u8.ToArray() };
        Assert.Equal($"batch b1: file sst/b1/000001-2.sst: its smallest key is {SstFileVerifier.Show(Build().Expected[2].SmallestKey)}; the manifest says 'user:0'", Refused(built));

        built = Build();
        built.Expected[0] = built.Expected[0] with { LargestKey = "zzz"u8.ToArray() };
        Assert.Contains("its largest key is 'user:", Refused(built), StringComparison.Ordinal);
    }

    public static TheoryData<string, int> Damage => new()
    {
        { "random", 0 }, { "random", 1 }, { "random", 2 },
        { "truncated", 0 }, { "truncated", 1 }, { "truncated", 2 },
        { "flipped", 0 }, { "flipped", 1 }, { "flipped", 2 },
    };

    [Theory]
    [MemberData(nameof(Damage))]
    public void A_damaged_file_at_any_instance_is_refused_as_unreadable(string damage, int instance)
    {
        var built = Build(keys: 3000, compression: SstCompression.None);
        var path = built.Paths[instance];
        var bytes = File.ReadAllBytes(path);
        switch (damage)
        {
            case "random":
                File.WriteAllBytes(path, RandomNumberGenerator.GetBytes(5000));
                break;
            case "truncated":
                File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
                break;
            case "flipped":
                // A byte of the first data block: only its block checksum can tell.
                bytes[100] ^= 0x01;
                File.WriteAllBytes(path, bytes);
                break;
        }

        var error = Refused(built);

        Assert.StartsWith($"batch b1: file sst/b1/000001-{instance}.sst: ", error, StringComparison.Ordinal);
        Assert.Contains(damage == "flipped" ? "RocksDB cannot read it" : "not a readable SST file", error, StringComparison.Ordinal);
        if (damage == "flipped")
        {
            Assert.Contains("Corruption", error, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Range_files_of_one_instance_that_overlap_are_refused()
    {
        var built = Build(ranges: 2);
        built.Paths[1] = built.Paths[0];
        built.Expected[1] = built.Expected[0] with { Key = built.Expected[1].Key };

        Assert.Matches(@"^batch b1: file sst/b1/i0-00000\d\.sst overlaps file sst/b1/i0-00000\d\.sst of instance 0 ", Refused(built));
    }

    [Fact]
    public void Shard_files_of_one_instance_may_overlap_as_a_later_shard_wins()
    {
        var built = Build();
        var twice = new Built([built.Expected[0], built.Expected[0] with { Key = "sst/b1/000002-0.sst" }], [built.Paths[0], built.Paths[0]]);

        Verify(twice);
    }

    [Fact]
    public void Records_that_are_not_pika_v4_strings_are_refused()
    {
        var path = _folder["raw.sst"];
        Write(path, [("user:1"u8.ToArray(), "v"u8.ToArray())]);
        var built = new Built([new ExpectedSst("sst/b1/000001-0.sst", InstanceRouter.Instance("user:1"u8, Instances), 1, null, null, false)], [path]);

        Assert.Equal("batch b1: file sst/b1/000001-0.sst: record #1 (stored key 'user:1') is not a pika-v4 string: its value of 1 bytes is not a pika-v4 string value", Refused(built));
    }

    [Fact]
    public void The_hash_tag_decides_the_instance_as_pika_routes_it()
    {
        // Keys sharing a tag share an instance whatever follows it, and an embedded zero byte is unescaped first.
        List<byte[]> keys = ["{tag}a"u8.ToArray(), "{tag}b\0c"u8.ToArray(), "{tag}zz"u8.ToArray()];
        var path = _folder["tag.sst"];
        Write(path, keys.Select(k => (PikaV4Encoding.Instance.EncodeKey(k), PikaV4Encoding.Instance.EncodeValue("v"u8, 0, 0))));
        var instance = InstanceRouter.Instance("tag"u8, Instances);

        SstFileVerifier.Verify("b1", TargetFormat.PikaV4, Instances, [new ExpectedSst("f", instance, 3, keys[0], keys[^1], false)], [path], _folder["work"]);
        var wrong = Assert.Throws<InvalidDataException>(() => SstFileVerifier.Verify("b1", TargetFormat.PikaV4, Instances, [new ExpectedSst("f", (instance + 1) % Instances, 3, null, null, false)], [path], _folder["work"]));
        Assert.Contains($"key '{{tag}}a' (record #1) belongs to instance {instance} of 3", wrong.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_pika_v35_file_is_read_with_raw_keys_into_its_one_instance()
    {
        var path = _folder["v35.sst"];
        Write(path, [("a"u8.ToArray(), PikaV35Encoding.Instance.EncodeValue("1"u8, 0, 0)), ("b"u8.ToArray(), PikaV35Encoding.Instance.EncodeValue("2"u8, 2_000_000_000, 0))]);

        SstFileVerifier.Verify("b1", TargetFormat.PikaV35, 1, [new ExpectedSst("f", 0, 2, "a"u8.ToArray(), "b"u8.ToArray(), false)], [path], _folder["work"]);
        var error = Assert.Throws<InvalidDataException>(() => SstFileVerifier.Verify("b1", TargetFormat.PikaV35, 1, [new ExpectedSst("f", 0, 2, "a"u8.ToArray(), "c"u8.ToArray(), false)], [path], _folder["work"]));
        Assert.Equal("batch b1: file f: its largest key is 'b'; the manifest says 'c'", error.Message);
    }
}

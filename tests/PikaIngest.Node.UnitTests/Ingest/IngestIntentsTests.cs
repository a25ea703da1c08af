using System.Security.Cryptography;
using System.Text;
using PikaIngest.Node.Binlog;
using PikaIngest.Node.Ingest;
using PikaIngest.Node.UnitTests.Support;

namespace PikaIngest.Node.UnitTests.Ingest;

public sealed class IngestIntentsTests : IDisposable
{
    private readonly TempFolder _folder = new();

    private static readonly IngestIntent Sample = new(
        IngestIntent.CurrentVersion, "b1", "local", "manifests/b1.json",
        [new IngestSstFile("sst/b1/i0-000001.sst", 0, 100, new string('a', 64)), new IngestSstFile("sst/b1/i1-000001.sst", 1, 200, new string('b', 64))],
        "b1-0123", ["000000.sst", "000001.sst"], "1:4096", [0]);

    public void Dispose() => _folder.Dispose();

    [Fact]
    public void An_intent_has_the_documented_bytes()
    {
        const string Body =
            "{\"v\":1,\"batchId\":\"b1\",\"bucket\":\"local\",\"manifestKey\":\"manifests/b1.json\"," +
            "\"files\":[{\"key\":\"sst/b1/i0-000001.sst\",\"instance\":0,\"size\":100," +
            "\"sha256\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}," +
            "{\"key\":\"sst/b1/i1-000001.sst\",\"instance\":1,\"size\":200," +
            "\"sha256\":\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"}],\"staging\":\"b1-0123\"," +
            "\"staged\":[\"000000.sst\",\"000001.sst\"],\"binlogFrom\":\"1:4096\",\"instancesDone\":[0]}";
        var expected = Body + "\nsha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Body))) + "\n";

        Assert.Equal(expected, Encoding.UTF8.GetString(IngestIntents.Encode(Sample)));
        Assert.Equal(Sample.WithDone(1).InstancesDone, IngestIntents.Decode(IngestIntents.Encode(Sample.WithDone(1)), "x").InstancesDone);
    }

    [Fact]
    public void What_the_manifest_says_of_a_file_is_kept_in_the_intent_for_the_read_back_on_start()
    {
        var intent = Sample with { Files = [new IngestSstFile("sst/b1/i0-000001.sst", 0, 100, new string('a', 64), 7, "YQ==", "Zw==", 1)], StagedNames = ["000000.sst"] };
        const string Files = "\"files\":[{\"key\":\"sst/b1/i0-000001.sst\",\"instance\":0,\"size\":100," +
            "\"sha256\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"entries\":7,\"smallestKey\":\"YQ==\",\"largestKey\":\"Zw==\",\"range\":1}]";

        var encoded = IngestIntents.Encode(intent);

        Assert.Contains(Files, Encoding.UTF8.GetString(encoded), StringComparison.Ordinal);
        Assert.Equal(intent.Files, IngestIntents.Decode(encoded, "x").Files);
    }

    [Fact]
    public void Saved_intents_load_back_and_a_deleted_one_is_gone()
    {
        var intents = new IngestIntents(_folder.Combine("intents"));
        intents.Save(Sample);
        intents.Save(Sample.WithDone(1));

        var loaded = Assert.Single(intents.LoadAll());
        Assert.Equal([0, 1], loaded.InstancesDone);
        Assert.Equal(Sample.Files, loaded.Files);
        intents.Delete("b1");
        Assert.Empty(intents.LoadAll());
    }

    [Theory]
    [InlineData("torn", "checksum does not match")]
    [InlineData("flipped", "checksum does not match")]
    [InlineData("no trailer", "checksum does not match")]
    [InlineData("future version", "unsupported or incomplete")]
    [InlineData("another batch's", "the intent is for batch b2")]
    public void A_torn_damaged_or_foreign_intent_is_refused_naming_its_file(string damage, string reason)
    {
        var intents = new IngestIntents(_folder.Combine("intents"));
        var path = intents.PathOf("b1");
        Directory.CreateDirectory(intents.Folder);
        var bytes = IngestIntents.Encode(Sample);
        bytes = damage switch
        {
            "torn" => bytes[..(bytes.Length / 2)],
            "flipped" => [.. bytes[..10], (byte)(bytes[10] ^ 1), .. bytes[11..]],
            "no trailer" => bytes[..Array.IndexOf(bytes, (byte)'\n')],
            "future version" => IngestIntents.Encode(Sample with { Version = 2 }),
            _ => IngestIntents.Encode(Sample with { BatchId = "b2" }),
        };
        File.WriteAllBytes(path, bytes);

        var error = Assert.Throws<IngestIntentException>(() => intents.LoadAll());

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_temporary_file_of_an_interrupted_save_is_ignored_and_removed()
    {
        var intents = new IngestIntents(_folder.Combine("intents"));
        Directory.CreateDirectory(intents.Folder);
        File.WriteAllBytes(intents.PathOf("b1") + ".tmp-123", IngestIntents.Encode(Sample)[..20]);

        Assert.Empty(intents.LoadAll());
        Assert.Empty(Directory.GetFiles(intents.Folder));
    }

    [Fact]
    public void Binlog_positions_read_back_what_they_print()
    {
        Assert.True(BinlogPosition.TryParse(new BinlogPosition(3, 1_048_576).ToString(), out var position));
        Assert.Equal(new BinlogPosition(3, 1_048_576), position);
        Assert.False(BinlogPosition.TryParse("3", out _));
        Assert.False(BinlogPosition.TryParse(":5", out _));
        Assert.False(BinlogPosition.TryParse("a:5", out _));
    }
}

using System.Text;
using PikaIngest.Node.Binlog;

namespace PikaIngest.Node.UnitTests.Binlog;

public sealed class IngestSstRecordTests
{
    private static readonly string Sha = new('a', 64);

    [Fact]
    public void The_ingest_record_is_canonical_json_in_member_order()
    {
        var record = new IngestSstRecord(
            "pika-ingest",
            "manifests/20261123T190000Z-7f3a.json",
            "20261123T190000Z-7f3a",
            [
                new IngestSstFile("sst/20261123T190000Z-7f3a/000001-0.sst", 0, 123, new string('a', 64)),
                new IngestSstFile("sst/20261123T190000Z-7f3a/000001-1.sst", 1, 4567890123, "0123456789abcdef" + new string('f', 48)),
            ]);

        const string Expected =
            """{"version":1,"bucket":"pika-ingest","manifestKey":"manifests/20261123T190000Z-7f3a.json","batchId":"20261123T190000Z-7f3a","files":[""" +
            """{"key":"sst/20261123T190000Z-7f3a/000001-0.sst","instance":0,"size":123,"sha256":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},""" +
            """{"key":"sst/20261123T190000Z-7f3a/000001-1.sst","instance":1,"size":4567890123,"sha256":"0123456789abcdefffffffffffffffffffffffffffffffffffffffffffffffff"}]}""";
        var encoded = record.Encode();
        Assert.Equal(Expected, Encoding.UTF8.GetString(encoded));

        var decoded = IngestSstRecord.Decode(encoded);
        Assert.Equal((record.Bucket, record.ManifestKey, record.BatchId), (decoded.Bucket, decoded.ManifestKey, decoded.BatchId));
        Assert.Equal(record.Files, decoded.Files);
    }

    [Fact]
    public void What_the_manifest_says_of_each_file_is_carried_for_the_slave_and_omitted_when_unknown()
    {
        var record = new IngestSstRecord(
            "b", "manifests/x.json", "x",
            [
                new IngestSstFile("sst/x/i0-000001.sst", 0, 10, Sha, 42, "dXNlcjox", "dXNlcjo5", 1),
                new IngestSstFile("sst/x/000001-1.sst", 1, 20, Sha),
            ]);

        var json = Encoding.UTF8.GetString(record.Encode());

        Assert.Equal(
            $$"""{"version":1,"bucket":"b","manifestKey":"manifests/x.json","batchId":"x","files":[""" +
            $$"""{"key":"sst/x/i0-000001.sst","instance":0,"size":10,"sha256":"{{Sha}}","entries":42,"smallestKey":"dXNlcjox","largestKey":"dXNlcjo5","range":1},""" +
            $$"""{"key":"sst/x/000001-1.sst","instance":1,"size":20,"sha256":"{{Sha}}"}]}""",
            json);
        Assert.Equal(record.Files, IngestSstRecord.Decode(record.Encode()).Files);
    }

    [Theory]
    [InlineData("\"entries\":-1", "files[0]: entries -1 / range  out of range")]
    [InlineData("\"range\":0", "files[0]: entries  / range 0 out of range")]
    [InlineData("\"smallestKey\":\"not base64!\"", "files[0].smallestKey is not base64")]
    [InlineData("\"largestKey\":7", "files[0].largestKey is Number, not String")]
    public void Bad_file_expectations_are_refused_naming_the_member(string member, string problem)
    {
        var json = $$"""{"version":1,"bucket":"b","manifestKey":"m","batchId":"x","files":[{"key":"k","instance":0,"size":1,"sha256":"{{Sha}}",{{member}}}]}""";
        var error = Assert.Throws<InvalidDataException>(() => IngestSstRecord.Decode(Encoding.UTF8.GetBytes(json)));
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"version":2,"bucket":"b","manifestKey":"m","batchId":"x","files":[]}""", "unsupported version 2")]
    [InlineData("""{"version":"1","bucket":"b","manifestKey":"m","batchId":"x","files":[]}""", "version is String")]
    [InlineData("""{"bucket":"b","manifestKey":"m","batchId":"x","files":[]}""", "version is missing")]
    [InlineData("""{"version":1,"manifestKey":"m","batchId":"x","files":[]}""", "bucket is missing")]
    [InlineData("""{"version":1,"bucket":"b","batchId":"x","files":[]}""", "manifestKey is missing")]
    [InlineData("""{"version":1,"bucket":"b","manifestKey":"m","files":[]}""", "batchId is missing")]
    [InlineData("""{"version":1,"bucket":"b","manifestKey":"m","batchId":"x"}""", "files is missing")]
    [InlineData("""{"version":1,"bucket":"","manifestKey":"m","batchId":"x","files":[]}""", "bucket is empty")]
    [InlineData("""{"version":1,"bucket":"b","manifestKey":"m","batchId":"x","files":[{"instance":0,"size":1,"sha256":"SHA"}]}""", "files[0].key is missing")]
    [InlineData("""{"version":1,"bucket":"b","manifestKey":"m","batchId":"x","files":[{"key":"k","size":1,"sha256":"SHA"}]}""", "files[0].instance is missing")]
    [InlineData("""{"version":1,"bucket":"b","manifestKey":"m","batchId":"x","files":[{"key":"k","instance":0,"sha256":"SHA"}]}""", "files[0].size is missing")]
    [InlineData("""{"version":1,"bucket":"b","manifestKey":"m","batchId":"x","files":[{"key":"k","instance":0,"size":1}]}""", "files[0].sha256 is missing")]
    [InlineData("""{"version":1,"bucket":"b","manifestKey":"m","batchId":"x","files":[{"key":"k","instance":0,"size":-1,"sha256":"SHA"}]}""", "files[0].size is negative")]
    [InlineData("""{"version":1,"bucket":"b","manifestKey":"m","batchId":"x","files":[{"key":"k","instance":-2,"size":1,"sha256":"SHA"}]}""", "files[0].instance is negative")]
    [InlineData("""{"version":1,"bucket":"b","manifestKey":"m","batchId":"x","files":[{"key":"k","instance":0,"size":1.5,"sha256":"SHA"}]}""", "files[0].size is not an integer")]
    [InlineData("""{"version":1,"bucket":"b","manifestKey":"m","batchId":"x","files":[{"key":"k","instance":0,"size":1,"sha256":"SHA"},{"key":"k","instance":0,"size":1,"sha256":"ABC"}]}""", "files[1].sha256 is not 64 lower-case hex")]
    [InlineData("""[1]""", "not an object")]
    [InlineData("""{"version":1,""", "not JSON")]
    public void Decode_names_what_is_wrong(string json, string problem)
    {
        var error = Assert.Throws<InvalidDataException>(() => IngestSstRecord.Decode(Encoding.UTF8.GetBytes(json.Replace("SHA", Sha, StringComparison.Ordinal))));
        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaag")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaag")]
    public void A_sha256_that_is_not_64_lower_case_hex_digits_is_refused_on_both_sides(string sha256)
    {
        var record = new IngestSstRecord("b", "m", "x", [new IngestSstFile("k", 0, 1, sha256)]);
        Assert.Throws<InvalidDataException>(record.Encode);

        var json = $$"""{"version":1,"bucket":"b","manifestKey":"m","batchId":"x","files":[{"key":"k","instance":0,"size":1,"sha256":"{{sha256}}"}]}""";
        Assert.Throws<InvalidDataException>(() => IngestSstRecord.Decode(Encoding.UTF8.GetBytes(json)));
    }

    [Fact]
    public void Members_in_another_order_or_unknown_ones_still_decode()
    {
        var json = $$"""{"files":[{"sha256":"{{Sha}}","size":5,"instance":2,"key":"k","extra":true}],"batchId":"x","manifestKey":"m","bucket":"b","version":1,"note":"n"}""";
        var record = IngestSstRecord.Decode(Encoding.UTF8.GetBytes(json));
        Assert.Equal(new IngestSstFile("k", 2, 5, Sha), Assert.Single(record.Files));
        Assert.Equal($$"""{"version":1,"bucket":"b","manifestKey":"m","batchId":"x","files":[{"key":"k","instance":2,"size":5,"sha256":"{{Sha}}"}]}""", Encoding.UTF8.GetString(record.Encode()));
    }

    [Fact]
    public void Keys_are_written_as_they_are_not_as_unicode_escapes()
    {
        var record = new IngestSstRecord("b+1", "manifests/a&b.json", "x<y>", []);
        Assert.Equal("""{"version":1,"bucket":"b+1","manifestKey":"manifests/a&b.json","batchId":"x<y>","files":[]}""", Encoding.UTF8.GetString(record.Encode()));
    }
}

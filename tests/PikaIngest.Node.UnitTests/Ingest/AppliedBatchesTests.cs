using System.Text;
using PikaIngest.Node.Ingest;
using PikaIngest.Node.UnitTests.Support;

namespace PikaIngest.Node.UnitTests.Ingest;

public sealed class AppliedBatchesTests : IDisposable
{
    private readonly TempFolder _folder = new();
    private readonly List<string> _log = [];

    private string FilePath => _folder.Combine("ingest", "applied.jsonl");

    private static AppliedBatch Batch(string id) =>
        new(AppliedBatch.CurrentVersion, id, "local", $"manifests/{id}.json", 3, 1234, "0:42", DateTimeOffset.FromUnixTimeSeconds(1_800_000_000));

    [Fact]
    public void A_record_is_one_json_line_with_its_version()
    {
        using (var applied = AppliedBatches.Open(FilePath, _log.Add))
        {
            applied.Record(Batch("b1"));
        }

        Assert.Equal(
            "{\"v\":1,\"batchId\":\"b1\",\"bucket\":\"local\",\"manifestKey\":\"manifests/b1.json\",\"files\":3,\"bytes\":1234,\"binlog\":\"0:42\",\"appliedAt\":\"2027-01-15T08:00:00+00:00\"}\n",
            File.ReadAllText(FilePath));
    }

    [Fact]
    public void Applied_batches_survive_reopening()
    {
        using (var applied = AppliedBatches.Open(FilePath, _log.Add))
        {
            applied.Record(Batch("b1"));
            applied.Record(Batch("b2"));
        }

        using var reopened = AppliedBatches.Open(FilePath, _log.Add);
        Assert.Equal(2, reopened.Count);
        Assert.True(reopened.TryGet("b2", out var b2));
        Assert.Equal(Batch("b2"), b2);
        Assert.False(reopened.TryGet("b3", out _));
    }

    [Fact]
    public void A_torn_last_record_is_cut_at_every_length_and_appending_continues()
    {
        using (var applied = AppliedBatches.Open(FilePath, _log.Add))
        {
            applied.Record(Batch("b1"));
        }

        var intact = File.ReadAllBytes(FilePath);
        var second = Encoding.UTF8.GetBytes(File.ReadAllText(FilePath).Replace("b1", "b2", StringComparison.Ordinal));
        for (var cut = 1; cut < second.Length; cut++)
        {
            File.WriteAllBytes(FilePath, [.. intact, .. second[..cut]]);
            using var applied = AppliedBatches.Open(FilePath, _log.Add);
            Assert.Equal(1, applied.Count);
            Assert.False(applied.TryGet("b2", out _));
            applied.Record(Batch("b3"));
            Assert.Equal(intact.Length, File.ReadAllText(FilePath).IndexOf("{\"v\":1,\"batchId\":\"b3\"", StringComparison.Ordinal));
        }

        Assert.Contains(_log, line => line.Contains("torn record", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("{\"v\":2,\"batchId\":\"b9\",\"bucket\":\"local\",\"manifestKey\":\"m\",\"files\":1,\"bytes\":1,\"binlog\":\"0:0\",\"appliedAt\":\"2027-01-15T08:00:00Z\"}\n", "unsupported applied-batch record (version 2)")]
    [InlineData("not json at all\n", "not an applied-batch record")]
    public void A_corrupt_complete_record_stops_the_node_with_the_line_number(string line, string reason)
    {
        using (var applied = AppliedBatches.Open(FilePath, _log.Add))
        {
            applied.Record(Batch("b1"));
        }

        File.AppendAllText(FilePath, line);
        var error = Assert.Throws<InvalidDataException>(() => AppliedBatches.Open(FilePath, _log.Add));
        Assert.Contains("applied.jsonl:2:", error.Message, StringComparison.Ordinal);
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    public void Dispose() => _folder.Dispose();
}

using PikaIngest.Core.Layout;
using PikaIngest.Core.Sst;
using PikaIngest.Node.Binlog;

namespace PikaIngest.Node.Ingest;

/// <summary>
/// What one ingest applies: the files of a batch in ingest order, each with the size, SHA-256 and
/// contents (entries, key bounds) it must have. A master builds it from a validated manifest; a slave from the INGEST_SST binlog
/// record, which carries the same list, so both apply exactly the same bytes in the same order.
/// </summary>
internal sealed record IngestPlan(string Bucket, string ManifestKey, string BatchId, IReadOnlyList<IngestSstFile> Files)
{
    public long TotalBytes => Files.Sum(f => f.Size);

    public IReadOnlyList<BatchFile> BatchFiles => [.. Files.Select(f => new BatchFile(f.Key, f.Size, f.Sha256))];

    public static IngestPlan FromManifest(string bucket, string manifestKey, Manifest manifest) =>
        new(bucket, manifestKey, manifest.BatchId,
            [.. manifest.Files.Select(f => new IngestSstFile(f.Key, f.Instance, f.Size, f.Sha256, f.Entries, f.SmallestKey, f.LargestKey, f.Range))]);

    /// <summary>What each file must hold, for <see cref="SstFileVerifier"/>: what the manifest recorded of it.</summary>
    public IReadOnlyList<ExpectedSst> ExpectedFiles =>
        [.. Files.Select(f => ExpectedSst.FromRecorded(f.Key, f.Instance, f.Entries, f.SmallestKey, f.LargestKey, f.Range is not null))];

    public static IngestPlan FromRecord(IngestSstRecord record) =>
        new(record.Bucket, record.ManifestKey, record.BatchId, record.Files);

    public IngestSstRecord ToRecord() => new(Bucket, ManifestKey, BatchId, Files);
}

namespace PikaIngest.Node.Binlog;

/// <summary>Where a batch's INGEST_SST item is, if it was appended: the binlog read from the intent's position.</summary>
internal static class BinlogSearch
{
    public static bool TryFindIngest(string binlogFolder, BinlogPosition from, string batchId, out BinlogPosition at)
    {
        using var reader = BinlogReader.Open(binlogFolder, from);
        while (reader.TryRead(out var item) == BinlogReadStatus.Item)
        {
            if (item.Type == BinlogItemType.IngestSst && IngestSstRecord.Decode(item.Content.Span).BatchId == batchId)
            {
                at = item.Position;
                return true;
            }
        }

        at = default;
        return false;
    }
}

using System.Text;

namespace PikaIngest.Node.Ingest;

/// <summary>The counters behind INFO ingest.</summary>
internal sealed class IngestStats
{
    private readonly Lock _lock = new();
    private long _applied;
    private long _repeated;
    private long _failed;
    private long _files;
    private long _bytes;
    private string _lastBatch = "";
    private TimeSpan _lastDownload;
    private TimeSpan _lastVerify;
    private TimeSpan _lastIngest;
    private string _lastError = "";
    private string _current = "";

    public void Started(string batchId)
    {
        lock (_lock)
        {
            _current = batchId;
        }
    }

    public void Applied(IngestPlan plan, TimeSpan download, TimeSpan verify, TimeSpan ingest)
    {
        lock (_lock)
        {
            _applied++;
            _files += plan.Files.Count;
            _bytes += plan.TotalBytes;
            _lastBatch = plan.BatchId;
            (_lastDownload, _lastVerify, _lastIngest) = (download, verify, ingest);
            _current = "";
        }
    }

    public void Repeated()
    {
        lock (_lock)
        {
            _repeated++;
        }
    }

    public void Failed(string error)
    {
        lock (_lock)
        {
            _failed++;
            _lastError = error;
            _current = "";
        }
    }

    public void WriteInfo(StringBuilder info)
    {
        lock (_lock)
        {
            info.Append("ingest_batches_applied:").Append(_applied).Append("\r\n")
                .Append("ingest_batches_repeated:").Append(_repeated).Append("\r\n")
                .Append("ingest_batches_failed:").Append(_failed).Append("\r\n")
                .Append("ingest_files:").Append(_files).Append("\r\n")
                .Append("ingest_bytes:").Append(_bytes).Append("\r\n")
                .Append("ingest_current_batch:").Append(_current).Append("\r\n")
                .Append("ingest_last_batch:").Append(_lastBatch).Append("\r\n")
                .Append("ingest_last_download_ms:").Append((long)_lastDownload.TotalMilliseconds).Append("\r\n")
                .Append("ingest_last_verify_ms:").Append((long)_lastVerify.TotalMilliseconds).Append("\r\n")
                .Append("ingest_last_ingest_ms:").Append((long)_lastIngest.TotalMilliseconds).Append("\r\n")
                .Append("ingest_last_error:").Append(_lastError.Replace("\r", " ", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal)).Append("\r\n");
        }
    }
}

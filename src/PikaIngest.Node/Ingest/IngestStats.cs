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
    private TimeSpan _lastReadBack;
    private TimeSpan _lastIngest;
    private string _lastError = "";
    private string _waiting = "";
    private string _unfinished = "";
    private string _current = "";
    private int _staged;
    private int _stagedOf;

    public void Started(string batchId, int files)
    {
        lock (_lock)
        {
            _current = batchId;
            _staged = 0;
            _stagedOf = files;
        }
    }

    /// <summary>One more file of the current batch is downloaded (or linked) into staging.</summary>
    public void Staged()
    {
        lock (_lock)
        {
            _staged++;
        }
    }

    /// <summary>"staged/total" files of the batch being ingested, "" when none is.</summary>
    public string Progress
    {
        get
        {
            lock (_lock)
            {
                return StagedLocked();
            }
        }
    }

    /// <param name="verify">Checking the staged files: their SHA-256, then reading them back (<paramref name="readBack"/>).</param>
    public void Applied(IngestPlan plan, TimeSpan download, TimeSpan verify, TimeSpan readBack, TimeSpan ingest)
    {
        lock (_lock)
        {
            _applied++;
            _files += plan.Files.Count;
            _bytes += plan.TotalBytes;
            _lastBatch = plan.BatchId;
            (_lastDownload, _lastVerify, _lastReadBack, _lastIngest) = (download, verify, readBack, ingest);
            _current = "";
            _waiting = "";
        }
    }

    private string StagedLocked() => _current.Length == 0 ? "" : $"{_staged}/{_stagedOf}";

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
            _waiting = "";
        }
    }

    /// <summary>An instance of a batch under way refused its files and is being retried: why, for INFO and the log.</summary>
    public void Retrying(string why)
    {
        lock (_lock)
        {
            _waiting = why;
        }
    }

    /// <summary>The refusal being retried has passed.</summary>
    public void RetryPassed() => Retrying("");

    /// <summary>A batch is held unfinished: why, and the safe command, for INFO.</summary>
    public void Unfinished(string why)
    {
        lock (_lock)
        {
            _unfinished = why;
            _waiting = "";
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
                .Append("ingest_current_files_staged:").Append(StagedLocked()).Append("\r\n")
                .Append("ingest_last_batch:").Append(_lastBatch).Append("\r\n")
                .Append("ingest_last_download_ms:").Append((long)_lastDownload.TotalMilliseconds).Append("\r\n")
                .Append("ingest_last_verify_ms:").Append((long)_lastVerify.TotalMilliseconds).Append("\r\n")
                .Append("ingest_last_read_back_ms:").Append((long)_lastReadBack.TotalMilliseconds).Append("\r\n")
                .Append("ingest_last_ingest_ms:").Append((long)_lastIngest.TotalMilliseconds).Append("\r\n")
                .Append("ingest_waiting:").Append(OneLine(_waiting)).Append("\r\n")
                .Append("ingest_unfinished:").Append(OneLine(_unfinished)).Append("\r\n")
                .Append("ingest_last_error:").Append(OneLine(_lastError)).Append("\r\n");
        }
    }

    private static string OneLine(string text) => text.Replace("\r", " ", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal);
}

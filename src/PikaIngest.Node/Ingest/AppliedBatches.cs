using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace PikaIngest.Node.Ingest;

/// <summary>One line of the applied-batch log.</summary>
internal sealed record AppliedBatch(
    [property: JsonPropertyName("v")] int Version,
    [property: JsonPropertyName("batchId")] string BatchId,
    [property: JsonPropertyName("bucket")] string Bucket,
    [property: JsonPropertyName("manifestKey")] string ManifestKey,
    [property: JsonPropertyName("files")] int Files,
    [property: JsonPropertyName("bytes")] long Bytes,
    [property: JsonPropertyName("binlog")] string BinlogPosition,
    [property: JsonPropertyName("appliedAt")] DateTimeOffset AppliedAt)
{
    public const int CurrentVersion = 1;
}

[JsonSerializable(typeof(AppliedBatch))]
[JsonSourceGenerationOptions(WriteIndented = false)]
internal sealed partial class AppliedBatchJson : JsonSerializerContext;

/// <summary>
/// The batches this node has ingested, so a repeated INGEST_S3 is a no-op. Stored as JSON Lines in
/// <c>DATA/ingest/applied.jsonl</c>, each line fsynced before the ingest is acknowledged. A torn
/// last line (a crash while appending) is cut off on open: its batch was never acknowledged.
/// </summary>
internal sealed class AppliedBatches : IDisposable
{
    private readonly Dictionary<string, AppliedBatch> _batches = new(StringComparer.Ordinal);
    private readonly FileStream _file;
    private readonly Lock _lock = new();

    private AppliedBatches(FileStream file)
    {
        _file = file;
    }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _batches.Count;
            }
        }
    }

    public static AppliedBatches Open(string path, Action<string> log)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read, 1, FileOptions.None);
        try
        {
            var applied = new AppliedBatches(file);
            applied.Load(path, log);
            return applied;
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    private void Load(string path, Action<string> log)
    {
        var content = new byte[_file.Length];
        _file.ReadExactly(content);
        var good = 0;
        var lineNumber = 0;
        while (good < content.Length)
        {
            var end = Array.IndexOf(content, (byte)'\n', good);
            if (end < 0)
            {
                break;
            }

            lineNumber++;
            var line = content.AsSpan(good, end - good);
            AppliedBatch? batch;
            try
            {
                batch = JsonSerializer.Deserialize(line, AppliedBatchJson.Default.AppliedBatch);
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"{path}:{lineNumber}: not an applied-batch record: {e.Message}", e);
            }

            if (batch is null || batch.Version != AppliedBatch.CurrentVersion || string.IsNullOrEmpty(batch.BatchId))
            {
                throw new InvalidDataException($"{path}:{lineNumber}: unsupported applied-batch record (version {batch?.Version})");
            }

            _batches[batch.BatchId] = batch;
            good = end + 1;
        }

        if (good < content.Length)
        {
            log($"ingest: cut {content.Length - good} bytes of a torn record from the end of {path}");
            _file.SetLength(good);
            _file.Flush(flushToDisk: true);
        }

        _file.Position = good;
    }

    public bool TryGet(string batchId, out AppliedBatch? batch)
    {
        lock (_lock)
        {
            return _batches.TryGetValue(batchId, out batch);
        }
    }

    /// <summary>Appends and fsyncs the record; only then is the batch counted as applied.</summary>
    public void Record(AppliedBatch batch)
    {
        var line = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(batch, AppliedBatchJson.Default.AppliedBatch) + "\n");
        lock (_lock)
        {
            var end = _file.Length;
            try
            {
                _file.Write(line);
                _file.Flush(flushToDisk: true);
            }
            catch (IOException)
            {
                // A full disk may take part of the line: cut it, so a retry appends a whole line after whole lines.
                _file.SetLength(end);
                _file.Position = end;
                throw;
            }

            _batches[batch.BatchId] = batch;
        }
    }

    /// <summary>
    /// Forgets every batch (FLUSHALL removed their keys, so ingesting one again must load it again, not answer "already
    /// applied"). The old log is kept beside it as <c>&lt;log&gt;.before-flushall</c>, for whoever asks what was loaded.
    /// </summary>
    public void Forget()
    {
        lock (_lock)
        {
            _file.Flush(flushToDisk: true);
            File.Copy(_file.Name, _file.Name + ".before-flushall", overwrite: true);
            _batches.Clear();
            _file.SetLength(0);
            _file.Position = 0;
            _file.Flush(flushToDisk: true);
        }
    }

    /// <summary>Copies the log (for a full sync) as it stands.</summary>
    public void CopyTo(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        lock (_lock)
        {
            _file.Flush(flushToDisk: true);
            File.Copy(_file.Name, path);
        }
    }

    /// <summary>Replaces the log with a full sync's copy and reloads it.</summary>
    public void ReplaceWith(string source)
    {
        lock (_lock)
        {
            var records = File.Exists(source) ? File.ReadAllBytes(source) : [];
            _batches.Clear();
            _file.SetLength(0);
            _file.Write(records);
            _file.Flush(flushToDisk: true);
            _file.Position = 0;
            Load(_file.Name, _ => { });
        }
    }

    public void Dispose() => _file.Dispose();
}

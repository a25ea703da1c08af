using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using PikaIngest.Node.Binlog;

namespace PikaIngest.Node.Ingest;

/// <summary>
/// What a node has promised to finish for one batch (<c>DATA/ingest/intents/&lt;batch&gt;.intent</c>): written after the
/// batch's files are verified and before the first instance takes any, updated as each instance takes its files,
/// removed once the batch is in every instance and its INGEST_SST item and applied record are durable. A node that
/// finds one on start-up finishes it before it serves anyone.
/// </summary>
/// <param name="Staging">The staging folder (under <c>DATA/ingest/staging</c>) that holds the verified files.</param>
/// <param name="StagedNames">The staged file name of each entry of <paramref name="Files"/>, in order.</param>
/// <param name="BinlogFrom">The binlog position when the intent was written: the batch's item, if appended, is after it.</param>
/// <param name="InstancesDone">Instances whose files RocksDB has taken, ascending.</param>
internal sealed record IngestIntent(
    [property: JsonPropertyName("v")] int Version,
    [property: JsonPropertyName("batchId")] string BatchId,
    [property: JsonPropertyName("bucket")] string Bucket,
    [property: JsonPropertyName("manifestKey")] string ManifestKey,
    [property: JsonPropertyName("files")] IReadOnlyList<IngestSstFile> Files,
    [property: JsonPropertyName("staging")] string Staging,
    [property: JsonPropertyName("staged")] IReadOnlyList<string> StagedNames,
    [property: JsonPropertyName("binlogFrom")] string BinlogFrom,
    [property: JsonPropertyName("instancesDone")] IReadOnlyList<int> InstancesDone)
{
    public const int CurrentVersion = 1;

    [JsonIgnore]
    public IngestPlan Plan => new(Bucket, ManifestKey, BatchId, Files);

    public IngestIntent WithDone(int instance) => this with { InstancesDone = [.. InstancesDone.Append(instance).Order()] };
}

[JsonSerializable(typeof(IngestIntent))]
[JsonSourceGenerationOptions(WriteIndented = false, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
internal sealed partial class IngestIntentJson : JsonSerializerContext;

/// <summary>An intent the node cannot act on: it refuses to start rather than serve half a batch.</summary>
internal sealed class IngestIntentException : Exception
{
    public IngestIntentException(string message)
        : base(message)
    {
    }

    public IngestIntentException()
    {
    }

    public IngestIntentException(string message, Exception inner)
        : base(message, inner)
    {
    }
}

/// <summary>
/// Reads and writes intents. A file is two lines: the intent as JSON, then <c>sha256:</c> and the SHA-256 of the
/// first line's bytes. It is written under a temporary name, fsynced, renamed, and its folder fsynced, so a crash
/// leaves the old intent, the new one, or a temporary file that is ignored, never a torn intent.
/// </summary>
internal sealed class IngestIntents(string folder)
{
    public const string Suffix = ".intent";
    private const string ChecksumPrefix = "sha256:";

    public string Folder { get; } = folder;

    public string PathOf(string batchId) => Path.Combine(Folder, batchId + Suffix);

    public void Save(IngestIntent intent)
    {
        Directory.CreateDirectory(Folder);
        var path = PathOf(intent.BatchId);
        var temporary = $"{path}.tmp-{Environment.ProcessId}";
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            file.Write(Encode(intent));
            file.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
        DirectorySync.Flush(Folder);
    }

    public void Delete(string batchId)
    {
        File.Delete(PathOf(batchId));
        DirectorySync.Flush(Folder);
    }

    /// <summary>Every intent left behind, oldest first; temporary files of an interrupted save are removed.</summary>
    /// <exception cref="IngestIntentException">An intent is torn, damaged, of an unknown version or not the batch its name says.</exception>
    public List<IngestIntent> LoadAll()
    {
        if (!Directory.Exists(Folder))
        {
            return [];
        }

        foreach (var leftover in Directory.GetFiles(Folder, "*" + Suffix + ".tmp-*"))
        {
            File.Delete(leftover);
        }

        return [.. Directory.GetFiles(Folder, "*" + Suffix).OrderBy(File.GetLastWriteTimeUtc).Select(Load)];
    }

    public static byte[] Encode(IngestIntent intent)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(intent, IngestIntentJson.Default.IngestIntent);
        return [.. body, (byte)'\n', .. Encoding.ASCII.GetBytes(ChecksumPrefix + Convert.ToHexStringLower(SHA256.HashData(body)) + "\n")];
    }

    public static IngestIntent Decode(ReadOnlySpan<byte> bytes, string path)
    {
        var newline = bytes.IndexOf((byte)'\n');
        var body = newline < 0 ? bytes : bytes[..newline];
        var trailer = newline < 0 ? "" : Encoding.ASCII.GetString(bytes[(newline + 1)..]).TrimEnd('\n');
        if (trailer != ChecksumPrefix + Convert.ToHexStringLower(SHA256.HashData(body)))
        {
            throw new IngestIntentException($"{path}: the ingest intent is torn or damaged (its checksum does not match)");
        }

        IngestIntent? intent;
        try
        {
            intent = JsonSerializer.Deserialize(body, IngestIntentJson.Default.IngestIntent);
        }
        catch (JsonException e)
        {
            throw new IngestIntentException($"{path}: the ingest intent is not valid JSON ({e.Message})", e);
        }

        if (intent is null || intent.Version != IngestIntent.CurrentVersion || intent.Files is null || intent.StagedNames?.Count != intent.Files.Count || intent.InstancesDone is null)
        {
            throw new IngestIntentException($"{path}: unsupported or incomplete ingest intent (version {intent?.Version})");
        }

        return intent;
    }

    private static IngestIntent Load(string path)
    {
        var batch = Path.GetFileNameWithoutExtension(path);
        try
        {
            var intent = Decode(File.ReadAllBytes(path), path);
            return intent.BatchId == batch ? intent : throw new IngestIntentException($"{path}: the intent is for batch {intent.BatchId}");
        }
        catch (IngestIntentException e)
        {
            throw new IngestIntentException(
                $"{e.Message}. Batch {batch} may be in some instances and not others, so the node will not start on it; " +
                $"start it once with --discard-ingest-intent {batch}, then repeat that batch's INGEST_S3 before clients write", e);
        }
    }
}

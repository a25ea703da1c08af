using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace PikaIngest.Node.Binlog;

/// <summary>One SST of an ingest, in ingest order (a later file wins over an earlier one for the same key).</summary>
/// <param name="Entries">The manifest's record count, which a slave checks the file against like its master (null in items written before it was recorded).</param>
/// <param name="SmallestKey">The manifest's smallest user key, base64 (null likewise).</param>
/// <param name="LargestKey">The manifest's largest user key, base64 (null likewise).</param>
/// <param name="Range">The key range of a version 2 manifest's file: range files of one instance must not overlap (null for shard files).</param>
internal sealed record IngestSstFile(string Key, int Instance, long Size, string Sha256, long? Entries = null, string? SmallestKey = null, string? LargestKey = null, int? Range = null);

/// <summary>
/// The content of an <see cref="BinlogItemType.IngestSst"/> item (docs/FORMATS.md §7): everything a slave needs to
/// fetch and check the SSTs itself, without the manifest object or the master's disk.
/// </summary>
/// <remarks>
/// Canonical JSON — fixed member order, no whitespace, strings unescaped where JSON allows — so master and
/// slaves hold byte-identical binlog items.
/// </remarks>
internal sealed record IngestSstRecord(string Bucket, string ManifestKey, string BatchId, IReadOnlyList<IngestSstFile> Files)
{
    public const int CurrentVersion = 1;

    private static readonly SearchValues<char> LowerHex = SearchValues.Create("0123456789abcdef");

    private static readonly JsonWriterOptions WriterOptions = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Indented = false,
    };

    /// <exception cref="InvalidDataException">A member would not pass <see cref="Decode"/>.</exception>
    public byte[] Encode()
    {
        Validate();
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, WriterOptions))
        {
            json.WriteStartObject();
            json.WriteNumber("version", CurrentVersion);
            json.WriteString("bucket", Bucket);
            json.WriteString("manifestKey", ManifestKey);
            json.WriteString("batchId", BatchId);
            json.WriteStartArray("files");
            foreach (var file in Files)
            {
                json.WriteStartObject();
                json.WriteString("key", file.Key);
                json.WriteNumber("instance", file.Instance);
                json.WriteNumber("size", file.Size);
                json.WriteString("sha256", file.Sha256);
                if (file.Entries is { } entries)
                {
                    json.WriteNumber("entries", entries);
                }

                if (file.SmallestKey is { } smallest)
                {
                    json.WriteString("smallestKey", smallest);
                }

                if (file.LargestKey is { } largest)
                {
                    json.WriteString("largestKey", largest);
                }

                if (file.Range is { } range)
                {
                    json.WriteNumber("range", range);
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>Parses an item's content; members it does not know are ignored, a version it does not know is not.</summary>
    /// <exception cref="InvalidDataException">Not JSON, an unknown version, or a missing or invalid member (named in the message).</exception>
    public static IngestSstRecord Decode(ReadOnlySpan<byte> json)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json.ToArray());
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"ingest record: not JSON: {e.Message}", e);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw Invalid("the document is not an object");
            }

            var version = Member(root, "version", JsonValueKind.Number, "version");
            if (!version.TryGetInt32(out var number) || number != CurrentVersion)
            {
                throw Invalid($"unsupported version {version.GetRawText()}");
            }

            var files = new List<IngestSstFile>();
            var index = 0;
            foreach (var file in Member(root, "files", JsonValueKind.Array, "files").EnumerateArray())
            {
                var path = $"files[{index++}]";
                if (file.ValueKind != JsonValueKind.Object)
                {
                    throw Invalid($"{path} is not an object");
                }

                files.Add(new IngestSstFile(
                    String(file, "key", $"{path}.key"),
                    (int)Integer(file, "instance", $"{path}.instance", int.MaxValue),
                    Integer(file, "size", $"{path}.size", long.MaxValue),
                    String(file, "sha256", $"{path}.sha256"),
                    file.TryGetProperty("entries", out _) ? Integer(file, "entries", $"{path}.entries", long.MaxValue) : null,
                    file.TryGetProperty("smallestKey", out _) ? String(file, "smallestKey", $"{path}.smallestKey") : null,
                    file.TryGetProperty("largestKey", out _) ? String(file, "largestKey", $"{path}.largestKey") : null,
                    file.TryGetProperty("range", out _) ? (int)Integer(file, "range", $"{path}.range", int.MaxValue) : null));
            }

            var record = new IngestSstRecord(
                String(root, "bucket", "bucket"),
                String(root, "manifestKey", "manifestKey"),
                String(root, "batchId", "batchId"),
                files);
            record.Validate();
            return record;
        }
    }

    private void Validate()
    {
        RequireText(Bucket, "bucket");
        RequireText(ManifestKey, "manifestKey");
        RequireText(BatchId, "batchId");
        if (Files is null)
        {
            throw Invalid("files is missing");
        }

        for (var i = 0; i < Files.Count; i++)
        {
            var file = Files[i];
            RequireText(file.Key, $"files[{i}].key");
            if (file.Instance < 0)
            {
                throw Invalid($"files[{i}].instance is negative ({file.Instance})");
            }

            if (file.Size < 0)
            {
                throw Invalid($"files[{i}].size is negative ({file.Size})");
            }

            if (!IsSha256(file.Sha256))
            {
                throw Invalid($"files[{i}].sha256 is not 64 lower-case hex digits");
            }

            if (file.Entries < 0 || file.Range < 1)
            {
                throw Invalid($"files[{i}]: entries {file.Entries} / range {file.Range} out of range");
            }

            foreach (var (bound, name) in (ReadOnlySpan<(string?, string)>)[(file.SmallestKey, "smallestKey"), (file.LargestKey, "largestKey")])
            {
                if (bound is not null && !Convert.TryFromBase64String(bound, new byte[bound.Length], out _))
                {
                    throw Invalid($"files[{i}].{name} is not base64");
                }
            }
        }
    }

    private static bool IsSha256(string? hex) =>
        hex is { Length: 64 } && !hex.AsSpan().ContainsAnyExcept(LowerHex);

    private static void RequireText(string? value, string name)
    {
        if (string.IsNullOrEmpty(value))
        {
            throw Invalid($"{name} is empty");
        }
    }

    private static JsonElement Member(JsonElement parent, string name, JsonValueKind kind, string path)
    {
        if (!parent.TryGetProperty(name, out var value))
        {
            throw Invalid($"{path} is missing");
        }

        return value.ValueKind == kind ? value : throw Invalid($"{path} is {value.ValueKind}, not {kind}");
    }

    private static string String(JsonElement parent, string name, string path) =>
        Member(parent, name, JsonValueKind.String, path).GetString()!;

    private static long Integer(JsonElement parent, string name, string path, long max)
    {
        var value = Member(parent, name, JsonValueKind.Number, path);
        return value.TryGetInt64(out var number) && number <= max
            ? number
            : throw Invalid($"{path} is not an integer in range ({value.GetRawText()})");
    }

    private static InvalidDataException Invalid(string problem) => new($"ingest record: {problem}");
}

using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace PikaIngest.Core.Layout;

/// <summary>
/// <c>incoming/&lt;batch&gt;/_batch.json</c> (docs/FORMATS.md §4): written before any shard, read by
/// every converter of the batch.
/// </summary>
public sealed record BatchDescriptor
{
    public const int CurrentVersion = 1;

    public int Version { get; init; } = CurrentVersion;

    public required string BatchId { get; init; }

    public required int Shards { get; init; }

    public required string Format { get; init; }

    public required int Instances { get; init; }

    public string Compression { get; init; } = "lz4";

    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>Block-based table format_version of the SSTs (5 unless the target needs otherwise).</summary>
    public int SstFormatVersion { get; init; } = Sst.SstOptions.DefaultFormatVersion;

    /// <summary>
    /// Target size of the range-partitioned SSTs a batch of several shards is merged into (null: 256 MiB).
    /// Measured as LZ4-compressed run bytes, which track the SST bytes closely.
    /// </summary>
    public long? TargetFileBytes { get; init; }

    /// <summary>Keep the sorted run objects after a successful ingest (null: remove them).</summary>
    public bool? KeepRuns { get; init; }

    public const long DefaultTargetFileBytes = 256L << 20;

    /// <summary>Free-form producer options (the mock generator records its settings here).</summary>
    public IReadOnlyDictionary<string, string>? Options { get; init; }
}

/// <summary>
/// One SST file as listed in a completion or merge record and in the manifest (docs/FORMATS.md §6): either a
/// shard's file (<see cref="Shard"/> set) or one key range of an instance (<see cref="Range"/> set).
/// </summary>
public sealed record SstFileEntry
{
    public required string Key { get; init; }

    /// <summary>The shard a one-shard-per-file SST was made from (manifest version 1).</summary>
    public int? Shard { get; init; }

    /// <summary>The key range of the instance a merged SST covers, from 1 in key order (manifest version 2).</summary>
    public int? Range { get; init; }

    public required int Instance { get; init; }

    public required long Size { get; init; }

    /// <summary>Lower-case hex SHA-256 of the file bytes.</summary>
    public required string Sha256 { get; init; }

    public required long Entries { get; init; }

    /// <summary>Base64 of the smallest user key (not the encoded RocksDB key).</summary>
    public required string SmallestKey { get; init; }

    /// <summary>Base64 of the largest user key.</summary>
    public required string LargestKey { get; init; }
}

/// <summary>The shard a record was made from, as the store reported it.</summary>
public sealed record SourceObject
{
    public required string Key { get; init; }

    public required long Size { get; init; }

    public string? ETag { get; init; }
}

/// <summary><c>state/&lt;batch&gt;/done/&lt;seq&gt;.json</c> (docs/FORMATS.md §5): written after the shard's SSTs.</summary>
public sealed record DoneRecord
{
    public const int CurrentVersion = 1;

    public int Version { get; init; } = CurrentVersion;

    public required string BatchId { get; init; }

    public required int Shard { get; init; }

    public required SourceObject Source { get; init; }

    public required long RecordsRead { get; init; }

    public required long UniqueKeys { get; init; }

    public required long ElapsedMs { get; init; }

    public required IReadOnlyList<SstFileEntry> Files { get; init; }
}

/// <summary><c>state/&lt;batch&gt;/failed/&lt;seq&gt;.json</c>: why a shard produced no SST.</summary>
public sealed record FailedRecord
{
    public const int CurrentVersion = 1;

    public int Version { get; init; } = CurrentVersion;

    public required string BatchId { get; init; }

    public required int Shard { get; init; }

    public required SourceObject Source { get; init; }

    public required string Reason { get; init; }

    /// <summary>1-based line of the bad record, when there is one.</summary>
    public long? Line { get; init; }

    /// <summary>The merge task that failed (<c>i&lt;instance&gt;-&lt;range&gt;</c>); <see cref="Shard"/> is 0 then.</summary>
    public string? Task { get; init; }

    public required DateTimeOffset FailedAt { get; init; }
}

/// <summary><c>results/&lt;batch&gt;.json</c>: the outcome of a batch, written by the manifest function.</summary>
public sealed record BatchResult
{
    public const int CurrentVersion = 1;

    public const string Succeeded = "succeeded";

    /// <summary>A shard failed to convert: the batch is not ingested.</summary>
    public const string Failed = "failed";

    public int Version { get; init; } = CurrentVersion;

    public required string BatchId { get; init; }

    public required string Status { get; init; }

    public string? Manifest { get; init; }

    /// <summary>The node's reply to INGEST_S3.</summary>
    public string? Reply { get; init; }

    public IReadOnlyList<FailedShard>? FailedShards { get; init; }

    public long? IngestMs { get; init; }

    public required DateTimeOffset At { get; init; }
}

/// <summary>A shard that failed to convert, or (with <see cref="Task"/>, shard 0) a merge task that failed.</summary>
public sealed record FailedShard(int Shard, string Reason, long? Line, string? Task = null)
{
    /// <summary>"shard 3", "merge i0-000002", or the stage itself ("plan", "manifest") when it failed.</summary>
    public string Describe() => Task is null ? $"shard {Shard}" : Task.StartsWith('i') ? $"merge {Task}" : Task;
}

/// <summary>JSON settings shared by every persisted record: camelCase, no nulls, stable property order.</summary>
public static class LayoutJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        WriteIndented = false,

        // Keys and ETags are shown as they are ("incoming/b/1.jsonl", "\"etag\""), not as \u0022 escapes.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Converters = { new UtcInstantConverter() },
    };

    /// <summary>Writes instants in UTC with a 'Z', as docs/FORMATS.md shows them; reads any ISO 8601 offset.</summary>
    private sealed class UtcInstantConverter : JsonConverter<DateTimeOffset>
    {
        public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.GetDateTimeOffset();

        public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) =>
            writer.WriteStringValue(value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture));
    }

    public static byte[] Serialize<T>(T value) => JsonSerializer.SerializeToUtf8Bytes(value, Options);

    /// <summary>Parses a persisted record and rejects versions this build does not know.</summary>
    public static T Deserialize<T>(ReadOnlySpan<byte> json, string source)
    {
        T? value;
        try
        {
            value = JsonSerializer.Deserialize<T>(json, Options);
        }
        catch (JsonException e)
        {
            throw new FormatException($"{source}: {e.Message}", e);
        }

        if (value is null)
        {
            throw new FormatException($"{source}: empty document");
        }

        var version = value switch
        {
            BatchDescriptor d => d.Version,
            DoneRecord d => d.Version,
            FailedRecord f => f.Version,
            Manifest m => m.Version,
            BatchResult r => r.Version,
            MappedRecord m => m.Version,
            MergePlan p => p.Version,
            MergeTask t => t.Version,
            MergedRecord m => m.Version,
            _ => 1,
        };
        return version == 1 || (value is Manifest && version == Manifest.RangesVersion) ? value : throw new FormatException($"{source}: unsupported version {version}");
    }
}

using System.Text.Json;

namespace PikaIngest.Core.Pipeline;

/// <summary>One object-created notification: the bucket and the (decoded) object key.</summary>
public sealed record S3ObjectEvent(string EventName, string Bucket, string Key, long Size, string? ETag);

/// <summary>
/// Reads S3 event notifications (the JSON S3 sends to Lambda) without the Amazon.Lambda packages.
/// Keys arrive URL-encoded with '+' for spaces; they are decoded here.
/// </summary>
public static class S3Event
{
    /// <summary>Object-created records of the event; other records and non-S3 shapes yield nothing and a reason.</summary>
    public static IReadOnlyList<S3ObjectEvent> Parse(ReadOnlySpan<byte> json, out string? ignoredReason)
    {
        ignoredReason = null;
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json.ToArray());
        }
        catch (JsonException e)
        {
            ignoredReason = $"event is not JSON: {e.Message}";
            return [];
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("Records", out var records) || records.ValueKind != JsonValueKind.Array)
            {
                ignoredReason = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("Event", out var test) && test.ValueKind == JsonValueKind.String
                    ? $"S3 notification '{test.GetString()}' carries no records"
                    : "event has no S3 'Records' array";
                return [];
            }

            var result = new List<S3ObjectEvent>();
            var skipped = new List<string>();
            foreach (var record in records.EnumerateArray())
            {
                if (TryRead(record, out var parsed, out var why))
                {
                    result.Add(parsed);
                }
                else
                {
                    skipped.Add(why);
                }
            }

            ignoredReason = skipped.Count > 0 ? string.Join("; ", skipped) : null;
            return result;
        }
    }

    /// <summary>Decodes an S3 notification key: '+' is a space, then percent-escapes.</summary>
    public static string DecodeKey(string encoded) => Uri.UnescapeDataString(encoded.Replace('+', ' '));

    /// <summary>Encodes a key the way S3 notifications do, for events we emit ourselves.</summary>
    public static string EncodeKey(string key) =>
        string.Join("/", key.Split('/').Select(segment => Uri.EscapeDataString(segment).Replace("%20", "+", StringComparison.Ordinal)));

    /// <summary>An S3-shaped event for one new object, as S3 would deliver it (used by the local emulation and tests).</summary>
    public static byte[] Create(string bucket, string key, long size, string? eTag, DateTimeOffset at)
    {
        var document = new
        {
            Records = new[]
            {
                new
                {
                    eventVersion = "2.1",
                    eventSource = "aws:s3",
                    awsRegion = "us-east-1",
                    eventTime = at.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture),
                    eventName = "ObjectCreated:Put",
                    s3 = new
                    {
                        s3SchemaVersion = "1.0",
                        configurationId = "pika-ingest-local",
                        bucket = new { name = bucket, arn = $"arn:aws:s3:::{bucket}" },
                        @object = new { key = EncodeKey(key), size, eTag = eTag?.Trim('"'), sequencer = at.UtcTicks.ToString("X16", System.Globalization.CultureInfo.InvariantCulture) },
                    },
                },
            },
        };
        return JsonSerializer.SerializeToUtf8Bytes(document);
    }

    private static bool TryRead(JsonElement record, out S3ObjectEvent parsed, out string why)
    {
        parsed = null!;
        var name = record.TryGetProperty("eventName", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString()! : "";
        if (!record.TryGetProperty("s3", out var s3)
            || !s3.TryGetProperty("bucket", out var bucket) || !bucket.TryGetProperty("name", out var bucketName) || bucketName.ValueKind != JsonValueKind.String
            || !s3.TryGetProperty("object", out var obj) || !obj.TryGetProperty("key", out var key) || key.ValueKind != JsonValueKind.String)
        {
            why = "record without s3.bucket.name / s3.object.key";
            return false;
        }

        if (!name.StartsWith("ObjectCreated:", StringComparison.Ordinal))
        {
            why = $"'{name}' is not an ObjectCreated event ({DecodeKey(key.GetString()!)})";
            return false;
        }

        var size = obj.TryGetProperty("size", out var s) && s.TryGetInt64(out var bytes) ? bytes : -1;
        var eTag = obj.TryGetProperty("eTag", out var e) && e.ValueKind == JsonValueKind.String ? e.GetString() : null;
        parsed = new S3ObjectEvent(name, bucketName.GetString()!, DecodeKey(key.GetString()!), size, eTag);
        why = "";
        return true;
    }
}

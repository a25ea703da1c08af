namespace PikaIngest.Core.Formats;

/// <summary>The on-disk layout the SST files are written in (docs/FORMATS.md §2).</summary>
public enum TargetFormat
{
    /// <summary>Pika 4.0.1+: prefixed/escaped key, typed value with ctime/etime in milliseconds.</summary>
    PikaV4,

    /// <summary>Pika 3.5.x: raw key, value followed by an int32 expiry in seconds.</summary>
    PikaV35,

    /// <summary>Key and value as given, for plain RocksDB users.</summary>
    Raw,
}

public static class TargetFormats
{
    public static string Name(this TargetFormat format) => format switch
    {
        TargetFormat.PikaV4 => "pika-v4",
        TargetFormat.PikaV35 => "pika-v3.5",
        TargetFormat.Raw => "raw",
        _ => throw new ArgumentOutOfRangeException(nameof(format)),
    };

    public static bool TryParse(string? text, out TargetFormat format)
    {
        switch (text?.Trim().ToLowerInvariant())
        {
            case "pika-v4" or "v4" or "pika4":
                format = TargetFormat.PikaV4;
                return true;
            case "pika-v3.5" or "v3.5" or "pika3.5" or "pika-v35":
                format = TargetFormat.PikaV35;
                return true;
            case "raw":
                format = TargetFormat.Raw;
                return true;
            default:
                format = default;
                return false;
        }
    }

    public static TargetFormat Parse(string text) =>
        TryParse(text, out var format)
            ? format
            : throw new FormatException($"unknown format '{text}' (expected pika-v4, pika-v3.5 or raw)");

    public static RecordEncoding Encoding(this TargetFormat format) => format switch
    {
        TargetFormat.PikaV4 => PikaV4Encoding.Instance,
        TargetFormat.PikaV35 => PikaV35Encoding.Instance,
        TargetFormat.Raw => RawEncoding.Instance,
        _ => throw new ArgumentOutOfRangeException(nameof(format)),
    };
}

namespace PikaIngest.Core.Sst;

/// <summary>SST block compression; values are RocksDB's CompressionType codes.</summary>
public enum SstCompression
{
    None = 0,
    Lz4 = 4,
    Zstd = 7,
}

/// <summary>How SST files are written (docs/FORMATS.md §3).</summary>
public sealed record SstOptions
{
    /// <summary>Readable by RocksDB 6.6 and later, so by stock tools and older Pika builds (RocksDB 11 writes 7 by default).</summary>
    public const int DefaultFormatVersion = 5;

    public SstCompression Compression { get; init; } = SstCompression.Lz4;

    public int FormatVersion { get; init; } = DefaultFormatVersion;

    public static SstCompression ParseCompression(string text) => text.Trim().ToLowerInvariant() switch
    {
        "lz4" => SstCompression.Lz4,
        "zstd" => SstCompression.Zstd,
        "none" => SstCompression.None,
        _ => throw new FormatException($"unknown compression '{text}' (expected lz4, zstd or none)"),
    };

    public static string CompressionName(SstCompression compression) => compression switch
    {
        SstCompression.Lz4 => "lz4",
        SstCompression.Zstd => "zstd",
        SstCompression.None => "none",
        _ => throw new ArgumentOutOfRangeException(nameof(compression)),
    };
}

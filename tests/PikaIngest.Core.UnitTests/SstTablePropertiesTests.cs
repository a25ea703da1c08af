using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using PikaIngest.Core.Sst;
using RocksDbSharp;

namespace PikaIngest.Core.UnitTests;

/// <summary>
/// <see cref="SstTableProperties"/> against files written by RocksDB itself (RocksDbSharp's SstFileWriter, a flushed
/// DB, our <see cref="SstFileBuilder"/>), and against damaged copies of them.
/// </summary>
public sealed class SstTablePropertiesTests : IDisposable
{
    // table/format.h: the footer of every non-legacy block-based table, and the trailer after every block.
    private const int FooterLength = 53;
    private const int BlockTrailerLength = 5;
    private const ulong LegacyMagic = 0xdb4775248b80fb57;

    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    /// <summary>Keys "key00000000"…; values half random, half zero so LZ4/ZSTD have something to compress.</summary>
    private string WriteWithRocksDb(int entries, Compression compression, int formatVersion, int valueSize = 16, bool incompressible = false)
    {
        var path = _temp[$"rocks-{entries}-{compression}-{formatVersion}-{valueSize}-{incompressible}.sst"];
        var table = new BlockBasedTableOptions().SetFormatVersion(formatVersion);
        var options = new ColumnFamilyOptions().SetCompression(compression).SetBlockBasedTableFactory(table);
        using var writer = new SstFileWriter(new EnvOptions(), options);
        writer.Open(path);
        var random = new Random(entries);
        var value = new byte[valueSize];
        for (var i = 0; i < entries; i++)
        {
            random.NextBytes(incompressible ? value : value.AsSpan(0, valueSize / 2));
            writer.Add(Encoding.ASCII.GetBytes($"key{i:D8}"), value);
        }

        writer.Finish();
        return path;
    }

    private static long Varint(byte[] raw)
    {
        long value = 0;
        for (var i = 0; i < raw.Length; i++)
        {
            value |= (long)(raw[i] & 0x7F) << (7 * i);
            if (raw[i] < 0x80)
            {
                return value;
            }
        }

        throw new InvalidOperationException("unterminated varint");
    }

    private static string Text(SstTableProperties properties, string name) => Encoding.UTF8.GetString(properties.All[name]);

    public static TheoryData<int, Compression, int, string, string> RoundTripCases()
    {
        var data = new TheoryData<int, Compression, int, string, string>();
        foreach (var formatVersion in new[] { 2, 5, 6, 7 })
        {
            foreach (var compression in new[] { Compression.No, Compression.Lz4, Compression.Zstd })
            {
                foreach (var entries in new[] { 1, 1000 })
                {
                    var configured = compression switch
                    {
                        Compression.No => "NoCompression",
                        Compression.Lz4 => "LZ4",
                        _ => "ZSTD",
                    };
                    if (formatVersion < 7)
                    {
                        // The property holds the configured algorithm, stored as its name.
                        data.Add(formatVersion, compression, entries, configured, configured);
                    }
                    else if (compression == Compression.No)
                    {
                        data.Add(formatVersion, compression, entries, ";;", "NoCompression");
                    }
                    else if (compression == Compression.Zstd && entries == 1)
                    {
                        // From format_version 7 the property lists the types actually used: ZSTD does not save
                        // enough on the lone 46-byte block, so it is stored uncompressed.
                        data.Add(formatVersion, compression, entries, "BuiltinV2;;", "NoCompression");
                    }
                    else
                    {
                        data.Add(formatVersion, compression, entries, $"BuiltinV2;{(int)compression:X2};", configured);
                    }
                }
            }
        }

        data.Add(5, Compression.Lz4, 100_000, "LZ4", "LZ4");
        return data;
    }

    [Theory]
    [MemberData(nameof(RoundTripCases))]
    public void Reads_what_RocksDB_wrote(int formatVersion, Compression compression, int entries, string storedCompression, string compressionName)
    {
        var path = WriteWithRocksDb(entries, compression, formatVersion);
        var fileLength = new FileInfo(path).Length;

        var p = SstTableProperties.Read(path);

        Assert.Equal(entries, p.NumEntries);
        Assert.Equal(entries * (11L + 8), p.RawKeySize); // "key" + 8 digits + 8-byte internal key footer
        Assert.Equal(entries * 16L, p.RawValueSize);
        Assert.Equal(formatVersion, p.FooterFormatVersion);
        Assert.Equal(formatVersion, p.FormatVersion);
        Assert.Equal("leveldb.BytewiseComparator", p.ComparatorName);
        Assert.Equal(storedCompression, Text(p, "rocksdb.compression"));
        Assert.Equal(compressionName, p.CompressionName);

        // 4 KiB blocks of 35-byte records, whatever the compression.
        Assert.Equal(entries switch { 1 => 1, 1000 => 8, _ => 715 }, p.NumDataBlocks);
        var uncompressedBlocks = Varint(p.All["rocksdb.uncompressed.data.size"]) + (BlockTrailerLength * p.NumDataBlocks);
        if (compression == Compression.No)
        {
            Assert.Equal(uncompressedBlocks, p.DataSize);
        }
        else if (entries > 1)
        {
            Assert.InRange(p.DataSize, 1, uncompressedBlocks - 1);
        }

        Assert.Equal(0, p.FilterSize);

        // rocksdb.index.size is the uncompressed size; only an uncompressed index must fit between data and footer.
        Assert.InRange(p.IndexSize, 1, compression == Compression.No ? fileLength - p.DataSize - FooterLength : long.MaxValue);

        // SstFileWriter leaves creation times at 0, omits rocksdb.file.creation.time and names no column family.
        Assert.Equal(0, p.CreationTime);
        Assert.Equal(0, p.FileCreationTime);
        Assert.False(p.All.ContainsKey("rocksdb.file.creation.time"));
        Assert.Null(p.ColumnFamilyName);

        var fromBytes = SstTableProperties.Parse(File.ReadAllBytes(path), path);
        Assert.Equal(p with { All = fromBytes.All }, fromBytes);
        Assert.Equal(p.All, fromBytes.All);
    }

    [Fact]
    public void All_holds_every_property_raw_and_only_format_version_7_encodes_the_compression_property()
    {
        var v5 = SstTableProperties.Read(WriteWithRocksDb(1000, Compression.Lz4, 5));
        var v7 = SstTableProperties.Read(WriteWithRocksDb(1000, Compression.Lz4, 7));

        Assert.Equal(v5.All.Keys.Order(StringComparer.Ordinal), v7.All.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(new byte[] { 0xE8, 0x07 }, v5.All["rocksdb.num.entries"]); // varint64 1000
        Assert.Equal("SST Writer", Text(v5, "rocksdb.creating.db.identity"));
        Assert.Equal("LZ4", Text(v5, "rocksdb.compression"));
        Assert.Equal("BuiltinV2;04;", Text(v7, "rocksdb.compression"));
        Assert.Equal("LZ4", v5.CompressionName);
        Assert.Equal("LZ4", v7.CompressionName);
        Assert.Equal(Text(v5, "rocksdb.compression_options"), Text(v7, "rocksdb.compression_options"));
    }

    /// <summary>
    /// Replaces the stored value of rocksdb.compression in place with one of the same length. The reader does not
    /// verify block checksums, so the patched file still parses.
    /// </summary>
    private static byte[] WithCompressionProperty(byte[] file, string stored, string replacement)
    {
        Assert.Equal(stored.Length, replacement.Length);

        // Property names are prefix-compressed: "rocksdb.compression" follows "rocksdb.comparator" and stores only
        // its last 7 bytes, followed by the value.
        var needle = Encoding.ASCII.GetBytes("ression" + stored);
        var at = file.AsSpan().IndexOf(needle);
        Assert.True(at >= 0 && file.AsSpan(at + 1).IndexOf(needle) < 0, $"'{stored}' is not stored exactly once");
        var patched = (byte[])file.Clone();
        Encoding.ASCII.GetBytes(replacement).CopyTo(patched, at + needle.Length - stored.Length);
        return patched;
    }

    [Theory]
    [InlineData("BuiltinV2;07;", "ZSTD")]
    [InlineData("Builtin;0407;", "LZ4,ZSTD")]
    [InlineData("BuiltinV2;01;", "Snappy")]
    [InlineData("BuiltinV2;80;", "0x80")]
    [InlineData("Custom;04;xy;", "LZ4")]
    [InlineData("BuiltinV2;;x;", "NoCompression")]
    [InlineData("BuiltinV2;0a;", "0x0A")]
    public void Format_version_7_compression_property_names_the_types_used(string stored, string expected)
    {
        var file = File.ReadAllBytes(WriteWithRocksDb(1000, Compression.Lz4, 7));

        var p = SstTableProperties.Parse(WithCompressionProperty(file, "BuiltinV2;04;", stored), "patched");

        Assert.Equal(stored, Text(p, "rocksdb.compression"));
        Assert.Equal(expected, p.CompressionName);
    }

    [Theory]
    [InlineData("BuiltinV2;4;;")]
    [InlineData("BuiltinV2;0G;")]
    [InlineData("BuiltinV2:04:")]
    [InlineData("BuiltinV2;+4;")]
    [InlineData("BuiltinV2; 4;")]
    public void Malformed_format_version_7_compression_property_is_invalid_data(string stored)
    {
        var file = File.ReadAllBytes(WriteWithRocksDb(1000, Compression.Lz4, 7));

        var e = Assert.Throws<InvalidDataException>(() => SstTableProperties.Parse(WithCompressionProperty(file, "BuiltinV2;04;", stored), "patched"));

        Assert.Equal($"patched: malformed rocksdb.compression property \"{stored}\"", e.Message);
    }

    [Fact]
    public void Before_format_version_7_the_compression_property_is_taken_verbatim()
    {
        var file = File.ReadAllBytes(WriteWithRocksDb(1000, Compression.Lz4, 6));

        var p = SstTableProperties.Parse(WithCompressionProperty(file, "LZ4", ";0;"), "patched");

        Assert.Equal(";0;", p.CompressionName);
    }

    [Theory]
    [InlineData(5, "LZ4")]
    [InlineData(6, "LZ4")]
    [InlineData(7, "BuiltinV2;04;")]
    public void Incompressible_data_under_LZ4_still_reports_LZ4(int formatVersion, string stored)
    {
        // Every data block is rejected by the compressor and stored raw. Before format_version 7 the property is the
        // configured algorithm; from 7 it lists the types actually used, which include the (compressed) index block.
        var p = SstTableProperties.Read(WriteWithRocksDb(100, Compression.Lz4, formatVersion, valueSize: 8000, incompressible: true));

        Assert.Equal(Varint(p.All["rocksdb.uncompressed.data.size"]) + (BlockTrailerLength * p.NumDataBlocks), p.DataSize);
        Assert.Equal(stored, Text(p, "rocksdb.compression"));
        Assert.Equal("LZ4", p.CompressionName);
    }

    [Theory]
    [InlineData(5)]
    [InlineData(7)]
    public void File_flushed_by_a_database_has_creation_times_and_column_family(int formatVersion)
    {
        var before = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var dbPath = _temp[$"db-{formatVersion}"];
        var options = new DbOptions().SetCreateIfMissing(true).SetCompression(Compression.Lz4);
        options.SetBlockBasedTableFactory(new BlockBasedTableOptions().SetFormatVersion(formatVersion));
        using (var db = RocksDb.Open(options, dbPath))
        {
            for (var i = 0; i < 5000; i++)
            {
                db.Put(Encoding.ASCII.GetBytes($"key{i:D8}"), new byte[100]);
            }

            db.Flush(new FlushOptions().SetWaitForFlush(true));
        }

        var p = SstTableProperties.Read(Assert.Single(Directory.GetFiles(dbPath, "*.sst")));
        var after = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        Assert.Equal(5000, p.NumEntries);
        Assert.Equal("default", p.ColumnFamilyName);
        Assert.Equal("LZ4", p.CompressionName);
        Assert.InRange(p.CreationTime, before, after);
        Assert.InRange(p.FileCreationTime, before, after);
        Assert.Equal(formatVersion, p.FooterFormatVersion);
    }

    [Fact]
    public void Our_builder_writes_format_version_5_with_LZ4_by_default_and_honours_its_options()
    {
        static SstTableProperties Build(string path, SstOptions options)
        {
            using var builder = new SstFileBuilder(path, options);
            for (var i = 0; i < 1000; i++)
            {
                builder.Put(Encoding.ASCII.GetBytes($"key{i:D8}"), Encoding.ASCII.GetBytes($"value-{i % 10}-{new string('x', 40)}"));
            }

            builder.Finish();
            builder.Commit();
            return SstTableProperties.Read(path);
        }

        var byDefault = Build(_temp["default.sst"], new SstOptions());
        var zstd7 = Build(_temp["zstd7.sst"], new SstOptions { FormatVersion = 7, Compression = SstCompression.Zstd });

        Assert.Equal(1000, byDefault.NumEntries);
        Assert.Equal(5, byDefault.FooterFormatVersion);
        Assert.Equal(5, byDefault.FormatVersion);
        Assert.Equal("LZ4", byDefault.CompressionName);
        Assert.Equal("leveldb.BytewiseComparator", byDefault.ComparatorName);

        Assert.Equal(1000, zstd7.NumEntries);
        Assert.Equal(7, zstd7.FooterFormatVersion);
        Assert.Equal(7, zstd7.FormatVersion);
        Assert.Equal("ZSTD", zstd7.CompressionName);
        Assert.Equal("leveldb.BytewiseComparator", zstd7.ComparatorName);
    }

    [Theory]
    [InlineData(5)]
    [InlineData(7)]
    public void Truncated_files_are_invalid_data_named_by_path(int formatVersion)
    {
        var whole = File.ReadAllBytes(WriteWithRocksDb(1000, Compression.Lz4, formatVersion));
        var lengths = new SortedSet<int>();
        for (var i = 0; i <= 200; i++)
        {
            lengths.Add(i);
            lengths.Add(whole.Length - 1 - i);
        }

        for (var i = 0; i < whole.Length; i += 97)
        {
            lengths.Add(i);
        }

        var cut = _temp[$"cut-{formatVersion}.sst"];
        foreach (var length in lengths)
        {
            File.WriteAllBytes(cut, whole.AsSpan(0, length).ToArray());
            var fromFile = Assert.Throws<InvalidDataException>(() => SstTableProperties.Read(cut));
            var fromBytes = Assert.Throws<InvalidDataException>(() => SstTableProperties.Parse(whole.AsSpan(0, length), cut));
            Assert.StartsWith(cut + ": ", fromFile.Message, StringComparison.Ordinal);
            Assert.Equal(fromFile.Message, fromBytes.Message);
        }
    }

    [Fact]
    public void Empty_and_random_files_are_invalid_data_named_by_path()
    {
        var empty = _temp["empty.sst"];
        File.WriteAllBytes(empty, []);
        Assert.Equal($"{empty}: file is too short (0 bytes) to be an SST file", Assert.Throws<InvalidDataException>(() => SstTableProperties.Read(empty)).Message);

        var random = new Random(42);
        foreach (var size in new[] { 1, 47, 48, 52, 53, 54, 100, 4096, 1 << 20 })
        {
            var bytes = new byte[size];
            random.NextBytes(bytes);
            var path = _temp[$"random-{size}.sst"];
            File.WriteAllBytes(path, bytes);
            Assert.StartsWith(path + ": ", Assert.Throws<InvalidDataException>(() => SstTableProperties.Read(path)).Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(5)]
    [InlineData(7)]
    public void Damaged_tail_gives_properties_or_invalid_data_and_nothing_else(int formatVersion)
    {
        // Overwrite 1-3 bytes in the last 2 KiB (index, properties, metaindex, footer) of a valid file.
        const int Iterations = 10_000;
        var whole = File.ReadAllBytes(WriteWithRocksDb(1000, Compression.Lz4, formatVersion));
        var budget = Stopwatch.StartNew();
        var random = new Random(formatVersion);
        var tailStart = Math.Max(0, whole.Length - 2048);
        var parsed = 0;
        var invalid = 0;
        var copy = new byte[whole.Length];
        for (var iteration = 0; iteration < Iterations && budget.Elapsed < TimeSpan.FromSeconds(0.9); iteration++)
        {
            whole.CopyTo(copy, 0);
            var changes = new List<string>();
            for (var flips = random.Next(1, 4); flips > 0; flips--)
            {
                var at = random.Next(tailStart, copy.Length);
                copy[at] = (byte)random.Next(256);
                changes.Add($"[{at}]=0x{copy[at]:x2}");
            }

            try
            {
                SstTableProperties.Parse(copy, "fuzz");
                parsed++;
            }
            catch (InvalidDataException e)
            {
                Assert.StartsWith("fuzz: ", e.Message, StringComparison.Ordinal);
                invalid++;
            }
            catch (Exception e)
            {
                Assert.Fail($"iteration {iteration} ({string.Join(' ', changes)} of {whole.Length} bytes) threw {e}");
            }
        }

        Assert.True(parsed > 0 && invalid > 0, $"parsed {parsed}, invalid {invalid}: the damage should hit both outcomes");
    }

    [Fact]
    public void Legacy_footer_is_read()
    {
        // Re-encode a format_version 5 footer as the legacy 48-byte footer: same handles, legacy magic.
        var whole = File.ReadAllBytes(WriteWithRocksDb(1000, Compression.Lz4, 5));
        var legacy = new byte[whole.Length - FooterLength + 48];
        whole.AsSpan(0, whole.Length - FooterLength).CopyTo(legacy);
        whole.AsSpan(whole.Length - FooterLength + 1, 40).CopyTo(legacy.AsSpan(whole.Length - FooterLength));
        BinaryPrimitives.WriteUInt64LittleEndian(legacy.AsSpan(legacy.Length - 8), LegacyMagic);
        var path = _temp["legacy.sst"];
        File.WriteAllBytes(path, legacy);

        var p = SstTableProperties.Read(path);

        Assert.Equal(0, p.FooterFormatVersion);
        Assert.Equal(1000, p.NumEntries);
        Assert.Equal("LZ4", p.CompressionName);
        Assert.Equal(p with { FooterFormatVersion = 5 }, SstTableProperties.Parse(whole, path) with { All = p.All });
    }

    [Theory]
    [InlineData(5, 0u)]
    [InlineData(5, 8u)]
    [InlineData(7, 8u)]
    [InlineData(7, 0xFFFF_FFFFu)]
    public void Unsupported_footer_version_is_invalid_data(int formatVersion, uint footerVersion)
    {
        var file = File.ReadAllBytes(WriteWithRocksDb(1000, Compression.Lz4, formatVersion));
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(file.Length - 12), footerVersion);

        var e = Assert.Throws<InvalidDataException>(() => SstTableProperties.Parse(file, "v"));

        Assert.Equal($"v: unsupported footer format_version {footerVersion} (supported: 1..7)", e.Message);
    }

    // Footer bytes (offsets from the footer start) from format_version 6 on: checksum type, extended magic at 1,
    // footer checksum at 5, base context checksum at 9, metaindex size at 13, unchecked at 17, must-be-zero at 33.
    [Theory]
    [InlineData(0, 5, "unsupported checksum type 5 in footer")]
    [InlineData(2, 0x01, "bad extended magic number in format_version >= 6 footer")]
    [InlineData(33, 0x01, "footer uses a future feature (reserved bytes are not zero)")]
    [InlineData(40, 0x80, "footer uses a future feature (reserved bytes are not zero)")]
    public void Damaged_format_version_7_footer_is_invalid_data(int offset, byte value, string reason)
    {
        var file = File.ReadAllBytes(WriteWithRocksDb(1000, Compression.Lz4, 7));
        file[file.Length - FooterLength + offset] = value;

        var e = Assert.Throws<InvalidDataException>(() => SstTableProperties.Parse(file, "f"));

        Assert.Equal("f: " + reason, e.Message);
    }

    [Fact]
    public void Format_version_7_footer_checks_base_context_checksum_and_metaindex_size()
    {
        var file = File.ReadAllBytes(WriteWithRocksDb(1000, Compression.Lz4, 7));
        var footer = file.Length - FooterLength;

        var zeroContext = (byte[])file.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(zeroContext.AsSpan(footer + 9), 0);
        Assert.Equal("f: invalid base context checksum (0) in footer", Assert.Throws<InvalidDataException>(() => SstTableProperties.Parse(zeroContext, "f")).Message);

        var hugeMetaindex = (byte[])file.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(hugeMetaindex.AsSpan(footer + 13), (uint)file.Length);
        Assert.Equal($"f: metaindex size {file.Length} in footer exceeds the file", Assert.Throws<InvalidDataException>(() => SstTableProperties.Parse(hugeMetaindex, "f")).Message);
    }

    /// <summary>Offset and size of the metaindex block, from the footer.</summary>
    private static (int Offset, int Size) Metaindex(byte[] file, int formatVersion)
    {
        var footer = file.AsSpan(file.Length - FooterLength);
        if (formatVersion >= 6)
        {
            var size = (int)BinaryPrimitives.ReadUInt32LittleEndian(footer[13..]);
            return (file.Length - FooterLength - BlockTrailerLength - size, size);
        }

        var handle = footer[1..].ToArray();
        var offset = Varint(handle);
        var skip = 1;
        while (handle[skip - 1] >= 0x80)
        {
            skip++;
        }

        return ((int)offset, (int)Varint(handle[skip..]));
    }

    [Theory]
    [InlineData(5)]
    [InlineData(7)]
    public void Compressed_meta_blocks_are_reported(int formatVersion)
    {
        var file = File.ReadAllBytes(WriteWithRocksDb(1000, Compression.Lz4, formatVersion));
        var (offset, size) = Metaindex(file, formatVersion);
        Assert.Equal(file.Length - FooterLength - BlockTrailerLength, offset + size); // the layout the patches rely on

        var metaindex = (byte[])file.Clone();
        metaindex[offset + size] = 4;
        var e = Assert.Throws<InvalidDataException>(() => SstTableProperties.Parse(metaindex, "c"));
        Assert.Equal("c: metaindex block is compressed (compression type 0x04); only uncompressed meta blocks are supported", e.Message);

        // RocksDB writes the properties block right before the metaindex block.
        var properties = (byte[])file.Clone();
        properties[offset - BlockTrailerLength] = 7;
        e = Assert.Throws<InvalidDataException>(() => SstTableProperties.Parse(properties, "c"));
        Assert.Equal("c: properties block is compressed (compression type 0x07); only uncompressed meta blocks are supported", e.Message);
    }
}

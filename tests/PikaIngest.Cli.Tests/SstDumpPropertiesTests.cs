using System.Globalization;
using System.Text;
using PikaIngest.Core.Sst;
using RocksDbSharp;

namespace PikaIngest.Cli.Tests;

/// <summary>
/// <see cref="SstTableProperties"/> against Debian's stock <c>sst_dump --show_properties</c> (RocksDB 7.8, which reads
/// format_version up to 5), on files written by RocksDB's SstFileWriter, by a RocksDB database and by our builder.
/// </summary>
public sealed class SstDumpPropertiesTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    private static string Key(int i) => $"key{i:D8}";

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

    private static string Text(SstTableProperties p, string name) => Encoding.UTF8.GetString(p.All[name]);

    private static string Number(SstTableProperties p, string name) => Varint(p.All[name]).ToString(CultureInfo.InvariantCulture);

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>Every property sst_dump prints that the reader exposes, named as sst_dump names it.</summary>
    private static void AssertMatchesSstDump(string path, SstTableProperties p)
    {
        var dump = SstDump.Properties(path);
        var columnFamilyId = Varint(p.All["rocksdb.column.family.id"]);
        var expected = new Dictionary<string, string>
        {
            ["# data blocks"] = Number(p.NumDataBlocks),
            ["# entries"] = Number(p.NumEntries),
            ["# deletions"] = Number(p, "rocksdb.deleted.keys"),
            ["# merge operands"] = Number(p, "rocksdb.merge.operands"),
            ["# range deletions"] = Number(p, "rocksdb.num.range-deletions"),
            ["raw key size"] = Number(p.RawKeySize),
            ["raw value size"] = Number(p.RawValueSize),
            ["data block size"] = Number(p.DataSize),
            [$"index block size (user-key? {Number(p, "rocksdb.index.key.is.user.key")}, delta-value? {Number(p, "rocksdb.index.value.is.delta.encoded")})"] = Number(p.IndexSize),
            ["filter block size"] = Number(p.FilterSize),
            ["# entries for filter"] = Number(p, "rocksdb.num.filter_entries"),
            ["prefix extractor name"] = Text(p, "rocksdb.prefix.extractor.name"),
            ["column family ID"] = columnFamilyId == int.MaxValue ? "N/A" : Number(columnFamilyId), // kUnknownColumnFamily
            ["column family name"] = p.ColumnFamilyName ?? "N/A",
            ["comparator name"] = p.ComparatorName,
            ["merge operator name"] = Text(p, "rocksdb.merge.operator"),
            ["property collectors names"] = Text(p, "rocksdb.property.collectors"),
            ["SST file compression algo"] = p.CompressionName,
            ["SST file compression options"] = Text(p, "rocksdb.compression_options").TrimEnd(), // the helper trims lines
            ["creation time"] = Number(p.CreationTime),
            ["time stamp of earliest key"] = Number(p, "rocksdb.oldest.key.time"),
            ["file creation time"] = Number(p.FileCreationTime),
            ["DB identity"] = Text(p, "rocksdb.creating.db.identity"),
            ["DB session identity"] = Text(p, "rocksdb.creating.session.identity"),
            ["DB host id"] = Text(p, "rocksdb.creating.host.identity"),
            ["original file number"] = Number(p, "rocksdb.original.file.number"),
        };

        // Properties sst_dump 7.8 does not know it prints raw, as "# name: 0x<hex of the stored bytes>".
        var raw = dump.Keys.Where(k => k.StartsWith("# rocksdb.", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(raw);
        foreach (var name in raw)
        {
            Assert.True(p.All.TryGetValue(name[2..], out var value), $"{path}: sst_dump shows {name}, the reader does not");
            expected[name] = "0x" + Convert.ToHexString(value);
        }

        foreach (var (name, value) in expected)
        {
            Assert.True(dump.TryGetValue(name, out var shown), $"{path}: sst_dump shows no '{name}'; it shows {string.Join(", ", dump.Keys)}");
            Assert.True(value == shown, $"{path}: '{name}' is {value} by the reader, {shown} by sst_dump");
        }
    }

    public static TheoryData<int, Compression> WriterCases() => new()
    {
        { 2, Compression.No },
        { 2, Compression.Lz4 },
        { 2, Compression.Zstd },
        { 5, Compression.No },
        { 5, Compression.Lz4 },
        { 5, Compression.Zstd },
    };

    [Theory]
    [MemberData(nameof(WriterCases))]
    public void Properties_of_a_file_from_RocksDB_SstFileWriter_match_sst_dump(int formatVersion, Compression compression)
    {
        var path = _temp[$"writer-{formatVersion}-{compression}.sst"];
        var table = new BlockBasedTableOptions().SetFormatVersion(formatVersion);
        var options = new ColumnFamilyOptions().SetCompression(compression).SetBlockBasedTableFactory(table);
        using (var writer = new SstFileWriter(new EnvOptions(), options))
        {
            writer.Open(path);
            var random = new Random(formatVersion);
            var value = new byte[16];
            for (var i = 0; i < 20_000; i++)
            {
                random.NextBytes(value.AsSpan(0, 8)); // half random, half zero: compressible
                writer.Add(Encoding.ASCII.GetBytes(Key(i)), value);
            }

            writer.Finish();
        }

        var p = SstTableProperties.Read(path);

        Assert.Equal(20_000, p.NumEntries);
        AssertMatchesSstDump(path, p);
    }

    [Fact]
    public void Properties_of_a_file_flushed_by_a_database_match_sst_dump()
    {
        var dbPath = _temp["db"];
        var options = new DbOptions().SetCreateIfMissing(true).SetCompression(Compression.Lz4);
        options.SetBlockBasedTableFactory(new BlockBasedTableOptions().SetFormatVersion(5));
        using (var db = RocksDb.Open(options, dbPath))
        {
            for (var i = 0; i < 5000; i++)
            {
                db.Put(Encoding.ASCII.GetBytes(Key(i)), new byte[100]);
            }

            db.Flush(new FlushOptions().SetWaitForFlush(true));
        }

        var path = Assert.Single(Directory.GetFiles(dbPath, "*.sst"));
        var p = SstTableProperties.Read(path);

        Assert.Equal("default", p.ColumnFamilyName);
        Assert.NotEqual(0, p.CreationTime);
        Assert.NotEqual(0, p.FileCreationTime);
        AssertMatchesSstDump(path, p);
    }

    [Fact]
    public void Properties_of_a_file_from_our_builder_match_sst_dump()
    {
        var path = _temp["builder.sst"];
        using (var builder = new SstFileBuilder(path, new SstOptions()))
        {
            for (var i = 0; i < 5000; i++)
            {
                builder.Put(Encoding.ASCII.GetBytes(Key(i)), Encoding.ASCII.GetBytes($"value-{i % 7}-{new string('v', 30)}"));
            }

            builder.Finish();
            builder.Commit();
        }

        var p = SstTableProperties.Read(path);

        Assert.Equal(5, p.FooterFormatVersion);
        AssertMatchesSstDump(path, p);
    }
}

using System.Text;
using PikaIngest.Core.Layout;

namespace PikaIngest.Core.UnitTests;

/// <summary>Object keys (docs/ARCHITECTURE.md §3.1) and the persisted JSON records (docs/FORMATS.md §4–5).</summary>
public sealed class LayoutTests
{
    private static readonly DateTimeOffset CreatedAt = new(2026, 11, 23, 19, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Key_builders_follow_the_bucket_layout()
    {
        Assert.Equal("incoming/b1/_batch.json", ObjectLayout.Descriptor("b1"));
        Assert.Equal("incoming/b1/000007.jsonl", ObjectLayout.Shard("b1", 7));
        Assert.Equal("sst/b1/000007-2.sst", ObjectLayout.SstFile("b1", 7, 2));
        Assert.Equal("sst/b1/", ObjectLayout.SstFolder("b1"));
        Assert.Equal("state/b1/done/000007.json", ObjectLayout.Done("b1", 7));
        Assert.Equal("state/b1/failed/000007.json", ObjectLayout.Failed("b1", 7));
        Assert.Equal("manifests/b1.json", ObjectLayout.Manifest("b1"));
        Assert.Equal("results/b1.json", ObjectLayout.Result("b1"));
    }

    [Theory]
    [InlineData(1, "000001")]
    [InlineData(999_999, "999999")]
    [InlineData(1_234_567, "1234567")]
    public void Seq_is_zero_padded_to_six_digits(int seq, string text)
    {
        Assert.Equal(text, ObjectLayout.Seq(seq));
    }

    [Fact]
    public void Seq_names_sort_in_shard_order()
    {
        int[] seqs = [10, 9, 100, 1, 99_999];

        var names = seqs.Select(n => ObjectLayout.Shard("b", n)).Order(StringComparer.Ordinal);

        Assert.Equal([1, 9, 10, 100, 99_999], names.Select(name => ObjectLayout.TryParseShard(name, out _, out var seq) ? seq : -1));
    }

    [Theory]
    [InlineData("incoming/b/000001.jsonl", "b", 1)]
    [InlineData("incoming/20261123T190000Z-7f3a/000016.jsonl", "20261123T190000Z-7f3a", 16)]
    [InlineData("incoming/a.b_c-d/123456789.jsonl", "a.b_c-d", 123_456_789)]
    [InlineData("incoming/b/7.jsonl", "b", 7)]
    public void Shard_keys_are_recognised(string key, string batch, int seq)
    {
        Assert.True(ObjectLayout.TryParseShard(key, out var parsedBatch, out var parsedSeq));
        Assert.Equal(batch, parsedBatch);
        Assert.Equal(seq, parsedSeq);
    }

    [Theory]
    [InlineData("incoming/b/000000.jsonl")]
    [InlineData("incoming/b/00000a.jsonl")]
    [InlineData("incoming/b/-00001.jsonl")]
    [InlineData("incoming/b/000001.json")]
    [InlineData("incoming/b/000001.jsonl.tmp")]
    [InlineData("incoming/b/_batch.json")]
    [InlineData("incoming/b/sub/000001.jsonl")]
    [InlineData("incoming/../000001.jsonl")]
    [InlineData("incoming/./000001.jsonl")]
    [InlineData("incoming/.hidden/000001.jsonl")]
    [InlineData("incoming//000001.jsonl")]
    [InlineData("incoming/000001.jsonl")]
    [InlineData("sst/b/000001.jsonl")]
    [InlineData("state/b/000001.jsonl")]
    [InlineData("xincoming/b/000001.jsonl")]
    [InlineData("/incoming/b/000001.jsonl")]
    [InlineData("incoming/b/0000000001.jsonl")]
    [InlineData("incoming/b/000001.jsonl\n")]
    [InlineData("incoming/b\n/000001.jsonl")]
    [InlineData("incoming/b/\uFF11.jsonl")]
    public void Other_keys_are_not_shards(string key)
    {
        Assert.False(ObjectLayout.TryParseShard(key, out _, out _));
    }

    [Theory]
    [InlineData("a")]
    [InlineData("20261123T190000Z-7f3a")]
    [InlineData("a.b_c-d")]
    [InlineData("_x")]
    [InlineData("-x")]
    [InlineData("x.")]
    public void Batch_ids_of_safe_characters_are_valid(string batch)
    {
        Assert.True(ObjectLayout.IsValidBatchId(batch));
        Assert.Equal(batch, ObjectLayout.RequireBatchId(batch));
    }

    [Fact]
    public void Batch_id_may_be_128_characters_but_not_129()
    {
        Assert.True(ObjectLayout.IsValidBatchId(new string('b', 128)));
        Assert.False(ObjectLayout.IsValidBatchId(new string('b', 129)));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData(".")]
    [InlineData("..")]
    [InlineData(".hidden")]
    [InlineData("a/b")]
    [InlineData("a\\b")]
    [InlineData("a b")]
    [InlineData("a:b")]
    [InlineData("é")]
    [InlineData("batch\n")]
    [InlineData("\nbatch")]
    public void Batch_ids_that_are_unsafe_as_path_segments_are_invalid(string? batch)
    {
        Assert.False(ObjectLayout.IsValidBatchId(batch));
        Assert.Throws<FormatException>(() => ObjectLayout.RequireBatchId(batch));
    }

    private static BatchDescriptor SpecDescriptor => new()
    {
        BatchId = "20261123T190000Z-7f3a",
        Shards = 16,
        Format = "pika-v4",
        Instances = 3,
        Compression = "lz4",
        CreatedAt = CreatedAt,
    };

    [Fact]
    public void Batch_descriptor_is_written_as_in_the_spec()
    {
        // docs/FORMATS.md §4, in its order; the SST format version is this implementation's addition after it.
        const string Expected = """{"version":1,"batchId":"20261123T190000Z-7f3a","shards":16,"format":"pika-v4","instances":3,"compression":"lz4","createdAt":"2026-11-23T19:00:00Z","sstFormatVersion":5}""";

        Assert.Equal(Expected, Encoding.UTF8.GetString(LayoutJson.Serialize(SpecDescriptor)));
    }

    [Fact]
    public void Batch_descriptor_example_from_the_spec_is_read()
    {
        var json = """
            {"version":1,"batchId":"20261123T190000Z-7f3a","shards":16,"format":"pika-v4",
             "instances":3,"compression":"lz4","createdAt":"2026-11-23T19:00:00Z"}
            """u8;

        var descriptor = LayoutJson.Deserialize<BatchDescriptor>(json, "_batch.json");

        Assert.Equal(SpecDescriptor, descriptor);
        Assert.Equal(TimeSpan.Zero, descriptor.CreatedAt.Offset);
    }

    [Fact]
    public void Instants_are_written_in_utc_whatever_their_offset()
    {
        var descriptor = SpecDescriptor with { CreatedAt = new DateTimeOffset(2026, 11, 24, 4, 0, 0, 250, TimeSpan.FromHours(9)) };

        var json = Encoding.UTF8.GetString(LayoutJson.Serialize(descriptor));

        Assert.Contains("\"createdAt\":\"2026-11-23T19:00:00.25Z\"", json, StringComparison.Ordinal);
        Assert.Equal(descriptor.CreatedAt, LayoutJson.Deserialize<BatchDescriptor>(Encoding.UTF8.GetBytes(json), "descriptor").CreatedAt);
    }

    [Fact]
    public void Batch_descriptor_with_options_round_trips()
    {
        var descriptor = SpecDescriptor with { SstFormatVersion = 7, Options = new Dictionary<string, string> { ["seed"] = "42", ["source"] = "mock" } };

        var read = LayoutJson.Deserialize<BatchDescriptor>(LayoutJson.Serialize(descriptor), "descriptor");

        Assert.Equal(7, read.SstFormatVersion);
        Assert.Equal(descriptor.Options, read.Options);
        Assert.Equal(descriptor with { Options = read.Options }, read);
    }

    private static readonly SourceObject Source = new() { Key = "incoming/b/000002.jsonl", Size = 1234, ETag = "\"abc\"" };

    [Fact]
    public void Done_record_round_trips()
    {
        var file = new SstFileEntry
        {
            Key = "sst/b/000002-1.sst",
            Shard = 2,
            Instance = 1,
            Size = 4096,
            Sha256 = new string('a', 64),
            Entries = 10,
            SmallestKey = Convert.ToBase64String([0x00]),
            LargestKey = Convert.ToBase64String([0xFF]),
        };
        var done = new DoneRecord { BatchId = "b", Shard = 2, Source = Source, RecordsRead = 12, UniqueKeys = 10, ElapsedMs = 5, Files = [file] };

        var read = LayoutJson.Deserialize<DoneRecord>(LayoutJson.Serialize(done), "done");

        Assert.Equal(done with { Files = read.Files }, read);
        Assert.Equal([file], read.Files);
    }

    [Fact]
    public void Failed_record_round_trips_with_and_without_a_line()
    {
        var failed = new FailedRecord { BatchId = "b", Shard = 2, Source = Source, Reason = "000002.jsonl:3: missing \"key\"", Line = 3, FailedAt = CreatedAt };
        var withoutLine = failed with { Line = null };

        Assert.Equal(failed, LayoutJson.Deserialize<FailedRecord>(LayoutJson.Serialize(failed), "failed"));
        Assert.Equal(withoutLine, LayoutJson.Deserialize<FailedRecord>(LayoutJson.Serialize(withoutLine), "failed"));
        Assert.DoesNotContain("line", Encoding.UTF8.GetString(LayoutJson.Serialize(withoutLine)), StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_version_is_rejected()
    {
        var descriptor = """{"version":2,"batchId":"b","shards":1,"format":"pika-v4","instances":1,"createdAt":"2026-11-23T19:00:00Z"}"""u8.ToArray();
        var done = """{"version":0,"batchId":"b","shard":1,"source":{"key":"k","size":1},"recordsRead":1,"uniqueKeys":1,"elapsedMs":1,"files":[]}"""u8.ToArray();
        var failed = """{"version":3,"batchId":"b","shard":1,"source":{"key":"k","size":1},"reason":"r","failedAt":"2026-11-23T19:00:00Z"}"""u8.ToArray();

        Assert.Contains("version", Assert.Throws<FormatException>(() => LayoutJson.Deserialize<BatchDescriptor>(descriptor, "d")).Message, StringComparison.Ordinal);
        Assert.Throws<FormatException>(() => LayoutJson.Deserialize<DoneRecord>(done, "d"));
        Assert.Throws<FormatException>(() => LayoutJson.Deserialize<FailedRecord>(failed, "d"));
    }

    [Theory]
    [InlineData("""{"version":1,"shards":1,"format":"pika-v4","instances":1,"createdAt":"2026-11-23T19:00:00Z"}""")]
    [InlineData("""{"version":1,"batchId":"b","format":"pika-v4","instances":1,"createdAt":"2026-11-23T19:00:00Z"}""")]
    [InlineData("""{"version":1,"batchId":"b","shards":1,"instances":1,"createdAt":"2026-11-23T19:00:00Z"}""")]
    [InlineData("""{"version":1,"batchId":"b","shards":1,"format":"pika-v4","createdAt":"2026-11-23T19:00:00Z"}""")]
    [InlineData("""{"version":1,"batchId":"b","shards":1,"format":"pika-v4","instances":1}""")]
    [InlineData("""{"version":1,"batchId":"b","shards":"one","format":"pika-v4","instances":1,"createdAt":"2026-11-23T19:00:00Z"}""")]
    [InlineData("""{"version":1,"batchId":"b","shards":1,"format":"pika-v4","instances":1,"createdAt":"yesterday"}""")]
    [InlineData("""{"version":1,"batchId":"b",""")]
    [InlineData("null")]
    [InlineData("")]
    public void Descriptor_missing_a_required_field_or_malformed_is_rejected(string json)
    {
        var error = Assert.Throws<FormatException>(() => LayoutJson.Deserialize<BatchDescriptor>(Encoding.UTF8.GetBytes(json), "incoming/b/_batch.json"));

        Assert.StartsWith("incoming/b/_batch.json: ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Done_record_missing_its_files_is_rejected()
    {
        var json = """{"version":1,"batchId":"b","shard":1,"source":{"key":"k","size":1},"recordsRead":1,"uniqueKeys":1,"elapsedMs":1}"""u8.ToArray();

        Assert.Throws<FormatException>(() => LayoutJson.Deserialize<DoneRecord>(json, "done"));
    }
}

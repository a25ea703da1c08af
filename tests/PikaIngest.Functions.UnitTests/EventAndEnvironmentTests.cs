using PikaIngest.Core.Pipeline;

namespace PikaIngest.Functions.UnitTests;

public sealed class EventAndEnvironmentTests
{
    private static byte[] Read(string name) => File.ReadAllBytes(Path.Combine(FlowFixture.RepositoryRoot(), "events", name));

    [Fact]
    public void The_shipped_events_parse_to_the_objects_they_describe_with_keys_decoded()
    {
        var shard = Assert.Single(S3Event.Parse(Read("shard-put.json"), out var none));
        Assert.Null(none);
        Assert.Equal(("pika-ingest-123456789012-us-east-1", "incoming/20261123T190000Z-7f3a/000001.jsonl", 67108864L), (shard.Bucket, shard.Key, shard.Size));

        var done = Assert.Single(S3Event.Parse(Read("done-put.json"), out _));
        Assert.Equal("state/20261123T190000Z-7f3a/done/000001.json", done.Key);

        var encoded = Assert.Single(S3Event.Parse(Read("shard-put-encoded-key.json"), out _));
        Assert.Equal("incoming/night load+2/000002.jsonl", encoded.Key);
        Assert.Equal("ObjectCreated:CompleteMultipartUpload", encoded.EventName);
    }

    [Theory]
    [InlineData("incoming/b1/000001.jsonl")]
    [InlineData("incoming/a b/c+d/ü %.jsonl")]
    public void Events_we_create_round_trip_their_keys_like_s3_encodes_them(string key)
    {
        var parsed = Assert.Single(S3Event.Parse(S3Event.Create("bucket", key, 5, "\"etag\"", DateTimeOffset.UnixEpoch), out _));
        Assert.Equal(key, parsed.Key);
        Assert.Equal("etag", parsed.ETag);
    }

    [Fact]
    public void Records_that_are_not_object_created_are_skipped_with_a_reason_while_the_others_are_kept()
    {
        var json = """
            {"Records":[
              {"eventName":"ObjectRemoved:Delete","s3":{"bucket":{"name":"b"},"object":{"key":"incoming/x/000001.jsonl"}}},
              {"eventName":"ObjectCreated:Copy","s3":{"bucket":{"name":"b"},"object":{"key":"incoming/x/000002.jsonl","size":3}}},
              {"eventName":"ObjectCreated:Put"}
            ]}
            """u8;
        var parsed = Assert.Single(S3Event.Parse(json, out var reason));
        Assert.Equal("incoming/x/000002.jsonl", parsed.Key);
        Assert.Contains("ObjectRemoved:Delete", reason, StringComparison.Ordinal);
        Assert.Contains("without s3.bucket.name", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Environment_defaults_serve_lambda_and_sizes_follow_memory_and_ephemeral_storage()
    {
        var environment = FunctionEnvironment.Read(name => name switch
        {
            FunctionEnvironment.LambdaMemoryVariable => "3072",
            FunctionEnvironment.EphemeralStorageVariable => "3072",
            FunctionEnvironment.PikaEndpointVariable => "10.0.0.5:9221",
            _ => null,
        });

        Assert.Equal("s3", environment.Store);
        Assert.Equal(2048L << 20, environment.Sst.MemoryBudget);
        Assert.Equal(1024L << 20, environment.Sst.MaxShardBytes);
        Assert.Equal("10.0.0.5:9221", environment.PikaEndpoint);
        Assert.Equal(TimeSpan.FromSeconds(840), environment.IngestTimeout);
    }

    [Theory]
    [InlineData(FunctionEnvironment.PikaEndpointVariable, "no-port")]
    [InlineData(FunctionEnvironment.IngestTimeoutVariable, "soon")]
    [InlineData(FunctionEnvironment.EphemeralStorageVariable, "99999")]
    [InlineData(FunctionEnvironment.LambdaMemoryVariable, "-5")]
    public void A_misconfigured_variable_fails_at_start_up_naming_it(string name, string value)
    {
        var error = Assert.Throws<InvalidOperationException>(() => FunctionEnvironment.Read(n => n == name ? value : null));
        Assert.Contains(name, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_manifest_function_without_an_endpoint_says_which_variable_is_missing()
    {
        var error = Assert.Throws<InvalidOperationException>(() => new ManifestFunction(FunctionEnvironment.Read(_ => null)));
        Assert.Contains(FunctionEnvironment.PikaEndpointVariable, error.Message, StringComparison.Ordinal);
        Assert.Contains("'none' to only write manifests", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_endpoint_of_none_makes_a_manifest_function_that_writes_manifests_only()
    {
        var environment = FunctionEnvironment.Read(name => name == FunctionEnvironment.PikaEndpointVariable ? "none" : null);

        Assert.Null(environment.IngestClient());
        _ = new ManifestFunction(environment);
    }
}

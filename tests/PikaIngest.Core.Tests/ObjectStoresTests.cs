using Amazon.Runtime;
using PikaIngest.Core.Storage;

namespace PikaIngest.Core.Tests;

/// <summary>Store addressing (docs/ARCHITECTURE.md §3.2) and the S3 client settings it leads to.</summary>
[Collection(SharedEnvironment.Name)]
public sealed class ObjectStoresTests
{
    [Theory]
    [InlineData("s3")]
    [InlineData("s3://")]
    [InlineData("S3")]
    public async Task S3_without_a_bucket_is_the_whole_s3_store(string uri)
    {
        using var provider = Assert.IsType<S3ObjectStoreProvider>(ObjectStores.OpenProvider(uri));

        var bucket = provider.Bucket("my-bucket", "some/prefix/");

        Assert.Equal("s3://my-bucket/some/prefix", bucket.Location);
        Assert.True(await bucket.SupportsConditionalCreateAsync());
    }

    [Fact]
    public void A_file_uri_or_plain_folder_is_a_folder_of_bucket_folders()
    {
        var fromUri = Assert.IsType<LocalFolderStoreProvider>(ObjectStores.OpenProvider("file:///srv/my%20store"));
        var fromPath = Assert.IsType<LocalFolderStoreProvider>(ObjectStores.OpenProvider("/srv/store/"));

        Assert.Equal("/srv/my store", fromUri.Root);
        Assert.Equal("file:///srv/my%20store", fromUri.Location);
        Assert.Equal("/srv/store/local", ((LocalFolderStore)fromPath.Bucket("local")).Root);
    }

    [Theory]
    [InlineData("s3://bucket", "bucket", "")]
    [InlineData("s3://bucket/", "bucket", "")]
    [InlineData("s3://my.bucket-1/a/b", "my.bucket-1", "a/b/")]
    [InlineData("s3://bucket/a/b/", "bucket", "a/b/")]
    public void An_s3_location_is_a_bucket_narrowed_to_its_prefix(string location, string bucket, string prefix)
    {
        var store = Assert.IsType<S3ObjectStore>(ObjectStores.OpenLocation(location));

        Assert.Equal(bucket, store.Bucket);
        Assert.Equal(prefix, store.Prefix);
    }

    [Fact]
    public void A_folder_location_is_a_bucket_named_after_the_folder()
    {
        var fromPath = Assert.IsType<LocalFolderStore>(ObjectStores.OpenLocation("/srv/store/local"));
        var fromUri = Assert.IsType<LocalFolderStore>(ObjectStores.OpenLocation("file:///srv/store/local/"));
        var relative = Assert.IsType<LocalFolderStore>(ObjectStores.OpenLocation("demo/store"));

        Assert.Equal(("local", "/srv/store/local"), (fromPath.Bucket, fromPath.Root));
        Assert.Equal(("local", "/srv/store/local"), (fromUri.Bucket, fromUri.Root.TrimEnd('/')));
        Assert.Equal(Path.GetFullPath("demo/store"), relative.Root);
        Assert.Equal("store", relative.Bucket);
    }

    [Theory]
    [InlineData("http://example.com/bucket", "unsupported store")]
    [InlineData("https://s3.amazonaws.com/bucket", "unsupported store")]
    [InlineData("gs://bucket", "unsupported store")]
    [InlineData("s3", "names no bucket")]
    [InlineData("s3://", "names no bucket")]
    [InlineData("s3:///prefix", "names no bucket")]
    [InlineData("s3://Upper_Case", "invalid S3 bucket name 'Upper_Case'")]
    [InlineData("s3://ab", "invalid S3 bucket name 'ab'")]
    [InlineData("s3://bucket..dots", "invalid S3 bucket name")]
    [InlineData("s3://192.168.0.1", "invalid S3 bucket name")]
    [InlineData("s3://bucket/a//b", "invalid key prefix 'a//b'")]
    [InlineData("s3://bucket/../up", "invalid key prefix")]
    [InlineData("file://host/path", "file:///absolute/path")]
    public void Other_locations_are_refused_with_a_clear_message(string location, string message)
    {
        var refused = Assert.Throws<ArgumentException>(() => ObjectStores.OpenLocation(location));

        Assert.Contains(message, refused.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("s3://bucket", "names a bucket")]
    [InlineData("ftp://host/x", "unsupported store")]
    public void Other_stores_are_refused_with_a_clear_message(string uri, string message)
    {
        var refused = Assert.Throws<ArgumentException>(() => ObjectStores.OpenProvider(uri));

        Assert.Contains(message, refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bucket_names_are_checked_by_every_provider()
    {
        using var s3 = S3ObjectStoreProvider.ForEndpoint(null, new AnonymousAWSCredentials());

        Assert.Throws<ArgumentException>(() => s3.Bucket("Not_Valid"));
        Assert.Throws<ArgumentException>(() => new LocalFolderStoreProvider("/srv/store").Bucket("../up"));
    }

    [Fact]
    public void A_custom_endpoint_gets_path_style_and_checksums_only_when_required()
    {
        var config = S3ObjectStoreProvider.CreateConfig("http://127.0.0.1:9000");

        Assert.True(config.ForcePathStyle);
        Assert.Equal("http://127.0.0.1:9000/", config.ServiceURL);
        Assert.Equal(RequestChecksumCalculation.WHEN_REQUIRED, config.RequestChecksumCalculation);
        Assert.Equal(ResponseChecksumValidation.WHEN_REQUIRED, config.ResponseChecksumValidation);
        Assert.Equal(0, config.MaxErrorRetry);
        Assert.False(string.IsNullOrEmpty(config.AuthenticationRegion));
    }

    [Fact]
    public void Aws_itself_keeps_virtual_host_addressing_and_gets_a_region()
    {
        var config = S3ObjectStoreProvider.CreateConfig(null);

        Assert.False(config.ForcePathStyle);
        Assert.Null(config.ServiceURL);
        Assert.NotNull(config.RegionEndpoint);
        Assert.Equal(RequestChecksumCalculation.WHEN_REQUIRED, config.RequestChecksumCalculation);
    }

    [Theory]
    [InlineData("localhost:9000")]
    [InlineData("ftp://127.0.0.1")]
    public void A_malformed_endpoint_is_refused(string endpoint)
    {
        Assert.Throws<ArgumentException>(() => S3ObjectStoreProvider.CreateConfig(endpoint));
    }

    [Fact]
    public void The_endpoint_comes_from_AWS_ENDPOINT_URL_S3_before_AWS_ENDPOINT_URL()
    {
        using (new EnvironmentVariables(("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:1001"), ("AWS_ENDPOINT_URL", "http://127.0.0.1:1002")))
        using (var provider = S3ObjectStoreProvider.FromEnvironment())
        {
            Assert.Equal("http://127.0.0.1:1001", provider.Endpoint);
        }

        using (new EnvironmentVariables(("AWS_ENDPOINT_URL_S3", null), ("AWS_ENDPOINT_URL", "http://127.0.0.1:1002")))
        using (var provider = S3ObjectStoreProvider.FromEnvironment())
        {
            Assert.Equal("http://127.0.0.1:1002", provider.Endpoint);
            Assert.Equal("s3 (http://127.0.0.1:1002)", provider.Location);
        }

        using (new EnvironmentVariables(("AWS_ENDPOINT_URL_S3", null), ("AWS_ENDPOINT_URL", null)))
        using (var provider = S3ObjectStoreProvider.FromEnvironment())
        {
            Assert.Null(provider.Endpoint);
            Assert.Equal("s3", provider.Location);
        }
    }

    /// <summary>Sets environment variables for a test and restores them after.</summary>
    private sealed class EnvironmentVariables : IDisposable
    {
        private readonly (string Name, string? Value)[] _saved;

        public EnvironmentVariables(params (string Name, string? Value)[] variables)
        {
            _saved = [.. variables.Select(v => (v.Name, Environment.GetEnvironmentVariable(v.Name)))];
            foreach (var (name, value) in variables)
            {
                Environment.SetEnvironmentVariable(name, value);
            }
        }

        public void Dispose()
        {
            foreach (var (name, value) in _saved)
            {
                Environment.SetEnvironmentVariable(name, value);
            }
        }
    }
}

/// <summary>Tests that read or set process environment variables run alone.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SharedEnvironment
{
    public const string Name = "environment";
}

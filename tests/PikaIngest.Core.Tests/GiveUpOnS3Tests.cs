using System.Net;
using Amazon.Runtime;
using Amazon.S3;
using PikaIngest.Core.Layout;
using PikaIngest.Core.Pipeline;
using PikaIngest.Core.Storage;

namespace PikaIngest.Core.Tests;

/// <summary>What the functions make of a request a real S3 protocol server refuses with 403 (s3rver refuses an access key it does not know).</summary>
public sealed class GiveUpOnS3Tests(S3rverFixture s3rver) : IClassFixture<S3rverFixture>
{
    [Fact]
    public async Task A_refused_request_is_permanent_names_the_object_and_permission_and_without_a_writable_record_is_rethrown()
    {
        var bucket = await s3rver.CreateBucketAsync();
        var store = s3rver.Provider.Bucket(bucket);
        var shard = ObjectLayout.Shard("b1", 1);
        await store.PutBytesAsync(ObjectLayout.Descriptor("b1"), LayoutJson.Serialize(new BatchDescriptor { BatchId = "b1", Shards = 2, Format = "pika-v4", Instances = 1, CreatedAt = DateTimeOffset.UnixEpoch }));
        await store.PutBytesAsync(shard, "{\"key\":\"k\",\"value\":\"v\"}\n"u8.ToArray());
        using var unknownKey = new AmazonS3Client(new BasicAWSCredentials("NOT-A-KEY", "not-the-secret"), S3ObjectStoreProvider.CreateConfig(s3rver.Endpoint));
        var log = new List<string>();
        var stores = new S3ObjectStoreProvider(unknownKey, S3rverFixture.Options);
        var guard = new FailureGuard(stores, log.Add);
        var stage = new SstStage(stores, new SstStageOptions { WorkDirectory = Path.GetTempPath(), Parallelism = 1 }, log.Add);

        var error = await Assert.ThrowsAsync<ObjectStoreAccessDeniedException>(() =>
            guard.RunAsync(new S3ObjectEvent("ObjectCreated:Put", bucket, shard, 0, null), stage.ProcessAsync, reason => new SstStageResult(bucket, shard, SstOutcome.Failed, reason)));

        Assert.Equal(HttpStatusCode.Forbidden, Assert.IsType<AmazonS3Exception>(error.InnerException).StatusCode);
        Assert.True(PermanentFailures.IsPermanent(error));
        Assert.StartsWith($"s3://{bucket}/{shard}: access denied to s3:GetObject", PermanentFailures.Describe(error), StringComparison.Ordinal);
        Assert.Contains(log, l => l.Contains("could not write its failure record", StringComparison.Ordinal) && l.Contains("access denied to s3:", StringComparison.Ordinal));
        Assert.Null(await store.HeadAsync(ObjectLayout.Failed("b1", 1)));
    }
}

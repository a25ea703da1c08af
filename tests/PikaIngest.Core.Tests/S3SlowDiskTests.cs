using System.Security.Cryptography;
using PikaIngest.Core.Storage;

namespace PikaIngest.Core.Tests;

/// <summary>
/// Against an s3rver whose disk reports every write late (<see cref="S3rverFixture(TimeSpan)"/>), as a loaded
/// machine's does: a reply must not go out before its bytes are stored. Stock s3rver 3.7.1 answered a PUT and an
/// uploaded part once its MD5 was computed, with the file's last writes still queued, so the next request saw the
/// object short (tests/s3rver/start.js, fix 2). One attempt per request, so a short read is not hidden by a retry.
/// </summary>
public sealed class S3SlowDiskTests : IAsyncLifetime, IDisposable
{
    private readonly S3rverFixture _s3rver = new(writeDelay: TimeSpan.FromMilliseconds(50));
    private readonly DirectoryInfo _scratch = Directory.CreateTempSubdirectory("pika-slow-disk-");

    public Task InitializeAsync() => _s3rver.InitializeAsync();

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose()
    {
        _s3rver.Dispose();
        _scratch.Delete(recursive: true);
    }

    [Fact]
    public async Task A_put_object_is_whole_for_the_next_request()
    {
        var store = await NewStoreAsync(S3rverFixture.Options);
        var body = RandomNumberGenerator.GetBytes(256 << 10);

        await store.PutBytesAsync("put.bin", body);

        Assert.Equal(body.Length, (await store.HeadAsync("put.bin"))?.Size);
        Assert.Equal(body, await store.GetBytesAsync("put.bin", body.Length));
    }

    [Fact]
    public async Task A_multipart_upload_is_whole_for_the_next_request()
    {
        // Two parts (5 MiB and 64 KiB), the smallest multipart upload S3 allows with more than one part.
        var store = await NewStoreAsync(S3rverFixture.Options with { MultipartThreshold = 0 });
        var path = Path.Combine(_scratch.FullName, "two-parts.bin");
        var body = RandomNumberGenerator.GetBytes((5 << 20) + (64 << 10));
        await File.WriteAllBytesAsync(path, body);

        var info = await store.UploadAsync("two-parts.bin", path);
        var head = await store.HeadAsync("two-parts.bin");
        var copy = await store.DownloadAsync("two-parts.bin", path + ".copy");

        Assert.Equal(body.Length, info.Size);
        Assert.Equal(body.Length, head?.Size);
        Assert.Equal(body.Length, copy.Size);
        Assert.Equal(body, await File.ReadAllBytesAsync(path + ".copy"));
    }

    private async Task<S3ObjectStore> NewStoreAsync(S3StoreOptions options) =>
        new(_s3rver.Client, await _s3rver.CreateBucketAsync(), "", options with { MaxAttempts = 1 });
}

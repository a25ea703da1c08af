using System.Text.Json;
using PikaIngest.Core.Pipeline;
using PikaIngest.Core.Shards;
using PikaIngest.Core.Storage;

namespace PikaIngest.Cli;

/// <summary>Turns expected failures into one clear line on stderr and an exit code, never a stack trace.</summary>
internal static class CliErrors
{
    public const int Ok = 0;

    /// <summary>Some of the work failed (bad shards); the rest was done.</summary>
    public const int PartialFailure = 1;

    /// <summary>Nothing could be done: bad arguments, missing input, unwritable output.</summary>
    public const int Failure = 2;

    public static int Run(Func<int> action) => RunAsync(() => Task.FromResult(action())).GetAwaiter().GetResult();

    public static async Task<int> RunAsync(Func<Task<int>> action)
    {
        try
        {
            return await action().ConfigureAwait(false);
        }
        catch (AggregateException e) when (e.Flatten().InnerExceptions is [var inner] && IsExpected(inner))
        {
            Console.Error.WriteLine($"error: {inner.Message}");
            return Failure;
        }
        catch (Exception e) when (IsExpected(e))
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return Failure;
        }
    }

    /// <summary>Whether <paramref name="e"/> says an object store could not be reached or refused the request.</summary>
    public static bool IsStoreFailure(Exception e) =>
        e is Amazon.Runtime.AmazonServiceException or Amazon.Runtime.AmazonClientException or HttpRequestException or IOException;

    /// <summary>A store failure as one line naming the store.</summary>
    public static IOException StoreUnreachable(string location, Exception e) => new($"store {location} cannot be reached: {e.Message}", e);

    private static bool IsExpected(Exception e) =>
        e is ShardFormatException or FormatException or IOException or UnauthorizedAccessException
            or InvalidDataException or JsonException or ArgumentException or OperationCanceledException
            or ObjectNotFoundException or IngestFailedException or InvalidOperationException or Amazon.Runtime.AmazonServiceException or Amazon.Runtime.AmazonClientException
            or HttpRequestException or TimeoutException;
}

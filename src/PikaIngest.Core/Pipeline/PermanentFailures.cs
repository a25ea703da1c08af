using System.Net;
using Amazon.Runtime;
using PikaIngest.Core.Shards;
using PikaIngest.Core.Storage;

namespace PikaIngest.Core.Pipeline;

/// <summary>
/// The one place that decides which errors a function gives up on. A permanent error cannot be cured by
/// Lambda's retries (bad or damaged data, a request the store refuses for want of a permission): the function
/// writes a failure record for its batch and returns. Anything else (throttling, 5xx, timeouts, connection
/// failures, an INGEST_S3 the node did not answer) is transient and is rethrown: Lambda retries, then the
/// event waits in the on-failure queue.
/// </summary>
public static class PermanentFailures
{
    public static bool IsPermanent(Exception error) => error switch
    {
        OperationCanceledException => false,
        AggregateException aggregate => aggregate.InnerExceptions.Count > 0 && aggregate.InnerExceptions.All(IsPermanent),
        _ when IsAccessDenied(error) => true,

        // A damaged, truncated or oversized object (run blocks and indexes are checksummed, records are versioned
        // JSON) reads the same on every attempt; the stages name the object in the message.
        InvalidDataException or FormatException or ShardFormatException => true,
        AmazonServiceException { ErrorCode: "NoSuchBucket" } => true,
        _ => false,
    };

    /// <summary>
    /// A refusal for want of a permission anywhere in the chain: the stores' own <see cref="ObjectStoreAccessDeniedException"/>,
    /// or an SDK 403 that reached here some other way. S3 answers 403 also for a missing key when the caller lacks
    /// s3:ListBucket, where 404 was expected (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html, "Permissions").
    /// </summary>
    public static bool IsAccessDenied(Exception error)
    {
        for (var current = error; current is not null; current = current.InnerException)
        {
            if (current is ObjectStoreAccessDeniedException or UnauthorizedAccessException
                or AmazonServiceException { StatusCode: HttpStatusCode.Forbidden }
                or AmazonServiceException { ErrorCode: "AccessDenied" or "AllAccessDisabled" or "InvalidAccessKeyId" or "SignatureDoesNotMatch" })
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// One line for the failure record. The stores name the object and the permission on a refusal
    /// (<see cref="ObjectStoreAccessDeniedException"/>), and the stages name the object in their own errors.
    /// </summary>
    public static string Describe(Exception error) => IsAccessDenied(error) && error is not ObjectStoreAccessDeniedException
        ? $"access denied: {error.Message}"
        : error.Message;
}

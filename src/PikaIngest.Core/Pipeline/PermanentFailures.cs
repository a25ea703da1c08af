using System.Net;
using Amazon.Runtime;
using PikaIngest.Core.Shards;

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
    /// <summary>Exception.Data entries <see cref="OperationNamingStore"/> adds: the request and object a store error came from.</summary>
    internal const string OperationData = "pika-ingest.operation";

    internal const string ObjectData = "pika-ingest.object";

    internal const string PermissionData = "pika-ingest.permission";

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
    /// A refusal for want of a permission anywhere in the chain (an access-denied type of the store keeps the SDK's
    /// exception inside). S3 answers 403 also for a missing key when the caller lacks s3:ListBucket, where 404 was expected
    /// (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html, "Permissions").
    /// </summary>
    public static bool IsAccessDenied(Exception error)
    {
        for (var current = error; current is not null; current = current.InnerException)
        {
            if (current is UnauthorizedAccessException
                or AmazonServiceException { StatusCode: HttpStatusCode.Forbidden }
                or AmazonServiceException { ErrorCode: "AccessDenied" or "AllAccessDisabled" or "InvalidAccessKeyId" or "SignatureDoesNotMatch" })
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>One line naming the request, the object and, for a refusal, the permission it needs.</summary>
    public static string Describe(Exception error)
    {
        var operation = error.Data[OperationData] as string;
        var target = error.Data[ObjectData] as string;
        var request = operation is null ? "" : $"{operation} {target}";
        if (IsAccessDenied(error))
        {
            var permission = error.Data[PermissionData] as string;
            var needs = permission is null ? "" : $" (needs {permission}{(operation is "GET" or "HEAD" ? "; without s3:ListBucket a missing key is refused with 403 instead of 404" : "")})";
            return $"access denied: {(request.Length > 0 ? request : "a store request")}{needs}: {error.Message}";
        }

        // The stages' own messages already name the object; say which request met it only when they do not.
        return request.Length > 0 && target is not null && !error.Message.Contains(target, StringComparison.Ordinal)
            ? $"{request}: {error.Message}"
            : error.Message;
    }
}

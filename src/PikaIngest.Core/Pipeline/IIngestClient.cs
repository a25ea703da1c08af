namespace PikaIngest.Core.Pipeline;

/// <summary>The node refused or failed an ingest (its <c>-ERR</c> reply), or did not answer in time.</summary>
public sealed class IngestFailedException : Exception
{
    public IngestFailedException(string message)
        : base(message)
    {
    }

    public IngestFailedException()
        : this("INGEST_S3 failed")
    {
    }

    public IngestFailedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>Sends <c>INGEST_S3 &lt;bucket&gt; &lt;manifest-key&gt;</c> to the Pika master and waits for its reply.</summary>
public interface IIngestClient
{
    /// <summary>Returns the node's status reply (e.g. "OK"); throws <see cref="IngestFailedException"/> on an error reply or timeout.</summary>
    Task<string> IngestAsync(string bucket, string manifestKey, CancellationToken cancellation = default);
}

namespace PikaIngest.Core.Shards;

/// <summary>Bad shard content, with the file and the 1-based line it was found on.</summary>
public sealed class ShardFormatException : Exception
{
    public ShardFormatException(string source, long line, string reason)
        : base(line > 0 ? $"{source}:{line}: {reason}" : $"{source}: {reason}")
    {
        Source = source;
        Line = line;
        Reason = reason;
    }

    public ShardFormatException()
        : this("shard", 0, "invalid shard")
    {
    }

    public ShardFormatException(string message)
        : this("shard", 0, message)
    {
    }

    public ShardFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
        Source = "shard";
        Reason = message;
    }

    public new string Source { get; }

    /// <summary>1-based line number, or 0 when the problem is not tied to a line.</summary>
    public long Line { get; }

    public string Reason { get; }
}

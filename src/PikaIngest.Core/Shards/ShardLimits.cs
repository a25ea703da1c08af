namespace PikaIngest.Core.Shards;

/// <summary>Hard limits on shard content (Redis/Pika accept no larger values).</summary>
public static class ShardLimits
{
    public const int MaxKeyBytes = 64 * 1024;
    public const int MaxValueBytes = 512 * 1024 * 1024;

    /// <summary>9999-12-31T23:59:59Z: anything later is almost certainly milliseconds given as seconds.</summary>
    public const long MaxExpireUnixSeconds = 253_402_300_799;
}

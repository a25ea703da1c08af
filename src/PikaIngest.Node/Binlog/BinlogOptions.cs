namespace PikaIngest.Node.Binlog;

internal enum BinlogSyncPolicy
{
    /// <summary>Every append is fsynced, with the manifest, before it returns.</summary>
    Always,

    /// <summary>A background timer fsyncs data and manifest when there is something new (Redis' appendfsync everysec).</summary>
    EverySecond,
}

internal sealed class BinlogOptions
{
    /// <summary>Pika's default <c>binlog-file-size</c>: an item starts a new file once the current one exceeds it.</summary>
    public const long DefaultFileSizeLimit = 100L * 1024 * 1024;

    public long FileSizeLimit { get; init; } = DefaultFileSizeLimit;

    public BinlogSyncPolicy Sync { get; init; } = BinlogSyncPolicy.EverySecond;

    /// <summary>Period of the <see cref="BinlogSyncPolicy.EverySecond"/> timer; shorter only in tests.</summary>
    public TimeSpan SyncInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Source of the Unix times written into fragment and item headers.</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;
}

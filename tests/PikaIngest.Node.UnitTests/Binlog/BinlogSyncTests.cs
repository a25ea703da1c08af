using PikaIngest.Node.Binlog;
using static PikaIngest.Node.UnitTests.Binlog.BinlogTestSupport;

namespace PikaIngest.Node.UnitTests.Binlog;

public sealed class BinlogSyncTests
{
    [Fact]
    public void With_Always_the_manifest_on_disk_has_the_new_position_when_Append_returns()
    {
        using var dir = new TempBinlogDirectory();
        using var writer = BinlogWriter.Open(dir.Path, Options(BinlogSyncPolicy.Always, fileSizeLimit: 200));
        for (var i = 0; i < 5; i++)
        {
            writer.Append(BinlogItemType.Command, Content(100, i));
            Assert.Equal(new BinlogManifest(writer.Position.FileNum, writer.Position.Offset, (ulong)i + 1, 0), ReadManifest(dir.Manifest));
        }

        writer.Term = 9;
        Assert.Equal(9U, ReadManifest(dir.Manifest).Term);
    }

    [Fact]
    public void With_EverySecond_the_manifest_waits_for_the_timer_or_Flush()
    {
        using var dir = new TempBinlogDirectory();
        var options = new BinlogOptions { Sync = BinlogSyncPolicy.EverySecond, SyncInterval = TimeSpan.FromHours(1) };
        using var writer = BinlogWriter.Open(dir.Path, options);
        writer.Append(BinlogItemType.Command, Content(10, 1));
        Assert.Equal(new BinlogManifest(0, 0, 0, 0), ReadManifest(dir.Manifest));

        writer.Flush();
        Assert.Equal(new BinlogManifest(0, writer.Position.Offset, 1, 0), ReadManifest(dir.Manifest));
    }

    [Fact]
    public void With_EverySecond_the_timer_brings_the_manifest_up_to_date()
    {
        using var dir = new TempBinlogDirectory();
        var options = new BinlogOptions { Sync = BinlogSyncPolicy.EverySecond, SyncInterval = TimeSpan.FromMilliseconds(20) };
        using var writer = BinlogWriter.Open(dir.Path, options);
        for (var i = 0; i < 3; i++)
        {
            writer.Append(BinlogItemType.Command, Content(10, i));
        }

        writer.Publish();
        var expected = new BinlogManifest(0, writer.Position.Offset, 3, 0);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (ReadManifest(dir.Manifest) != expected)
        {
            Assert.True(DateTime.UtcNow < deadline, "the manifest was not synced");
            Thread.Sleep(10);
        }
    }

    [Fact]
    public void Items_reach_readers_and_the_manifest_only_once_published()
    {
        using var dir = new TempBinlogDirectory();
        var options = new BinlogOptions { Sync = BinlogSyncPolicy.EverySecond, SyncInterval = TimeSpan.FromHours(1) };
        using var writer = BinlogWriter.Open(dir.Path, options);
        using var reader = BinlogReader.Open(dir.Path, writer.Position);
        writer.Append(BinlogItemType.Command, Content(10, 1));
        writer.Append(BinlogItemType.Command, Content(10, 2));

        Assert.Equal(BinlogReadStatus.End, reader.TryRead(out _));
        Assert.Equal(new BinlogManifest(0, 0, 0, 0), ReadManifest(dir.Manifest));

        writer.Publish();
        Assert.Equal(BinlogReadStatus.Item, reader.TryRead(out var first));
        Assert.Equal(1UL, first.LogicId);
        Assert.Equal(BinlogReadStatus.Item, reader.TryRead(out _));
        writer.Flush();
        Assert.Equal(new BinlogManifest(0, writer.Position.Offset, 2, 0), ReadManifest(dir.Manifest));
    }

    [Fact]
    public void Dispose_writes_the_manifest()
    {
        using var dir = new TempBinlogDirectory();
        var options = new BinlogOptions { Sync = BinlogSyncPolicy.EverySecond, SyncInterval = TimeSpan.FromHours(1) };
        BinlogPosition end;
        using (var writer = BinlogWriter.Open(dir.Path, options))
        {
            writer.Term = 2;
            writer.Append(BinlogItemType.IngestSst, Content(10, 1));
            end = writer.Position;
        }

        Assert.Equal(new BinlogManifest(0, end.Offset, 1, 2), ReadManifest(dir.Manifest));
    }
}

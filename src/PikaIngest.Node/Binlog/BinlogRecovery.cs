using Microsoft.Win32.SafeHandles;

namespace PikaIngest.Node.Binlog;

/// <summary>Where a reopened binlog continues, once its torn tail is gone.</summary>
internal sealed record BinlogRecoveryResult(uint FileNum, long Offset, ulong LastLogicId, uint Term, long TruncatedBytes);

/// <summary>
/// Brings a binlog directory back to a state that ends with a complete item. The data files are the truth; the
/// manifest only says where scanning may start, because with <see cref="BinlogSyncPolicy.EverySecond"/> it lags.
/// </summary>
internal static class BinlogRecovery
{
    public static BinlogRecoveryResult Run(string directory, Action<string>? log)
    {
        var files = BinlogFiles.List(directory);
        var manifest = BinlogManifest.TryLoad(BinlogFiles.ManifestPath(directory));
        if (files.Count == 0)
        {
            if (manifest is not { } known)
            {
                return new BinlogRecoveryResult(0, 0, 0, 0, 0);
            }

            if (known.Offset != 0)
            {
                log?.Invoke($"binlog: manifest says {known.Position} but there is no binlog file; starting at {known.FileNum}:0");
            }

            return new BinlogRecoveryResult(known.FileNum, 0, known.LogicId, known.Term, 0);
        }

        uint startFile;
        long startOffset;
        if (manifest is { } m && files.Contains(m.FileNum))
        {
            startFile = m.FileNum;
            startOffset = (long)Math.Min(m.Offset, long.MaxValue);
        }
        else
        {
            startFile = files[^1];
            startOffset = 0;
            log?.Invoke(manifest is { } stale
                ? $"binlog: manifest names {BinlogFiles.Prefix}{stale.FileNum}, which does not exist; scanning {BinlogFiles.Prefix}{startFile} from its start"
                : $"binlog: manifest missing or torn; scanning {BinlogFiles.Prefix}{startFile} from its start");
        }

        ItemSummary? last = null;
        long end = 0;
        long truncated = 0;
        foreach (var fileNum in files.Where(f => f >= startFile))
        {
            using var handle = File.OpenHandle(BinlogFiles.DataPath(directory, fileNum), FileMode.Open, FileAccess.ReadWrite, FileShare.Read);
            var length = RandomAccess.GetLength(handle);
            var from = fileNum == startFile ? startOffset : 0;
            var scan = Scan(handle, fileNum, from, length);
            if (from > 0 && scan.Items == 0 && scan.End != length)
            {
                // The manifest only ever holds item boundaries, but if nothing readable follows it, it may be
                // wrong too (beyond the end, or not a boundary): only a scan from the start can tell.
                scan = Scan(handle, fileNum, 0, length);
                if (scan.End != from)
                {
                    log?.Invoke($"binlog: manifest position {fileNum}:{from} disagrees with {BinlogFiles.Prefix}{fileNum} ({length} bytes); scanned it from the start");
                }
            }

            if (scan.End < length)
            {
                RandomAccess.SetLength(handle, scan.End);
                RandomAccess.FlushToDisk(handle);
                truncated += length - scan.End;
                log?.Invoke($"binlog: truncated {length - scan.End} bytes of torn tail at {fileNum}:{scan.End} ({scan.StopReason})");
            }

            last = scan.Last ?? last;
            end = scan.End;
        }

        last ??= manifest is null ? FindLastItemBefore(directory, files, startFile) : null;

        // The larger value wins: a logic id or term a replica may have seen is never handed out again.
        var logicId = Math.Max(manifest?.LogicId ?? 0, last?.LogicId ?? 0);
        var term = Math.Max(manifest?.Term ?? 0, last?.Term ?? 0);
        return new BinlogRecoveryResult(files[^1], end, logicId, term, truncated);
    }

    private static ScanResult Scan(SafeFileHandle handle, uint fileNum, long from, long length)
    {
        if (from > length)
        {
            return new ScanResult(from, 0, null, "position beyond the end of the file");
        }

        var cursor = new BinlogFileCursor(handle, fileNum, from);
        var items = 0;
        ItemSummary? last = null;
        while (true)
        {
            var status = cursor.TryRead(out var item, out var error);
            if (status != BinlogReadStatus.Item)
            {
                return new ScanResult(cursor.Offset, items, last, error ?? "incomplete item");
            }

            items++;
            last = new ItemSummary(item.LogicId, item.TermId);
        }
    }

    /// <summary>Without a manifest and with no item in the newest files, the logic id can only come from an older file.</summary>
    private static ItemSummary? FindLastItemBefore(string directory, List<uint> files, uint fileNum)
    {
        foreach (var older in files.Where(f => f < fileNum).Reverse())
        {
            using var handle = File.OpenHandle(BinlogFiles.DataPath(directory, older), FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            if (Scan(handle, older, 0, RandomAccess.GetLength(handle)).Last is { } last)
            {
                return last;
            }
        }

        return null;
    }

    private readonly record struct ItemSummary(ulong LogicId, uint Term);

    private readonly record struct ScanResult(long End, int Items, ItemSummary? Last, string StopReason);
}

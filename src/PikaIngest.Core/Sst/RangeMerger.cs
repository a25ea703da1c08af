using PikaIngest.Core.Formats;
using PikaIngest.Core.Layout;
using PikaIngest.Core.Storage;

namespace PikaIngest.Core.Sst;

/// <summary>What a merge wrote: the range's SST (under the output root, at its key) and how many records went in.</summary>
public sealed record RangeMergeResult(SstFileEntry File, long RecordsIn)
{
    /// <summary>The merge record of this result for <paramref name="task"/>, whose stored bytes hash to <paramref name="taskSha256"/>.</summary>
    public MergedRecord ToRecord(MergeTask task, string taskSha256, TimeSpan elapsed) => new()
    {
        BatchId = task.BatchId,
        Instance = task.Instance,
        Range = task.Range,
        TaskSha256 = taskSha256,
        RecordsIn = RecordsIn,
        ElapsedMs = (long)elapsed.TotalMilliseconds,
        File = File,
    };
}

/// <summary>
/// The merge of one task: for every run of the task, one range GET of its index and one of the
/// blocks that can hold the task's key range; then a k-way merge of those slices in which the
/// record of the later shard wins, written as one SST of the target format.
/// </summary>
public static class RangeMerger
{
    /// <summary>Range GETs in flight at once.</summary>
    public const int DefaultFetchParallelism = 16;

    /// <summary>Merges <paramref name="task"/> reading its runs from <paramref name="store"/>; the SST lands at <c>outputRoot/sst/…</c>, committed.</summary>
    /// <exception cref="InvalidDataException">A run is damaged, truncated or not the recorded one, or the task is inconsistent.</exception>
    /// <exception cref="ObjectNotFoundException">A run object is missing.</exception>
    public static async Task<RangeMergeResult> MergeAsync(MergeTask task, IObjectStore store, string outputRoot, int fetchParallelism = DefaultFetchParallelism, CancellationToken cancellation = default)
    {
        var name = ObjectLayout.TaskName(task.Instance, task.Range);
        var lower = Bound(task.LowerKey, name);
        var upper = Bound(task.UpperKey, name);
        if (!TargetFormats.TryParse(task.Format, out var format))
        {
            throw new InvalidDataException($"task {name}: unknown format '{task.Format}'");
        }

        var sst = new SstOptions { Compression = SstOptions.ParseCompression(task.Compression), FormatVersion = task.SstFormatVersion };
        var slices = new RunSliceReader[task.Runs.Count];
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = fetchParallelism, CancellationToken = cancellation };
        await Parallel.ForEachAsync(Enumerable.Range(0, task.Runs.Count), parallel, async (i, token) =>
        {
            var run = task.Runs[i];
            var where = $"{store.Location}/{run.Key}";
            if (!RunChecksums.TryParse(run.IndexChecksum, out var checksum) || run.IndexLength is < 4 or > RunFormat.MaxIndexBytes || run.IndexOffset < RunFormat.HeaderLength)
            {
                throw new InvalidDataException($"task {name}: run {run.Key} has an invalid index position or checksum");
            }

            var index = RunIndex.Parse(await store.GetRangeAsync(run.Key, run.IndexOffset, run.IndexLength, token).ConfigureAwait(false), checksum, run.IndexOffset, where);
            var (first, count) = index.BlocksFor(lower, upper);
            var bytes = count == 0 ? [] : await store.GetRangeAsync(
                run.Key, index.Blocks[first].Offset, checked((int)(index.Blocks[first + count - 1].Offset + index.Blocks[first + count - 1].StoredLength - index.Blocks[first].Offset)), token).ConfigureAwait(false);
            slices[i] = new RunSliceReader(where, bytes, index.Blocks, first, count, lower, upper, run.Shard);
        }).ConfigureAwait(false);

        using var merged = new MergedRuns(slices);
        using var output = new SstOutput(
            outputRoot, ObjectLayout.RangeSstFile(task.BatchId, task.Instance, task.Range), task.Instance, format, sst, task.CreatedAt.ToUnixTimeMilliseconds(), $"merge task {name}",
            pipelined: Environment.ProcessorCount >= 2, progress: _ => { });
        output.Write(merged.CopyTo);
        output.Commit();
        return new RangeMergeResult(output.Entry with { Range = task.Range }, slices.Sum(s => s.RecordsInRange));
    }

    private static byte[]? Bound(string? base64, string task)
    {
        try
        {
            return base64 is null ? null : Convert.FromBase64String(base64);
        }
        catch (FormatException)
        {
            throw new InvalidDataException($"task {task}: key bound '{base64}' is not base64");
        }
    }
}

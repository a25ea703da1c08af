using System.Security.Cryptography;
using PikaIngest.Core.Layout;

namespace PikaIngest.Core.Pipeline;

/// <summary>A merge task object ready to store: its key, exact bytes, and what they say.</summary>
public sealed record PlannedTaskObject(string Key, byte[] Body, MergeTask Task);

/// <summary>
/// Chooses the key ranges of a multi-shard batch: per instance, the runs' key samples (each point
/// weighted by the compressed bytes it stands for) are put in key order and cut into ranges of
/// about the target size. A pure function of the descriptor and the mapped records, so every
/// invocation that plans the batch writes the same plan and tasks, byte for byte.
/// </summary>
public static class MergePlanner
{
    /// <summary>Smallest target accepted: ranges much smaller than a few run blocks cost more GETs than they save.</summary>
    public const long MinTargetFileBytes = 64 << 10;

    public static (MergePlan Plan, IReadOnlyList<PlannedTaskObject> Tasks) Plan(BatchDescriptor descriptor, IEnumerable<MappedRecord> mapped)
    {
        var records = mapped.OrderBy(m => m.Shard).ToList();
        Check(descriptor, records);
        var target = descriptor.TargetFileBytes ?? BatchDescriptor.DefaultTargetFileBytes;
        if (target < MinTargetFileBytes)
        {
            throw new InvalidDataException($"batch {descriptor.BatchId}: targetFileBytes {target} is below {MinTargetFileBytes}");
        }

        var tasks = new List<PlannedTaskObject>();
        for (var instance = 0; instance < descriptor.Instances; instance++)
        {
            var runs = records.SelectMany(r => r.Runs).Where(r => r.Instance == instance).OrderBy(r => r.Shard).ToList();
            if (runs.Count > 0)
            {
                tasks.AddRange(PlanInstance(descriptor, instance, runs, target));
            }
        }

        var plan = new MergePlan
        {
            BatchId = descriptor.BatchId,
            Shards = descriptor.Shards,
            TargetFileBytes = target,
            Tasks = [.. tasks.Select(t => new PlannedTask(t.Task.Instance, t.Task.Range, t.Key, Convert.ToHexStringLower(SHA256.HashData(t.Body)), t.Task.EstimatedBytes))],
        };
        return (plan, tasks);
    }

    private static void Check(BatchDescriptor descriptor, List<MappedRecord> records)
    {
        if (!records.Select(r => r.Shard).SequenceEqual(Enumerable.Range(1, descriptor.Shards)))
        {
            var missing = Enumerable.Range(1, descriptor.Shards).Except(records.Select(r => r.Shard)).Take(10);
            throw new InvalidDataException($"batch {descriptor.BatchId}: mapped records do not cover shards 1..{descriptor.Shards} exactly (missing: {string.Join(", ", missing)})");
        }

        foreach (var record in records)
        {
            if (record.BatchId != descriptor.BatchId)
            {
                throw new InvalidDataException($"batch {descriptor.BatchId}: the mapped record of shard {record.Shard} names batch '{record.BatchId}'");
            }

            foreach (var run in record.Runs)
            {
                if (run.Shard != record.Shard || run.Instance < 0 || run.Instance >= descriptor.Instances || run.Key != ObjectLayout.RunFile(descriptor.BatchId, run.Shard, run.Instance)
                    || run.Records <= 0 || run.Samples.Count == 0 || run.Samples.Count > RunFileEntry.MaxSamples)
                {
                    throw new InvalidDataException($"batch {descriptor.BatchId}: the mapped record of shard {record.Shard} lists an inconsistent run {run.Key}");
                }
            }
        }
    }

    private static IEnumerable<PlannedTaskObject> PlanInstance(BatchDescriptor descriptor, int instance, List<RunFileEntry> runs, long target)
    {
        var samples = runs
            .SelectMany(run => run.Samples.Select(s => (Key: Convert.FromBase64String(s.Key), s.Bytes, run.Shard)))
            .ToList();
        samples.Sort((a, b) =>
        {
            var order = a.Key.AsSpan().SequenceCompareTo(b.Key);
            return order != 0 ? order : a.Shard.CompareTo(b.Shard);
        });
        var total = samples.Sum(s => s.Bytes);
        var wanted = (int)Math.Clamp((total + target - 1) / target, 1, samples.Count);

        // Cut before the sample at which the bytes so far reach the next multiple of total/wanted; a cut key
        // must be above the smallest key (the first range starts unbounded) and above the previous cut.
        var cuts = new List<byte[]>();
        var before = new List<long> { 0 };
        long seen = 0;
        foreach (var (key, bytes, _) in samples)
        {
            if (cuts.Count < wanted - 1 && seen >= (cuts.Count + 1) * total / wanted
                && key.AsSpan().SequenceCompareTo(cuts.Count == 0 ? samples[0].Key : cuts[^1]) > 0)
            {
                cuts.Add(key);
                before.Add(seen);
            }

            seen += bytes;
        }

        before.Add(total);
        for (var range = 1; range <= cuts.Count + 1; range++)
        {
            var lower = range == 1 ? null : cuts[range - 2];
            var upper = range == cuts.Count + 1 ? null : cuts[range - 1];
            var task = new MergeTask
            {
                BatchId = descriptor.BatchId,
                Format = descriptor.Format,
                Instances = descriptor.Instances,
                Compression = descriptor.Compression,
                SstFormatVersion = descriptor.SstFormatVersion,
                CreatedAt = descriptor.CreatedAt,
                Instance = instance,
                Range = range,
                LowerKey = lower is null ? null : Convert.ToBase64String(lower),
                UpperKey = upper is null ? null : Convert.ToBase64String(upper),
                EstimatedBytes = before[range] - before[range - 1],
                Runs = [.. runs.Where(run => Meets(run, lower, upper)).Select(run => new MergeTaskRun
                {
                    Key = run.Key,
                    Shard = run.Shard,
                    Size = run.Size,
                    IndexOffset = run.IndexOffset,
                    IndexLength = run.IndexLength,
                    IndexChecksum = run.IndexChecksum,
                })],
            };
            yield return new PlannedTaskObject(ObjectLayout.Task(descriptor.BatchId, instance, range), LayoutJson.Serialize(task), task);
        }
    }

    /// <summary>Whether the run's keys [smallest, largest] meet [lower, upper).</summary>
    private static bool Meets(RunFileEntry run, byte[]? lower, byte[]? upper) =>
        (upper is null || Convert.FromBase64String(run.SmallestKey).AsSpan().SequenceCompareTo(upper) < 0)
        && (lower is null || Convert.FromBase64String(run.LargestKey).AsSpan().SequenceCompareTo(lower) >= 0);
}

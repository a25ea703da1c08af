using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.Security.Cryptography;
using PikaIngest.Core.Formats;
using PikaIngest.Core.Layout;
using PikaIngest.Core.Shards;

namespace PikaIngest.Core.Sst;

/// <summary>What to convert and how.</summary>
public sealed record ConvertRequest
{
    public required string ShardPath { get; init; }

    /// <summary>How errors name the shard (its object key or path).</summary>
    public required string SourceName { get; init; }

    public required string BatchId { get; init; }

    public required int Seq { get; init; }

    public TargetFormat Format { get; init; } = TargetFormat.PikaV4;

    public int Instances { get; init; } = 3;

    public SstOptions Sst { get; init; } = new();

    /// <summary>Creation time written into pika-v4 values: the batch's, so every converter of it writes the same bytes.</summary>
    public long CreatedUnixMs { get; init; }

    /// <summary>Folder that receives <c>sst/&lt;batch&gt;/&lt;seq&gt;-&lt;i&gt;.sst</c>.</summary>
    public required string OutputRoot { get; init; }

    /// <summary>Memory the conversion may use; a shard that would need more is sorted externally.</summary>
    public long MemoryBudget { get; init; } = ShardConverter.DefaultMemoryBudget;

    public int Parallelism { get; init; } = 1;

    /// <summary>Where sorted runs are spilled (default: the system temp folder).</summary>
    public string? TempDirectory { get; init; }

    /// <summary>Reports progress in input bytes (reading counts half, writing the other half).</summary>
    public Action<long>? Progress { get; init; }

    /// <summary>
    /// Sorted run objects (<c>runs/&lt;batch&gt;/&lt;seq&gt;-&lt;i&gt;.run</c>, the map stage of a multi-shard batch)
    /// instead of SSTs.
    /// </summary>
    public bool WriteRuns { get; init; }
}

/// <summary>What a conversion wrote: SST files, or (<see cref="ConvertRequest.WriteRuns"/>) sorted runs.</summary>
public sealed record ConvertResult(long RecordsRead, long UniqueKeys, IReadOnlyList<SstFileEntry> Files, IReadOnlyList<RunFileEntry> Runs, TimeSpan Elapsed, bool ExternalSort);

/// <summary>
/// Shard → one file per instance that has keys, an SST or (the map of a multi-shard batch) a sorted
/// run object: parse, route each key to its instance, sort by key keeping the latest record of
/// each key, write. Shards whose in-memory footprint
/// would exceed the memory budget are sorted externally (sorted runs spilled to disk, then a
/// k-way merge); both paths write the same records. Files appear under their final names only
/// when every file of the shard is complete.
/// </summary>
public static class ShardConverter
{
    public const long DefaultMemoryBudget = 2L << 30;

    /// <summary>
    /// In-memory bytes per input byte: the input itself, ~32 B of record reference per ~60 B line,
    /// ordinals and sort digits. Measured peaks stay below this on the mock data.
    /// </summary>
    private const double MemoryPerInputByte = 2.2;

    public static ConvertResult Convert(ConvertRequest request)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(request.Instances, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(request.Parallelism, 1);
        var stopwatch = Stopwatch.StartNew();
        var length = SourceLength(request);
        var external = length * MemoryPerInputByte > request.MemoryBudget;
        try
        {
            var (read, unique, outputs) = external ? ConvertExternal(request, length) : ConvertInMemory(request, length);
            return new ConvertResult(read, unique, [.. outputs.OfType<SstOutput>().Select(o => o.Entry with { Shard = request.Seq })], [.. outputs.OfType<RunOutput>().Select(o => o.Entry)], stopwatch.Elapsed, external);
        }
        catch (AggregateException e) when (e.Flatten().InnerExceptions.Count > 0)
        {
            // Callers handle ShardFormatException and I/O errors; report the first, not a wrapper.
            var inner = e.Flatten().InnerExceptions;
            ExceptionDispatchInfo.Capture(inner.FirstOrDefault(x => x is ShardFormatException) ?? inner[0]).Throw();
            throw;
        }
    }

    private static long SourceLength(ConvertRequest request)
    {
        try
        {
            return new FileInfo(request.ShardPath).Length;
        }
        catch (FileNotFoundException)
        {
            throw new ShardFormatException(request.SourceName, 0, "no such file");
        }
    }

    private static (long Read, long Unique, List<InstanceOutput> Outputs) ConvertInMemory(ConvertRequest request, long length)
    {
        using var store = ShardReader.ReadAll(request.ShardPath, request.SourceName, request.Parallelism, bytes => request.Progress?.Invoke(bytes / 2));
        var partitions = Partition(store, request.Instances, request.Parallelism);
        var outputs = new InstanceOutput?[request.Instances];
        try
        {
            Parallel.For(0, request.Instances, new ParallelOptions { MaxDegreeOfParallelism = request.Parallelism }, instance =>
            {
                var ordinals = partitions[instance];
                if (ordinals.Length == 0)
                {
                    return;
                }

                var unique = RecordSorter.SortUnique(store, ordinals, ordinals.Length);
                outputs[instance] = WriteInstance(request, instance, Pipelined(request, partitions), sink => SortedRecords.Copy(store, ordinals, unique, sink), records => request.Progress?.Invoke((long)(length / 2.0 * records / store.Count)));
            });
            return (store.Count, outputs.Sum(o => o?.Entries ?? 0), Publish(outputs));
        }
        finally
        {
            foreach (var output in outputs)
            {
                output?.Dispose();
            }
        }
    }

    /// <summary>A second thread per instance pays off only when the instances alone cannot use the cores.</summary>
    private static bool Pipelined(ConvertRequest request, uint[][] partitions) =>
        request.Parallelism >= 2 * partitions.Count(p => p.Length > 0);

    /// <summary>Ordinals of each instance's records, ascending (input order).</summary>
    private static uint[][] Partition(RecordStore store, int instances, int parallelism)
    {
        var count = store.Count;
        if (instances == 1)
        {
            var all = GC.AllocateUninitializedArray<uint>(count);
            for (var i = 0; i < count; i++)
            {
                all[i] = (uint)i;
            }

            return [all];
        }

        var routes = GC.AllocateUninitializedArray<ushort>(count);
        Parallel.For(0, parallelism, new ParallelOptions { MaxDegreeOfParallelism = parallelism }, part =>
        {
            var from = (int)((long)count * part / parallelism);
            var to = (int)((long)count * (part + 1) / parallelism);
            for (var i = from; i < to; i++)
            {
                routes[i] = (ushort)InstanceRouter.Instance(store.Key(i), instances);
            }
        });

        var sizes = new int[instances];
        foreach (var route in routes)
        {
            sizes[route]++;
        }

        var partitions = new uint[instances][];
        for (var i = 0; i < instances; i++)
        {
            partitions[i] = GC.AllocateUninitializedArray<uint>(sizes[i]);
        }

        var fill = new int[instances];
        for (var i = 0; i < count; i++)
        {
            var route = routes[i];
            partitions[route][fill[route]++] = (uint)i;
        }

        return partitions;
    }

    private static (long Read, long Unique, List<InstanceOutput> Outputs) ConvertExternal(ConvertRequest request, long length)
    {
        var spill = Path.Combine(request.TempDirectory ?? Path.GetTempPath(), $"pika-ingest-runs-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(spill);
        var runs = Enumerable.Range(0, request.Instances).Select(_ => new List<string>()).ToArray();
        var runRecords = new long[request.Instances];
        var outputs = new InstanceOutput?[request.Instances];
        long read = 0;
        try
        {
            var chunkBytes = Math.Max(1 << 20, (long)(request.MemoryBudget / MemoryPerInputByte));
            var chunk = 0;
            foreach (var store in ShardReader.ReadChunks(request.ShardPath, request.SourceName, chunkBytes, request.Parallelism, bytes => request.Progress?.Invoke(bytes / 2)))
            {
                read += store.Count;
                var partitions = Partition(store, request.Instances, request.Parallelism);
                var order = chunk++;
                Parallel.For(0, request.Instances, new ParallelOptions { MaxDegreeOfParallelism = request.Parallelism }, instance =>
                {
                    var ordinals = partitions[instance];
                    if (ordinals.Length == 0)
                    {
                        return;
                    }

                    var unique = RecordSorter.SortUnique(store, ordinals, ordinals.Length);
                    var path = Path.Combine(spill, $"{order:D6}-{instance}.run");
                    SortedRun.Write(path, store, ordinals, unique);
                    runs[instance].Add(path);
                    runRecords[instance] += unique;
                });
            }

            var total = runRecords.Sum();
            Parallel.For(0, request.Instances, new ParallelOptions { MaxDegreeOfParallelism = request.Parallelism }, instance =>
            {
                if (runs[instance].Count == 0)
                {
                    return;
                }

                using var merged = MergedRuns.OfSpilled(runs[instance]);
                outputs[instance] = WriteInstance(request, instance, request.Parallelism >= 2 * runs.Count(r => r.Count > 0), merged.CopyTo, records => request.Progress?.Invoke((long)(length / 2.0 * records / total)));
            });
            return (read, outputs.Sum(o => o?.Entries ?? 0), Publish(outputs));
        }
        finally
        {
            foreach (var output in outputs)
            {
                output?.Dispose();
            }

            Directory.Delete(spill, recursive: true);
        }
    }

    /// <summary>Writes one instance's file under a temporary name; returns it unpublished, with its facts.</summary>
    private static InstanceOutput WriteInstance(ConvertRequest request, int instance, bool pipelined, Action<IRecordSink> write, Action<long> progress)
    {
        InstanceOutput output = request.WriteRuns ? new RunOutput(request, instance) : new SstOutput(request, instance, pipelined, progress);
        try
        {
            output.Write(write);
            return output;
        }
        catch
        {
            output.Dispose();
            throw;
        }
    }

    private static List<InstanceOutput> Publish(InstanceOutput?[] outputs)
    {
        var published = new List<InstanceOutput>();
        foreach (var output in outputs)
        {
            if (output is not null)
            {
                output.Commit();
                published.Add(output);
            }
        }

        return published;
    }

    public static string Sha256Hex(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
        return System.Convert.ToHexStringLower(SHA256.HashData(file));
    }

    /// <summary>A key as text for messages: printable ASCII as is, otherwise base64.</summary>
    public static string Describe(ReadOnlySpan<byte> key) =>
        key.IndexOfAnyExceptInRange((byte)0x20, (byte)0x7e) < 0 && key.Length <= 200
            ? $"'{System.Text.Encoding.ASCII.GetString(key)}'"
            : $"base64:{System.Convert.ToBase64String(key[..Math.Min(key.Length, 150)])}";
}

using PikaIngest.Core.Formats;
using PikaIngest.Core.Layout;

namespace PikaIngest.Core.Sst;

/// <summary>One output file of a conversion or merge: written under a temporary name, published by <see cref="Commit"/>.</summary>
internal abstract class InstanceOutput : IDisposable
{
    public abstract long Entries { get; }

    /// <summary>Lets <paramref name="write"/> add the records in key order, then completes the file (still temporary).</summary>
    public abstract void Write(Action<IRecordSink> write);

    public abstract void Commit();

    public abstract void Dispose();
}

/// <summary>An SST in the target format; <see cref="Entry"/> describes it (the caller sets its shard or range).</summary>
internal sealed class SstOutput : InstanceOutput
{
    private readonly string _key;
    private readonly int _instance;
    private readonly SstFileBuilder _builder;
    private readonly InstanceWriter _writer;

    /// <param name="sourceName">How errors name the input (a shard, a merge task).</param>
    public SstOutput(string outputRoot, string key, int instance, TargetFormat format, SstOptions sst, long createdUnixMs, string sourceName, bool pipelined, Action<long> progress)
    {
        _key = key;
        _instance = instance;
        var path = Path.Combine(outputRoot, key);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        _builder = new SstFileBuilder(path, sst);
        _writer = new InstanceWriter(_builder, format.Encoding(), createdUnixMs, sourceName, progress, pipelined);
    }

    public SstOutput(ConvertRequest request, int instance, bool pipelined, Action<long> progress)
        : this(request.OutputRoot, ObjectLayout.SstFile(request.BatchId, request.Seq, instance), instance, request.Format, request.Sst, request.CreatedUnixMs, request.SourceName, pipelined, progress)
    {
    }

    public SstFileEntry Entry { get; private set; } = null!;

    public override long Entries => _builder.Entries;

    public override void Write(Action<IRecordSink> write)
    {
        try
        {
            write(_writer);
            _writer.Flush();
            if (_builder.Entries == 0)
            {
                throw new InvalidDataException($"{_key}: no records to write (RocksDB cannot make an empty SST)");
            }
        }
        catch
        {
            // Never dispose the builder while RocksDB is still writing on the other thread.
            _writer.Abandon();
            throw;
        }

        _builder.Finish();
        Entry = new SstFileEntry
        {
            Key = _key,
            Instance = _instance,
            Size = new FileInfo(_builder.TemporaryPath).Length,
            Sha256 = ShardConverter.Sha256Hex(_builder.TemporaryPath),
            Entries = _builder.Entries,
            SmallestKey = Convert.ToBase64String(_writer.Smallest ?? []),
            LargestKey = Convert.ToBase64String(_writer.Largest),
        };
    }

    public override void Commit() => _builder.Commit();

    public override void Dispose() => _builder.Dispose();
}

/// <summary>A sorted run object of the map stage, with its key sample.</summary>
internal sealed class RunOutput : InstanceOutput
{
    private readonly ConvertRequest _request;
    private readonly int _instance;
    private readonly RunWriter _writer;

    public RunOutput(ConvertRequest request, int instance)
    {
        _request = request;
        _instance = instance;
        _writer = new RunWriter(Path.Combine(request.OutputRoot, ObjectLayout.RunFile(request.BatchId, request.Seq, instance)));
    }

    public RunFileEntry Entry { get; private set; } = null!;

    public override long Entries => _writer.Records;

    public override void Write(Action<IRecordSink> write)
    {
        write(_writer);
        var summary = _writer.Finish();
        Entry = new RunFileEntry
        {
            Key = ObjectLayout.RunFile(_request.BatchId, _request.Seq, _instance),
            Shard = _request.Seq,
            Instance = _instance,
            Size = summary.Size,
            Records = summary.Records,
            SmallestKey = Convert.ToBase64String(summary.Smallest),
            LargestKey = Convert.ToBase64String(summary.Largest),
            IndexOffset = summary.IndexOffset,
            IndexLength = summary.IndexLength,
            IndexChecksum = RunChecksums.Format(summary.IndexChecksum),
            Samples = Sample(summary.Blocks),
        };
    }

    public override void Commit() => _writer.Commit();

    public override void Dispose() => _writer.Dispose();

    /// <summary>Every k-th block's first key, with the stored bytes of the k blocks it stands for.</summary>
    internal static List<RunSample> Sample(IReadOnlyList<RunBlock> blocks)
    {
        var per = Math.Max(1, (blocks.Count + RunFileEntry.MaxSamples - 1) / RunFileEntry.MaxSamples);
        var samples = new List<RunSample>();
        for (var i = 0; i < blocks.Count; i += per)
        {
            var bytes = 0L;
            for (var j = i; j < Math.Min(blocks.Count, i + per); j++)
            {
                bytes += blocks[j].StoredLength;
            }

            samples.Add(new RunSample(Convert.ToBase64String(blocks[i].FirstKey), bytes));
        }

        return samples;
    }
}

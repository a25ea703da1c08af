using BenchmarkDotNet.Attributes;
using PikaIngest.Core.Mock;
using PikaIngest.Core.Shards;

namespace PikaIngest.Benchmarks;

/// <summary>Parsing a 32 MB mock shard (the ref_mock line shape) with one and two threads; reports MB/s via bytes per op.</summary>
[MemoryDiagnoser]
public class ShardParserBenchmarks
{
    private string _folder = "";
    private string _shard = "";

    [Params(1, 2)]
    public int Threads { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _folder = Path.Combine(Path.GetTempPath(), "pika-bench-" + Guid.NewGuid().ToString("N"));
        var result = new MockGenerator(new MockOptions { TotalBytes = 32 << 20, MaxFileSize = 32 << 20, OutputRoot = _folder, BatchId = "bench", ValueSize = 30 }).Run();
        _shard = Path.Combine(result.BatchFolder, "000001.jsonl");
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_folder, recursive: true);

    [Benchmark]
    public int ParseShard()
    {
        using var store = ShardReader.ReadAll(_shard, _shard, Threads);
        return store.Count;
    }
}

using BenchmarkDotNet.Attributes;
using PikaIngest.Core.Sst;
using RocksDbSharp;

namespace PikaIngest.Benchmarks;

/// <summary>
/// Writing 200,000 sorted 16-byte keys with 30-byte values to an LZ4 SST: our function-pointer
/// binding over spans against RocksDbSharp's <c>SstFileWriter.Put(byte[], byte[])</c>, which
/// needs an array per key and value.
/// </summary>
[MemoryDiagnoser]
public class SstWriterBenchmarks
{
    private const int Records = 200_000;
    private readonly byte[] _keys = new byte[Records * 16];
    private readonly byte[] _values = new byte[Records * 30];
    private string _folder = "";

    [GlobalSetup]
    public void Setup()
    {
        _folder = Path.Combine(Path.GetTempPath(), "pika-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_folder);
        var random = new Random(7);
        for (var i = 0; i < Records; i++)
        {
            System.Text.Encoding.ASCII.GetBytes($"key_{i * 4999L:D12}").CopyTo(_keys, i * 16);
        }

        random.NextBytes(_values);
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_folder, recursive: true);

    [Benchmark(Baseline = true)]
    public long FunctionPointers()
    {
        var path = Path.Combine(_folder, "fp.sst");
        using var builder = new SstFileBuilder(path, new SstOptions());
        for (var i = 0; i < Records; i++)
        {
            builder.Put(_keys.AsSpan(i * 16, 16), _values.AsSpan(i * 30, 30));
        }

        builder.Finish();
        builder.Commit();
        return builder.Entries;
    }

    [Benchmark]
    public long RocksDbSharpWrapper()
    {
        var path = Path.Combine(_folder, "wrapper.sst");
        var options = new ColumnFamilyOptions().SetCompression(Compression.Lz4);
        using var writer = new SstFileWriter(new EnvOptions(), options);
        writer.Open(path);
        for (var i = 0; i < Records; i++)
        {
            writer.Put(_keys.AsSpan(i * 16, 16).ToArray(), _values.AsSpan(i * 30, 30).ToArray());
        }

        writer.Finish();
        return Records;
    }
}

using CsCheck;

namespace PikaIngest.Core.UnitTests;

/// <summary>A scratch folder deleted after the test.</summary>
public sealed class TempFolder : IDisposable
{
    public TempFolder() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "pika-ingest-unit-" + Guid.NewGuid().ToString("N"));

    public string this[string relative] => System.IO.Path.Combine(Path, relative);

    public void Dispose()
    {
        if (Directory.Exists(Path))
        {
            Directory.Delete(Path, recursive: true);
        }
    }
}

/// <summary>Property checks that run the same cases on every run.</summary>
public static class Deterministic
{
    /// <summary>
    /// Runs <paramref name="assert"/> on <paramref name="iterations"/> cases drawn from fixed PCG seeds.
    /// CsCheck's own Sample fixes only its first case from a seed and draws the rest at random, so
    /// each case is a separate one-iteration Sample: a failure is still shrunk and reports its seed.
    /// </summary>
    public static void Sample<T>(Gen<T> gen, Action<T> assert, int iterations, ulong seed = 1)
    {
        for (var i = 0UL; i < (ulong)iterations; i++)
        {
            gen.Sample(assert, seed: new PCG(1, seed + i).ToString(), iter: 1, threads: 1);
        }
    }
}

/// <summary>Bytewise order of byte strings, as RocksDB's default comparator.</summary>
public sealed class BytewiseComparer : IComparer<byte[]>, IEqualityComparer<byte[]>
{
    public static readonly BytewiseComparer Instance = new();

    public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);

    public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

    public int GetHashCode(byte[] obj)
    {
        var hash = new HashCode();
        hash.AddBytes(obj);
        return hash.ToHashCode();
    }
}

public static class Bytes
{
    /// <summary>Hex with spaces and '·' between fields, so golden layouts read like the spec.</summary>
    public static byte[] Hex(string spaced) => Convert.FromHexString(spaced.Replace(" ", "", StringComparison.Ordinal).Replace("·", "", StringComparison.Ordinal));

    public static string Zeros(int count) => string.Concat(Enumerable.Repeat("00", count));
}

using CsCheck;

namespace PikaIngest.Core.UnitTests;

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

public static class Bytes
{
    /// <summary>Hex with spaces and '·' between fields, so golden layouts read like the spec.</summary>
    public static byte[] Hex(string spaced) => Convert.FromHexString(spaced.Replace(" ", "", StringComparison.Ordinal).Replace("·", "", StringComparison.Ordinal));

    public static string Zeros(int count) => string.Concat(Enumerable.Repeat("00", count));
}

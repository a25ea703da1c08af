using CsCheck;

namespace PikaIngest.Node.UnitTests.Resp;

/// <summary>Property checks that run the same cases on every run.</summary>
internal static class Deterministic
{
    /// <summary>
    /// Runs <paramref name="assert"/> on <paramref name="iterations"/> cases drawn from fixed PCG seeds.
    /// CsCheck's own Sample fixes only its first case from a seed, so each case is a one-iteration Sample:
    /// a failure is still shrunk and reports its seed.
    /// </summary>
    public static void Sample<T>(Gen<T> gen, Action<T> assert, int iterations, ulong seed = 1)
    {
        for (var i = 0UL; i < (ulong)iterations; i++)
        {
            gen.Sample(assert, seed: new PCG(1, seed + i).ToString(), iter: 1, threads: 1);
        }
    }
}

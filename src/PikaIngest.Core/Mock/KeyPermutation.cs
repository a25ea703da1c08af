namespace PikaIngest.Core.Mock;

/// <summary>
/// A seeded bijection of [0, n): consecutive counters become scattered, never-colliding key
/// numbers. It mixes within the enclosing power of two with invertible steps (xor with a
/// constant, multiply by an odd number, xor-shift) and cycle-walks until the result is below n.
/// </summary>
internal sealed class KeyPermutation
{
    private readonly ulong _size;
    private readonly ulong _mask;
    private readonly int _shift;
    private readonly ulong _salt;

    public KeyPermutation(ulong size, ulong seed)
    {
        ArgumentOutOfRangeException.ThrowIfZero(size);
        _size = size;
        var bits = 64 - (int)ulong.LeadingZeroCount(Math.Max(size - 1, 1));
        _mask = bits >= 64 ? ulong.MaxValue : (1UL << bits) - 1;
        _shift = Math.Max(1, bits / 2);
        _salt = SplitMix(seed) & _mask;
    }

    public ulong this[ulong counter]
    {
        get
        {
            var x = counter;
            do
            {
                x = Mix(x);
            }
            while (x >= _size);

            return x;
        }
    }

    private ulong Mix(ulong x)
    {
        x ^= _salt;
        x = (x * 0x9E3779B97F4A7C15UL) & _mask;
        x ^= x >> _shift;
        x = (x * 0xBF58476D1CE4E5B9UL) & _mask;
        x ^= x >> _shift;
        return x;
    }

    internal static ulong SplitMix(ulong x)
    {
        x += 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }
}

/// <summary>wyrand: small, fast, and good enough for mock data; one independent stream per shard.</summary>
internal struct FastRandom(ulong seed)
{
    private ulong _state = seed;

    public ulong Next()
    {
        _state += 0xA0761D6478BD642FUL;
        var high = Math.BigMul(_state, _state ^ 0xE7037ED1A0B428DBUL, out var low);
        return high ^ low;
    }

    /// <summary>Uniform in [0, bound) (Lemire's multiply-shift; the tiny bias is irrelevant here).</summary>
    public ulong Below(ulong bound) => Math.BigMul(Next(), bound, out _);

    /// <summary>Uniform in [0, 1).</summary>
    public double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));
}

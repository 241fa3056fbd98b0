namespace SSL4Eco.Training.Augmentation;

/// <summary>
/// A small counter-derivable pseudo-random generator (SplitMix64). Its whole state is one 64-bit value, so it can be
/// stored in a checkpoint, and independent streams are derived from (seed, epoch, step, sample) without shared state,
/// which makes multi-threaded loading and resumed runs reproducible.
/// </summary>
/// <remarks>A mutable struct; not thread-safe. Give each thread its own instance (see <see cref="Derive"/>).</remarks>
public struct DeterministicRandom
{
    /// <summary>Creates a generator from a state value.</summary>
    public DeterministicRandom(ulong state) => State = state;

    /// <summary>The complete state.</summary>
    public ulong State { get; private set; }

    /// <summary>Derives an independent stream from a seed and a tuple of counters.</summary>
    public static DeterministicRandom Derive(ulong seed, params long[] counters)
    {
        ulong s = Mix(seed ^ 0x5EC0EC0UL);
        foreach (var c in counters) s = Mix(s ^ Mix(unchecked((ulong)c) + 0x9E3779B97F4A7C15UL));
        return new DeterministicRandom(s);
    }

    private static ulong Mix(ulong z)
    {
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        return z ^ (z >> 31);
    }

    /// <summary>Next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        State = unchecked(State + 0x9E3779B97F4A7C15UL);
        return Mix(State);
    }

    /// <summary>Uniform double in [0, 1).</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform double in [<paramref name="low"/>, <paramref name="high"/>).</summary>
    public double Uniform(double low, double high) => low + (high - low) * NextDouble();

    /// <summary>Uniform integer in [0, <paramref name="n"/>).</summary>
    public int NextInt(int n)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        return (int)(NextUInt64() % (ulong)n);
    }

    /// <summary>True with probability <paramref name="p"/>.</summary>
    public bool Chance(double p) => NextDouble() < p;
}

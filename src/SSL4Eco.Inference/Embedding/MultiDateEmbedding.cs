namespace SSL4Eco.Inference.Embedding;

/// <summary>
/// Embeddings of one location at several dates (e.g. the four phenological seasons SSL4Eco samples):
/// per-date rows, their mean, and their concatenation.
/// </summary>
/// <remarks>Treat as immutable; safe to read from several threads.</remarks>
public sealed class MultiDateEmbedding
{
    internal MultiDateEmbedding(float[] perDate, int dates, int dim, IReadOnlyList<DateOnly?> dateValues)
    {
        PerDate = perDate;
        DateCount = dates;
        Dimension = dim;
        Dates = dateValues;
        Mean = new float[dim];
        for (int t = 0; t < dates; t++)
            System.Numerics.Tensors.TensorPrimitives.Add(Mean, perDate.AsSpan(t * dim, dim), Mean);
        System.Numerics.Tensors.TensorPrimitives.Divide(Mean, dates, Mean);
    }

    /// <summary>Number of dates T.</summary>
    public int DateCount { get; }

    /// <summary>Embedding length D.</summary>
    public int Dimension { get; }

    /// <summary>The dates of the patches, in input order (null where unknown).</summary>
    public IReadOnlyList<DateOnly?> Dates { get; }

    /// <summary>Row-major <c>[T, D]</c>: one embedding per date, in input order.</summary>
    public float[] PerDate { get; }

    /// <summary>The mean over dates, length D.</summary>
    public float[] Mean { get; }

    /// <summary>
    /// The concatenation of the per-date embeddings in input order, length <c>T * D</c>. This is the same memory as
    /// <see cref="PerDate"/> (a row-major <c>[T, D]</c> array is the concatenation of its rows).
    /// </summary>
    public float[] Concatenation => PerDate;

    /// <summary>The embedding of date <paramref name="t"/>.</summary>
    public ReadOnlySpan<float> Date(int t)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(t);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(t, DateCount);
        return PerDate.AsSpan(t * Dimension, Dimension);
    }
}

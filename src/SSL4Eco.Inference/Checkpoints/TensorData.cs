namespace SSL4Eco.Inference.Checkpoints;

/// <summary>A dense float32 tensor in C (row-major) order, as read from a checkpoint or produced by training.</summary>
/// <remarks>Not thread-safe for mutation; treat as immutable once shared.</remarks>
public sealed class TensorData
{
    /// <summary>Creates a tensor; throws when the value count does not match the shape.</summary>
    public TensorData(int[] shape, float[] values)
    {
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(values);
        long n = 1;
        foreach (var d in shape)
        {
            if (d < 0) throw new ArgumentException($"Negative dimension in shape [{string.Join(", ", shape)}].");
            n *= d;
        }
        if (n != values.Length)
            throw new ArgumentException($"Shape [{string.Join(", ", shape)}] holds {n} values but {values.Length} were given.");
        Shape = shape;
        Values = values;
    }

    /// <summary>The dimensions.</summary>
    public int[] Shape { get; }

    /// <summary>The values in C order.</summary>
    public float[] Values { get; }

    /// <summary>The shape as text, e.g. <c>[64, 9, 7, 7]</c>.</summary>
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";
}

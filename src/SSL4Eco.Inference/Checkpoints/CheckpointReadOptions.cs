namespace SSL4Eco.Inference.Checkpoints;

/// <summary>Limits that keep reading an untrusted checkpoint bounded in memory and depth.</summary>
/// <remarks>Immutable once constructed (init-only); thread-safe.</remarks>
public sealed record CheckpointReadOptions
{
    /// <summary>Default options.</summary>
    public static CheckpointReadOptions Default { get; } = new();

    /// <summary>Largest pickle (<c>data.pkl</c> or a legacy object pickle) accepted, in bytes. Default 512 MiB.</summary>
    public long MaxPickleBytes { get; init; } = 512L << 20;

    /// <summary>Largest pickle VM stack (items). Default 10 million.</summary>
    public int MaxStackItems { get; init; } = 10_000_000;

    /// <summary>Deepest nesting of MARKs and of tuples inside tuples. Default 1000.</summary>
    public int MaxNesting { get; init; } = 1000;

    /// <summary>Most bytes of tensor data materialised over the document's lifetime. Default 8 GiB.</summary>
    public long MaxTotalTensorBytes { get; init; } = 8L << 30;

    /// <summary>Whether to compute the SHA-256 of the whole file (one extra sequential read). Default true.</summary>
    public bool ComputeSha256 { get; init; } = true;
}

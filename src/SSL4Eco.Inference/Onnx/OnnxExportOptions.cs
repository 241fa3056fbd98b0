namespace SSL4Eco.Inference.Onnx;

/// <summary>Options of <see cref="ResNet50OnnxExporter"/>.</summary>
/// <remarks>Immutable and thread-safe.</remarks>
public sealed record OnnxExportOptions
{
    /// <summary>Free text stored as the model's <c>doc_string</c>; a default description is used when null.</summary>
    public string? DocString { get; init; }

    /// <summary>Extra <c>metadata_props</c> entries; they may not override the contract's keys.</summary>
    public IReadOnlyDictionary<string, string>? ExtraMetadata { get; init; }

    /// <summary>Batch-norm epsilon used when folding (torchvision's default 1e-5).</summary>
    public double BatchNormEpsilon { get; init; } = 1e-5;
}

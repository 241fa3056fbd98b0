using SSL4Eco.Inference.Models;
using SSL4Eco.Inference.Preprocessing;

namespace SSL4Eco.Inference.Embedding;

/// <summary>
/// Turns Sentinel-2 patches into embeddings. Implementations preprocess each patch according to
/// <see cref="Contract"/> and run the encoder.
/// </summary>
/// <remarks>Implementations must be safe to call from several threads at once.</remarks>
public interface IEmbeddingModel
{
    /// <summary>The model's input/output contract.</summary>
    ModelContract Contract { get; }

    /// <summary>
    /// Embeds a batch of patches; returns a row-major <c>[patches.Count, Contract.EmbeddingDim]</c> array.
    /// Throws <see cref="ArgumentException"/> for an empty batch or an unusable patch.
    /// </summary>
    float[] EmbedBatch(IReadOnlyList<Patch> patches, CancellationToken cancellationToken = default);
}

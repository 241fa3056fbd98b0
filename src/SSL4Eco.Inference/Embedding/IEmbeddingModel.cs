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
    /// How this model turns a patch into an embedding (contract, scaling and harmonisation in effect, weights' hash): the
    /// identity every resume fingerprint, cache key and output metadata uses. The default is the contract's own recipe with
    /// default options and unknown weights; encoders with options or known weights override it.
    /// </summary>
    InputRecipe Recipe => InputRecipe.For(Contract);

    /// <summary>
    /// Patches per batch: pipelines that feed this model (the map's embed stage) group patches in batches of this size, so the
    /// model owns the one batch size. The default is <see cref="ComputeBudget.DefaultBatchSize"/> on the CPU; an encoder
    /// reports its <see cref="EncoderOptions.BatchSize"/>.
    /// </summary>
    int BatchSize => ComputeBudget.DefaultBatchSize(ExecutionProvider.Cpu);

    /// <summary>
    /// Embeds a batch of patches; returns a row-major <c>[patches.Count, Contract.EmbeddingDim]</c> array.
    /// Throws <see cref="ArgumentException"/> for an empty batch or an unusable patch.
    /// </summary>
    float[] EmbedBatch(IReadOnlyList<Patch> patches, CancellationToken cancellationToken = default);

    /// <summary>
    /// Embeds a batch of patches into <paramref name="destination"/> (row-major <c>[patches.Count, Contract.EmbeddingDim]</c>),
    /// so a caller that embeds many batches can reuse one buffer. The default implementation copies the result of
    /// <see cref="EmbedBatch(IReadOnlyList{Patch}, CancellationToken)"/>; encoders override it to write in place.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than patches × EmbeddingDim, or a patch is unusable.</exception>
    void EmbedBatch(IReadOnlyList<Patch> patches, Span<float> destination, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(patches);
        long needed = (long)patches.Count * Contract.EmbeddingDim;
        if (destination.Length < needed)
            throw new ArgumentException($"The destination holds {destination.Length} values; {patches.Count} patches x {Contract.EmbeddingDim} = {needed} needed.", nameof(destination));
        var result = EmbedBatch(patches, cancellationToken);
        if (result.Length != needed)
            throw new InvalidOperationException($"The model returned {result.Length} values for {patches.Count} patches; {needed} expected (EmbeddingDim {Contract.EmbeddingDim}).");
        result.CopyTo(destination);
    }
}

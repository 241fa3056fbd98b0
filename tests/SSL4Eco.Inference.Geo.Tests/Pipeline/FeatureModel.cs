using SSL4Eco.Inference.Embedding;
using SSL4Eco.Inference.Models;
using SSL4Eco.Inference.Preprocessing;

namespace SSL4Eco.Inference.Geo.Tests.Pipeline;

/// <summary>
/// Deterministic stand-in encoder: per contract band (by name) the mean, the first pixel and the last pixel of the patch,
/// so a wrong window, band order or fill shows up; reflectance bands are harmonised first when its recipe says so for the
/// patch's baseline, as a real encoder does. Optional hooks cancel or fail on given calls.
/// </summary>
internal sealed class FeatureModel(params string[] bands) : IEmbeddingModel
{
    private int _calls;
    public ModelContract Contract { get; } = new() { Bands = bands, Scaling = new InputScaling(1), Spatial = SpatialPolicy.BilinearResize, InputSize = 64, EmbeddingDim = bands.Length * 3, ModelId = "feature-test" };
    public int Calls => _calls;

    /// <summary>Patches per batch the map's embed stage groups (the model owns the batch size).</summary>
    public int BatchSize { get; init; } = 4;

    /// <summary>Scaling override and weights hash the recipe reports (the features themselves do not change).</summary>
    public InputScaling? ScalingOverride { get; init; }
    public string? Weights { get; init; }
    public HarmonizeMode Harmonize { get; init; } = HarmonizeMode.Auto;
    public InputRecipe Recipe => InputRecipe.For(Contract, new PreprocessingOptions { ScalingOverride = ScalingOverride, Harmonize = Harmonize }, Weights);
    public int PatchesEmbedded;
    public Action<int, IReadOnlyList<Patch>>? OnCall { get; init; }

    public float[] EmbedBatch(IReadOnlyList<Patch> patches, CancellationToken cancellationToken = default)
    {
        int call = Interlocked.Increment(ref _calls);
        OnCall?.Invoke(call, patches);
        cancellationToken.ThrowIfCancellationRequested();
        Interlocked.Add(ref PatchesEmbedded, patches.Count);
        int d = Contract.EmbeddingDim;
        var result = new float[patches.Count * d];
        for (int p = 0; p < patches.Count; p++)
        {
            var patch = patches[p];
            for (int b = 0; b < Contract.Bands.Count; b++)
            {
                int idx = patch.BandNames.ToList().FindIndex(n => string.Equals(n, Contract.Bands[b], StringComparison.OrdinalIgnoreCase));
                ReadOnlySpan<float> v = patch.Band(idx);
                if (Recipe.Harmonizes(patch.ProcessingBaseline) && Harmonization.AppliesToBand(Contract.Bands[b]))
                {
                    var shifted = new float[v.Length];
                    Harmonization.Apply(v, shifted);
                    v = shifted;
                }
                double sum = 0;
                foreach (var x in v) sum += x;
                result[p * d + b * 3] = (float)(sum / v.Length);
                result[p * d + b * 3 + 1] = v[0];
                result[p * d + b * 3 + 2] = v[^1];
            }
        }
        return result;
    }
}

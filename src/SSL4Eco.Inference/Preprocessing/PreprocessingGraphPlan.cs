using SSL4Eco.Inference.Models;

namespace SSL4Eco.Inference.Preprocessing;

/// <summary>
/// The host preprocessing of one <see cref="InputRecipe"/> for a fixed raw input (<see cref="RawInputForm"/>), as data an
/// ONNX graph is generated from (<c>Onnx/OnnxInputPreprocessing</c>): which raw bands feed which channel, which are
/// harmonised, the NDVI constants, the spatial step with its offsets or per-axis weight matrices, and the scaling. Every
/// decision is taken by <see cref="PatchPreprocessor"/> itself (band resolution, spatial decision, NDVI constants) and
/// <see cref="Resampling"/> (weights), so the graph never holds a second copy of the band rules.
/// </summary>
/// <remarks>Immutable after creation; thread-safe.</remarks>
internal sealed class PreprocessingGraphPlan
{
    /// <summary>The raw input the plan reads.</summary>
    public required RawInputForm Raw { get; init; }

    /// <summary>Square output size S.</summary>
    public required int InputSize { get; init; }

    /// <summary>Raw band indices read, in the order of the gathered tensor: the directly used bands in channel order, then B4/B8 when NDVI is derived and they are not already there.</summary>
    public required int[] Gathered { get; init; }

    /// <summary>Per gathered band: true when harmonisation applies to it (a reflectance band).</summary>
    public required bool[] Harmonizable { get; init; }

    /// <summary>Per contract channel: its index in <see cref="Gathered"/>, or -1 for NDVI derived from <see cref="Red"/>/<see cref="Nir"/>.</summary>
    public required int[] Channels { get; init; }

    /// <summary>Index in <see cref="Gathered"/> of B4 (NDVI's red), or -1.</summary>
    public int Red { get; init; } = -1;

    /// <summary>Index in <see cref="Gathered"/> of B8 (NDVI's near infrared), or -1.</summary>
    public int Nir { get; init; } = -1;

    /// <summary>NDVI's denominator epsilon, scale and upper clamp.</summary>
    public (float Epsilon, float Scale, float Max) Ndvi => (PatchPreprocessor.NdviEpsilon, PatchPreprocessor.NdviScale, PatchPreprocessor.NdviMax);

    /// <summary>The spatial step.</summary>
    public required SpatialStep Spatial { get; init; }

    /// <summary>Crop offsets (top, left) for <see cref="SpatialStep.Crop"/>.</summary>
    public (int Top, int Left) CropOffset { get; init; }

    /// <summary>Row weights <c>[S, Height]</c> and column weights <c>[S, Width]</c> for the resizing steps.</summary>
    public (float[] Rows, float[] Columns)? ResizeWeights { get; init; }

    /// <summary>The scaling <c>(v - Offset) / Divisor</c> as float32, as the host applies it.</summary>
    public required (float Offset, float Divisor) Scaling { get; init; }

    internal static PreprocessingGraphPlan Create(InputRecipe recipe, RawInputForm raw)
    {
        raw.Validate();
        recipe = recipe with { Contract = recipe.Contract with { RawInput = null } };
        recipe.Validate();
        var (sources, red, nir, _) = recipe.ResolveChannels(raw.Bands, nameof(raw));
        var gathered = new List<int>();
        var channels = new int[sources.Length];
        for (int c = 0; c < sources.Length; c++)
        {
            if (sources[c] < 0) { channels[c] = -1; continue; }
            channels[c] = gathered.Count;
            gathered.Add(sources[c]);
        }
        int redAt = -1, nirAt = -1;
        if (red >= 0)
        {
            redAt = gathered.IndexOf(red);
            if (redAt < 0) { redAt = gathered.Count; gathered.Add(red); }
            nirAt = gathered.IndexOf(nir);
            if (nirAt < 0) { nirAt = gathered.Count; gathered.Add(nir); }
        }
        int s = recipe.Contract.InputSize, h = raw.Height, w = raw.Width;
        var step = recipe.SpatialFor(h, w);
        (float[], float[])? weights = null;
        (int, int) crop = default;
        switch (step)
        {
            case SpatialStep.Crop:
                crop = (Resampling.CenterCropOffset(h, s), Resampling.CenterCropOffset(w, s));
                break;
            case SpatialStep.Bicubic:
                var (outH, outW) = InputRecipe.UpscaledSize(h, w, s);
                weights = (Resampling.CubicMatrix(h, outH, Resampling.CenterCropOffset(outH, s), s),
                           Resampling.CubicMatrix(w, outW, Resampling.CenterCropOffset(outW, s), s));
                break;
            case SpatialStep.Bilinear:
                weights = (Resampling.LinearMatrix(h, s), Resampling.LinearMatrix(w, s));
                break;
        }
        return new PreprocessingGraphPlan
        {
            Raw = raw,
            InputSize = s,
            Gathered = gathered.ToArray(),
            Harmonizable = gathered.Select(i => InputRecipe.HarmonizesBand(raw.Bands[i])).ToArray(),
            Channels = channels,
            Red = redAt,
            Nir = nirAt,
            Spatial = step,
            CropOffset = crop,
            ResizeWeights = weights,
            Scaling = ((float)recipe.Scaling.Offset, (float)recipe.Scaling.Divisor),
        };
    }
}

using System.Buffers;
using System.Numerics.Tensors;
using SSL4Eco.Inference.Models;

namespace SSL4Eco.Inference.Preprocessing;

/// <summary>
/// Executes an <see cref="InputRecipe"/>: turns a <see cref="Patch"/> into the model input <c>[Channels, InputSize, InputSize]</c>
/// exactly as SPEC.md describes. Every decision (bands selected by name, NDVI derived when missing, whether the patch is
/// harmonised, the spatial step, the scaling) is the recipe's; this type only carries them out.
/// </summary>
/// <remarks>
/// <para>Order of operations per channel: select (by canonical name: case-insensitive, <c>B08</c> = <c>B8</c>) →
/// reject NaN/±Inf → harmonise reflectance bands (<c>max(v - 1000, 0)</c>) → NDVI from harmonised B4/B8 when the
/// patch has no NDVI band → spatial policy on digital numbers → scaling <c>(v - offset) / divisor</c>. Scaling last
/// matches the official code (OpenCV resize on float32 DN, then <c>ToTensor</c>).</para>
/// <para>Spatial policy <see cref="SpatialPolicy.CenterCropOrBicubicUpscale"/>: when both sides are at least the input
/// size S the centre is cropped (offset <c>round((h - S) / 2)</c> per axis, half-to-even). When either side is smaller,
/// the official code (<c>cvtransforms.Resize(S)</c>) scales the SHORTER side to S keeping the aspect ratio
/// (long side <c>int(S * long / short)</c>) with OpenCV <c>INTER_CUBIC</c>; we do the same and then centre-crop the
/// result to S x S, so square patches match the official pipeline exactly and non-square ones keep the official pixel
/// geometry (the official code would feed the whole non-square image). Only the cropped window is computed.</para>
/// <para>Minimum patch size: <see cref="PreprocessingOptions.MinimumPatchSide"/> (default 1 pixel; the bicubic kernel
/// replicates the border, so any positive size is computable).</para>
/// <para>Thread-safety: immutable after construction; <see cref="Preprocess(Patch, Span{float})"/> may be called
/// from several threads at once (scratch memory comes from <see cref="ArrayPool{T}.Shared"/>).</para>
/// </remarks>
public sealed class PatchPreprocessor
{
    /// <summary>The epsilon added to the NDVI denominator.</summary>
    internal const float NdviEpsilon = 1e-5f;
    /// <summary>NDVI is stored × 10000.</summary>
    internal const float NdviScale = 10000f;
    /// <summary>The largest stored NDVI value (uint16).</summary>
    internal const float NdviMax = 65535f;

    /// <summary>Creates the executor of <see cref="InputRecipe.For"/>(<paramref name="contract"/>, <paramref name="options"/>); throws <see cref="ArgumentException"/> for an invalid contract or options.</summary>
    public PatchPreprocessor(ModelContract contract, PreprocessingOptions? options = null)
        : this(InputRecipe.For(contract ?? throw new ArgumentNullException(nameof(contract)), options), options ?? PreprocessingOptions.Default)
    {
    }

    /// <summary>Creates the executor of <paramref name="recipe"/>; throws <see cref="ArgumentException"/> for an invalid recipe.</summary>
    public PatchPreprocessor(InputRecipe recipe)
        : this(recipe, new PreprocessingOptions { Harmonize = recipe?.Harmonize ?? HarmonizeMode.Auto, ScalingOverride = recipe?.Scaling })
    {
    }

    private PatchPreprocessor(InputRecipe recipe, PreprocessingOptions options)
    {
        ArgumentNullException.ThrowIfNull(recipe);
        options.Validate();
        recipe.Validate();
        Recipe = recipe;
        Options = options;
    }

    /// <summary>The recipe this preprocessor executes.</summary>
    public InputRecipe Recipe { get; }

    /// <summary>The contract the output follows.</summary>
    public ModelContract Contract => Recipe.Contract;

    /// <summary>The options in use.</summary>
    public PreprocessingOptions Options { get; }

    /// <summary>The scaling in effect (the recipe's: the override when given, else the contract's).</summary>
    public InputScaling Scaling => Recipe.Scaling;

    /// <summary>Number of floats one preprocessed patch occupies: <c>Channels * InputSize * InputSize</c>.</summary>
    public int ValuesPerPatch => Contract.Channels * Contract.InputSize * Contract.InputSize;

    /// <summary>Whether the recipe harmonises the patch (<see cref="InputRecipe.Harmonizes"/> of its <see cref="Patch.ProcessingBaseline"/>).</summary>
    public bool HarmonizesPatch(Patch patch)
    {
        ArgumentNullException.ThrowIfNull(patch);
        return Recipe.Harmonizes(patch.ProcessingBaseline);
    }

    /// <summary>Preprocesses one patch into a new array of <see cref="ValuesPerPatch"/> floats.</summary>
    public float[] Preprocess(Patch patch)
    {
        var result = new float[ValuesPerPatch];
        Preprocess(patch, result);
        return result;
    }

    /// <summary>
    /// Writes the preprocessed patch, <c>[Channels, InputSize, InputSize]</c>, into <paramref name="destination"/>
    /// (exactly <see cref="ValuesPerPatch"/> long; a batch is filled by passing consecutive slices).
    /// Throws <see cref="ArgumentException"/> naming the band for a missing band, a NaN/Inf value, or a too small patch.
    /// </summary>
    public void Preprocess(Patch patch, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(patch);
        if (destination.Length != ValuesPerPatch)
            throw new ArgumentException($"Destination holds {destination.Length} floats; {Contract.Channels} x {Contract.InputSize} x {Contract.InputSize} = {ValuesPerPatch} expected.", nameof(destination));
        int min = Options.MinimumPatchSide;
        if (patch.Height < min || patch.Width < min)
            throw new ArgumentException($"Patch is {patch.Height}x{patch.Width} pixels; at least {min}x{min} is required (PreprocessingOptions.MinimumPatchSide).", nameof(patch));

        var (sources, red, nir, reflectance) = Recipe.ResolveChannels(patch.BandNames, nameof(patch));
        bool harmonize = HarmonizesPatch(patch);
        int h = patch.Height, w = patch.Width, plane = h * w, s = Contract.InputSize, outPlane = s * s;
        var pool = ArrayPool<float>.Shared;
        var a = pool.Rent(plane);
        float[]? b = null, c3 = null;
        try
        {
            for (int c = 0; c < sources.Length; c++)
            {
                ReadOnlySpan<float> band = a.AsSpan(0, plane);
                int bi = sources[c];
                if (bi >= 0)
                {
                    if (harmonize && reflectance[c]) LoadBand(patch, bi, a.AsSpan(0, plane), harmonize: true);
                    else band = CheckedBand(patch, bi); // no copy needed
                }
                else
                {
                    b ??= pool.Rent(plane);
                    c3 ??= pool.Rent(plane);
                    var redPlane = b.AsSpan(0, plane);
                    var nirPlane = c3.AsSpan(0, plane);
                    LoadBand(patch, red, redPlane, harmonize);
                    LoadBand(patch, nir, nirPlane, harmonize);
                    ComputeNdvi(redPlane, nirPlane, a.AsSpan(0, plane));
                }
                var dst = destination.Slice(c * outPlane, outPlane);
                if (Recipe.SpatialFor(h, w) == SpatialStep.Crop) Numerics.BandKernels.CenterCropScaled(band, h, w, dst, s, s, (float)Scaling.Offset, (float)Scaling.Divisor);
                else { Resize(band, h, w, dst, s); Scale(dst); }
            }
        }
        finally
        {
            pool.Return(a);
            if (b is not null) pool.Return(b);
            if (c3 is not null) pool.Return(c3);
        }
    }

    private static ReadOnlySpan<float> CheckedBand(Patch patch, int bandIndex)
    {
        var src = patch.Band(bandIndex);
        int bad = IndexOfNonFinite(src);
        if (bad >= 0)
            throw new ArgumentException($"Band '{patch.BandNames[bandIndex]}' holds {src[bad]} at row {bad / patch.Width}, column {bad % patch.Width}; fill nodata before embedding.", nameof(patch));
        return src;
    }

    private static void LoadBand(Patch patch, int bandIndex, Span<float> into, bool harmonize)
    {
        var src = CheckedBand(patch, bandIndex);
        if (harmonize)
        {
            Harmonization.Apply(src, into);
        }
        else
        {
            src.CopyTo(into);
        }
    }

    internal static int IndexOfNonFinite(ReadOnlySpan<float> values) => Numerics.BandKernels.IndexOfNonFinite(values);

    /// <summary>
    /// NDVI as the SSL4Eco training data stores it (download_ssl4eco.py::calc_ndvi_save_patch), in float32:
    /// <c>(B8 - B4) / (B8 + B4 + 1e-5)</c>, negatives to 0, then <c>uint16(ndvi * 10000)</c> (truncation).
    /// Results outside the uint16 range (only possible for negative inputs) are clamped.
    /// </summary>
    /// <param name="red">B4; overwritten (holds B8 - B4 afterwards).</param>
    /// <param name="nir">B8.</param>
    /// <param name="result">Receives the NDVI × 10000 values; must not overlap the inputs.</param>
    internal static void ComputeNdvi(Span<float> red, ReadOnlySpan<float> nir, Span<float> result)
    {
        // Element-wise IEEE float32 operations in numpy's order, so the vectorised result is identical to numpy's.
        TensorPrimitives.Add(nir, red, result);
        TensorPrimitives.Add(result, NdviEpsilon, result);
        TensorPrimitives.Subtract(nir, red, red);
        TensorPrimitives.Divide(red, result, result);
        TensorPrimitives.MaxNumber(result, 0f, result); // negatives (and a NaN, impossible with the epsilon) to 0
        TensorPrimitives.Multiply(result, NdviScale, result);
        TensorPrimitives.Min(result, NdviMax, result);
        TensorPrimitives.Truncate(result, result);
    }

    private void Resize(ReadOnlySpan<float> band, int h, int w, Span<float> dst, int s)
    {
        switch (Recipe.SpatialFor(h, w))
        {
            case SpatialStep.None:
            case SpatialStep.Bilinear:
                Resampling.BilinearResize(band, h, w, dst, s, s);
                break;
            case SpatialStep.Crop:
                Resampling.CenterCrop(band, h, w, dst, s, s);
                break;
            default:
                var (outH, outW) = InputRecipe.UpscaledSize(h, w, s);
                Resampling.CubicResizeWindow(band, h, w, dst, outH, outW,
                    Resampling.CenterCropOffset(outH, s), Resampling.CenterCropOffset(outW, s), s, s);
                break;
        }
    }

    private void Scale(Span<float> values)
    {
        if (Scaling.Offset != 0) TensorPrimitives.Subtract(values, (float)Scaling.Offset, values);
        if (Scaling.Divisor != 1) TensorPrimitives.Divide(values, (float)Scaling.Divisor, values);
    }
}

/// <summary>The spatial step of a patch: none (already the input size), a centre crop, a bicubic upscale (+ crop) or a bilinear resize.</summary>
internal enum SpatialStep
{
    None,
    Crop,
    Bicubic,
    Bilinear,
}

using System.Buffers;
using System.Numerics.Tensors;
using SSL4Eco.Inference.Models;

namespace SSL4Eco.Inference.Preprocessing;

/// <summary>
/// Turns a <see cref="Patch"/> into the model input <c>[Channels, InputSize, InputSize]</c> exactly as SPEC.md describes,
/// driven by a <see cref="ModelContract"/>: bands selected by name, NDVI derived when missing, optional harmonisation,
/// the contract's spatial policy, then the affine scaling.
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

    private readonly string[] _wanted;

    /// <summary>Creates a preprocessor for the contract; throws <see cref="ArgumentException"/> for an invalid contract or options.</summary>
    public PatchPreprocessor(ModelContract contract, PreprocessingOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(contract);
        contract.Validate();
        Options = options ?? PreprocessingOptions.Default;
        Options.Validate();
        Contract = contract;
        Scaling = Options.ScalingOverride ?? contract.Scaling;
        _wanted = contract.Bands.Select(BandName.Canonical).ToArray();
        if (_wanted.Distinct().Count() != _wanted.Length)
            throw new ArgumentException($"Model contract bands [{string.Join(", ", contract.Bands)}] name the same band twice (B08 = B8).", nameof(contract));
    }

    /// <summary>The contract the output follows.</summary>
    public ModelContract Contract { get; }

    /// <summary>The options in use.</summary>
    public PreprocessingOptions Options { get; }

    /// <summary>The scaling in effect (the override when given, else the contract's).</summary>
    public InputScaling Scaling { get; }

    /// <summary>Number of floats one preprocessed patch occupies: <c>Channels * InputSize * InputSize</c>.</summary>
    public int ValuesPerPatch => Contract.Channels * Contract.InputSize * Contract.InputSize;

    /// <summary>
    /// Whether harmonisation applies to the patch under the current <see cref="PreprocessingOptions.Harmonize"/> mode (never
    /// for a patch marked <see cref="Patch.Harmonized"/>).
    /// </summary>
    public bool HarmonizesPatch(Patch patch)
    {
        ArgumentNullException.ThrowIfNull(patch);
        return !patch.Harmonized && Harmonization.Applies(Options.Harmonize, patch.ProcessingBaseline);
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

        var (sources, red, nir) = ResolveChannels(patch.BandNames, nameof(patch));
        bool harmonize = HarmonizesPatch(patch);
        int h = patch.Height, w = patch.Width, plane = h * w, s = Contract.InputSize, outPlane = s * s;
        var pool = ArrayPool<float>.Shared;
        var a = pool.Rent(plane);
        float[]? b = null, c3 = null;
        try
        {
            for (int c = 0; c < _wanted.Length; c++)
            {
                ReadOnlySpan<float> band = a.AsSpan(0, plane);
                int bi = sources[c];
                if (bi >= 0)
                {
                    if (harmonize && BandName.IsReflectance(_wanted[c])) LoadBand(patch, bi, a.AsSpan(0, plane), harmonize: true);
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
                if (SpatialFor(h, w) == SpatialStep.Crop) Numerics.BandKernels.CenterCropScaled(band, h, w, dst, s, s, (float)Scaling.Offset, (float)Scaling.Divisor);
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

    /// <summary>
    /// Where each contract channel comes from in an input whose bands are <paramref name="bandNames"/> (file order): the band's
    /// index, or -1 for NDVI derived from <c>Red</c> (B4) and <c>Nir</c> (B8) (both -1 when nothing is derived). The one
    /// place band selection is decided: host preprocessing and the in-graph preprocessing (<see cref="InputRecipe.PlanGraph"/>) use it.
    /// Throws <see cref="ArgumentException"/> (parameter <paramref name="paramName"/>) naming a missing or doubly named band.
    /// </summary>
    internal (int[] Sources, int Red, int Nir) ResolveChannels(IReadOnlyList<string> bandNames, string paramName)
    {
        var index = IndexBands(bandNames, paramName);
        var sources = new int[_wanted.Length];
        int red = -1, nir = -1;
        for (int c = 0; c < _wanted.Length; c++)
        {
            string want = _wanted[c];
            if (index.TryGetValue(want, out int bi)) sources[c] = bi;
            else if (want == BandName.Ndvi && index.TryGetValue("B4", out red) && index.TryGetValue("B8", out nir)) sources[c] = -1;
            else
            {
                string how = want == BandName.Ndvi ? " and cannot be derived (NDVI needs B4 and B8)" : "";
                throw new ArgumentException($"Patch lacks band '{Contract.Bands[c]}'{how}; the patch has [{string.Join(", ", bandNames)}], the model needs [{string.Join(", ", Contract.Bands)}].", paramName);
            }
        }
        return (sources, red, nir);
    }

    private Dictionary<string, int> IndexBands(IReadOnlyList<string> bandNames, string paramName)
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var twice = new List<(string Name, int First, int Second)>();
        for (int i = 0; i < bandNames.Count; i++)
        {
            var name = BandName.Canonical(bandNames[i]);
            if (!index.TryAdd(name, i)) twice.Add((name, index[name], i));
        }
        // A used band named twice is ambiguous; B4 and B8 are used when NDVI is derived from them.
        foreach (var (name, first, second) in twice)
            if (_wanted.Contains(name) || name is "B4" or "B8" && _wanted.Contains(BandName.Ndvi) && !index.ContainsKey(BandName.Ndvi))
                throw new ArgumentException($"Patch names band '{name}' twice ('{bandNames[first]}' and '{bandNames[second]}'); name each band once.", paramName);
        return index;
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

    /// <summary>How a patch of <paramref name="h"/> x <paramref name="w"/> is brought to the input size (the one decision host and graph share).</summary>
    internal SpatialStep SpatialFor(int h, int w)
    {
        int s = Contract.InputSize;
        if (Contract.Spatial == SpatialPolicy.BilinearResize) return h == s && w == s ? SpatialStep.None : SpatialStep.Bilinear;
        return h >= s && w >= s ? SpatialStep.Crop : SpatialStep.Bicubic;
    }

    private void Resize(ReadOnlySpan<float> band, int h, int w, Span<float> dst, int s)
    {
        switch (SpatialFor(h, w))
        {
            case SpatialStep.None:
            case SpatialStep.Bilinear:
                Resampling.BilinearResize(band, h, w, dst, s, s);
                break;
            case SpatialStep.Crop:
                Resampling.CenterCrop(band, h, w, dst, s, s);
                break;
            default:
                var (outH, outW) = UpscaledSize(h, w, s);
                Resampling.CubicResizeWindow(band, h, w, dst, outH, outW,
                    Resampling.CenterCropOffset(outH, s), Resampling.CenterCropOffset(outW, s), s, s);
                break;
        }
    }

    /// <summary>
    /// The size <c>cvtransforms.Resize(S)</c> produces: the shorter side becomes S, the longer <c>int(S * long / short)</c>.
    /// </summary>
    internal static (int Height, int Width) UpscaledSize(int h, int w, int s)
    {
        if (w < h) return ((int)(s * (double)h / w), s);
        return (s, (int)(s * (double)w / h));
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

using SSL4Eco.Gdal;

namespace SSL4Eco.Inference.Geo.Rasters;

/// <summary>
/// The one nodata policy of <c>map</c> tiles and <c>embed</c> patches. A pixel is invalid when any read band's GDAL mask
/// (nodata value, alpha or per-dataset mask) marks it, when a floating-point band holds NaN/∞, or when a cloud mask marks
/// it. A patch or tile whose valid fraction is zero or below <see cref="MinValidFraction"/> is not embedded (map: nodata;
/// embed: refused or skipped, and named); otherwise its invalid pixels are filled with the band's mean over valid pixels.
/// </summary>
/// <remarks>Immutable; thread-safe.</remarks>
public sealed record NoDataPolicy
{
    /// <summary>The default policy: at least half of the pixels valid.</summary>
    public static NoDataPolicy Default { get; } = new();

    /// <summary>Smallest valid fraction of a patch or tile that is embedded, in [0, 1]. Default 0.5.</summary>
    public double MinValidFraction { get; init; } = 0.5;

    /// <summary>True when a patch with this valid fraction is embedded (never one without any valid pixel).</summary>
    public bool Accepts(double validFraction) => validFraction > 0 && validFraction >= MinValidFraction;

    /// <summary>Why a patch with this valid fraction was not embedded, one line naming it and the ways on.</summary>
    public string Refusal(string patch, double validFraction) => FormattableString.Invariant(
        $"'{patch}' is {(1 - validFraction) * 100:0}% nodata (valid fraction {validFraction:0.###}, at least {MinValidFraction:0.###} needed, as for 'map' tiles), so it is not embedded; skip such patches (ssl4eco embed --skip-nodata) or lower the minimum (--min-valid, NoDataPolicy.MinValidFraction).");

    /// <summary>Throws <see cref="ArgumentException"/> when <see cref="MinValidFraction"/> is outside [0, 1].</summary>
    public void Validate()
    {
        if (!(MinValidFraction >= 0 && MinValidFraction <= 1))
            throw new ArgumentException($"Minimum valid fraction (--min-valid, NoDataPolicy.MinValidFraction) must be in [0, 1], got {MinValidFraction}.");
    }
}

/// <summary>
/// Marks the invalid pixels of windows of one dataset's bands (GDAL masks and non-finite floats) and fills them, the
/// mechanics of <see cref="NoDataPolicy"/> shared by the tile reader and <see cref="PatchReader"/>.
/// </summary>
/// <remarks>Not thread-safe: one per dataset and thread.</remarks>
internal sealed class PixelValidity
{
    private readonly GdalDataset _ds;
    private readonly int[] _bands;
    private readonly bool[] _checkMask;
    private readonly bool[] _checkFinite;
    private readonly bool _perDatasetMask;
    private byte[] _mask = [];

    public PixelValidity(GdalDataset ds, int[] bands)
    {
        _ds = ds;
        _bands = bands;
        _checkMask = bands.Select(b => (ds.Band(b).MaskFlags & GdalMaskFlags.AllValid) == 0).ToArray();
        // Integer bands cannot hold NaN/Inf, so only floating-point bands get the finiteness pass.
        _checkFinite = bands.Select(b => ds.Band(b).DataType is not (GdalDataType.Byte or GdalDataType.UInt16 or GdalDataType.Int16
            or GdalDataType.UInt32 or GdalDataType.Int32 or GdalDataType.UInt64 or GdalDataType.Int64)).ToArray();
        _perDatasetMask = bands.All(b => (ds.Band(b).MaskFlags & GdalMaskFlags.PerDataset) != 0);
    }

    /// <summary>Sets <paramref name="valid"/> (one per pixel of <paramref name="w"/>, all true on entry) false where a band's mask or value is invalid.</summary>
    public void Mark(PixelWindow w, ReadOnlySpan<float> data, Span<bool> valid)
    {
        int plane = w.Width * w.Height;
        if (_mask.Length != plane) _mask = new byte[plane];
        bool sharedMaskRead = false;
        for (int b = 0; b < _bands.Length; b++)
        {
            var values = data.Slice(b * plane, plane);
            if (_checkFinite[b])
                for (int i = 0; i < plane; i++) if (!float.IsFinite(values[i])) valid[i] = false;
            if (!_checkMask[b]) continue;
            if (_perDatasetMask)
            {
                if (sharedMaskRead) continue;
                sharedMaskRead = true;
            }
            _ds.Band(_bands[b]).MaskBand.Read(w, _mask);
            for (int i = 0; i < plane; i++) if (_mask[i] == 0) valid[i] = false;
        }
    }

    /// <summary>Fraction of valid pixels.</summary>
    public static double Fraction(ReadOnlySpan<bool> valid) =>
        valid.Length == 0 ? 0 : (double)(valid.Length - System.MemoryExtensions.Count(valid, false)) / valid.Length;

    /// <summary>Fills each band's invalid pixels with the band's mean over the valid ones (at least one must be valid).</summary>
    public static void Fill(Span<float> data, int bands, ReadOnlySpan<bool> valid)
    {
        int plane = valid.Length;
        int nValid = plane - System.MemoryExtensions.Count(valid, false);
        if (nValid == plane || nValid == 0) return;
        for (int b = 0; b < bands; b++)
        {
            var values = data.Slice(b * plane, plane);
            double sum = 0;
            for (int i = 0; i < plane; i++) if (valid[i]) sum += values[i];
            float mean = (float)(sum / nValid);
            for (int i = 0; i < plane; i++) if (!valid[i]) values[i] = mean;
        }
    }
}

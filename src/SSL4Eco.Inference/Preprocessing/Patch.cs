namespace SSL4Eco.Inference.Preprocessing;

/// <summary>
/// One Sentinel-2 patch of one date: named bands of raw digital numbers (L2A reflectance × 10000, or NDVI × 10000
/// for an <c>NDVI</c> band), band-major <c>[bands, height, width]</c>, with optional acquisition facts.
/// </summary>
/// <remarks>Treat as immutable once created; safe to read from several threads.</remarks>
public sealed class Patch
{
    /// <summary>Creates a patch; throws <see cref="ArgumentException"/> when the data length does not match.</summary>
    public Patch(IReadOnlyList<string> bandNames, int height, int width, float[] data)
    {
        ArgumentNullException.ThrowIfNull(bandNames);
        ArgumentNullException.ThrowIfNull(data);
        if (bandNames.Count == 0) throw new ArgumentException("A patch needs at least one band.");
        if (height <= 0 || width <= 0) throw new ArgumentException($"Patch size must be positive, got {height}x{width}.");
        long expected = (long)bandNames.Count * height * width;
        if (data.Length != expected)
            throw new ArgumentException($"Patch data holds {data.Length} values; {bandNames.Count} bands x {height} x {width} = {expected} expected.");
        BandNames = bandNames;
        Height = height;
        Width = width;
        Data = data;
    }

    /// <summary>Band names (e.g. B2, B3, B4, B8, NDVI) in the order of <see cref="Data"/>.</summary>
    public IReadOnlyList<string> BandNames { get; }

    /// <summary>Rows.</summary>
    public int Height { get; }

    /// <summary>Columns.</summary>
    public int Width { get; }

    /// <summary>Values, band-major <c>[bands, height, width]</c>.</summary>
    public float[] Data { get; }

    /// <summary>Acquisition date, when known.</summary>
    public DateOnly? Date { get; init; }

    /// <summary>
    /// Sentinel-2 processing baseline (e.g. 4.0 for "04.00"), when known. Scenes of baseline 04.00 or later carry a +1000
    /// offset that harmonisation removes: the model's <see cref="InputRecipe"/> decides from this value (readers never
    /// harmonise; they pass the baseline on).
    /// </summary>
    public double? ProcessingBaseline { get; init; }

    /// <summary>The values of one band.</summary>
    public ReadOnlySpan<float> Band(int index) => Data.AsSpan(index * Height * Width, Height * Width);
}

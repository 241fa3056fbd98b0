namespace SSL4Eco.Inference.Preprocessing;

/// <summary>
/// The band layout of SSL4Eco's 13-band patch files (SPEC: <c>imgs/{index:06d}/{YYYYMMDD}_{tile}.tif</c>, uint16): B1..B12
/// without B10, then NDVI × 10000. The one owner of that layout: the raster reader (files without band descriptions), the
/// dataset builder and the training dataset use it.
/// </summary>
/// <remarks>Stateless; thread-safe.</remarks>
public static class Ssl4EcoLayout
{
    /// <summary>Band order of SSL4Eco's 13-band files.</summary>
    public static IReadOnlyList<string> Bands { get; } = ["B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B11", "B12", BandName.Ndvi];

    /// <summary>The 0-based position of <paramref name="band"/> (any spelling, <see cref="BandName.Canonical"/>) in <see cref="Bands"/>, or -1.</summary>
    public static int IndexOf(string band)
    {
        ArgumentNullException.ThrowIfNull(band);
        var c = BandName.Canonical(band);
        for (int i = 0; i < Bands.Count; i++)
            if (Bands[i] == c) return i;
        return -1;
    }
}

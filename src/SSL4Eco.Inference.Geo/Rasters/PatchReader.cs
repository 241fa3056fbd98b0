using System.Globalization;
using SSL4Eco.Inference.Geo.Gdal;
using SSL4Eco.Inference.Preprocessing;

namespace SSL4Eco.Inference.Geo.Rasters;

/// <summary>
/// Reads a whole raster file (GeoTIFF or anything GDAL opens) as one <see cref="Patch"/>, naming its bands.
/// </summary>
/// <remarks>
/// Stateless and thread-safe: every call opens its own dataset.
/// Band naming, in order of precedence:
/// <list type="number">
/// <item>every band has a distinct description (e.g. "B4"): those names; if <c>bands</c> is also given, those bands are
/// selected by name (case-insensitive), in that order;</item>
/// <item>else <c>bands</c> names the file's bands in file order (its count must equal the band count);</item>
/// <item>else a 13-band file is SSL4Eco's layout <see cref="Ssl4EcoLayout"/>;</item>
/// <item>else an <see cref="ArgumentException"/> says how to name the bands.</item>
/// </list>
/// The acquisition date comes from metadata <c>DATE</c>, <c>ACQUISITION_DATE</c>, <c>DATATAKE_1_DATATAKE_SENSING_START</c>
/// or <c>PRODUCT_START_TIME</c> (first parseable), the processing baseline from <c>PROCESSING_BASELINE</c>.
/// </remarks>
public static class PatchReader
{
    /// <summary>Band order of SSL4Eco's 13-band training files.</summary>
    public static IReadOnlyList<string> Ssl4EcoLayout { get; } = ["B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B11", "B12", "NDVI"];

    /// <summary>Reads <paramref name="path"/>; see the type remarks for band naming.</summary>
    /// <exception cref="GdalException">GDAL cannot open or read the file.</exception>
    /// <exception cref="ArgumentException">The bands cannot be named (wrong count, unknown name).</exception>
    public static Patch Read(string path, IReadOnlyList<string>? bands = null)
    {
        using var ds = GdalDataset.Open(path);
        var (names, indexes) = ResolveBands(ds, bands);
        int w = ds.Width, h = ds.Height;
        var data = new float[(long)indexes.Length * w * h];
        ds.Read(new PixelWindow(0, 0, w, h), data, indexes);
        return new Patch(names, h, w, data) { Date = ReadDate(ds), ProcessingBaseline = ReadBaseline(ds) };
    }

    /// <summary>Names the bands of an open dataset; returns the names and the matching 1-based band indexes.</summary>
    internal static (string[] Names, int[] Indexes) ResolveBands(GdalDataset ds, IReadOnlyList<string>? bands)
    {
        int n = ds.BandCount;
        var descriptions = Enumerable.Range(1, n).Select(i => ds.Band(i).Description.Trim()).ToArray();
        bool described = descriptions.All(d => d.Length > 0)
                         && descriptions.Distinct(StringComparer.OrdinalIgnoreCase).Count() == n;
        if (described)
        {
            if (bands is null) return (descriptions, Enumerable.Range(1, n).ToArray());
            var idx = bands.Select(b =>
            {
                int i = Array.FindIndex(descriptions, d => string.Equals(d, b, StringComparison.OrdinalIgnoreCase));
                if (i < 0) throw new ArgumentException($"Band '{b}' is not in '{ds.Path}'; its bands are {string.Join(", ", descriptions)}.");
                return i + 1;
            }).ToArray();
            return (idx.Select(i => descriptions[i - 1]).ToArray(), idx);
        }
        if (bands is not null)
        {
            if (bands.Count != n)
                throw new ArgumentException($"'{ds.Path}' has {n} bands without descriptions, but {bands.Count} band names were given ({string.Join(", ", bands)}); give one name per band in file order.");
            return (bands.ToArray(), Enumerable.Range(1, n).ToArray());
        }
        if (n == Ssl4EcoLayout.Count) return (Ssl4EcoLayout.ToArray(), Enumerable.Range(1, n).ToArray());
        throw new ArgumentException(
            $"'{ds.Path}' has {n} bands without descriptions; cannot tell which Sentinel-2 bands they are. " +
            $"Set band descriptions (e.g. gdal_edit.py / gdal_translate), pass the band names in file order, or use SSL4Eco's 13-band layout ({string.Join(",", Ssl4EcoLayout)}).");
    }

    internal static DateOnly? ReadDate(GdalDataset ds)
    {
        foreach (var key in new[] { "DATE", "ACQUISITION_DATE", "DATATAKE_1_DATATAKE_SENSING_START", "PRODUCT_START_TIME", "SENSING_TIME" })
        {
            var v = ds.GetMetadataItem(key);
            if (v is null || v.Length < 10) continue;
            if (DateOnly.TryParseExact(v[..10], "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d)) return d;
        }
        return null;
    }

    internal static double? ReadBaseline(GdalDataset ds)
    {
        var v = ds.GetMetadataItem("PROCESSING_BASELINE");
        return v is not null && double.TryParse(v.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double b) ? b : null;
    }
}

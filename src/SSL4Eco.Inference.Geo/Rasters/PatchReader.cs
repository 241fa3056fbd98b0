using System.Globalization;
using SSL4Eco.Gdal;
using SSL4Eco.Inference.Preprocessing;

namespace SSL4Eco.Inference.Geo.Rasters;

/// <summary>
/// Reads a whole raster file (GeoTIFF or anything GDAL opens) as one <see cref="Patch"/>, naming its bands.
/// </summary>
/// <remarks>
/// Stateless and thread-safe: every call opens its own dataset.
/// Band naming, in order of precedence:
/// <list type="number">
/// <item>every band has a distinct description (e.g. "B4") and <c>bands</c> names some of them: those bands, selected by
/// name (<see cref="BandName.Canonical"/>), in that order;</item>
/// <item>else <c>bands</c>, when given, names the file's bands in file order (its count must equal the band count);</item>
/// <item>else, when any band has a description, every description is used: a band the model needs must be named by exactly
/// one band (a duplicated or empty description is never guessed from position), else an <see cref="ArgumentException"/>
/// names the missing and ambiguous bands;</item>
/// <item>else (no band has a description) a 13-band file is SSL4Eco's layout (<see cref="Ssl4EcoLayout.Bands"/>);</item>
/// <item>else an <see cref="ArgumentException"/> says how to name the bands.</item>
/// </list>
/// The acquisition date comes from metadata <c>DATE</c>, <c>ACQUISITION_DATE</c>, <c>DATATAKE_1_DATATAKE_SENSING_START</c>
/// or <c>PRODUCT_START_TIME</c> (first parseable), the processing baseline from <c>PROCESSING_BASELINE</c>. Values are
/// returned as stored: the baseline travels with the patch and the model's <see cref="InputRecipe"/> decides harmonisation.
/// </remarks>
public static class PatchReader
{
    /// <summary>Most values (bands × pixels) one patch file may hold: 2^28 float32, 1 GiB.</summary>
    public const long MaxPatchValues = 1L << 28;

    /// <summary>Reads <paramref name="path"/>; see the type remarks for band naming.</summary>
    /// <param name="path">The raster file.</param>
    /// <param name="bands">Band names in file order for files without (usable) band descriptions, or, for a file whose bands
    /// all have distinct descriptions, the bands to select by name.</param>
    /// <param name="recipe">The model's input recipe: when given, only the bands it reads (<see cref="InputRecipe.BandsToRead"/>)
    /// are read, each found exactly once, else an <see cref="ArgumentException"/> names the missing or ambiguous bands.</param>
    /// <exception cref="GdalException">GDAL cannot open or read the file.</exception>
    /// <exception cref="ArgumentException">The bands cannot be named (wrong count, unknown, duplicated or undescribed name).</exception>
    public static Patch Read(string path, IReadOnlyList<string>? bands = null, InputRecipe? recipe = null)
    {
        using var ds = GdalDataset.Open(path);
        return ReadAll(ds, bands, recipe).Patch;
    }

    /// <summary>
    /// Reads <paramref name="path"/> under <paramref name="noData"/>, the nodata policy <c>map</c> applies to its tiles:
    /// invalid pixels (GDAL mask/nodata, NaN/∞) are filled with the band mean, and a patch whose valid fraction the policy
    /// refuses comes back without data. See <see cref="Read"/> for band naming.
    /// </summary>
    /// <exception cref="GdalException">GDAL cannot open or read the file.</exception>
    /// <exception cref="ArgumentException">The bands cannot be named, or the file is too large for one patch.</exception>
    public static ValidPatch ReadValid(string path, NoDataPolicy noData, IReadOnlyList<string>? bands = null, InputRecipe? recipe = null)
    {
        ArgumentNullException.ThrowIfNull(noData);
        noData.Validate();
        using var ds = GdalDataset.Open(path);
        var (patch, indexes) = ReadAll(ds, bands, recipe);
        var valid = new bool[patch.Height * patch.Width];
        Array.Fill(valid, true);
        new PixelValidity(ds, indexes).Mark(new PixelWindow(0, 0, patch.Width, patch.Height), patch.Data, valid);
        double fraction = PixelValidity.Fraction(valid);
        if (!noData.Accepts(fraction)) return new ValidPatch(null, fraction);
        PixelValidity.Fill(patch.Data, indexes.Length, valid);
        return new ValidPatch(patch, fraction);
    }

    private static (Patch Patch, int[] Indexes) ReadAll(GdalDataset ds, IReadOnlyList<string>? bands, InputRecipe? recipe)
    {
        var (names, indexes) = ResolveBands(ds, bands, recipe);
        int w = ds.Width, h = ds.Height;
        long values = (long)indexes.Length * w * h;
        if (values > MaxPatchValues)
            throw new ArgumentException(FormattableString.Invariant(
                $"'{ds.Path}' is {w} x {h} pixels x {indexes.Length} bands = {values:N0} values; one patch file holds at most {MaxPatchValues:N0} (1 GiB of float32). Cut patches (e.g. gdal_translate -srcwin) or map the whole scene in tiles (ssl4eco map)."));
        var data = new float[values];
        ds.Read(new PixelWindow(0, 0, w, h), data, indexes);
        return (new Patch(names, h, w, data) { Date = ReadDate(ds), ProcessingBaseline = ReadBaseline(ds) }, indexes);
    }

    /// <summary>
    /// Names the bands of an open dataset; returns the names and the matching 1-based band indexes. With
    /// <paramref name="recipe"/>, only the bands the recipe reads (<see cref="InputRecipe.BandsToRead"/>) are returned and
    /// each must be found exactly once.
    /// </summary>
    internal static (string[] Names, int[] Indexes) ResolveBands(GdalDataset ds, IReadOnlyList<string>? bands, InputRecipe? recipe = null) =>
        ResolveBands(ds, bands, recipe is null ? null : recipe.BandsToRead);

    /// <summary>As <see cref="ResolveBands(GdalDataset, IReadOnlyList{string}?, InputRecipe?)"/> for exactly the bands <paramref name="exact"/> (e.g. B4, B3, B2 of a preview).</summary>
    internal static (string[] Names, int[] Indexes) ResolveBands(GdalDataset ds, IReadOnlyList<string>? bands, IReadOnlyList<string> exact) =>
        ResolveBands(ds, bands, _ => exact.Select(BandName.Canonical).ToList());

    private static (string[] Names, int[] Indexes) ResolveBands(GdalDataset ds, IReadOnlyList<string>? bands, Func<IReadOnlyList<string>, IReadOnlyList<string>>? toRead)
    {
        int n = ds.BandCount;
        var descriptions = Enumerable.Range(1, n).Select(i => ds.Band(i).Description.Trim()).ToArray();
        var canonical = descriptions.Select(d => d.Length == 0 ? "" : BandName.Canonical(d)).ToArray();
        bool allDistinct = canonical.All(c => c.Length > 0) && canonical.Distinct(StringComparer.Ordinal).Count() == n;
        string[] names;
        List<string>? select = null;
        if (bands is not null)
        {
            var asked = bands.Select(BandName.Canonical).ToList();
            if (allDistinct && (asked.All(canonical.Contains) || bands.Count != n)) (names, select) = (descriptions, asked);
            else if (bands.Count != n)
                throw new ArgumentException($"'{ds.Path}' has {n} bands ({Describe(descriptions)}) but {bands.Count} band names were given ({string.Join(", ", bands)}); give one name per band in file order.");
            else names = bands.ToArray(); // the user's names in file order override missing, duplicated or other descriptions
        }
        else if (descriptions.All(d => d.Length == 0))
        {
            if (n != Ssl4EcoLayout.Bands.Count)
                throw new ArgumentException(
                    $"'{ds.Path}' has {n} bands without descriptions; cannot tell which Sentinel-2 bands they are. " +
                    $"Set band descriptions (e.g. gdal_edit.py / gdal_translate) or give the band names in file order (ssl4eco: --bands); only a 13-band file is read as SSL4Eco's layout ({string.Join(",", Ssl4EcoLayout.Bands)}).");
            names = Ssl4EcoLayout.Bands.ToArray();
        }
        else names = descriptions;
        IReadOnlyList<string>? wanted = select ?? toRead?.Invoke(names);
        if (wanted is null)
        {
            // Every described band; a caller that uses a duplicated name is refused by the preprocessor, an undescribed band is left out.
            var keep = Enumerable.Range(0, n).Where(i => names[i].Length > 0).ToArray();
            return (keep.Select(i => names[i]).ToArray(), keep.Select(i => i + 1).ToArray());
        }
        var problems = new List<string>();
        var idx = new List<int>();
        foreach (var w in wanted)
        {
            var hits = Enumerable.Range(0, n).Where(i => names[i].Length > 0 && BandName.Canonical(names[i]) == w).ToArray();
            if (hits.Length == 1) idx.Add(hits[0]);
            else if (hits.Length == 0) problems.Add($"{w} is missing");
            else problems.Add($"{w} is named by bands {string.Join(" and ", hits.Select(i => i + 1))}");
        }
        if (problems.Count > 0)
        {
            var empty = Enumerable.Range(0, n).Where(i => names[i].Length == 0).Select(i => (i + 1).ToString(CultureInfo.InvariantCulture)).ToArray();
            throw new ArgumentException(
                $"'{ds.Path}': cannot find the needed bands unambiguously ({string.Join("; ", problems)}); its bands are {Describe(names)}" +
                (empty.Length > 0 ? $" (band {string.Join(", ", empty)} without description)" : "") +
                ". Set distinct band descriptions (e.g. gdal_edit.py / gdal_translate) or give every band's name in file order (ssl4eco: --bands).");
        }
        return (idx.Select(i => names[i]).ToArray(), idx.Select(i => i + 1).ToArray());
    }

    private static string Describe(string[] names) => "[" + string.Join(", ", names.Select(x => x.Length == 0 ? "(none)" : x)) + "]";

    internal static DateOnly? ReadDate(GdalDataset ds)
    {
        foreach (var key in new[] { "DATE", "ACQUISITION_DATE", "DATATAKE_1_DATATAKE_SENSING_START", "PRODUCT_START_TIME", "SENSING_TIME" })
        {
            var v = ds.GetMetadataItem(key);
            if (v is null || v.Length < 10) continue;
            if (AcquisitionDate.TryParse(v[..10], out var d)) return d;
        }
        return null;
    }

    internal static double? ReadBaseline(GdalDataset ds)
    {
        return Harmonization.ParseBaseline(ds.GetMetadataItem("PROCESSING_BASELINE"));
    }
}

/// <summary>A patch read under a <see cref="NoDataPolicy"/>: its data (null when the policy refuses it) and valid fraction.</summary>
/// <param name="Patch">The patch with invalid pixels filled, or null when too few pixels are valid.</param>
/// <param name="ValidFraction">Fraction of valid pixels in [0, 1].</param>
/// <remarks>Immutable; thread-safe.</remarks>
public sealed record ValidPatch(Patch? Patch, double ValidFraction)
{
    /// <summary>The file read, when the caller recorded it.</summary>
    public string? Source { get; init; }
}

using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using SSL4Eco.Inference.Files;
using SSL4Eco.Gdal;
using SSL4Eco.Inference.Geo.Seasons;

namespace SSL4Eco.Inference.Geo.Dataset;

/// <summary>One wanted interval of a location: its season and its days on the 365-day cyclic year.</summary>
/// <param name="Season">The season.</param>
/// <param name="StartDay">First day-of-year (inclusive).</param>
/// <param name="EndDay">Day-of-year ending it (exclusive; smaller than the start when it wraps the year).</param>
/// <param name="MiddleDay">The middle <c>start + length / 2</c> (as <see cref="SeasonPicker"/> measures it).</param>
/// <remarks>Immutable; thread-safe.</remarks>
public sealed record PlannedInterval(Season Season, int StartDay, int EndDay, double MiddleDay);

/// <summary>One location of a plan.</summary>
/// <param name="Index">Dense dataset index (<c>imgs/{Index:06d}</c>), in grid order.</param>
/// <param name="Id">Stable grid id (<see cref="GridLocation.Id"/>).</param>
/// <param name="Longitude">Longitude in degrees.</param>
/// <param name="Latitude">Latitude in degrees.</param>
/// <param name="Weight">Sampling weight (1, ÷4 when non-vegetated, ×2 in mountains).</param>
/// <param name="Phenology">Where the calendar came from: "mcd12q2 (N years)" or "calendar: reason".</param>
/// <param name="Intervals">The four intervals, in <see cref="Season"/> order.</param>
/// <remarks>Immutable; thread-safe.</remarks>
public sealed record PlannedLocation(int Index, long Id, double Longitude, double Latitude, double Weight, string Phenology, IReadOnlyList<PlannedInterval> Intervals)
{
    /// <summary>The phenology calendar of the intervals.</summary>
    public PhenologyCalendar Calendar() => new(Intervals[0].StartDay, Intervals[1].StartDay, Intervals[2].StartDay, Intervals[3].StartDay);
}

/// <summary>A dataset plan: the locations and their wanted intervals, the grid spacing and the year range to search.</summary>
/// <param name="SpacingMeters">Grid spacing.</param>
/// <param name="FirstYear">First year searched (paper: 2017).</param>
/// <param name="LastYear">Last year searched (paper: 2024).</param>
/// <param name="Locations">The locations.</param>
/// <remarks>Immutable; thread-safe.</remarks>
public sealed record DatasetPlan(double SpacingMeters, int FirstYear, int LastYear, IReadOnlyList<PlannedLocation> Locations)
{
    /// <summary>Format tag written into the file.</summary>
    public const string FormatTag = "ssl4eco-dataset-plan/1";

    internal static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new JsonStringEnumConverter() },
    };

    private sealed record FileForm(string Format, double SpacingMeters, int FirstYear, int LastYear, List<PlannedLocation> Locations);

    /// <summary>Locations whose intervals come from the calendar fallback (no usable phenology there), not from the rasters.</summary>
    [JsonIgnore]
    public int CalendarFallbacks => Locations.Count(l => l.Phenology.StartsWith("calendar", StringComparison.Ordinal));

    /// <summary>Writes the plan as JSON, atomically.</summary>
    public void Save(string path) =>
        AtomicFile.WriteText(path, JsonSerializer.Serialize(new FileForm(FormatTag, SpacingMeters, FirstYear, LastYear, [.. Locations]), Json));

    /// <summary>Reads a plan written by <see cref="Save"/>.</summary>
    /// <exception cref="InvalidDataException">Not a plan file, or a malformed one.</exception>
    public static DatasetPlan Load(string path)
    {
        FileForm? f;
        try { f = JsonSerializer.Deserialize<FileForm>(File.ReadAllText(path), Json); }
        catch (JsonException e) { throw new InvalidDataException($"'{path}' is not a dataset plan ({e.Message}); create one with 'ssl4eco dataset plan'."); }
        if (f is null || f.Format != FormatTag || f.Locations is null)
            throw new InvalidDataException($"'{path}' is not a dataset plan (format '{f?.Format}', expected '{FormatTag}'); create one with 'ssl4eco dataset plan'.");
        foreach (var l in f.Locations)
            if (l.Intervals is not { Count: 4 }) throw new InvalidDataException($"'{path}': location {l.Index} does not list 4 intervals.");
        return new DatasetPlan(f.SpacingMeters, f.FirstYear, f.LastYear, f.Locations);
    }
}

/// <summary>What <see cref="DatasetPlanner.Plan"/> needs.</summary>
/// <remarks>Immutable record; thread-safe.</remarks>
public sealed record PlanOptions
{
    /// <summary>Grid spacing in metres (paper: 23 km).</summary>
    public double SpacingMeters { get; init; } = 23_000;
    /// <summary>Land polygons (any OGR vector: GeoPackage, GeoJSON, Shapefile). One of this and <see cref="LandRaster"/> is required.</summary>
    public string? LandVector { get; init; }
    /// <summary>Layer of <see cref="LandVector"/> (null: the first).</summary>
    public string? LandLayer { get; init; }
    /// <summary>Land mask raster: a location is land where band 1 is non-zero and not nodata.</summary>
    public string? LandRaster { get; init; }
    /// <summary>Optional region of interest (west, south, east, north in degrees).</summary>
    public (double West, double South, double East, double North)? Roi { get; init; }
    /// <summary>Phenology rasters; null = calendar seasons everywhere.</summary>
    public PhenologyRasters? Phenology { get; init; }
    /// <summary>Optional raster, non-zero where the land is non-vegetated (SPEC: mean NDVI &lt; 0.1 in all seasons): weight ÷ 4.</summary>
    public string? NonVegetatedRaster { get; init; }
    /// <summary>Optional raster, non-zero in mountains: weight × 2.</summary>
    public string? MountainRaster { get; init; }
    /// <summary>First year to search (paper: 2017).</summary>
    public int FirstYear { get; init; } = 2017;
    /// <summary>Last year to search (paper: 2024).</summary>
    public int LastYear { get; init; } = 2024;

    /// <summary>The input files given (land masks, phenology and weight rasters).</summary>
    public IEnumerable<string> Inputs =>
        new[] { LandVector, LandRaster, NonVegetatedRaster, MountainRaster, Phenology?.Greenup, Phenology?.Maturity, Phenology?.Senescence, Phenology?.Dormancy }
            .OfType<string>();

    /// <summary>Parses a year range <c>FIRST-LAST</c> (e.g. <c>2017-2024</c>).</summary>
    /// <exception cref="ArgumentException">The text is not two years joined by '-'.</exception>
    public static (int First, int Last) ParseYears(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var p = text.Split('-');
        if (p.Length == 2 && int.TryParse(p[0], NumberStyles.None, CultureInfo.InvariantCulture, out int a) && int.TryParse(p[1], NumberStyles.None, CultureInfo.InvariantCulture, out int b))
            return (a, b);
        throw new ArgumentException($"--years '{text}' is not FIRST-LAST (e.g. 2017-2024).");
    }

    /// <summary>Parses a region of interest <c>west,south,east,north</c> in degrees (checked by <see cref="DatasetPlanner.Plan"/>).</summary>
    /// <exception cref="ArgumentException">The text is not four numbers.</exception>
    public static (double West, double South, double East, double North) ParseRoi(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var p = text.Split(',');
        var v = new double[4];
        if (p.Length != 4 || p.Where((x, i) => !double.TryParse(x, NumberStyles.Float, CultureInfo.InvariantCulture, out v[i])).Any())
            throw new ArgumentException($"--roi '{text}' is not west,south,east,north in degrees.");
        return (v[0], v[1], v[2], v[3]);
    }
}

/// <summary>Builds a <see cref="DatasetPlan"/>: grid locations over land (and the ROI), their local phenology and weights.</summary>
/// <remarks>Stateless and thread-safe.</remarks>
public static class DatasetPlanner
{
    /// <summary>Plans the dataset.</summary>
    /// <exception cref="FileNotFoundException">An input file does not exist.</exception>
    /// <exception cref="ArgumentException">Neither or both land masks given, or the ROI/years are invalid.</exception>
    /// <exception cref="GdalException">A vector or raster cannot be read.</exception>
    public static DatasetPlan Plan(PlanOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        foreach (var input in options.Inputs)
            if (!File.Exists(input) && !Directory.Exists(input)) throw new FileNotFoundException($"'{input}' does not exist; check the path.", input);
        if ((options.LandVector is null) == (options.LandRaster is null))
            throw new ArgumentException("Give exactly one land mask: a vector file (--land) or a raster (--land-raster).");
        if (options.FirstYear > options.LastYear || options.FirstYear < 2015)
            throw new ArgumentException($"The years {options.FirstYear}–{options.LastYear} are not a range within the Sentinel-2 era (2015 on).");
        var grid = new EqualAreaGrid(options.SpacingMeters);
        OgrPolygons? polygons = options.LandVector is { } v ? OgrPolygons.Read(v, options.LandLayer) : null;
        using var landRaster = options.LandRaster is { } r ? new RasterSampler(r) : null;
        var box = polygons?.Bounds ?? (-180, -90, 180, 90);
        if (options.Roi is { } roi)
        {
            if (!(roi.West < roi.East && roi.South < roi.North && roi.South >= -90 && roi.North <= 90))
                throw new ArgumentException($"The ROI {roi.West},{roi.South},{roi.East},{roi.North} is not west,south,east,north in degrees with west < east and south < north.");
            box = (Math.Max(box.Item1, roi.West), Math.Max(box.Item2, roi.South), Math.Min(box.Item3, roi.East), Math.Min(box.Item4, roi.North));
        }
        using var phenology = options.Phenology is { } p ? new LocalPhenology(p) : null;
        using var nonVegetated = options.NonVegetatedRaster is { } nv ? new RasterSampler(nv) : null;
        using var mountains = options.MountainRaster is { } m ? new RasterSampler(m) : null;
        var locations = new List<PlannedLocation>();
        if (box.Item1 > box.Item3 || box.Item2 > box.Item4) return new DatasetPlan(options.SpacingMeters, options.FirstYear, options.LastYear, locations);
        foreach (var loc in grid.Within(box.Item1, box.Item2, box.Item3, box.Item4))
        {
            cancellationToken.ThrowIfCancellationRequested();
            bool land = polygons?.Contains(loc.Longitude, loc.Latitude) ?? landRaster!.Sample(loc.Longitude, loc.Latitude) is { } px && px[0] != 0 && !double.IsNaN(px[0]);
            if (!land) continue;
            var (calendar, source) = phenology?.At(loc.Longitude, loc.Latitude) ?? (PhenologyCalendar.CalendarSeasons, "calendar: no phenology rasters given");
            double weight = 1;
            if (IsSet(nonVegetated, loc)) weight /= 4;
            if (IsSet(mountains, loc)) weight *= 2;
            var intervals = Enum.GetValues<Season>().Select(s =>
            {
                var (start, end) = calendar.Interval(s);
                return new PlannedInterval(s, start, end, SeasonPicker.Middle(start, end));
            }).ToList();
            locations.Add(new PlannedLocation(locations.Count, loc.Id, loc.Longitude, loc.Latitude, weight, source, intervals));
        }
        return new DatasetPlan(options.SpacingMeters, options.FirstYear, options.LastYear, locations);
    }

    private static bool IsSet(RasterSampler? sampler, GridLocation loc) =>
        sampler?.Sample(loc.Longitude, loc.Latitude) is { } v && !double.IsNaN(v[0]) && v[0] != 0;
}

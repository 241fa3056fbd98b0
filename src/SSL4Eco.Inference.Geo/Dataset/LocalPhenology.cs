using SSL4Eco.Inference.Geo.Seasons;

namespace SSL4Eco.Inference.Geo.Dataset;

/// <summary>How the phenology rasters encode a transition date.</summary>
public enum PhenologyEncoding
{
    /// <summary>Days since <see cref="PhenologyRasters.Epoch"/> (MODIS MCD12Q2 v061: days since 1970-01-01).</summary>
    DaysSinceEpoch,
    /// <summary>Day of the year, 1..366.</summary>
    DayOfYear,
}

/// <summary>
/// MCD12Q2-style phenology rasters: one GDAL-readable file (GeoTIFF, HDF subdataset, VRT) per transition, each band one year
/// (e.g. a VRT stacking the yearly <c>Greenup_1</c> layers of MCD12Q2 v061).
/// </summary>
/// <param name="Greenup">Greenup raster.</param>
/// <param name="Maturity">Maturity raster.</param>
/// <param name="Senescence">Senescence raster.</param>
/// <param name="Dormancy">Dormancy raster.</param>
/// <remarks>Immutable record; thread-safe.</remarks>
public sealed record PhenologyRasters(string Greenup, string Maturity, string Senescence, string Dormancy)
{
    /// <summary>The date encoding (default: days since the epoch, as MCD12Q2 v061).</summary>
    public PhenologyEncoding Encoding { get; init; } = PhenologyEncoding.DaysSinceEpoch;
    /// <summary>Values meaning "no value" besides the rasters' own nodata (MCD12Q2 v061: 32767).</summary>
    public IReadOnlyList<double> FillValues { get; init; } = [32767];
    /// <summary>Epoch of <see cref="PhenologyEncoding.DaysSinceEpoch"/>.</summary>
    public DateOnly Epoch { get; init; } = new(1970, 1, 1);

    /// <summary>The four rasters, or null when none is given.</summary>
    /// <exception cref="ArgumentException">Some but not all four are given.</exception>
    public static PhenologyRasters? FromFiles(string? greenup, string? maturity, string? senescence, string? dormancy)
    {
        string?[] all = [greenup, maturity, senescence, dormancy];
        if (all.All(f => f is null)) return null;
        if (all.Any(f => f is null))
            throw new ArgumentException("give all four phenology rasters (--greenup, --maturity, --senescence, --dormancy) or none.");
        return new PhenologyRasters(greenup!, maturity!, senescence!, dormancy!);
    }

    /// <summary>Parses an encoding name: <c>days-since-epoch</c> or <c>day-of-year</c>.</summary>
    /// <exception cref="ArgumentException">Another name.</exception>
    public static PhenologyEncoding ParseEncoding(string name) => name switch
    {
        "days-since-epoch" => PhenologyEncoding.DaysSinceEpoch,
        "day-of-year" => PhenologyEncoding.DayOfYear,
        _ => throw new ArgumentException($"--phenology-encoding '{name}' is not days-since-epoch or day-of-year."),
    };
}

/// <summary>
/// Per-location phenology: the four transition days aggregated across the years of the rasters. The SPEC (and the paper as
/// the SPEC quotes it) names the product and the transitions but not how years are combined, so this is our choice: for each
/// transition, the <b>circular mean</b> of its day-of-year over the years with a valid value (a mean on the 365-day circle,
/// so 360 and 5 average to 365, not 182), rounded to a whole day. A location falls back to the calendar seasons
/// (<see cref="PhenologyCalendar.CalendarSeasons"/>) when a transition has no valid year, or when the four means are not
/// distinct and in cyclic order; the reason is recorded.
/// </summary>
/// <remarks>Not thread-safe (owns GDAL datasets).</remarks>
internal sealed class LocalPhenology : IDisposable
{
    private readonly PhenologyRasters _rasters;
    private readonly RasterSampler[] _samplers;

    public LocalPhenology(PhenologyRasters rasters)
    {
        _rasters = rasters;
        var list = new List<RasterSampler>();
        try
        {
            foreach (var path in new[] { rasters.Greenup, rasters.Maturity, rasters.Senescence, rasters.Dormancy }) list.Add(new RasterSampler(path));
        }
        catch
        {
            foreach (var s in list) s.Dispose();
            throw;
        }
        _samplers = [.. list];
    }

    /// <summary>The calendar at a point and where it came from ("mcd12q2 (N years)" or "calendar: reason").</summary>
    public (PhenologyCalendar Calendar, string Source) At(double lon, double lat)
    {
        var days = new int[4];
        int minYears = int.MaxValue;
        string[] names = ["Greenup", "Maturity", "Senescence", "Dormancy"];
        for (int t = 0; t < 4; t++)
        {
            var values = _samplers[t].Sample(lon, lat);
            if (values is null) return (PhenologyCalendar.CalendarSeasons, "calendar: outside the phenology rasters");
            var doys = values.Where(Valid).Select(ToDayOfYear).Where(d => d is not null).Select(d => d!.Value).ToList();
            if (doys.Count == 0) return (PhenologyCalendar.CalendarSeasons, $"calendar: no valid {names[t]} in any year");
            days[t] = CircularMeanDay(doys);
            minYears = Math.Min(minYears, doys.Count);
        }
        try { return (new PhenologyCalendar(days[0], days[1], days[2], days[3]), $"mcd12q2 ({minYears} years)"); }
        catch (ArgumentException)
        {
            return (PhenologyCalendar.CalendarSeasons, $"calendar: transitions {days[0]}, {days[1]}, {days[2]}, {days[3]} not in cyclic order");
        }
    }

    private bool Valid(double v) => double.IsFinite(v) && !_rasters.FillValues.Contains(v);

    private int? ToDayOfYear(double v)
    {
        if (_rasters.Encoding == PhenologyEncoding.DayOfYear)
            return v >= 1 && v <= 366 ? Math.Min(365, (int)v) : null;
        if (v < -1e6 || v > 1e6) return null;
        return SeasonPicker.DayOfYear(_rasters.Epoch.AddDays((int)v));
    }

    /// <summary>The circular mean of days-of-year (1..365) on the 365-day circle, rounded to 1..365.</summary>
    internal static int CircularMeanDay(IReadOnlyList<int> days)
    {
        double s = 0, c = 0;
        foreach (var d in days)
        {
            double a = 2 * Math.PI * (d - 1) / 365;
            s += Math.Sin(a);
            c += Math.Cos(a);
        }
        double mean = Math.Atan2(s, c) * 365 / (2 * Math.PI);
        int day = (int)Math.Round(mean, MidpointRounding.AwayFromZero);
        return ((day % 365) + 365) % 365 + 1;
    }

    public void Dispose()
    {
        foreach (var s in _samplers) s.Dispose();
    }
}

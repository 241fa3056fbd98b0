namespace SSL4Eco.Inference.Geo.Seasons;

/// <summary>A candidate scene: an identifier (path, STAC id), its acquisition date and its cloud fraction (0..1).</summary>
/// <param name="Id">Identifier returned with the pick.</param>
/// <param name="Date">Acquisition date.</param>
/// <param name="CloudFraction">Cloud fraction in [0, 1].</param>
/// <remarks>Immutable; thread-safe.</remarks>
public sealed record SceneCandidate(string Id, DateOnly Date, double CloudFraction);

/// <summary>The four seasons between consecutive phenology transitions.</summary>
public enum Season
{
    /// <summary>Greenup → Maturity (calendar fallback: spring, 1 Mar → 1 Jun).</summary>
    GreenupToMaturity,
    /// <summary>Maturity → Senescence (calendar fallback: summer, 1 Jun → 1 Sep).</summary>
    MaturityToSenescence,
    /// <summary>Senescence → Dormancy (calendar fallback: autumn, 1 Sep → 1 Dec).</summary>
    SenescenceToDormancy,
    /// <summary>Dormancy → next Greenup, wrapping the year (calendar fallback: winter, 1 Dec → 1 Mar).</summary>
    DormancyToGreenup,
}

/// <summary>
/// The four phenology transition days as day-of-year (1..365; e.g. from MODIS MCD12Q2 Greenup, Maturity, Senescence, Dormancy).
/// They must be distinct and in cyclic order Greenup → Maturity → Senescence → Dormancy around the year.
/// </summary>
/// <remarks>Immutable; thread-safe.</remarks>
public sealed record PhenologyCalendar
{
    /// <summary>Creates a calendar; throws <see cref="ArgumentException"/> when days are out of range, equal, or out of cyclic order.</summary>
    public PhenologyCalendar(int greenup, int maturity, int senescence, int dormancy)
    {
        int[] d = [greenup, maturity, senescence, dormancy];
        foreach (var x in d)
            if (x < 1 || x > 365) throw new ArgumentException($"Phenology day-of-year must be in 1..365, got {x}.");
        // Cyclic order: the forward distances from Greenup must increase and stay below 365.
        int F(int x) => (x - greenup + 365) % 365;
        if (!(F(maturity) > 0 && F(senescence) > F(maturity) && F(dormancy) > F(senescence)))
            throw new ArgumentException($"Phenology days must be distinct and in the order Greenup ({greenup}) → Maturity ({maturity}) → Senescence ({senescence}) → Dormancy ({dormancy}) around the year.");
        Greenup = greenup; Maturity = maturity; Senescence = senescence; Dormancy = dormancy;
    }

    /// <summary>From transition dates (their day-of-year; 29 Feb counts as 28 Feb so every year has 365 days).</summary>
    public static PhenologyCalendar FromDates(DateOnly greenup, DateOnly maturity, DateOnly senescence, DateOnly dormancy) =>
        new(SeasonPicker.DayOfYear(greenup), SeasonPicker.DayOfYear(maturity), SeasonPicker.DayOfYear(senescence), SeasonPicker.DayOfYear(dormancy));

    /// <summary>Calendar seasons fallback (northern-hemisphere meteorological): 1 Mar, 1 Jun, 1 Sep, 1 Dec.</summary>
    public static PhenologyCalendar CalendarSeasons { get; } = new(60, 152, 244, 335);

    /// <summary>Greenup day.</summary>
    public int Greenup { get; }
    /// <summary>Maturity day.</summary>
    public int Maturity { get; }
    /// <summary>Senescence day.</summary>
    public int Senescence { get; }
    /// <summary>Dormancy day.</summary>
    public int Dormancy { get; }

    /// <summary>Start (inclusive) and end (exclusive) day of a season; end &lt; start when it wraps the year.</summary>
    public (int Start, int End) Interval(Season season) => season switch
    {
        Season.GreenupToMaturity => (Greenup, Maturity),
        Season.MaturityToSenescence => (Maturity, Senescence),
        Season.SenescenceToDormancy => (Senescence, Dormancy),
        Season.DormancyToGreenup => (Dormancy, Greenup),
        _ => throw new ArgumentOutOfRangeException(nameof(season)),
    };
}

/// <summary>The scene picked for one season (null when no candidate qualifies) and its interval.</summary>
/// <param name="Season">The season.</param>
/// <param name="StartDay">First day-of-year of the interval.</param>
/// <param name="EndDay">Day-of-year ending it (exclusive; smaller than the start when it wraps).</param>
/// <param name="Scene">The chosen scene or null.</param>
/// <param name="DaysFromMiddle">Cyclic distance in days from the scene to the interval's middle (NaN without scene).</param>
/// <remarks>Immutable; thread-safe.</remarks>
public sealed record SeasonPick(Season Season, int StartDay, int EndDay, SceneCandidate? Scene, double DaysFromMiddle);

/// <summary>
/// Picks one scene per season. Rule: a scene belongs to a season when its day-of-year lies in <c>[start, end)</c> on a
/// 365-day cyclic year (the year itself is ignored, so candidates from several years compete; 29 Feb counts as 28 Feb).
/// It qualifies when its cloud fraction is below <c>maxCloudFraction</c> (default 0.2, strict). Among qualifying scenes the
/// winner has, in order: (1) the lowest cloud fraction in whole percent (<c>floor(cloud × 100)</c>, so 3.2 % and 3.9 % tie);
/// (2) the smallest cyclic distance in days to the interval's middle <c>start + length / 2</c>; (3) the earlier date;
/// (4) the ordinal-smaller id.
/// </summary>
/// <remarks>Stateless and thread-safe.</remarks>
public static class SeasonPicker
{
    /// <summary>Picks a scene for each of the four seasons (in <see cref="Season"/> order).</summary>
    /// <param name="candidates">Candidate scenes.</param>
    /// <param name="calendar">Phenology calendar; null = <see cref="PhenologyCalendar.CalendarSeasons"/>.</param>
    /// <param name="maxCloudFraction">Exclusive cloud limit in (0, 1].</param>
    public static IReadOnlyList<SeasonPick> Pick(IEnumerable<SceneCandidate> candidates, PhenologyCalendar? calendar = null, double maxCloudFraction = 0.2)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        if (!(maxCloudFraction > 0 && maxCloudFraction <= 1)) throw new ArgumentOutOfRangeException(nameof(maxCloudFraction), $"Cloud limit must be in (0, 1], got {maxCloudFraction}.");
        calendar ??= PhenologyCalendar.CalendarSeasons;
        var list = candidates.ToList();
        foreach (var c in list)
            if (!(c.CloudFraction >= 0 && c.CloudFraction <= 1))
                throw new ArgumentException($"Scene '{c.Id}' has cloud fraction {c.CloudFraction}; expected a value in [0, 1].", nameof(candidates));
        var picks = new List<SeasonPick>(4);
        foreach (var season in Enum.GetValues<Season>())
        {
            var (start, end) = calendar.Interval(season);
            int length = (end - start + 365) % 365;
            double middle = Middle(start, end);
            var best = list
                .Where(c => c.CloudFraction < maxCloudFraction && InInterval(DayOfYear(c.Date), start, length))
                .Select(c => (Scene: c, Distance: CyclicDistance(DayOfYear(c.Date), middle)))
                .OrderBy(x => Math.Floor(x.Scene.CloudFraction * 100))
                .ThenBy(x => x.Distance)
                .ThenBy(x => x.Scene.Date)
                .ThenBy(x => x.Scene.Id, StringComparer.Ordinal)
                .FirstOrDefault();
            picks.Add(new SeasonPick(season, start, end, best.Scene, best.Scene is null ? double.NaN : best.Distance));
        }
        return picks;
    }

    /// <summary>The middle day of the interval <c>[start, end)</c> on the 365-day cyclic year: <c>start + length / 2</c> (may exceed 365 when it wraps).</summary>
    internal static double Middle(int start, int end) => start + ((end - start + 365) % 365) / 2.0;

    internal static int DayOfYear(DateOnly d)
    {
        int doy = d.DayOfYear;
        return DateTime.IsLeapYear(d.Year) && d.Month > 2 ? doy - 1 : doy == 60 && DateTime.IsLeapYear(d.Year) ? 59 : doy;
    }

    private static bool InInterval(int doy, int start, int length) => (doy - start + 365) % 365 < length;

    private static double CyclicDistance(double a, double b)
    {
        double d = Math.Abs(a - b) % 365;
        return Math.Min(d, 365 - d);
    }
}

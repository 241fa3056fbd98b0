using SSL4Eco.Inference.Geo.Dataset;
using SSL4Eco.Inference.Geo.Seasons;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Inference.Geo.Tests.Dataset;

/// <summary>
/// The dataset options' parsing, defaults and validation, and the summaries <c>ssl4eco dataset</c> prints, as library
/// answers (each error one line naming the problem and the fix).
/// </summary>
public sealed class DatasetOptionsTests
{
    [Fact]
    public void Years_roi_encoding_and_endpoint_parse_as_written()
    {
        Assert.Equal((2017, 2024), PlanOptions.ParseYears("2017-2024"));
        Assert.Equal((-1.5, 40, 6.25, 46), PlanOptions.ParseRoi("-1.5,40,6.25,46"));
        Assert.Equal(PhenologyEncoding.DayOfYear, PhenologyRasters.ParseEncoding("day-of-year"));
        Assert.Equal(PhenologyEncoding.DaysSinceEpoch, PhenologyRasters.ParseEncoding("days-since-epoch"));
        Assert.Equal(new Uri("https://earth-search.aws.element84.com/v1"), FetchOptions.ParseEndpoint("https://earth-search.aws.element84.com/v1"));
    }

    [Theory]
    [InlineData("years", "2017", "--years '2017' is not FIRST-LAST (e.g. 2017-2024).")]
    [InlineData("years", "2017-x", "--years '2017-x' is not FIRST-LAST (e.g. 2017-2024).")]
    [InlineData("roi", "1,2,3", "--roi '1,2,3' is not west,south,east,north in degrees.")]
    [InlineData("roi", "1,2,3,north", "--roi '1,2,3,north' is not west,south,east,north in degrees.")]
    [InlineData("encoding", "doy", "--phenology-encoding 'doy' is not days-since-epoch or day-of-year.")]
    [InlineData("stac", "ftp://example.org", "--stac 'ftp://example.org' is not an http(s) URL.")]
    [InlineData("stac", "earth-search", "--stac 'earth-search' is not an http(s) URL.")]
    public void Unparseable_text_is_one_line_naming_the_option_and_the_form(string what, string text, string message)
    {
        Action parse = what switch
        {
            "years" => () => PlanOptions.ParseYears(text),
            "roi" => () => PlanOptions.ParseRoi(text),
            "encoding" => () => PhenologyRasters.ParseEncoding(text),
            _ => () => FetchOptions.ParseEndpoint(text),
        };
        Assert.Equal(message, Assert.Throws<ArgumentException>(parse).Message);
    }

    [Fact]
    public void Phenology_rasters_are_all_four_or_none_with_the_default_fill()
    {
        Assert.Null(PhenologyRasters.FromFiles(null, null, null, null));
        var p = PhenologyRasters.FromFiles("g", "m", "s", "d")!;
        Assert.Equal(("g", "m", "s", "d"), (p.Greenup, p.Maturity, p.Senescence, p.Dormancy));
        Assert.Equal([32767.0], p.FillValues);
        var e = Assert.Throws<ArgumentException>(() => PhenologyRasters.FromFiles("g", null, "s", "d"));
        Assert.StartsWith("give all four phenology rasters", e.Message);
    }

    [Fact]
    public void Plan_names_a_missing_input_before_reading_anything()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("land.geojson"), "{}");
        var options = new PlanOptions { LandVector = dir.File("land.geojson"), MountainRaster = dir.File("mountains.tif") };
        Assert.Equal([dir.File("land.geojson"), dir.File("mountains.tif")], options.Inputs);
        var e = Assert.Throws<FileNotFoundException>(() => DatasetPlanner.Plan(options));
        Assert.Equal($"'{dir.File("mountains.tif")}' does not exist; check the path.", e.Message);
    }

    [Fact]
    public void Plan_counts_calendar_fallbacks_and_fetch_summary_groups_skips()
    {
        PlannedInterval[] four = [.. Enum.GetValues<Season>().Select(s => new PlannedInterval(s, 1, 2, 1.5))];
        var plan = new DatasetPlan(23_000, 2017, 2024,
        [
            new(0, 1, 0, 0, 1, "mcd12q2 (3 years)", four), new(1, 2, 0, 0, 1, "calendar: no phenology rasters given", four),
            new(2, 3, 0, 0, 1, "calendar: no valid years", four),
        ]);
        Assert.Equal(2, plan.CalendarFallbacks);
        var summary = new FetchSummary([], 0, 0,
        [
            new(0, Season.GreenupToMaturity, null, "no item below the cloud limit", false),
            new(1, Season.GreenupToMaturity, "x", "asset unreadable", true),
            new(1, Season.MaturityToSenescence, null, "no item below the cloud limit", false),
        ]);
        Assert.Equal([("no item below the cloud limit", 2), ("asset unreadable", 1)], summary.SkipReasons);
        Assert.Equal(1, summary.Failed);
    }
}

using SSL4Eco.Inference.Geo.Dataset;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Cli.Tests.Commands;

/// <summary>Issue #16: <c>ssl4eco dataset plan</c> / <c>fetch</c> are thin over the library and fail with one clear line.</summary>
[Collection(CliCollection.Name)]
public sealed class DatasetCommandTests
{
    private const string Land = """
        {"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[0,40],[6,40],[6,46],[0,46],[0,40]]]}}]}
        """;

    [Fact]
    public void Plan_writes_the_grid_over_the_land_polygon()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("land.geojson"), Land);
        var (exit, stdout, stderr) = CliHarness.Run("dataset", "plan", "--land", dir.File("land.geojson"), "--roi", "0,40,3,46", "-o", dir.File("plan.json"));
        Assert.True(exit == 0, stderr);
        var plan = DatasetPlan.Load(dir.File("plan.json"));
        // The library's own count for the same polygon and ROI (the grid is tested numerically in the Geo tests).
        var expected = new EqualAreaGrid(23000).Within(0, 40, 3, 46).Count();
        Assert.Equal(expected, plan.Locations.Count);
        Assert.InRange(expected, 300, 500); // ≈ 3° × 6° at 43° N / 23 km²
        Assert.Contains($"{expected} locations planned ({expected} with the calendar fallback)", stdout);
        Assert.Equal((2017, 2024, 23000.0), (plan.FirstYear, plan.LastYear, plan.SpacingMeters));
    }

    [Theory]
    [InlineData("missing-land", "does not exist")]
    [InlineData("both-masks", "exactly one land mask")]
    [InlineData("bad-roi", "--roi '1,2,3' is not west,south,east,north")]
    [InlineData("bad-years", "--years '2017' is not FIRST-LAST")]
    [InlineData("half-phenology", "give all four phenology rasters")]
    [InlineData("bad-stac", "--stac 'ftp://example.org' is not an http(s) URL")]
    [InlineData("not-a-plan", "is not a dataset plan")]
    public void Bad_input_is_one_error_line_naming_the_problem(string kind, string message)
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("land.geojson"), Land);
        File.WriteAllText(dir.File("plan.json"), "{}");
        string land = dir.File("land.geojson");
        string[] args = kind switch
        {
            "missing-land" => ["dataset", "plan", "--land", dir.File("none.gpkg"), "-o", dir.File("p.json")],
            "both-masks" => ["dataset", "plan", "--land", land, "--land-raster", land, "-o", dir.File("p.json")],
            "bad-roi" => ["dataset", "plan", "--land", land, "--roi", "1,2,3", "-o", dir.File("p.json")],
            "bad-years" => ["dataset", "plan", "--land", land, "--years", "2017", "-o", dir.File("p.json")],
            "half-phenology" => ["dataset", "plan", "--land", land, "--greenup", land, "-o", dir.File("p.json")],
            "bad-stac" => ["dataset", "fetch", "--plan", dir.File("plan.json"), "--stac", "ftp://example.org", "-o", dir.File("out")],
            _ => ["dataset", "fetch", "--plan", dir.File("plan.json"), "--stac", "http://127.0.0.1:9/", "-o", dir.File("out")],
        };
        var (exit, _, stderr) = CliHarness.Run(args);
        Assert.Equal(1, exit);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: ", line);
        Assert.Contains(message, line);
        Assert.DoesNotContain("Exception", line);
        Assert.False(File.Exists(dir.File("p.json")));
        Assert.False(Directory.Exists(dir.File("out")));
    }
}

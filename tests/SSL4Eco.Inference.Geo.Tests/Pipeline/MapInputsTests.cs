using SSL4Eco.Gdal;
using SSL4Eco.Inference.Geo.Pipeline;
using SSL4Eco.Inference.Geo.Rasters;
using SSL4Eco.Inference.Geo.Seasons;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Inference.Geo.Tests.Pipeline;

/// <summary>The library side of the map/seasons/stack options: ROIs, folders, dates (one parser), scenes CSV, stack metadata.</summary>
public class MapInputsTests
{
    [Fact]
    public void An_roi_is_a_pixel_window_a_polygon_file_or_polygon_text()
    {
        using var dir = new TempDir();
        Assert.Equal((new PixelWindow(1, 2, 30, 40), (string?)null), MapInputs.ParseRoi(" 1, 2,30 ,40"));
        Assert.Equal(((PixelWindow?)null, (string?)null), MapInputs.ParseRoi("  "));
        const string wkt = "POLYGON((0 0, 1 0, 1 1, 0 0))";
        File.WriteAllText(dir.File("roi.wkt"), wkt);
        Assert.Equal(((PixelWindow?)null, wkt), MapInputs.ParseRoi(dir.File("roi.wkt")));
        Assert.Equal(((PixelWindow?)null, "1,2,3"), MapInputs.ParseRoi("1,2,3"));
    }

    [Fact]
    public void A_folder_stands_for_its_rasters_and_an_empty_one_is_refused()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("dates"));
        File.WriteAllText(dir.File("dates/b_20240601.tif"), "");
        File.WriteAllText(dir.File("dates/a_20240115.tif"), "");
        File.WriteAllText(dir.File("dates/notes.txt"), "");
        Assert.Equal([dir.File("x.tif"), dir.File("dates/a_20240115.tif"), dir.File("dates/b_20240601.tif")],
            MapInputs.ExpandFolders([dir.File("x.tif"), dir.File("dates")]));
        Directory.CreateDirectory(dir.File("empty"));
        var e = Assert.Throws<ArgumentException>(() => MapInputs.ExpandFolders([dir.File("empty")]));
        Assert.Contains("'" + dir.File("empty") + "' holds no raster", e.Message);
    }

    [Fact]
    public void Dates_come_from_the_option_or_the_file_names_and_each_gap_is_named()
    {
        Assert.Equal([new DatedInput(new DateOnly(2024, 1, 15), "a_20240115.tif"), new DatedInput(new DateOnly(2024, 6, 1), "S2_20240601T101559.tif")],
            MapInputs.Dated(["a_20240115.tif", "S2_20240601T101559.tif"], null));
        Assert.Equal(new DateOnly(2023, 3, 4), MapInputs.Dated(["x.tif"], " 2023-03-04 ")[0].Date);
        Assert.Contains("--dates lists 1 dates for 2 inputs", Assert.Throws<ArgumentException>(() => MapInputs.Dated(["a.tif", "b.tif"], "2023-03-04")).Message);
        Assert.Contains("No date (yyyyMMdd) in the file name 'scene.tif'; give --dates", Assert.Throws<ArgumentException>(() => MapInputs.Dated(["/d/scene.tif"], null)).Message);
        Assert.Contains("'2023-13-04' is not a yyyy-MM-dd date", Assert.Throws<ArgumentException>(() => MapInputs.Dated(["a.tif"], "2023-13-04")).Message);
    }

    [Theory]
    [InlineData("S2_20240601.tif", "2024-06-01")]
    [InlineData("scene20240601.tif", "2024-06-01")]          // no separator needed
    [InlineData("T32TQM_20240601T101559_B02_10m.jp2", "2024-06-01")]
    [InlineData("x_20241399_20240102.tif", "2024-01-02")]    // the first valid date
    [InlineData("id_123202406011.tif", null)]                // eight digits inside a longer number are no date
    [InlineData("B02.tif", null)]
    public void One_parser_reads_the_date_in_a_file_name(string name, string? expected) =>
        Assert.Equal(expected is null ? null : DateOnly.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), AcquisitionDate.FromFileName(name));

    [Fact]
    public void A_malformed_date_option_names_the_option_and_the_form()
    {
        Assert.Equal(new DateOnly(2024, 2, 29), AcquisitionDate.Parse("2024-02-29", "--date"));
        Assert.Equal("--date '2023-02-29' is not a yyyy-MM-dd date.", Assert.Throws<ArgumentException>(() => AcquisitionDate.Parse("2023-02-29", "--date")).Message);
        Assert.Equal("2024-06-01", AcquisitionDate.ToText(new DateOnly(2024, 6, 1)));
    }

    [Fact]
    public void A_scenes_csv_is_read_and_each_bad_line_is_named()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("ok.csv"), "id,date,cloud_fraction\n\na, 2021-05-01 ,0.1\nb,2021-06-01,0\n");
        Assert.Equal([new SceneCandidate("a", new DateOnly(2021, 5, 1), 0.1), new SceneCandidate("b", new DateOnly(2021, 6, 1), 0)], SeasonInputs.ReadScenes(dir.File("ok.csv")));
        foreach (var (text, message) in new[]
        {
            ("id,date,cloud_fraction\n", "lists no scenes"),
            ("id,date,cloud_fraction\na,2021-05-01\n", "line 2: expected id,date,cloud_fraction"),
            ("id,date,cloud_fraction\na,2021-05-01,0.1\nb,01/06/2021,0.1\n", "line 3: '01/06/2021' is not a yyyy-MM-dd date"),
            ("id,date,cloud_fraction\na,2021-05-01,1.5\n", "line 2: cloud fraction '1.5' is not in 0..1"),
        })
        {
            File.WriteAllText(dir.File("bad.csv"), text);
            Assert.Contains(message, Assert.Throws<InvalidDataException>(() => SeasonInputs.ReadScenes(dir.File("bad.csv"))).Message);
        }
    }

    [Fact]
    public void Transition_dates_are_all_four_or_none()
    {
        var d = new DateOnly(2021, 4, 1);
        Assert.Null(SeasonInputs.Calendar(null, null, null, null));
        Assert.Equal(PhenologyCalendar.FromDates(d, d.AddDays(30), d.AddDays(120), d.AddDays(200)), SeasonInputs.Calendar(d, d.AddDays(30), d.AddDays(120), d.AddDays(200)));
        Assert.Contains("Give all four transition dates", Assert.Throws<ArgumentException>(() => SeasonInputs.Calendar(d, null, null, d)).Message);
    }

    [Fact]
    public void A_stack_records_baseline_and_the_one_date_its_file_names_agree_on()
    {
        string[] files = ["T32TQM_20240601T101559_B02_10m.tif", "T32TQM_20240601T101559_B04_10m.tif"];
        Assert.Equal(new Dictionary<string, string> { ["PROCESSING_BASELINE"] = "04.00", ["DATE"] = "2024-06-01" }, BandStack.SceneMetadata(files, "04.00", null));
        Assert.Equal(new Dictionary<string, string> { ["DATE"] = "2023-01-02" }, BandStack.SceneMetadata(files, null, new DateOnly(2023, 1, 2)));
        Assert.Empty(BandStack.SceneMetadata(["B02.tif", "B04.tif"], null, null));
        Assert.Contains("--baseline 'new' is not a processing baseline", Assert.Throws<ArgumentException>(() => BandStack.SceneMetadata(files, "new", null)).Message);
        Assert.Contains("different dates (2024-06-01, 2024-07-01)", Assert.Throws<ArgumentException>(() =>
            BandStack.SceneMetadata([files[0], "T32TQM_20240701T101559_B04_10m.tif"], null, null)).Message);
        Assert.Equal(["B8", "B4"], BandStack.Named(files, ["B8", "B4"]).Select(b => b.Band));
        Assert.Equal(["B2", "B4"], BandStack.Named(files, null).Select(b => b.Band));
        Assert.Contains("--bands names 1 bands for 2 files", Assert.Throws<ArgumentException>(() => BandStack.Named(files, ["B8"])).Message);
    }
}

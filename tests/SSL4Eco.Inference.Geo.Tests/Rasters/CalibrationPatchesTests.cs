using SSL4Eco.Inference.Geo.Rasters;
using SSL4Eco.Inference.Models;
using SSL4Eco.Inference.Quantization;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Inference.Geo.Tests.Rasters;

/// <summary>
/// <see cref="CalibrationPatches"/>: which files calibrate an int8 model (folders expanded, sorted, evenly thinned) and how
/// they are read (python-gdal writes the rasters; a mostly-nodata or unreadable file is named in the error).
/// </summary>
public sealed class CalibrationPatchesTests
{
    private static readonly ModelContract Rgb = new() { Bands = ["B2", "B3", "B4"], Scaling = new InputScaling(10000), Spatial = SpatialPolicy.CenterCropOrBicubicUpscale, ModelId = "t" };

    [Fact]
    public void Select_expands_folders_sorts_dedupes_and_thins_evenly()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("f"));
        foreach (var n in new[] { "f/c.tif", "f/a.tif", "f/.hidden.tif", "f/notes.txt", "b.TIF", "e.jp2" }) File.WriteAllText(dir.File(n), "");
        var all = CalibrationPatches.Select([dir.File("f"), dir.File("b.TIF"), dir.File("f/a.tif"), dir.File("e.jp2")]);
        string[] expected = [dir.File("b.TIF"), dir.File("e.jp2"), dir.File("f/a.tif"), dir.File("f/c.tif")];
        Assert.Equal(expected.Order(StringComparer.Ordinal), all);
        // Evenly spaced over the sorted list: index floor(i * 4 / 2) for i = 0, 1.
        Assert.Equal([all[0], all[2]], CalibrationPatches.Select([dir.File("f"), dir.File("b.TIF"), dir.File("e.jp2")], count: 2));
        Assert.Equal(all, CalibrationPatches.Select([dir.File("f"), dir.File("b.TIF"), dir.File("e.jp2")], count: 99));
        var calibration = CalibrationPatches.For([dir.File("f")], options: new Int8QuantizationOptions { Method = CalibrationMethod.MinMax });
        Assert.Equal([dir.File("f/a.tif"), dir.File("f/c.tif")], calibration.Files);
        Assert.Equal(CalibrationMethod.MinMax, calibration.Options.Method);
    }

    [Theory]
    [InlineData("nothing", "needs calibration patches")]
    [InlineData("missing", "calibration file")]
    [InlineData("empty-folder", "holds no raster files")]
    [InlineData("count-zero", "--count must be at least 1, got 0")]
    public void Select_refuses_what_cannot_calibrate_with_one_line_naming_it(string kind, string mention)
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("empty"));
        File.WriteAllText(dir.File("a.tif"), "");
        File.WriteAllText(dir.File("b.tif"), "");
        string[] given = kind switch
        {
            "nothing" => [],
            "missing" => [dir.File("none.tif")],
            "empty-folder" => [dir.File("empty")],
            _ => [dir.File("a.tif"), dir.File("b.tif")],
        };
        var e = Assert.Throws<ArgumentException>(() => CalibrationPatches.Select(given, kind == "count-zero" ? 0 : null));
        Assert.Contains(mention, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Read_gives_the_contracts_bands_and_names_a_nodata_or_unreadable_patch()
    {
        using var dir = new TempDir();
        PythonOracle.Run("""
import numpy as np
from osgeo import gdal
folder = sys.argv[1]
for name, holes in (('good', 0), ('holes', 29)):
    ds = gdal.GetDriverByName('GTiff').Create(f'{folder}/{name}.tif', 30, 30, 4, gdal.GDT_UInt16)
    for i in range(4):
        a = np.full((30, 30), 100 * (i + 1), dtype=np.uint16)
        a[:holes, :] = 0
        b = ds.GetRasterBand(i + 1); b.WriteArray(a); b.SetNoDataValue(0); b.SetDescription(['B4', 'B3', 'B2', 'B8'][i])
    ds = None
""", dir.Path);
        File.WriteAllText(dir.File("junk.tif"), "not a raster");
        var patch = Assert.Single(CalibrationPatches.Read([dir.File("good.tif")], Rgb));
        Assert.Equal(["B2", "B3", "B4"], patch.BandNames);
        Assert.Equal(300f, patch.Data[0]); // B2 is the file's third band
        var holes = Assert.Throws<InvalidDataException>(() => CalibrationPatches.Read([dir.File("good.tif"), dir.File("holes.tif")], Rgb).ToList());
        Assert.Equal("calibration patch 'holes.tif' is 97% nodata; leave it out of --calibration.", holes.Message);
        var junk = Assert.Throws<InvalidDataException>(() => CalibrationPatches.Read([dir.File("junk.tif")], Rgb).ToList());
        Assert.StartsWith("calibration patch junk.tif: ", junk.Message);
    }
}

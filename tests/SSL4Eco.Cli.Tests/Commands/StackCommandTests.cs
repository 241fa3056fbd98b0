using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Cli.Tests.Commands;

[Collection(CliCollection.Name)]
public sealed class StackCommandTests
{
    // SAFE-style band files of one date: B02 and B04 at 10 m (40 x 40), B05 at 20 m (20 x 20), UTM 32N.
    private const string MakeBands = """
import numpy as np
from osgeo import gdal, osr
d = sys.argv[1]; s = osr.SpatialReference(); s.ImportFromEPSG(32632)
rng = np.random.default_rng(11)
for name, size, res in [('B02', 40, 10), ('B04', 40, 10), ('B05', 20, 20)]:
    ds = gdal.GetDriverByName('GTiff').Create(f'{d}/T32TQM_20240601T101559_{name}_{res}m.tif', size, size, 1, gdal.GDT_UInt16)
    ds.SetGeoTransform([600000.0, res, 0.0, 5100000.0, 0.0, -res]); ds.SetProjection(s.ExportToWkt())
    ds.GetRasterBand(1).WriteArray(rng.integers(100, 5000, size=(size, size)).astype(np.uint16)); ds = None
""";

    [Fact]
    public void Stack_SafeBandFiles_BecomeOneVrtWithBandNamesDateAndBaseline()
    {
        using var dir = new TempDir();
        PythonOracle.Run(MakeBands, dir.Path);
        var files = new[] { "B02_10m", "B04_10m", "B05_20m" }.Select(b => dir.File($"T32TQM_20240601T101559_{b}.tif")).ToArray();
        var (exit, stdout, stderr) = CliHarness.Run(["stack", .. files, "-o", dir.File("scene.vrt"), "--baseline", "04.00"]);
        Assert.True(exit == 0, stderr);
        Assert.Contains("B2, B4, B5 (2024-06-01)", stdout);
        var check = PythonOracle.Run("""
from osgeo import gdal
import numpy as np
v = gdal.Open(sys.argv[1]); b2 = gdal.Open(sys.argv[2]).ReadAsArray()
names = [v.GetRasterBand(i + 1).GetDescription() for i in range(v.RasterCount)]
ref = gdal.Translate('/vsimem/r.tif', sys.argv[3], width=40, height=40, resampleAlg='bilinear').ReadAsArray().astype(np.float32)
print(','.join(names), v.RasterXSize, v.GetMetadataItem('DATE'), v.GetMetadataItem('PROCESSING_BASELINE'),
      bool(np.array_equal(v.GetRasterBand(1).ReadAsArray(), b2)), float(np.abs(v.GetRasterBand(3).ReadAsArray() - ref).max()) < 1e-2)
""", dir.File("scene.vrt"), files[0], files[2]).Trim();
        Assert.Equal("B2,B4,B5 40 2024-06-01 04.00 True True", check);
    }

    [Fact]
    public void Stack_FilesThatNameNoBandOrDifferentDates_AreClearErrors()
    {
        using var dir = new TempDir();
        PythonOracle.Run(MakeBands, dir.Path);
        var b2 = dir.File("T32TQM_20240601T101559_B02_10m.tif");
        File.Copy(b2, dir.File("scene.tif"));
        var (exit, _, stderr) = CliHarness.Run("stack", b2, dir.File("scene.tif"), "-o", dir.File("x.vrt"));
        Assert.NotEqual(0, exit);
        Assert.Contains("'scene.tif' names no Sentinel-2 band", stderr);
        Assert.False(File.Exists(dir.File("x.vrt")));

        File.Copy(dir.File("T32TQM_20240601T101559_B04_10m.tif"), dir.File("T32TQM_20240701T101559_B04_10m.tif"));
        (exit, _, stderr) = CliHarness.Run("stack", b2, dir.File("T32TQM_20240701T101559_B04_10m.tif"), "-o", dir.File("x.vrt"));
        Assert.NotEqual(0, exit);
        Assert.Contains("different dates", stderr);

        // --bands overrides the names; a count mismatch is named.
        (exit, _, stderr) = CliHarness.Run("stack", b2, dir.File("scene.tif"), "-o", dir.File("y.vrt"), "--bands", "B2");
        Assert.NotEqual(0, exit);
        Assert.Contains("--bands names 1 bands for 2 files", stderr);
        Assert.Equal(0, CliHarness.Run("stack", b2, dir.File("scene.tif"), "-o", dir.File("y.vrt"), "--bands", "B2,B3").Exit);
    }
}

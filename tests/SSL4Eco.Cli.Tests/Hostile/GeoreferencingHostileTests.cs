using System.Globalization;
using System.Text.Json;
using SSL4Eco.Cli.Tests.Commands;
using SSL4Eco.Inference.Arrays;
using SSL4Eco.Inference.Geo.Tests.Outputs;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Cli.Tests.Hostile;

/// <summary>
/// Issue #10, silent geographic error: a map whose pixels are not where the tiles were, and a cloud mask matched to the
/// scene by pixel ratio instead of by its georeferencing. Every check goes through GDAL's own tools (gdalinfo,
/// gdal_translate, gdalwarp via python-gdal).
/// </summary>
[Collection(CliCollection.Name)]
public sealed class GeoreferencingHostileTests(CliModelFixture model) : IClassFixture<CliModelFixture>
{
    // 448 x 448 px at 10 m from (600000, 5200000), UTM 32N.
    private static string Scene => Path.Combine(Repo.Samples, "sentinel2_l2a_sample.tif");

    private string Onnx(TempDir dir)
    {
        var onnx = dir.File("m.onnx");
        Assert.Equal(0, CliHarness.Run("convert", model.Checkpoint, "-o", onnx).Exit);
        return onnx;
    }

    [Fact]
    public async Task SilentGeographicError_StrideBelowTile_EachMapPixelIsTheEmbeddingOfTheWindowUnderIt()
    {
        using var dir = new TempDir();
        var onnx = Onnx(dir);
        string parquet = dir.File("map.parquet"), tif = dir.File("map.tif"), png = dir.File("p.png");
        HostileRun.Run(0, [Scene, onnx], dir.Path, [parquet, tif, png], null,
            "map", Scene, "-m", onnx, "-o", parquet, "--stride", "112", "--preview", png);

        // gdalinfo's view of the map, and the window that map pixel (row 1, col 2) claims, cut by gdal_translate.
        var info = JsonDocument.Parse(PythonOracle.Run("""
import json, subprocess
import numpy as np
from osgeo import gdal
m = json.loads(subprocess.check_output(['gdalinfo', '-json', sys.argv[1]]))
s = json.loads(subprocess.check_output(['gdalinfo', '-json', sys.argv[2]]))
gt, sgt = m['geoTransform'], s['geoTransform']
cx, cy = gt[0] + 2.5 * gt[1], gt[3] + 1.5 * gt[5]
x0, y0 = (cx - sgt[0]) / sgt[1] - 112, (cy - sgt[3]) / sgt[5] - 112
subprocess.check_call(['gdal_translate', '-q', '-srcwin', str(x0), str(y0), '224', '224', sys.argv[2], sys.argv[3]])
np.save(sys.argv[4], gdal.Open(sys.argv[1]).ReadAsArray()[:, 1, 2].astype(np.float32))
print(json.dumps({'map': m['cornerCoordinates'], 'scene': s['cornerCoordinates'], 'window': [x0, y0]}))
""", tif, Scene, dir.File("window.tif"), dir.File("pixel.npy"))).RootElement;
        // Tile (1,2) covers x 224..448, y 112..336: the map pixel sits on it, and the map on the tiles' centres, 56 px inside the scene.
        Assert.Equal([224.0, 112.0], info.GetProperty("window").EnumerateArray().Select(e => e.GetDouble()).ToArray());
        Assert.Equal([600560.0, 5199440.0], Corner(info, "map", "upperLeft"));
        Assert.Equal([603920.0, 5196080.0], Corner(info, "map", "lowerRight"));
        Assert.Equal([604480.0, 5195520.0], Corner(info, "scene", "lowerRight"));

        Assert.Equal(0, CliHarness.Run("embed", dir.File("window.tif"), "-m", onnx, "-o", dir.File("window.npy")).Exit);
        var (window, _) = NpyFile.ReadSingle(dir.File("window.npy"));
        var (pixel, _) = NpyFile.ReadSingle(dir.File("pixel.npy"));
        for (int j = 0; j < window.Length; j++)
            Assert.True(Math.Abs(pixel[j] - window[j]) <= 1e-4f * Math.Max(1f, Math.Abs(window[j])), $"dim {j}: {pixel[j]} vs {window[j]}");

        // The GeoParquet of the same run: each tile footprint is centred on its map pixel, and together they span the scene.
        var rows = await GeoParquetRows.ReadAsync(parquet);
        Assert.Equal(9, rows.Count);
        var bbox = new NetTopologySuite.Geometries.Envelope();
        foreach (var (row, col, footprint) in rows)
        {
            Assert.Equal(600560.0 + (col + 0.5) * 1120, footprint.Centroid.X, 6);
            Assert.Equal(5199440.0 - (row + 0.5) * 1120, footprint.Centroid.Y, 6);
            bbox.ExpandToInclude(footprint.EnvelopeInternal);
        }
        Assert.Equal((600000.0, 5195520.0, 604480.0, 5200000.0), (bbox.MinX, bbox.MinY, bbox.MaxX, bbox.MaxY));
    }

    // A mask 2 km beyond the scene (all tiles would be nodata) and a mask over one corner (it would be stretched over the scene).
    [Theory]
    [InlineData(700000.0, 5200000.0, 224, "x 700000..704480")]
    [InlineData(600000.0, 5200000.0, 40, "x 600000..600800")]
    public void SilentGeographicError_CloudMaskNotCoveringTheScene_IsRefused(double x0, double y0, int size, string maskExtent)
    {
        using var dir = new TempDir();
        var onnx = Onnx(dir);
        var mask = dir.File("scl.tif");
        PythonOracle.Run("""
import numpy as np
from osgeo import gdal, osr
x0, y0, n = float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
ds = gdal.GetDriverByName('GTiff').Create(sys.argv[1], n, n, 1, gdal.GDT_Byte)
ds.SetGeoTransform([x0, 20.0, 0.0, y0, 0.0, -20.0])
s = osr.SpatialReference(); s.ImportFromEPSG(32632); ds.SetProjection(s.ExportToWkt())
ds.GetRasterBand(1).WriteArray(np.full((n, n), 4, np.uint8)); ds = None
""", mask, x0.ToString("R", CultureInfo.InvariantCulture), y0.ToString("R", CultureInfo.InvariantCulture), size.ToString(CultureInfo.InvariantCulture));
        var (_, err) = HostileRun.Run(1, [Scene, onnx, mask], dir.Path, [], "does not cover",
            "map", Scene, "-m", onnx, "-o", dir.File("out/map.tif"), "--cloud-mask", mask);
        Assert.Contains(maskExtent, err);
        Assert.Contains("x 600000..604480, y 5195520..5200000", err);   // the scene
        Assert.Contains("--roi", err);                                  // and the fix
        Assert.False(File.Exists(dir.File("out/map.tif")));
    }

    // A 20 m SCL-like mask on a larger, shifted grid: clouds (class 9) exactly over tile (1,0). Matched by pixel ratio it
    // would have put most of those clouds on other tiles; read through its geotransform it blanks exactly that tile, as
    // gdalwarp onto the scene grid says.
    [Fact]
    public void SilentGeographicError_CloudMaskOnAnotherGrid_IsReadWhereItLies()
    {
        using var dir = new TempDir();
        var onnx = Onnx(dir);
        var mask = dir.File("scl.tif");
        var clouded = PythonOracle.Run("""
import numpy as np
from osgeo import gdal, osr
ds = gdal.GetDriverByName('GTiff').Create(sys.argv[1], 330, 330, 1, gdal.GDT_Byte)
ds.SetGeoTransform([598000.0, 20.0, 0.0, 5202000.0, 0.0, -20.0])
s = osr.SpatialReference(); s.ImportFromEPSG(32632); ds.SetProjection(s.ExportToWkt())
a = np.full((330, 330), 4, np.uint8); a[212:324, 100:212] = 9
ds.GetRasterBand(1).WriteArray(a); ds = None
scene = gdal.Open(sys.argv[2])
m = gdal.Warp('/vsimem/m.tif', sys.argv[1], outputBounds=(600000, 5195520, 604480, 5200000), width=448, height=448, resampleAlg='near').ReadAsArray()
print(' '.join(str(float(np.isin(m[r*224:(r+1)*224, c*224:(c+1)*224], [3, 8, 9, 10]).mean())) for r in range(2) for c in range(2)))
""", mask, Scene).Split(' ').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal([0.0, 0.0, 1.0, 0.0], clouded);
        HostileRun.Run(0, [Scene, onnx, mask], dir.Path, [dir.File("map.npy"), dir.File("map.valid.npy"), dir.File("map.json")], null,
            "map", Scene, "-m", onnx, "-o", dir.File("map.npy"), "--cloud-mask", mask);
        var (values, shape) = NpyFile.ReadSingle(dir.File("map.npy"));
        Assert.Equal([2, 2, 2048], shape);
        var nodata = Enumerable.Range(0, 4).Select(t => values.AsSpan(t * 2048, 2048).IndexOfAnyExcept(-9999f) < 0).ToArray();
        Assert.Equal(clouded.Select(f => f > 0.5).ToArray(), nodata);
    }

    private static double[] Corner(JsonElement info, string raster, string corner) =>
        info.GetProperty(raster).GetProperty(corner).EnumerateArray().Select(e => e.GetDouble()).ToArray();
}

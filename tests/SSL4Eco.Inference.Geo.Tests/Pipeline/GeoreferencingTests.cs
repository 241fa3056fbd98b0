using System.Globalization;
using System.Text.Json;
using SSL4Eco.Inference.Arrays;
using SSL4Eco.Gdal;
using SSL4Eco.Inference.Geo.Pipeline;
using SSL4Eco.Inference.Geo.Tests.Outputs;
using SSL4Eco.Inference.Geo.Previews;
using SSL4Eco.Inference.Geo.Similarity;
using SSL4Eco.Inference.Geo.Tiling;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Inference.Geo.Tests.Pipeline;

/// <summary>
/// Issue #10, silent geographic error: every output (COG, GeoParquet, similarity raster, cloud mask) is checked against
/// GDAL's own reading of the place the output claims, not against the code's own grid arithmetic.
/// </summary>
public class GeoreferencingTests
{
    // For every pixel of the COG: the tile window its geotransform claims (pixel centre ± tile / 2, through the scene's
    // geotransform), cut with gdal.Translate srcWin and reduced to the FeatureModel's features, against the pixel's values.
    private const string WindowsClaimedByTheMap = """
import numpy as np, json
from osgeo import gdal
gdal.UseExceptions()
src = gdal.Open(sys.argv[1]); cog = gdal.Open(sys.argv[2]); tile = int(sys.argv[3])
gt = src.GetGeoTransform(); ogt = cog.GetGeoTransform()
emb = cog.ReadAsArray().astype(np.float64)
worst, misaligned, outside = 0.0, 0, 0
for r in range(cog.RasterYSize):
    for c in range(cog.RasterXSize):
        cx = ogt[0] + (c + 0.5) * ogt[1] + (r + 0.5) * ogt[2]
        cy = ogt[3] + (c + 0.5) * ogt[4] + (r + 0.5) * ogt[5]
        x0 = (cx - gt[0]) / gt[1] - tile / 2; y0 = (cy - gt[3]) / gt[5] - tile / 2
        if abs(x0 - round(x0)) > 1e-6 or abs(y0 - round(y0)) > 1e-6: misaligned += 1; continue
        x0, y0 = int(round(x0)), int(round(y0))
        if x0 < 0 or y0 < 0 or x0 + tile > src.RasterXSize or y0 + tile > src.RasterYSize: outside += 1; continue
        w = gdal.Translate('/vsimem/w.tif', src, srcWin=[x0, y0, tile, tile]).ReadAsArray().astype(np.float64)
        f = np.array([[b.mean(), b[0, 0], b[-1, -1]] for b in w]).ravel()
        worst = max(worst, float(np.abs(f - emb[:, r, c]).max() / np.abs(f).max()))
print(json.dumps({'worst': worst, 'misaligned': misaligned, 'outside': outside,
    'map': gdal.Info(sys.argv[2], format='json')['cornerCoordinates'], 'scene': gdal.Info(sys.argv[1], format='json')['cornerCoordinates']}))
""";

    [Theory]
    [InlineData(32, 32)]   // stride = tile
    [InlineData(32, 8)]    // stride < tile (the README's kind of run)
    [InlineData(32, 12)]   // a stride that divides neither the tile nor the scene
    [InlineData(40, 16)]
    [InlineData(24, 40)]   // stride > tile: gaps between tiles
    public async Task Each_map_pixel_is_the_embedding_of_the_window_gdal_cuts_where_the_map_says_and_the_geoparquet_agrees(int tile, int stride)
    {
        using var dir = new TempDir();
        var input = dir.File("in.tif");
        PythonOracle.Run(EmbeddingMapperTests.MakeRaster, input, "200", "150");   // 10 m UTM 32N, every pixel valid
        var request = new MapRequest
        {
            InputPath = input, OutputPrefix = dir.File("m"), Formats = MapRequest.KnownFormats, TileSize = tile, Stride = stride, MinValidFraction = 0.5,
        };
        var result = await EmbeddingMapper.RunAsync(request, new FeatureModel("B2", "B3", "B4"));
        Assert.Equal(((150 - tile) / stride + 1, (200 - tile) / stride + 1), (result.Rows, result.Columns));

        var check = JsonDocument.Parse(PythonOracle.Run(WindowsClaimedByTheMap, input, dir.File("m.tif"), tile.ToString(CultureInfo.InvariantCulture))).RootElement;
        Assert.Equal(0, check.GetProperty("misaligned").GetInt32());
        Assert.Equal(0, check.GetProperty("outside").GetInt32());
        Assert.True(check.GetProperty("worst").GetDouble() < 1e-5, $"worst relative difference {check.GetProperty("worst").GetDouble()}");

        // gdalinfo's corners of the map against the GeoParquet rows of the same run: each row's footprint is centred on its
        // pixel of the map, and the map's extent is the footprints' extent inset by (tile − pixel) / 2 on every side.
        var (ul, lr) = (Corner(check, "map", "upperLeft"), Corner(check, "map", "lowerRight"));
        double pw = (lr.X - ul.X) / result.Columns, ph = (ul.Y - lr.Y) / result.Rows;
        Assert.Equal(10.0 * stride, pw, 9);
        Assert.Equal(10.0 * stride, ph, 9);
        var rows = await GeoParquetRows.ReadAsync(dir.File("m.parquet"));
        Assert.Equal(result.Rows * result.Columns, rows.Count);
        var bbox = new NetTopologySuite.Geometries.Envelope();
        foreach (var (row, col, footprint) in rows)
        {
            var centroid = footprint.Centroid;
            Assert.Equal(ul.X + (col + 0.5) * pw, centroid.X, 6);
            Assert.Equal(ul.Y - (row + 0.5) * ph, centroid.Y, 6);
            Assert.Equal(10.0 * tile, footprint.EnvelopeInternal.Width, 6);
            bbox.ExpandToInclude(footprint.EnvelopeInternal);
        }
        double inset = 10.0 * (tile - stride) / 2;
        Assert.Equal((bbox.MinX + inset, bbox.MaxY - inset, bbox.MaxX - inset, bbox.MinY + inset), (ul.X, ul.Y, lr.X, lr.Y));
        var (sul, slr) = (Corner(check, "scene", "upperLeft"), Corner(check, "scene", "lowerRight"));
        Assert.True(bbox.MinX >= sul.X && bbox.MaxX <= slr.X && bbox.MinY >= slr.Y && bbox.MaxY <= sul.Y, "a tile footprint lies outside the scene");
        if (stride <= tile)
            Assert.True(ul.X >= sul.X && lr.X <= slr.X && lr.Y >= slr.Y && ul.Y <= sul.Y, $"the map ({ul}, {lr}) reaches outside the scene ({sul}, {slr})");

        // The similarity raster is on the map's grid (what gdal reads back).
        SimilarityMap.Write(dir.File("m.tif"), SimilarityMap.PixelEmbedding(dir.File("m.tif"), 0, 0), dir.File("sim.tif"));
        using var sim = GdalDataset.Open(dir.File("sim.tif"));
        using var map = GdalDataset.Open(dir.File("m.tif"));
        Assert.Equal(map.GeoTransform!.Value.ToArray(), sim.GeoTransform!.Value.ToArray());
    }

    [Fact]
    public void The_preview_takes_each_map_pixel_from_where_the_map_says_it_is()
    {
        // Tile 224, stride 32 on 448 px at 10 m: the map starts 96 px inside the scene.
        var input = new GeoTransform(600000, 10, 0, 5200000, 0, -10);
        var map = new TileGrid(448, 448, 224, 32, input).OutputTransform;
        Assert.Equal(-1, MapPreview.MapPixelUnder(input, map, 50, 50, 8, 8));          // outside the map: black
        Assert.Equal(0, MapPreview.MapPixelUnder(input, map, 100, 100, 8, 8));         // under pixel (0,0): 96..128
        Assert.Equal(1 * 8 + 2, MapPreview.MapPixelUnder(input, map, 96 + 2 * 32 + 1, 96 + 32 + 31, 8, 8));
        Assert.Equal(-1, MapPreview.MapPixelUnder(input, map, 448 - 50, 200, 8, 8));
    }

    private static (double X, double Y) Corner(JsonElement check, string raster, string corner)
    {
        var c = check.GetProperty(raster).GetProperty(corner);
        return (c[0].GetDouble(), c[1].GetDouble());
    }

    // ---- cloud mask ---------------------------------------------------------------------------------------------------

    // Masks for the 200 x 150 scene at 10 m from (600000, 5100000), UTM 32N, as SCL would be: 20 m, classes 4/5 clear and
    // 3/8/9/10 clouds in rectangles. exact: the scene's extent; offset: a larger grid shifted by (−30 m, +50 m);
    // utm31: the offset mask reprojected to UTM 31N (gdalwarp, nearest); apart: 100 km east; corner: the scene's
    // top-left 60 x 40 pixels only; nogeo: no geotransform.
    private const string MakeMasks = """
import numpy as np
from osgeo import gdal, osr
gdal.UseExceptions()
d = sys.argv[1]
utm = osr.SpatialReference(); utm.ImportFromEPSG(32632)
rng = np.random.default_rng(5)
def mask(name, x0, y0, w, h, georef=True):
    ds = gdal.GetDriverByName('GTiff').Create(f'{d}/{name}.tif', w, h, 1, gdal.GDT_Byte)
    if georef:
        ds.SetGeoTransform([x0, 20.0, 0.0, y0, 0.0, -20.0]); ds.SetProjection(utm.ExportToWkt())
    a = rng.choice([4, 5], size=(h, w)).astype(np.uint8)
    for _ in range(6):
        r, c = rng.integers(0, h), rng.integers(0, w)
        a[r:r + rng.integers(4, 20), c:c + rng.integers(4, 25)] = rng.choice([3, 8, 9, 10])
    ds.GetRasterBand(1).WriteArray(a); ds = None
mask('exact', 600000.0, 5100000.0, 100, 75)
mask('offset', 599970.0, 5100050.0, 110, 85)
gdal.Warp(f'{d}/utm31.tif', f'{d}/offset.tif', dstSRS='EPSG:32631', resampleAlg='near', xRes=20, yRes=20)
mask('apart', 700000.0, 5100000.0, 100, 75)
mask('corner', 600000.0, 5100000.0, 30, 20)
mask('nogeo', 0, 0, 100, 75, georef=False)
""";

    // The reference: gdalwarp of the mask onto the scene grid (nearest), then per tile the fraction of pixels that are
    // not cloud classes (the scene itself is valid everywhere).
    private const string ReferenceFractions = """
import numpy as np
from osgeo import gdal
gdal.UseExceptions()
scene = gdal.Open(sys.argv[1]); tile, stride = int(sys.argv[3]), int(sys.argv[4])
gt = scene.GetGeoTransform(); W, H = scene.RasterXSize, scene.RasterYSize
m = gdal.Warp('/vsimem/m.tif', sys.argv[2], outputBounds=(gt[0], gt[3] + H * gt[5], gt[0] + W * gt[1], gt[3]), width=W, height=H,
              dstSRS=scene.GetProjection(), resampleAlg='near').ReadAsArray()
clear = ~np.isin(m, [3, 8, 9, 10])
rows, cols = (H - tile) // stride + 1, (W - tile) // stride + 1
f = np.array([[clear[r * stride:r * stride + tile, c * stride:c * stride + tile].mean() for c in range(cols)] for r in range(rows)])
np.save(sys.argv[5], f)
""";

    [Theory]
    [InlineData("exact", 0.0)]
    [InlineData("offset", 0.0)]
    [InlineData("utm31", 0.02)]   // reprojected: GDAL's approximate transformer may move a boundary pixel between chunks
    public async Task A_cloud_mask_is_read_through_its_georeferencing_like_gdalwarp_onto_the_scene_grid(string mask, double tolerance)
    {
        using var dir = new TempDir();
        var input = dir.File("in.tif");
        PythonOracle.Run(EmbeddingMapperTests.MakeRaster, input, "200", "150");
        PythonOracle.Run(MakeMasks, dir.Path);
        var request = new MapRequest
        {
            InputPath = input, OutputPrefix = dir.File("m"), Formats = ["npy"], TileSize = 32, Stride = 16, MinValidFraction = 0.5,
            CloudMaskPath = dir.File(mask + ".tif"),
        };
        var result = await EmbeddingMapper.RunAsync(request, new FeatureModel("B2"));
        PythonOracle.Run(ReferenceFractions, input, dir.File(mask + ".tif"), "32", "16", dir.File("ref.npy"));
        var reference = NpyFile.ReadDouble(dir.File("ref.npy")).Data;
        var valid = NpyFile.ReadDouble(dir.File("m.valid.npy")).Data;
        var values = NpyFile.ReadSingle(dir.File("m.npy")).Data;
        Assert.Equal(reference.Length, valid.Length);
        int cloudy = 0;
        for (int t = 0; t < reference.Length; t++)
        {
            Assert.True(Math.Abs(reference[t] - valid[t]) <= tolerance, $"tile {t}: valid fraction {valid[t]}, gdalwarp reference {reference[t]}");
            bool nodata = values[t * 3] == -9999f;
            if (Math.Abs(reference[t] - 0.5) > tolerance) Assert.Equal(reference[t] < 0.5, nodata);
            if (reference[t] < 0.5) cloudy++;
        }
        Assert.InRange(cloudy, 1, reference.Length - 1);   // a meaningful mask: some tiles clouded, some clear
        Assert.Equal(Enumerable.Range(0, reference.Length).Count(t => values[t * 3] == -9999f), result.Progress.Skipped);
    }

    // A scene the mask cannot be warped onto: no geotransform, or a rotated one (gdalwarp's -te/-ts grid is north-up).
    [Theory]
    [InlineData("none", "has no geotransform")]
    [InlineData("rotated", "is not north-up")]
    public async Task A_cloud_mask_on_a_scene_without_a_north_up_geotransform_is_refused(string georef, string named)
    {
        using var dir = new TempDir();
        var input = dir.File("in.tif");
        PythonOracle.Run(EmbeddingMapperTests.MakeRaster, dir.File("src.tif"), "200", "150");
        PythonOracle.Run(MakeMasks, dir.Path);
        PythonOracle.Run("""
from osgeo import gdal
src = gdal.Open(sys.argv[1])
ds = gdal.GetDriverByName('GTiff').Create(sys.argv[2], src.RasterXSize, src.RasterYSize, src.RasterCount, gdal.GDT_UInt16)
if sys.argv[3] == 'rotated':
    ds.SetGeoTransform([600000.0, 10.0, 1.0, 5100000.0, 1.0, -10.0]); ds.SetProjection(src.GetProjection())
for b in range(1, src.RasterCount + 1):
    o = ds.GetRasterBand(b); o.WriteArray(src.GetRasterBand(b).ReadAsArray()); o.SetDescription(src.GetRasterBand(b).GetDescription())
ds = None
""", dir.File("src.tif"), input, georef);
        var model = new FeatureModel("B2");
        var request = new MapRequest { InputPath = input, OutputPrefix = dir.File("m"), Formats = ["npy"], TileSize = 32, CloudMaskPath = dir.File("exact.tif") };
        var e = await Assert.ThrowsAsync<ArgumentException>(() => EmbeddingMapper.RunAsync(request, model));
        Assert.Contains(named, e.Message);
        Assert.Contains(input, e.Message);
        Assert.Equal(0, model.Calls);
        Assert.False(Directory.Exists(dir.File("m.ssl4eco-partial")));
    }

    [Theory]
    [InlineData("apart", "x 700000..702000")]
    [InlineData("corner", "x 600000..600600")]
    [InlineData("nogeo", "has no geotransform")]
    public async Task A_cloud_mask_that_does_not_cover_the_scene_is_refused_before_any_work(string mask, string named)
    {
        using var dir = new TempDir();
        var input = dir.File("in.tif");
        PythonOracle.Run(EmbeddingMapperTests.MakeRaster, input, "200", "150");
        PythonOracle.Run(MakeMasks, dir.Path);
        var model = new FeatureModel("B2");
        var request = new MapRequest { InputPath = input, OutputPrefix = dir.File("m"), Formats = ["npy"], TileSize = 32, CloudMaskPath = dir.File(mask + ".tif") };
        var e = await Assert.ThrowsAsync<ArgumentException>(() => EmbeddingMapper.RunAsync(request, model));
        Assert.Contains(named, e.Message);
        Assert.Contains(dir.File(mask + ".tif"), e.Message);
        if (mask != "nogeo")
        {
            Assert.Contains("x 600000..601920, y 5098720..5100000", e.Message);   // the extent of the 4 x 6 tiles of 32 px
            Assert.Contains("--roi", e.Message);
        }
        Assert.DoesNotContain('\n', e.Message);
        Assert.Equal(0, model.Calls);
        Assert.False(Directory.Exists(dir.File("m.ssl4eco-partial")));
        Assert.False(File.Exists(dir.File("m.npy")));

        if (mask == "corner")
        {
            // Limited to tiles the mask covers, the corner mask is accepted.
            var inside = await EmbeddingMapper.RunAsync(request with { RoiWindow = new PixelWindow(0, 0, 20, 8) }, model);
            Assert.Equal(1, inside.Progress.Total);
        }
    }
}

using SSL4Eco.Inference.Preprocessing;
using System.Text.Json;
using SSL4Eco.Inference.Arrays;
using SSL4Eco.Inference.Geo.Pipeline;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Inference.Geo.Tests.Pipeline;

public class EmbeddingMapperTests
{
    // 500 x 333 UTM 32N raster, bands B2,B3,B4 (descriptions), nodata 0: a fully nodata 128x128 corner and a 10x10 hole.
    internal const string MakeRaster = """
import numpy as np
from osgeo import gdal, osr
path, w, h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ds = gdal.GetDriverByName('GTiff').Create(path, w, h, 3, gdal.GDT_UInt16, ['TILED=YES', 'BLOCKXSIZE=64', 'BLOCKYSIZE=64'])
ds.SetGeoTransform([600000.0, 10.0, 0.0, 5100000.0, 0.0, -10.0])
s = osr.SpatialReference(); s.ImportFromEPSG(32632); ds.SetProjection(s.ExportToWkt())
rng = np.random.default_rng(3)
for i in range(3):
    a = rng.integers(1, 5000, size=(h, w)).astype(np.uint16)
    if w > 300:
        a[0:128, 0:128] = 0
        a[200:210, 300:310] = 0
    b = ds.GetRasterBand(i + 1); b.WriteArray(a); b.SetNoDataValue(0); b.SetDescription(['B2', 'B3', 'B4'][i])
ds = None
""";

    // Independent oracle: grid, windows, nodata, mean fill and the FeatureModel features, all in numpy.
    private const string Expected = """
import numpy as np, math
from osgeo import gdal
ds = gdal.Open(sys.argv[1]); size = int(sys.argv[2]); minvalid = float(sys.argv[3]); out = sys.argv[4]
W, H = ds.RasterXSize, ds.RasterYSize
def offs(extent):
    if extent <= size: return [0], extent
    n = (extent - size) // size + 1
    return [i * size for i in range(n)], size
xs, tw = offs(W); ys, th = offs(H)
res = np.full((len(ys), len(xs), 9), -9999, np.float32)
for r, y in enumerate(ys):
    for c, x in enumerate(xs):
        a = ds.ReadAsArray(x, y, tw, th).astype(np.float64)
        valid = np.all(a != 0, axis=0)
        f = valid.mean()
        if valid.sum() == 0 or f < minvalid: continue
        for b in range(3):
            v = a[b].astype(np.float32)
            v[~valid] = np.float32(a[b][valid].sum() / valid.sum())
            res[r, c, b*3] = v.astype(np.float64).mean(); res[r, c, b*3+1] = v[0, 0]; res[r, c, b*3+2] = v[-1, -1]
np.save(out, res)
cog = gdal.Open(sys.argv[5])
np.save(out + '.cog.npy', np.transpose(cog.ReadAsArray(), (1, 2, 0)).astype(np.float32))
""";

    private static MapRequest Request(string input, string prefix) => new()
    {
        InputPath = input, OutputPrefix = prefix, Formats = MapRequest.KnownFormats, ReaderCount = 2, QueueCapacity = 3, MinValidFraction = 0.5,
    };

    [Fact]
    public async Task Every_output_pixel_equals_the_model_on_the_window_read_by_python_gdal()
    {
        using var dir = new TempDir();
        var input = dir.File("in.tif");
        PythonOracle.Run(MakeRaster, input, "500", "333");
        var model = new FeatureModel("B2", "B3", "B4");
        var progress = new List<MapProgress>();
        var result = await EmbeddingMapper.RunAsync(Request(input, dir.File("out/map")), model, new SyncProgress(progress.Add));
        Assert.Equal((5, 7, 9), (result.Rows, result.Columns, result.EmbeddingDim));
        Assert.Equal(35, result.Progress.Total);
        Assert.Equal(4, result.Progress.Skipped); // the 128x128 nodata corner
        Assert.Equal(0, result.Progress.Failed);
        Assert.Equal(31, model.PatchesEmbedded);
        Assert.Equal(35, progress[^1].Completed);
        Assert.Equal(31, result.Progress.Embedded);
        Assert.All(progress, p => Assert.True(p.Completed <= p.Total && p.Embedded + p.Skipped + p.Failed + p.Resumed == p.Completed && p.Embedded >= 0, p.ToString()));

        PythonOracle.Run(Expected, input, "64", "0.5", dir.File("exp.npy"), dir.File("out/map.tif"));
        var (exp, shape) = NpyFile.ReadSingle(dir.File("exp.npy"));
        var (got, gotShape) = NpyFile.ReadSingle(dir.File("out/map.npy"));
        Assert.Equal(shape, gotShape);
        for (int i = 0; i < exp.Length; i++) Assert.True(Math.Abs(exp[i] - got[i]) <= 1e-3f * Math.Max(1, Math.Abs(exp[i])), $"npy value {i}: {got[i]} vs {exp[i]}");
        Assert.Equal(got, NpyFile.ReadSingle(dir.File("exp.npy.cog.npy")).Data);
        Assert.DoesNotContain(got, float.IsNaN);
        Assert.All(got.AsSpan(0, 9).ToArray(), v => Assert.Equal(-9999f, v)); // tile (0,0) is nodata

        var info = JsonDocument.Parse(GdalInfo.Json(dir.File("out/map.tif"))).RootElement;
        Assert.Equal([600000.0, 640, 0, 5100000, 0, -640], info.GetProperty("geoTransform").EnumerateArray().Select(e => e.GetDouble()).ToArray());
        Assert.Contains("32632", info.GetProperty("coordinateSystem").GetProperty("wkt").GetString());
        Assert.Equal("COG", info.GetProperty("metadata").GetProperty("IMAGE_STRUCTURE").GetProperty("LAYOUT").GetString());
        Assert.Equal("DEFLATE", info.GetProperty("metadata").GetProperty("IMAGE_STRUCTURE").GetProperty("COMPRESSION").GetString());
        var band0 = info.GetProperty("bands")[0];
        Assert.Equal("emb_0000", band0.GetProperty("description").GetString());
        Assert.Equal("Float32", band0.GetProperty("type").GetString());
        Assert.Equal(-9999, band0.GetProperty("noDataValue").GetDouble());
        Assert.Equal("feature-test", info.GetProperty("metadata").GetProperty("").GetProperty("ssl4eco.model_id").GetString());
        Assert.Equal("B2,B3,B4", info.GetProperty("metadata").GetProperty("").GetProperty("ssl4eco.input_bands").GetString());

        var sidecar = JsonDocument.Parse(File.ReadAllText(dir.File("out/map.json"))).RootElement;
        Assert.Equal(32632, sidecar.GetProperty("epsg").GetInt32());
        Assert.Equal([600000.0, 640, 0, 5100000, 0, -640], sidecar.GetProperty("transform").EnumerateArray().Select(e => e.GetDouble()).ToArray());
        Assert.False(Directory.Exists(dir.File("out/map.ssl4eco-partial")));
        Assert.Empty(Directory.GetFiles(dir.File("out"), ".*tmp*"));
    }

    [Fact]
    public async Task Batches_embedded_side_by_side_give_the_same_map_and_share_the_last_tiles()
    {
        using var dir = new TempDir();
        var input = dir.File("in.tif");
        PythonOracle.Run(MakeRaster, input, "500", "333");
        var serial = new FeatureModel("B2", "B3", "B4") { BatchSize = 5 };
        await EmbeddingMapper.RunAsync(Request(input, dir.File("a")) with { Formats = ["npy"] }, serial);
        var sizes = new System.Collections.Concurrent.ConcurrentQueue<int>();
        var parallel = new FeatureModel("B2", "B3", "B4") { BatchSize = 5, OnCall = (_, p) => sizes.Enqueue(p.Count) };
        var result = await EmbeddingMapper.RunAsync(Request(input, dir.File("b")) with { Formats = ["npy"], EmbedConcurrency = 3 }, parallel);
        Assert.Equal(File.ReadAllBytes(dir.File("a.npy")), File.ReadAllBytes(dir.File("b.npy")));
        Assert.Equal(31, parallel.PatchesEmbedded);
        Assert.Equal(0, result.Progress.Failed);
        // 31 tiles in batches of 5 with 3 workers: 4 full batches, then the last 11 split 3 + 4 + 4 (not 5 + 5 + 1 with one batch running alone at the end).
        var s = sizes.ToArray();
        Assert.All(s, n => Assert.InRange(n, 1, 5));
        Assert.Equal([3, 4, 4, 5, 5, 5, 5], s.Order().ToArray());
        Assert.Throws<ArgumentException>(() => (Request(input, "x") with { EmbedConcurrency = 0 }).Validate());
    }

    [Fact]
    public async Task Raster_smaller_than_one_tile_gives_a_one_pixel_map()
    {
        using var dir = new TempDir();
        var input = dir.File("small.tif");
        PythonOracle.Run(MakeRaster, input, "40", "30");
        var model = new FeatureModel("B4", "B2");
        var result = await EmbeddingMapper.RunAsync(Request(input, dir.File("s")) with { Formats = ["npy"] }, model);
        Assert.Equal((1, 1), (result.Rows, result.Columns));
        var got = NpyFile.ReadSingle(dir.File("s.npy")).Data;
        var expected = PythonOracle.Run("""
import numpy as np
from osgeo import gdal
a = gdal.Open(sys.argv[1]).ReadAsArray().astype(np.float32)
print(repr([a[2].astype(np.float64).mean(), a[2][0,0], a[2][-1,-1], a[0].astype(np.float64).mean(), a[0][0,0], a[0][-1,-1]]))
""", input);
        var values = expected.Trim().Trim('[', ']').Split(',').Select(s => float.Parse(s.Trim().Replace("np.float32(", "").Replace(")", ""), System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        for (int i = 0; i < 6; i++) Assert.Equal(values[i], got[i], 2);
    }

    [Fact]
    public async Task Resume_after_cancellation_is_byte_identical_to_an_uninterrupted_run()
    {
        using var dir = new TempDir();
        var input = dir.File("in.tif");
        PythonOracle.Run(MakeRaster, input, "500", "333");
        await EmbeddingMapper.RunAsync(Request(input, dir.File("full")), new FeatureModel("B2", "B3", "B4"));

        using var cts = new CancellationTokenSource();
        var first = new FeatureModel("B2", "B3", "B4") { OnCall = (call, _) => { if (call == 4) cts.Cancel(); } };
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => EmbeddingMapper.RunAsync(Request(input, dir.File("part")), first, null, null, cts.Token));
        Assert.False(File.Exists(dir.File("part.tif")));
        Assert.True(Directory.Exists(dir.File("part.ssl4eco-partial")));

        var second = new FeatureModel("B2", "B3", "B4");
        var result = await EmbeddingMapper.RunAsync(Request(input, dir.File("part")), second);
        Assert.True(result.Progress.Resumed >= 12, $"resumed {result.Progress.Resumed}");
        Assert.True(second.PatchesEmbedded <= 31 - 12, $"recomputed {second.PatchesEmbedded}");
        foreach (var ext in new[] { ".tif", ".npy", ".valid.npy", ".parquet" })
            Assert.Equal(File.ReadAllBytes(dir.File("full" + ext)), File.ReadAllBytes(dir.File("part" + ext)));
    }

    [Fact]
    public async Task A_failing_batch_fails_the_run_without_final_outputs_keeps_the_rest_and_is_retried_on_rerun()
    {
        using var dir = new TempDir();
        var input = dir.File("in.tif");
        PythonOracle.Run(MakeRaster, input, "500", "333");
        var bad = new FeatureModel("B2", "B3", "B4") { OnCall = (call, _) => { if (call == 2) throw new InvalidOperationException("boom"); } };
        var failed = await Assert.ThrowsAsync<MapIncompleteException>(() => EmbeddingMapper.RunAsync(Request(input, dir.File("m")) with { ReaderCount = 1 }, bad));
        Assert.Equal(4, failed.Progress.Failed);
        Assert.Equal(35, failed.Progress.Completed);
        Assert.Equal([("embedding failed: boom", 4)], failed.Reasons);
        Assert.False(File.Exists(dir.File("m.npy")));   // no final output pretends to be complete
        Assert.True(Directory.Exists(dir.File("m.ssl4eco-partial")));
        var good = new FeatureModel("B2", "B3", "B4");
        var r2 = await EmbeddingMapper.RunAsync(Request(input, dir.File("m")) with { ReaderCount = 1 }, good);
        Assert.Equal(0, r2.Progress.Failed);
        Assert.Equal(4, good.PatchesEmbedded);
        await EmbeddingMapper.RunAsync(Request(input, dir.File("ref")), new FeatureModel("B2", "B3", "B4"));
        Assert.Equal(File.ReadAllBytes(dir.File("ref.npy")), File.ReadAllBytes(dir.File("m.npy")));
    }

    [Fact]
    public async Task A_model_rejecting_the_patches_stops_the_run_and_bad_inputs_are_named()
    {
        using var dir = new TempDir();
        var input = dir.File("in.tif");
        PythonOracle.Run(MakeRaster, input, "200", "130");
        await Assert.ThrowsAnyAsync<ArgumentException>(() => EmbeddingMapper.RunAsync(Request(input, dir.File("x")), new FeatureModel("B8")));
        Assert.False(File.Exists(dir.File("x.tif")));
        await Assert.ThrowsAsync<SSL4Eco.Gdal.GdalException>(() => EmbeddingMapper.RunAsync(Request(dir.File("missing.tif"), dir.File("y")), new FeatureModel("B2")));
        await Assert.ThrowsAsync<ArgumentException>(() => EmbeddingMapper.RunAsync(Request(input, dir.File("z")), new FeatureModel("B2") { BatchSize = 0 }));
    }

    [Fact]
    public async Task Cloud_mask_harmonize_and_roi_are_applied()
    {
        using var dir = new TempDir();
        var input = dir.File("in.tif");
        PythonOracle.Run(MakeRaster, input, "500", "333");
        // A 0/1 cloud mask at 20 m (no CRS: taken as the scene's) covering tile (4,6) and a baseline 04.00 tag.
        PythonOracle.Run("""
import numpy as np
from osgeo import gdal
ds = gdal.GetDriverByName('GTiff').Create(sys.argv[1], 250, 167, 1, gdal.GDT_Byte)
ds.SetGeoTransform([600000.0, 20.0, 0.0, 5100000.0, 0.0, -20.0])
a = np.zeros((167, 250), np.uint8); a[128:160, 192:224] = 1
ds.GetRasterBand(1).WriteArray(a); ds = None
d = gdal.Open(sys.argv[2], gdal.GA_Update); d.SetMetadataItem('PROCESSING_BASELINE', '04.00'); d = None
""", dir.File("cloud.tif"), input);
        // Tiles are read as stored and carry the raster's baseline; the model's recipe (Auto) harmonises them, once.
        var baselines = new System.Collections.Concurrent.ConcurrentBag<double?>();
        var model = new FeatureModel("B2", "B3", "B4") { OnCall = (_, ps) => { foreach (var p in ps) baselines.Add(p.ProcessingBaseline); } };
        var req = Request(input, dir.File("c")) with { CloudMaskPath = dir.File("cloud.tif"), CloudMaskValues = [1], Formats = ["npy"] };
        await EmbeddingMapper.RunAsync(req, model);
        Assert.NotEmpty(baselines);
        Assert.All(baselines, b => Assert.Equal(4.0, b));
        var got = NpyFile.ReadSingle(dir.File("c.npy")).Data;
        Assert.Equal(-9999f, got[(4 * 7 + 6) * 9]);
        var off = await EmbeddingMapper.RunAsync(req with { OutputPrefix = dir.File("d") }, new FeatureModel("B2", "B3", "B4") { Harmonize = HarmonizeMode.Off });
        Assert.Contains("\"ssl4eco.harmonized\": \"false\"", File.ReadAllText(dir.File("d.json")));
        Assert.Contains("\"ssl4eco.harmonized\": \"true\"", File.ReadAllText(dir.File("c.json")));
        var raw = NpyFile.ReadSingle(dir.File("d.npy")).Data;
        int t = (3 * 7 + 3) * 9 + 1; // first pixel of B2 in a fully valid tile
        Assert.Equal(Math.Max(raw[t] - 1000, 0), got[t]);

        var roi = await EmbeddingMapper.RunAsync(req with { OutputPrefix = dir.File("r"), Roi = "POLYGON((600001 5099999, 600100 5099999, 600100 5098000, 600001 5098000, 600001 5099999))" }, model);
        Assert.Equal(4, roi.Progress.Total); // tiles (0,0),(1,0),(2,0),(3,0)
        Assert.Throws<ArgumentException>(() => new MapRequest { InputPath = "x", OutputPrefix = "y", MinValidFraction = 2 }.Validate());
    }
}

internal sealed class SyncProgress(Action<MapProgress> report) : IProgress<MapProgress>
{
    public void Report(MapProgress value) => report(value);
}

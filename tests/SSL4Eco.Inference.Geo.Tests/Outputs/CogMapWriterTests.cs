using SSL4Eco.Inference.Arrays;
using SSL4Eco.Gdal;
using SSL4Eco.Inference.Geo.Outputs;
using SSL4Eco.Inference.Geo.Pipeline;
using SSL4Eco.Inference.Geo.Similarity;
using SSL4Eco.Inference.Geo.Tiling;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Inference.Geo.Tests.Outputs;

public class CogMapWriterTests
{
    private const float NoData = -9999f;

    // 2048-d map of 41 x 70 tiles: 32-pixel blocks, so 2 x 3 blocks with partial edge blocks; every 7th tile nodata.
    private static EmbeddingMap Map(int rows = 41, int cols = 70, int dim = 2048, float amplitude = 50f)
    {
        var grid = new TileGrid(cols * 10, rows * 10, 10, transform: new GeoTransform(600000, 10, 0, 5100000, 0, -10));
        var rng = new Random(7);
        int n = rows * cols;
        var values = new float[(long)n * dim];
        var nodata = new bool[n];
        for (int t = 0; t < n; t++)
        {
            nodata[t] = t % 7 == 3;
            float scale = (float)Math.Exp(rng.NextDouble() * 4 - 2); // per-tile magnitudes from ~0.1 to ~7 times the amplitude
            for (int d = 0; d < dim; d++)
                values[(long)t * dim + d] = nodata[t] ? NoData : (float)(rng.NextDouble() * 2 - 1) * amplitude * scale;
        }
        if (!nodata[1]) values.AsSpan(dim, dim).Clear(); // an all-zero embedding (int8 scale 0)
        var md = new Dictionary<string, string> { ["ssl4eco.model_id"] = "test" };
        using var srs = GdalSpatialReference.FromUserInput("EPSG:32632");
        return new EmbeddingMap(grid, srs.ToWkt(), dim, new ArrayEmbeddingValues(values, dim), new double[n], nodata, NoData, [], null, md);
    }

    private static float[] All(EmbeddingMap m)
    {
        var v = new float[(long)m.Rows * m.Columns * m.Dim];
        m.Values.Read(0, m.Rows * m.Columns, v);
        return v;
    }

    // Independent check with python-gdal + numpy: layout, encoding and every value against the float32 reference.
    private const string Check = """
import numpy as np
from osgeo import gdal
path, ref, kind = sys.argv[1], np.load(sys.argv[2]), sys.argv[3]
ds = gdal.Open(path)
assert ds.GetMetadata('IMAGE_STRUCTURE')['LAYOUT'] == 'COG', ds.GetMetadata('IMAGE_STRUCTURE')
assert ds.GetMetadataItem('ssl4eco.raster_type') == kind
assert ds.GetGeoTransform() == (600000.0, 100.0, 0.0, 5100000.0, 0.0, -100.0), ds.GetGeoTransform()
a = np.transpose(ds.ReadAsArray(), (1, 2, 0))
nd = np.all(ref == -9999, axis=2)
if kind == 'float32':
    assert a.dtype == np.float32 and np.array_equal(a, ref)
elif kind == 'float16':
    assert ds.GetRasterBand(1).GetMetadata('IMAGE_STRUCTURE').get('NBITS') == '16'
    assert ds.GetRasterBand(1).GetNoDataValue() == -10000
    assert np.array_equal(a, ref.astype(np.float16).astype(np.float32)), np.abs(a - ref.astype(np.float16)).max()
else:
    assert ds.GetRasterBand(1).GetMetadata('IMAGE_STRUCTURE').get('PIXELTYPE') == 'SIGNEDBYTE'
    q = a.astype(np.uint8).view(np.int8).astype(np.float64)
    sc = gdal.Open(path[:-4] + '.scale.tif')
    assert ds.GetMetadataItem('ssl4eco.scale_file') == path.split('/')[-1][:-4] + '.scale.tif'
    s = sc.ReadAsArray().astype(np.float64)
    assert sc.GetGeoTransform() == ds.GetGeoTransform()
    assert np.all(q[nd] == -128) and np.all(s[nd] == -9999) and ds.GetRasterBand(1).GetNoDataValue() == -128
    v = ~nd
    maxabs = np.abs(ref[v]).max(axis=1).astype(np.float64)
    assert np.allclose(s[v], maxabs / 127, rtol=1e-6), 'scale'
    err = np.abs(q[v] * s[v][:, None] - ref[v])
    assert np.all(err <= s[v][:, None] / 2 * (1 + 1e-4) + 1e-7), err.max()
    assert np.all(np.abs(q[v]) <= 127)
print('ok')
""";

    [Theory]
    [InlineData(EmbeddingRasterType.Float32, "float32")]
    [InlineData(EmbeddingRasterType.Float16, "float16")]
    [InlineData(EmbeddingRasterType.Int8, "int8")]
    public void Encodings_read_back_by_python_gdal_match_the_values_across_several_blocks(EmbeddingRasterType type, string kind)
    {
        using var dir = new TempDir();
        var map = Map();
        Assert.Equal(32, CogMapWriter.BlockSize(map.Rows, map.Columns, map.Dim));
        var reference = All(map);
        NpyFile.Write(dir.File("ref.npy"), reference, map.Rows, map.Columns, map.Dim);
        var files = CogMapWriter.Write(dir.File("m.tif"), map, type);
        Assert.Equal(type == EmbeddingRasterType.Int8 ? 2 : 1, files.Count);
        Assert.Equal("ok", PythonOracle.Run(Check, dir.File("m.tif"), dir.File("ref.npy"), kind).Trim());
        Assert.Empty(Directory.GetFiles(dir.Path, ".*"));   // no temporary or staging file left

        // The library's own reader gives float32 embeddings back, dequantising int8 maps.
        double tol = type switch { EmbeddingRasterType.Float32 => 0, EmbeddingRasterType.Float16 => 1.0 / 1024, _ => 0.5 / 127 };
        foreach (var (r, c) in new[] { (0, 0), (0, 1), (40, 69), (20, 33) })
        {
            int t = r * map.Columns + c;
            if (map.IsNoData[t])
            {
                Assert.Throws<ArgumentException>(() => SimilarityMap.PixelEmbedding(dir.File("m.tif"), r, c));
                continue;
            }
            var got = SimilarityMap.PixelEmbedding(dir.File("m.tif"), r, c);
            var exp = reference.AsSpan(t * map.Dim, map.Dim);
            float maxAbs = Math.Abs(System.Numerics.Tensors.TensorPrimitives.MaxMagnitude(exp));
            for (int d = 0; d < map.Dim; d++) Assert.True(Math.Abs(got[d] - exp[d]) <= tol * maxAbs + 1e-6, $"{kind} ({r},{c}) dim {d}: {got[d]} vs {exp[d]}");
        }
        Assert.Throws<ArgumentException>(() => SimilarityMap.PixelEmbedding(dir.File("m.tif"), 0, 3)); // tile 3 is nodata
    }

    [Fact]
    public void Float16_refuses_values_beyond_its_range_and_names_the_tile()
    {
        using var dir = new TempDir();
        var map = Map(3, 4, 16, amplitude: 1e5f);
        var e = Assert.Throws<ArgumentException>(() => CogMapWriter.Write(dir.File("m.tif"), map, EmbeddingRasterType.Float16));
        Assert.Contains("float16", e.Message);
        Assert.Contains("Tile row", e.Message);
        Assert.False(File.Exists(dir.File("m.tif")));
        Assert.Empty(Directory.GetFiles(dir.Path));
        Assert.Throws<ArgumentException>(() => new MapRequest { InputPath = "x.tif", OutputPrefix = "o", RasterType = EmbeddingRasterType.Float16, NoDataValue = -1e6f }.Validate());
    }

    [Fact]
    public void A_cancelled_write_leaves_neither_target_nor_temporary_files()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("m.tif"), "previous run");     // an earlier output stays as it was
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => CogMapWriter.Write(dir.File("m.tif"), Map(3, 4, 16), EmbeddingRasterType.Int8, cts.Token));
        Assert.Equal("previous run", File.ReadAllText(dir.File("m.tif")));
        Assert.Equal([dir.File("m.tif")], Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void An_int8_map_without_its_scale_raster_is_a_clear_error()
    {
        using var dir = new TempDir();
        CogMapWriter.Write(dir.File("m.tif"), Map(3, 4, 16), EmbeddingRasterType.Int8);
        File.Delete(dir.File("m.scale.tif"));
        var e = Assert.Throws<FileNotFoundException>(() => SimilarityMap.PixelEmbedding(dir.File("m.tif"), 0, 0));
        Assert.Contains("m.scale.tif", e.Message);
        Assert.Contains("int8", e.Message);
    }

    [Fact]
    public void Int8_quantisation_is_round_half_even_of_v_over_max_abs_127()
    {
        var q = new byte[4];
        float s = CogMapWriter.Quantise([127f, -63.5f, 0.5f, -127f], q);
        Assert.Equal(1f, s);
        Assert.Equal(new sbyte[] { 127, -64, 0, -127 }, q.Select(b => unchecked((sbyte)b)).ToArray());
        Assert.Equal(0f, CogMapWriter.Quantise([0f, 0f, 0f, 0f], q));
        Assert.All(q, b => Assert.Equal(0, b));
    }

    [Fact]
    public async Task An_int8_map_from_the_pipeline_feeds_similarity_rasters_like_the_float32_map()
    {
        using var dir = new TempDir();
        var input = dir.File("in.tif");
        PythonOracle.Run(Pipeline.EmbeddingMapperTests.MakeRaster, input, "500", "333");
        var request = new MapRequest
        {
            InputPath = input, OutputPrefix = dir.File("m"), Formats = ["cog", "npy"], RasterType = EmbeddingRasterType.Int8, MinValidFraction = 0.5,
        };
        var result = await EmbeddingMapper.RunAsync(request, new Pipeline.FeatureModel("B2", "B3", "B4"));
        Assert.Contains(dir.File("m.scale.tif"), result.Files);
        var (exact, _) = NpyFile.ReadSingle(dir.File("m.npy"));
        int dim = 9, n = exact.Length / dim;
        var query = exact.AsSpan(20 * dim, dim).ToArray();
        SimilarityMap.Write(dir.File("m.tif"), query, dir.File("sim.tif"));
        using var sim = GdalDataset.Open(dir.File("sim.tif"));
        var got = new float[n];
        sim.Read(new PixelWindow(0, 0, sim.Width, sim.Height), got);
        for (int t = 0; t < n; t++)
        {
            var e = exact.AsSpan(t * dim, dim);
            if (e[0] == -9999f) { Assert.Equal(SimilarityMap.NoData, got[t]); continue; }
            float cos = SSL4Eco.Inference.Similarity.EmbeddingIndex.CosineSimilarities(query, e.ToArray(), dim)[0];
            Assert.True(Math.Abs(cos - got[t]) < 0.01, $"tile {t}: {got[t]} vs {cos}");
        }
    }
}

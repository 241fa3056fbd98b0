using Parquet;
using SSL4Eco.Inference.Arrays;
using SSL4Eco.Inference.Geo.Pipeline;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Inference.Geo.Tests.Pipeline;

public class MultiDateMapperTests
{
    [Fact]
    public async Task Mean_and_concat_combine_per_date_maps_and_keep_nodata()
    {
        using var dir = new TempDir();
        var (d1, d2) = TwoDates(dir);
        var req = new MapRequest { InputPath = "unused", OutputPrefix = dir.File("m"), Formats = ["npy", "cog"] };
        DatedInput[] inputs = [new(new DateOnly(2021, 8, 1), d2), new(new DateOnly(2021, 5, 1), d1)];
        var mean = await MultiDateMapper.RunAsync(req, inputs, DateAggregation.Mean, new FeatureModel("B2", "B3", "B4"));
        Assert.Equal(2, mean.PerDate.Count);
        var a = NpyFile.ReadSingle(dir.File("m_20210501.npy")).Data;
        var b = NpyFile.ReadSingle(dir.File("m_20210801.npy")).Data;
        var (m, shape) = NpyFile.ReadSingle(dir.File("m.npy"));
        Assert.Equal([2, 3, 9], shape); // floor((130-64)/64)+1 = 2 rows, floor((200-64)/64)+1 = 3 cols
        int nd = (1 * 3 + 1) * 9;
        Assert.Equal(-9999f, b[nd]);
        for (int i = 0; i < m.Length; i++)
        {
            float expected = b[(i / 9) * 9] == -9999f ? a[i] : (a[i] + b[i]) / 2;
            Assert.Equal(expected, m[i], 3);
        }
        await MultiDateMapper.RunAsync(req with { OutputPrefix = dir.File("c") }, inputs, DateAggregation.Concat, new FeatureModel("B2", "B3", "B4"));
        var (c, cshape) = NpyFile.ReadSingle(dir.File("c.npy"));
        Assert.Equal([2, 3, 18], cshape);
        Assert.Equal(a.AsSpan(0, 9).ToArray(), c.AsSpan(0, 9).ToArray()); // earlier date first
        Assert.Equal(b.AsSpan(0, 9).ToArray(), c.AsSpan(9, 9).ToArray());
        Assert.All(c.AsSpan(4 * 18, 18).ToArray(), v => Assert.Equal(-9999f, v));
        Assert.True(File.Exists(dir.File("c.tif")));
        await Assert.ThrowsAsync<ArgumentException>(() => MultiDateMapper.RunAsync(req, [new(new DateOnly(2021, 1, 1), d1), new(new DateOnly(2021, 1, 1), d2)], DateAggregation.Mean, new FeatureModel("B2")));
    }

    [Fact]
    public async Task Without_aggregation_one_geoparquet_table_holds_a_row_per_tile_and_date()
    {
        using var dir = new TempDir();
        var (d1, d2) = TwoDates(dir);
        var req = new MapRequest { InputPath = "unused", OutputPrefix = dir.File("t"), Formats = ["geoparquet"] };
        var result = await MultiDateMapper.RunAsync(req, [new(new DateOnly(2021, 8, 1), d2), new(new DateOnly(2021, 5, 1), d1)], DateAggregation.None,
            new FeatureModel("B2", "B3", "B4"));
        Assert.Equal([dir.File("t.parquet")], result.Aggregated.Select(o => Path.GetFullPath(o.Path)).ToArray());
        var a = NpyFile.ReadSingle(dir.File("t_20210501.npy")).Data;
        var b = NpyFile.ReadSingle(dir.File("t_20210801.npy")).Data;

        await using var stream = File.OpenRead(dir.File("t.parquet"));
        await using var reader = await ParquetReader.CreateAsync(stream);
        var fields = reader.Schema.GetDataFields();
        var seen = new List<(string Date, int Tile, float[] Emb)>();
        for (int g = 0; g < reader.RowGroupCount; g++)
        {
            using var rg = reader.OpenRowGroupReader(g);
            int n = (int)rg.RowCount;
            var rows = new int[n];
            var cols = new int[n];
            var dates = new string?[n];
            var emb = new float[n * 9];
            await rg.ReadAsync<int>(fields[1], rows.AsMemory(), null);
            await rg.ReadAsync<int>(fields[2], cols.AsMemory(), null);
            await rg.ReadAsync(fields[3], dates.AsMemory(), null);
            await rg.ReadRawAsync<float>(fields[5], emb.AsMemory(), new int[n * 9].AsMemory(), new int[n * 9].AsMemory());
            for (int i = 0; i < n; i++) seen.Add((dates[i]!, rows[i] * 3 + cols[i], emb.AsSpan(i * 9, 9).ToArray()));
        }
        // Exactly the tiles that hold values on each date (2 x 3 on 2021-05-01; the nodata tiles of 2021-08-01 left out).
        int[] Valid(float[] m) => Enumerable.Range(0, 6).Where(t => m[t * 9] != -9999f).ToArray();
        Assert.Equal(6, Valid(a).Length);
        Assert.Contains(4, Enumerable.Range(0, 6).Except(Valid(b)));   // tile (1,1) is nodata on the second date
        Assert.Equal(Valid(a), seen.Where(r => r.Date == "2021-05-01").Select(r => r.Tile).ToArray());
        Assert.Equal(Valid(b), seen.Where(r => r.Date == "2021-08-01").Select(r => r.Tile).ToArray());
        Assert.Equal("2021-05-01", seen[0].Date);                  // dates in date order
        foreach (var (date, tile, e) in seen)
            Assert.Equal((date == "2021-05-01" ? a : b).AsSpan(tile * 9, 9).ToArray(), e);
    }

    [Fact]
    public async Task Dates_with_the_same_geotransform_in_another_crs_are_refused_before_any_work()
    {
        using var dir = new TempDir();
        var (d1, d2) = TwoDates(dir);
        PythonOracle.Run("""
from osgeo import gdal, osr
s = osr.SpatialReference(); s.ImportFromEPSG(32633)
d = gdal.Open(sys.argv[1], gdal.GA_Update); d.SetProjection(s.ExportToWkt()); d = None
""", d2);
        var model = new FeatureModel("B2", "B3", "B4");
        var req = new MapRequest { InputPath = "unused", OutputPrefix = dir.File("x"), Formats = ["npy"] };
        var e = await Assert.ThrowsAsync<ArgumentException>(() => MultiDateMapper.RunAsync(req,
            [new(new DateOnly(2021, 5, 1), d1), new(new DateOnly(2021, 8, 1), d2)], DateAggregation.Mean, model));
        Assert.Contains("another CRS", e.Message);
        Assert.Contains(d2, e.Message);
        Assert.Equal(0, model.Calls);
    }

    // Two dates of one 200 x 130 grid: date 2 is date 1 + 100 everywhere valid, with tile (row 1, col 1) nodata only on it.
    private static (string D1, string D2) TwoDates(TempDir dir)
    {
        var d1 = dir.File("d1.tif");
        var d2 = dir.File("d2.tif");
        PythonOracle.Run(EmbeddingMapperTests.MakeRaster, d1, "200", "130");
        PythonOracle.Run("""
import numpy as np
from osgeo import gdal
src = gdal.Open(sys.argv[1]); ds = gdal.GetDriverByName('GTiff').CreateCopy(sys.argv[2], src)
for i in range(3):
    b = ds.GetRasterBand(i + 1); a = b.ReadAsArray(); a[a > 0] += 100; a[66:130, 68:132] = 0; b.WriteArray(a)
ds = None
""", d1, d2);
        return (d1, d2);
    }
}

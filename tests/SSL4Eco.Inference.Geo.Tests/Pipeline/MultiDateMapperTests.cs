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
        var d1 = dir.File("d1.tif");
        var d2 = dir.File("d2.tif");
        PythonOracle.Run(EmbeddingMapperTests.MakeRaster, d1, "200", "130");
        // Date 2: +100 everywhere valid, and a fully nodata tile (row 1, col 1) only on this date.
        PythonOracle.Run("""
import numpy as np
from osgeo import gdal
src = gdal.Open(sys.argv[1]); ds = gdal.GetDriverByName('GTiff').CreateCopy(sys.argv[2], src)
for i in range(3):
    b = ds.GetRasterBand(i + 1); a = b.ReadAsArray(); a[a > 0] += 100; a[66:130, 68:132] = 0; b.WriteArray(a)
ds = None
""", d1, d2);
        var req = new MapRequest { InputPath = "unused", OutputPrefix = dir.File("m"), Outputs = MapOutputs.Npy | MapOutputs.Cog };
        DatedInput[] inputs = [new(new DateOnly(2021, 8, 1), d2), new(new DateOnly(2021, 5, 1), d1)];
        var mean = await MultiDateMapper.RunAsync(req, inputs, DateAggregation.Mean, new FeatureModel("B2", "B3", "B4"));
        Assert.Equal(2, mean.PerDate.Count);
        var a = NpyFile.ReadSingle(dir.File("m_20210501.npy")).Data;
        var b = NpyFile.ReadSingle(dir.File("m_20210801.npy")).Data;
        var (m, shape) = NpyFile.ReadSingle(dir.File("m.npy"));
        Assert.Equal([3, 4, 9], shape); // ceil((130-64)/64)+1 = 3 rows, ceil((200-64)/64)+1 = 4 cols
        int nd = (1 * 4 + 1) * 9;
        Assert.Equal(-9999f, b[nd]);
        for (int i = 0; i < m.Length; i++)
        {
            float expected = b[(i / 9) * 9] == -9999f ? a[i] : (a[i] + b[i]) / 2;
            Assert.Equal(expected, m[i], 3);
        }
        await MultiDateMapper.RunAsync(req with { OutputPrefix = dir.File("c") }, inputs, DateAggregation.Concat, new FeatureModel("B2", "B3", "B4"));
        var (c, cshape) = NpyFile.ReadSingle(dir.File("c.npy"));
        Assert.Equal([3, 4, 18], cshape);
        Assert.Equal(a.AsSpan(0, 9).ToArray(), c.AsSpan(0, 9).ToArray()); // earlier date first
        Assert.Equal(b.AsSpan(0, 9).ToArray(), c.AsSpan(9, 9).ToArray());
        Assert.All(c.AsSpan(5 * 18, 18).ToArray(), v => Assert.Equal(-9999f, v));
        Assert.True(File.Exists(dir.File("c.tif")));
        await Assert.ThrowsAsync<ArgumentException>(() => MultiDateMapper.RunAsync(req, [new(new DateOnly(2021, 1, 1), d1), new(new DateOnly(2021, 1, 1), d2)], DateAggregation.Mean, new FeatureModel("B2")));
    }
}

using SkiaSharp;
using SSL4Eco.Inference.Arrays;
using SSL4Eco.Inference.Geo.Pipeline;
using SSL4Eco.Inference.Geo.Previews;
using SSL4Eco.Inference.Geo.Tests.Pipeline;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Inference.Geo.Tests.Previews;

public class MapPreviewTests
{
    [Fact]
    public void Principal_components_match_sklearn_up_to_sign()
    {
        using var dir = new TempDir();
        var rng = new Random(4);
        int n = 120, d = 16;
        // Anisotropic data so the three leading components are well separated.
        var x = Enumerable.Range(0, n * d).Select(i => (float)(rng.NextDouble() * (16 - i % d))).ToArray();
        NpyFile.Write(dir.File("x.npy"), x, n, d);
        PythonOracle.Run("""
import numpy as np
from sklearn.decomposition import PCA
x = np.load(sys.argv[1]).astype(np.float64)
np.save(sys.argv[2], np.ascontiguousarray(PCA(3).fit_transform(x)))
""", dir.File("x.npy"), dir.File("p.npy"));
        var expected = NpyFile.ReadDouble(dir.File("p.npy")).Data;
        var got = EmbeddingPca.Project(x, n, d, 3);
        for (int k = 0; k < 3; k++)
        {
            double dot = 0, ne = 0, ng = 0;
            for (int i = 0; i < n; i++) { dot += expected[i * 3 + k] * got[i * 3 + k]; ne += expected[i * 3 + k] * expected[i * 3 + k]; ng += got[i * 3 + k] * got[i * 3 + k]; }
            Assert.True(Math.Abs(dot) / Math.Sqrt(ne * ng) > 0.9999, $"component {k}: |cos| = {Math.Abs(dot) / Math.Sqrt(ne * ng)}");
            Assert.Equal(Math.Sqrt(ne), Math.Sqrt(ng), 6);
        }
    }

    [Fact]
    public async Task Preview_png_has_true_colour_and_pca_halves_with_black_nodata()
    {
        using var dir = new TempDir();
        var input = dir.File("in.tif");
        PythonOracle.Run(EmbeddingMapperTests.MakeRaster, input, "500", "333");
        await EmbeddingMapper.RunAsync(new MapRequest { InputPath = input, OutputPrefix = dir.File("m") }, new FeatureModel("B2", "B3", "B4"));
        var png = MapPreview.Write(dir.File("m.tif"), input, dir.File("p.png"), maxSize: 100);
        using var bmp = SKBitmap.Decode(png);
        Assert.Equal((200, 67), (bmp.Width, bmp.Height));
        Assert.Equal(SKColors.Black.WithAlpha(255), bmp.GetPixel(100, 0)); // tile (0,0) is nodata
        var right = Enumerable.Range(100, 100).SelectMany(xx => Enumerable.Range(30, 30).Select(yy => bmp.GetPixel(xx, yy))).Distinct().Count();
        Assert.True(right > 10, "the PCA half should show several colours");
        Assert.Throws<ArgumentException>(() => MapPreview.Write(dir.File("m.tif"), input, dir.File("q.png"), 100, ["B5", "B6", "B7"]));
    }
}

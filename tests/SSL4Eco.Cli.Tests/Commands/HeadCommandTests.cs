using SSL4Eco.Inference.Arrays;
using SSL4Eco.Inference.Heads;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Cli.Tests.Commands;

[Collection(CliCollection.Name)]
public sealed class HeadCommandTests(CliModelFixture model) : IClassFixture<CliModelFixture>
{
    [Fact]
    public void EmbedWithHead_WritesThePredictionsOfTheEmbeddings_AndConvertFusesTheHead()
    {
        using var dir = new TempDir();
        var rng = new Random(9);
        var w = Enumerable.Range(0, 3 * 2048).Select(_ => (float)(rng.NextDouble() - 0.5) * 0.05f).ToArray();
        var head = new LinearHead(TaskType.Classification, 2048, w, new float[] { 0.1f, -0.2f, 0.3f }, ["forest", "crop", "water"]);
        head.Save(dir.File("head.json"));
        var patch = Path.Combine(Repo.Samples, "patches", "patch_000.tif");

        var (exit, stdout, stderr) = CliHarness.Run("embed", patch, "-m", model.Checkpoint, "-o", dir.File("e.npy"),
            "--head", dir.File("head.json"), "--predictions", dir.File("p.npy"));
        Assert.True(exit == 0, stderr);
        var (emb, _) = NpyFile.ReadSingle(dir.File("e.npy"));
        var (pred, shape) = NpyFile.ReadSingle(dir.File("p.npy"));
        Assert.Equal(new[] { 1, 3 }, shape);
        Assert.Equal(head.Predict(emb, 1), pred);

        (exit, stdout, stderr) = CliHarness.Run("convert", model.Checkpoint, "-o", dir.File("fused.onnx"), "--head", dir.File("head.json"));
        Assert.True(exit == 0, stderr);
        (exit, stdout, _) = CliHarness.Run("info", dir.File("fused.onnx"));
        Assert.Contains("output:    prediction FLOAT [batch, 3]", stdout);
        Assert.Contains("ssl4eco.head.outputs = forest,crop,water", stdout);
        Assert.DoesNotContain(Directory.GetFiles(dir.Path), f => f.Contains(".tmp", StringComparison.Ordinal));
    }

    [Fact]
    public void MapWithHead_WritesPredictionsOfEveryPixel_OnTheSameGrid()
    {
        using var dir = new TempDir();
        var rng = new Random(3);
        var w = Enumerable.Range(0, 2 * 2048).Select(_ => (float)(rng.NextDouble() - 0.5) * 0.05f).ToArray();
        var head = new LinearHead(TaskType.MultiLabel, 2048, w, new float[] { 0.1f, -0.2f }, ["wetland", "forest"]);
        head.Save(dir.File("head.json"));
        var onnx = dir.File("m.onnx");
        Assert.Equal(0, CliHarness.Run("convert", model.Checkpoint, "-o", onnx).Exit);
        var scene = Path.Combine(Repo.Samples, "sentinel2_l2a_sample.tif");
        var (exit, stdout, stderr) = CliHarness.Run("map", scene, "-m", onnx, "-o", dir.File("map.npy"), "--stride", "112", "--head", dir.File("head.json"));
        Assert.True(exit == 0, stderr);
        Assert.Contains("map.prediction.tif", stdout);
        var (emb, shape) = NpyFile.ReadSingle(dir.File("map.npy"));
        var expected = head.Predict(emb, shape[0] * shape[1]);
        var got = PythonOracle.Run("""
from osgeo import gdal
import sys
p = gdal.Open(sys.argv[1]); m = gdal.Open(sys.argv[2])
a = p.ReadAsArray()
print(p.GetGeoTransform() == m.GetGeoTransform(), p.GetRasterBand(1).GetDescription(), p.GetRasterBand(2).GetDescription())
print(' '.join(repr(float(a[c, r, x])) for r in range(a.shape[1]) for x in range(a.shape[2]) for c in range(a.shape[0])))
""", dir.File("map.prediction.tif"), dir.File("map.tif")).Split('\n');
        Assert.Equal("True wetland forest", got[0].Trim());
        var values = got[1].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(v => float.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(expected.Length, values.Length);
        for (int i = 0; i < values.Length; i++) Assert.Equal(expected[i], values[i], 5);
    }
}

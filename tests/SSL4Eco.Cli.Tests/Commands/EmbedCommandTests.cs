using System.Numerics.Tensors;
using SSL4Eco.Inference.Arrays;
using SSL4Eco.Inference.Geo.Tables;
using SSL4Eco.Inference.Tests.Oracle;
using Xunit.Abstractions;

namespace SSL4Eco.Cli.Tests.Commands;

[Collection(CliCollection.Name)]
public sealed class EmbedCommandTests(CliModelFixture model, ITestOutputHelper log) : IClassFixture<CliModelFixture>
{
    private static string Patch(string name) => Path.Combine(Repo.Samples, "patches", name);

    [Fact]
    public void Embed_SamplePatches_FromTheCheckpoint_MatchesPyTorch()
    {
        using var dir = new TempDir();
        var npy = dir.File("emb.npy");
        var cache = dir.File("cache");
        Environment.SetEnvironmentVariable("SSL4ECO_CACHE", cache);
        try
        {
            // The checkpoint is given directly: converted once into the cache, then embedded.
            var (exit, stdout, stderr) = CliHarness.Run("embed", Patch("patch_000.tif"), Patch("patch_001.tif"), "--model", model.Checkpoint, "--output", npy);
            Assert.True(exit == 0, stderr);
            Assert.Contains("2 x 2048", stdout);
            Assert.Single(Directory.GetFiles(Path.Combine(cache, "converted"), "*.onnx"));
        }
        finally
        {
            Environment.SetEnvironmentVariable("SSL4ECO_CACHE", null);
        }
        var (actual, shape) = NpyFile.ReadSingle(npy);
        var (expected, eShape) = NpyFile.ReadSingle(model.ExpectedEmbeddings);
        Assert.Equal(eShape, shape);
        for (int i = 0; i < shape[0]; i++)
        {
            var a = actual.AsSpan(i * shape[1], shape[1]);
            var e = expected.AsSpan(i * shape[1], shape[1]);
            float cos = TensorPrimitives.CosineSimilarity(a, e);
            float maxDiff = 0;
            for (int j = 0; j < a.Length; j++) maxDiff = Math.Max(maxDiff, Math.Abs(a[j] - e[j]));
            log.WriteLine($"row {i}: cosine {cos:F7}, max abs diff {maxDiff:E2}, max |e| {TensorPrimitives.MaxMagnitude(e):F3}");
            Assert.True(cos >= 0.99999f, $"row {i}: cosine {cos}");
            Assert.True(maxDiff <= 1e-4f * Math.Max(1f, TensorPrimitives.MaxMagnitude(e)), $"row {i}: max abs diff {maxDiff}");
        }
    }

    [Fact]
    public async Task Embed_ParquetAndCsv_HoldTheSameRowsAsNpy()
    {
        using var dir = new TempDir();
        var onnx = dir.File("m.onnx");
        Assert.Equal(0, CliHarness.Run("convert", model.Checkpoint, "-o", onnx).Exit);
        foreach (var ext in new[] { ".npy", ".csv", ".parquet" })
            Assert.Equal(0, CliHarness.Run("embed", Patch("patch_001.tif"), Patch("patch_000.tif"), "-m", onnx, "-o", dir.File("e" + ext)).Exit);
        var npy = await EmbeddingTable.ReadAsync(dir.File("e.npy"));
        foreach (var ext in new[] { ".csv", ".parquet" })
        {
            var t = await EmbeddingTable.ReadAsync(dir.File("e" + ext));
            Assert.Equal(["patch_001.tif", "patch_000.tif"], t.Ids);
            Assert.Equal(npy.Values, t.Values);
        }
    }

    [Fact]
    public void Embed_WrongBandNames_NamesTheMissingBand()
    {
        using var dir = new TempDir();
        var onnx = dir.File("m.onnx");
        Assert.Equal(0, CliHarness.Run("convert", model.Checkpoint, "-o", onnx).Exit);
        var names = string.Join(",", Enumerable.Range(0, 13).Select(i => $"X{i}"));
        var tif = dir.File("nodesc.tif");
        PythonOracle.Run("""
from osgeo import gdal
import sys
src = gdal.Open(sys.argv[1])
gdal.Translate(sys.argv[2], src)
ds = gdal.Open(sys.argv[2], gdal.GA_Update)
for i in range(ds.RasterCount): ds.GetRasterBand(i + 1).SetDescription('')
ds = None
""", Patch("patch_000.tif"), tif);
        var (exit, _, stderr) = CliHarness.Run("embed", tif, "-m", onnx, "-o", dir.File("x.npy"), "--bands", names);
        Assert.Equal(1, exit);
        Assert.Contains("B2", stderr);
        Assert.False(File.Exists(dir.File("x.npy")));
    }
}

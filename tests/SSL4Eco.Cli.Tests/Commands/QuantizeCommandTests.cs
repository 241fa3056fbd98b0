using SSL4Eco.Inference.Arrays;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Cli.Tests.Commands;

/// <summary>
/// <c>ssl4eco quantize</c> and <c>convert --quantize int8 / --precision float16</c> through the CLI, and the int8/fp16 models
/// used unchanged by <c>info</c>, <c>embed</c> and <c>map</c> (compared with the fp32 model's outputs).
/// </summary>
[Collection(CliCollection.Name)]
public sealed class QuantizeCommandTests(CliModelFixture model) : IClassFixture<CliModelFixture>
{
    private static string Patches => Path.Combine(Repo.Samples, "patches");
    private static string Scene => Path.Combine(Repo.Samples, "sentinel2_l2a_sample.tif");

    /// <summary>The smallest cosine over row pairs of two [N, dim] arrays (float64 sums; the library tests' RowCosines is not linked here).</summary>
    private static double MinRowCosine(float[] a, float[] b, int dim) =>
        Enumerable.Range(0, a.Length / dim).Min(r =>
        {
            var (x, y) = (a.AsSpan(r * dim, dim).ToArray(), b.AsSpan(r * dim, dim).ToArray());
            double ab = x.Zip(y).Sum(p => (double)p.First * p.Second), aa = x.Sum(v => (double)v * v), bb = y.Sum(v => (double)v * v);
            return ab / Math.Sqrt(aa * bb);
        });

    [Fact]
    public void Quantize_ThenInfoEmbedAndMap_Int8ModelWorksUnchangedAndAgreesWithFp32()
    {
        using var dir = new TempDir();
        var fp32 = dir.File("m.onnx");
        var int8 = dir.File("m.int8.onnx");
        Assert.Equal(0, CliHarness.Run("convert", model.Checkpoint, "-o", fp32).Exit);
        var (exit, stdout, stderr) = CliHarness.Run("quantize", fp32, "--calibration", Patches, "--output", int8);
        Assert.True(exit == 0, stderr);
        Assert.Contains("calibration: 2 patches, percentile, sha256 ", stdout);
        Assert.Contains("53 convolutions, 16 residual additions", stdout);
        Assert.Equal(new[] { fp32, int8 }.Order(), Directory.GetFiles(dir.Path).Order());

        (exit, stdout, stderr) = CliHarness.Run("info", int8);
        Assert.True(exit == 0, stderr);
        Assert.Contains("precision: int8 (calibrated on 2 patches, percentile, sha256 ", stdout);
        Assert.Contains("input:     input FLOAT [batch, 9, 224, 224]", stdout);
        Assert.Contains("output:    embedding FLOAT [batch, 2048]", stdout);
        Assert.Contains("precision: fp32", CliHarness.Run("info", fp32).Out);

        var files = Directory.GetFiles(Patches, "*.tif").Order().ToArray();
        Assert.Equal(0, CliHarness.Run(["embed", .. files, "-m", fp32, "-o", dir.File("e32.npy")]).Exit);
        (exit, _, stderr) = CliHarness.Run(["embed", .. files, "-m", int8, "-o", dir.File("e8.npy")]);
        Assert.True(exit == 0, stderr);
        var (e32, _) = NpyFile.ReadSingle(dir.File("e32.npy"));
        var (e8, shape) = NpyFile.ReadSingle(dir.File("e8.npy"));
        Assert.Equal(new[] { 2, 2048 }, shape);
        double c = MinRowCosine(e32, e8, 2048);
        Assert.True(c >= 0.99, $"embed int8 vs fp32 min cosine {c}");

        // The map of a scene (tiles not in the calibration set): every pixel's embedding agrees with the fp32 map's.
        Assert.Equal(0, CliHarness.Run("map", Scene, "-m", fp32, "-o", dir.File("map32.npy"), "--stride", "112").Exit);
        (exit, _, stderr) = CliHarness.Run("map", Scene, "-m", int8, "-o", dir.File("map8.npy"), "--stride", "112");
        Assert.True(exit == 0, stderr);
        var (m32, _) = NpyFile.ReadSingle(dir.File("map32.npy"));
        var (m8, mshape) = NpyFile.ReadSingle(dir.File("map8.npy"));
        Assert.Equal(new[] { 3, 3, 2048 }, mshape);
        c = MinRowCosine(m32, m8, 2048);
        Assert.True(c >= 0.99, $"map int8 vs fp32 min pixel cosine {c}");
    }

    [Fact]
    public void Quantize_TwiceOnTheSameFiles_WritesIdenticalBytes()
    {
        using var dir = new TempDir();
        var fp32 = dir.File("m.onnx");
        Assert.Equal(0, CliHarness.Run("convert", model.Checkpoint, "-o", fp32).Exit);
        var files = Directory.GetFiles(Patches, "*.tif").Order().ToArray();
        Assert.Equal(0, CliHarness.Run("quantize", fp32, "--calibration", Patches, "-o", dir.File("a.onnx"), "--method", "minmax").Exit);
        // The same files given one by one, in the other order: the calibration set is the same, so are the bytes.
        Assert.Equal(0, CliHarness.Run(["quantize", fp32, "--calibration", .. files.Reverse(), "-o", dir.File("b.onnx"), "--method", "minmax"]).Exit);
        Assert.Equal(File.ReadAllBytes(dir.File("a.onnx")), File.ReadAllBytes(dir.File("b.onnx")));
        // One calibration patch fewer gives another model (and another calibration hash).
        Assert.Equal(0, CliHarness.Run("quantize", fp32, "--calibration", Patches, "-o", dir.File("c.onnx"), "--method", "minmax", "--count", "1").Exit);
        Assert.NotEqual(File.ReadAllBytes(dir.File("a.onnx")), File.ReadAllBytes(dir.File("c.onnx")));
        Assert.Contains("calibrated on 1 patches, minmax", CliHarness.Run("info", dir.File("c.onnx")).Out);
    }

    [Fact]
    public void Convert_WithQuantizeInt8_OrPrecisionFloat16_WritesThatPrecisionOnly()
    {
        using var dir = new TempDir();
        var (exit, stdout, stderr) = CliHarness.Run("convert", model.Checkpoint, "-o", dir.File("q.onnx"), "--quantize", "int8", "--calibration", Patches, "--count", "2");
        Assert.True(exit == 0, stderr);
        Assert.Contains("registry entry 'seco-eco'", stdout);
        Assert.Contains("precision: int8 (calibrated on 2 patches", CliHarness.Run("info", dir.File("q.onnx")).Out);
        (exit, _, stderr) = CliHarness.Run("convert", model.Checkpoint, "-o", dir.File("h.onnx"), "--precision", "float16");
        Assert.True(exit == 0, stderr);
        Assert.Contains("precision: fp16", CliHarness.Run("info", dir.File("h.onnx")).Out);
        Assert.Equal(new[] { dir.File("h.onnx"), dir.File("q.onnx") }, Directory.GetFiles(dir.Path).Order());

        // fp16 embeddings equal PyTorch's fp32 ones (the fixture's expected.npy) to float16 accuracy.
        var files = new[] { "patch_000.tif", "patch_001.tif" }.Select(f => Path.Combine(Patches, f)).ToArray();
        (exit, _, stderr) = CliHarness.Run(["embed", .. files, "-m", dir.File("h.onnx"), "-o", dir.File("e16.npy")]);
        Assert.True(exit == 0, stderr);
        var (expected, _) = NpyFile.ReadSingle(model.ExpectedEmbeddings);
        var (e16, _) = NpyFile.ReadSingle(dir.File("e16.npy"));
        double c = MinRowCosine(expected, e16, 2048);
        Assert.True(c >= 0.9999, $"fp16 vs PyTorch fp32 min cosine {c}");
    }
}

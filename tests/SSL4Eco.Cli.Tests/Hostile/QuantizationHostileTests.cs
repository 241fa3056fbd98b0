using SSL4Eco.Cli.Tests.Commands;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Cli.Tests.Hostile;

/// <summary>Error paths of <c>ssl4eco quantize</c> and <c>convert --quantize</c>: one-line errors, inputs untouched, no litter.</summary>
[Collection(CliCollection.Name)]
public sealed class QuantizationHostileTests(CliModelFixture model) : IClassFixture<CliModelFixture>
{
    private static string Patches => Path.Combine(Repo.Samples, "patches");

    private string Fp32(TempDir dir)
    {
        var onnx = dir.File("m.onnx");
        Assert.Equal(0, CliHarness.Run("convert", model.Checkpoint, "-o", onnx).Exit);
        return onnx;
    }

    [Fact]
    public void MissingCalibrationFile_IsNamed()
    {
        using var dir = new TempDir();
        var onnx = Fp32(dir);
        HostileRun.Run(1, [onnx], dir.Path, [], "calibration file", "quantize", onnx, "--calibration", dir.File("nope.tif"), "-o", dir.File("q.onnx"));
    }

    [Fact]
    public void EmptyCalibrationFolder_IsNamed()
    {
        using var dir = new TempDir();
        var onnx = Fp32(dir);
        Directory.CreateDirectory(dir.File("empty"));
        HostileRun.Run(1, [onnx], dir.Path, [], "holds no raster files", "quantize", onnx, "--calibration", dir.File("empty"), "-o", dir.File("q.onnx"));
    }

    [Fact]
    public void NoCalibration_SaysHowToGiveIt()
    {
        using var dir = new TempDir();
        var onnx = Fp32(dir);
        HostileRun.Run(1, [onnx], dir.Path, [], "--calibration", "quantize", onnx, "-o", dir.File("q.onnx"));
        HostileRun.Run(1, [model.Checkpoint], dir.Path, [onnx], "--calibration", "convert", model.Checkpoint, "-o", dir.File("q.onnx"), "--quantize", "int8");
    }

    [Fact]
    public void AlreadyQuantisedInput_IsRefused()
    {
        using var dir = new TempDir();
        var onnx = Fp32(dir);
        var q = dir.File("q.onnx");
        Assert.Equal(0, CliHarness.Run("quantize", onnx, "--calibration", Patches, "-o", q, "--count", "1").Exit);
        HostileRun.Run(1, [onnx, q], dir.Path, [], "is int8", "quantize", q, "--calibration", Patches, "-o", dir.File("qq.onnx"));
    }

    [Fact]
    public void OutputEqualsInput_IsRefusedBeforeAnyWork()
    {
        using var dir = new TempDir();
        var onnx = Fp32(dir);
        HostileRun.Run(1, [onnx], dir.Path, [], "is the input", "quantize", onnx, "--calibration", Patches, "-o", onnx);
        var patch = Path.Combine(Patches, "patch_000.tif");
        HostileRun.Run(1, [onnx, patch], dir.Path, [], "is the input", "quantize", onnx, "--calibration", patch, "-o", patch);
    }

    [Fact]
    public void NonOnnxInput_SaysNotAnOnnxModel()
    {
        using var dir = new TempDir();
        var junk = dir.File("junk.onnx");
        File.WriteAllText(junk, "this is not a model");
        HostileRun.Run(1, [junk], dir.Path, [], "not a valid ONNX model", "quantize", junk, "--calibration", Patches, "-o", dir.File("q.onnx"));
        HostileRun.Run(1, [], dir.Path, [junk], "does not exist", "quantize", dir.File("missing.onnx"), "--calibration", Patches, "-o", dir.File("q.onnx"));
    }

    [Fact]
    public void UnknownMethodOrExclusiveOptions_AreOneLineErrors()
    {
        using var dir = new TempDir();
        var onnx = Fp32(dir);
        HostileRun.Run(1, [onnx], dir.Path, [], "minmax or percentile", "quantize", onnx, "--calibration", Patches, "-o", dir.File("q.onnx"), "--method", "entropy");
        HostileRun.Run(1, [model.Checkpoint], dir.Path, [onnx], "exclude each other", "convert", model.Checkpoint, "-o", dir.File("q.onnx"), "--quantize", "int8", "--precision", "float16", "--calibration", Patches);
    }
}

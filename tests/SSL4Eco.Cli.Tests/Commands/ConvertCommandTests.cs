using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Cli.Tests.Commands;

[Collection(CliCollection.Name)]
public sealed class ConvertCommandTests(CliModelFixture model) : IClassFixture<CliModelFixture>
{
    [Fact]
    public void Convert_ThenInfo_ShowsTheOfficialContract()
    {
        using var dir = new TempDir();
        var onnx = dir.File("m.onnx");
        var (exit, stdout, stderr) = CliHarness.Run("convert", model.Checkpoint, "--output", onnx);
        Assert.True(exit == 0, stderr);
        Assert.Contains("registry entry 'seco-eco'", stdout);
        Assert.True(File.Exists(onnx));
        Assert.Equal([onnx], Directory.GetFiles(dir.Path));

        (exit, stdout, stderr) = CliHarness.Run("info", onnx);
        Assert.True(exit == 0, stderr);
        Assert.Contains("bands:     B2, B3, B4, B5, B6, B7, B8, B8A, NDVI", stdout);
        Assert.Contains("x = (DN - 0) / 255", stdout);
        Assert.Contains("center_crop_or_bicubic_upscale to 224x224", stdout);
        Assert.Contains("output:    embedding FLOAT [batch, 2048]", stdout);
        Assert.Contains("ssl4eco.checkpoint_layout = LightningSeCo", stdout);
    }

    [Fact]
    public void Convert_TruncatedCheckpoint_SaysTruncatedAndWritesNothing()
    {
        using var dir = new TempDir();
        var bytes = File.ReadAllBytes(model.Checkpoint);
        var truncated = dir.File("truncated.ckpt");
        File.WriteAllBytes(truncated, bytes.AsSpan(0, bytes.Length / 2).ToArray());
        var onnx = dir.File("out.onnx");
        var (exit, _, stderr) = CliHarness.Run("convert", truncated, "--output", onnx);
        Assert.Equal(1, exit);
        Assert.Contains("truncated", stderr, StringComparison.OrdinalIgnoreCase);
        Assert.Equal([truncated], Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void Convert_CorruptCheckpoint_SaysCorruptAndWritesNothing()
    {
        using var dir = new TempDir();
        var corrupt = dir.File("corrupt.ckpt");
        var junk = new byte[4096];
        new Random(1).NextBytes(junk);
        File.WriteAllBytes(corrupt, junk);
        var (exit, _, stderr) = CliHarness.Run("convert", corrupt, "--output", dir.File("out.onnx"));
        Assert.Equal(1, exit);
        Assert.Contains("corrupt", stderr, StringComparison.OrdinalIgnoreCase);
        Assert.Equal([corrupt], Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void Convert_ContractThatDoesNotFitTheWeights_NamesBothCounts()
    {
        using var dir = new TempDir();
        var (exit, _, stderr) = CliHarness.Run("convert", model.Checkpoint, "--output", dir.File("out.onnx"),
            "--contract-bands", "B2,B3,B4", "--scale-divisor", "10000");
        Assert.Equal(1, exit);
        Assert.Contains("3 bands", stderr);
        Assert.Contains("9 channels", stderr);
        Assert.Empty(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void Models_ListsTheRegistry()
    {
        var (exit, stdout, _) = CliHarness.Run("models");
        Assert.Equal(0, exit);
        Assert.Contains("seco-eco", stdout);
        Assert.Contains("torchgeo-seco-eco-ndvi", stdout);
        Assert.Contains("x = DN / 255", stdout);
    }
}

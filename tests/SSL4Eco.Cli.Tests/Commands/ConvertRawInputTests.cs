using SSL4Eco.Inference.Embedding;
using SSL4Eco.Inference.Preprocessing;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Cli.Tests.Commands;

/// <summary><c>ssl4eco convert --input-form raw</c>: the model takes raw patches and embeds them as the preprocessed-input model does.</summary>
[Collection(CliCollection.Name)]
public sealed class ConvertRawInputTests(CliModelFixture model) : IClassFixture<CliModelFixture>
{
    [Fact]
    public void Convert_raw_form_declares_it_and_embeds_like_the_preprocessed_model()
    {
        using var dir = new TempDir();
        var host = dir.File("host.onnx");
        var raw = dir.File("raw.onnx");
        var (exit, _, stderr) = CliHarness.Run("convert", model.Checkpoint, "--output", host);
        Assert.True(exit == 0, stderr);
        (exit, var stdout, stderr) = CliHarness.Run("convert", model.Checkpoint, "--output", raw, "--input-form", "raw", "--raw-size", "230x240");
        Assert.True(exit == 0, stderr);
        Assert.Contains("input 'raw' uint16 [N, 12, 230, 240]", stdout);
        Assert.Equal([host, raw], Directory.GetFiles(dir.Path).Order());
        (exit, stdout, stderr) = CliHarness.Run("info", raw);
        Assert.True(exit == 0, stderr);
        Assert.Contains("raw input: uint16 [N, 12, 230, 240] (B1, B2, B3, B4, B5, B6, B7, B8, B8A, B9, B11, B12), preprocessed in the graph", stdout);

        using var h = SeCoEcoEncoder.Open(host);
        using var r = SeCoEcoEncoder.Open(raw);
        var rng = new Random(4);
        var data = new float[12 * 230 * 240];
        for (int i = 0; i < data.Length; i++) data[i] = rng.Next(0, 11000);
        var patch = new Patch(["B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B11", "B12"], 230, 240, data) { ProcessingBaseline = 4.0 };
        var expected = h.EmbedBatch([patch]);
        var actual = r.EmbedBatch([patch]);
        for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5f * (1 + Math.Abs(expected[i])), $"[{i}] {expected[i]} vs {actual[i]}");
    }

    [Fact]
    public void Convert_composes_float16_with_the_raw_form_and_leaves_only_the_output()
    {
        using var dir = new TempDir();
        var host = dir.File("host.onnx");
        var raw16 = dir.File("raw16.onnx");
        var (exit, _, stderr) = CliHarness.Run("convert", model.Checkpoint, "--output", host);
        Assert.True(exit == 0, stderr);
        (exit, _, stderr) = CliHarness.Run("convert", model.Checkpoint, "--output", raw16, "--precision", "float16", "--input-form", "raw");
        Assert.True(exit == 0, stderr);
        Assert.Equal([host, raw16], Directory.GetFiles(dir.Path).Order()); // every intermediate step's file is gone
        (exit, var stdout, stderr) = CliHarness.Run("info", raw16);
        Assert.True(exit == 0, stderr);
        Assert.Contains("precision: fp16", stdout);
        Assert.Contains("raw input: uint16 [N, 12, 256, 256]", stdout);

        using var h = SeCoEcoEncoder.Open(host);
        using var r = SeCoEcoEncoder.Open(raw16);
        Assert.True(r.TakesRawInput);
        var rng = new Random(5);
        var data = new float[12 * 256 * 256];
        for (int i = 0; i < data.Length; i++) data[i] = rng.Next(0, 11000);
        var patch = new Patch(["B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B11", "B12"], 256, 256, data);
        var expected = h.EmbedBatch([patch]);
        var actual = r.EmbedBatch([patch]);
        double dot = 0, ne = 0, na = 0;
        for (int i = 0; i < expected.Length; i++) { dot += expected[i] * actual[i]; ne += expected[i] * expected[i]; na += actual[i] * actual[i]; }
        Assert.True(dot / Math.Sqrt(ne * na) >= 0.9999, $"cosine {dot / Math.Sqrt(ne * na)}");
    }

    [Theory]
    [InlineData("--raw-bands=B2,B3,B5,B6,B7,B8,B8A", "'B4'")]
    [InlineData("--raw-size=0x10", "--raw-size")]
    [InlineData("--raw-dtype=int8", "uint16 or float32")]
    public void Convert_raw_form_that_cannot_work_says_why_and_leaves_nothing(string option, string named)
    {
        using var dir = new TempDir();
        var (exit, _, stderr) = CliHarness.Run("convert", model.Checkpoint, "--output", dir.File("raw.onnx"), "--input-form", "raw", option);
        Assert.Equal(1, exit);
        Assert.Contains(named, stderr);
        Assert.StartsWith("error: ", stderr.Trim());
        Assert.Single(stderr.Trim().Split('\n'));
        Assert.Empty(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void Raw_options_without_the_raw_form_are_refused()
    {
        using var dir = new TempDir();
        var (exit, _, stderr) = CliHarness.Run("convert", model.Checkpoint, "--output", dir.File("m.onnx"), "--raw-size", "256");
        Assert.Equal(1, exit);
        Assert.Contains("only with --input-form raw", stderr);
        Assert.Empty(Directory.GetFiles(dir.Path));
    }
}

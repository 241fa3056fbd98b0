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
}

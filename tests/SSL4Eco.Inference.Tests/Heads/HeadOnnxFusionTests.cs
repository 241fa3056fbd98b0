using Microsoft.ML.OnnxRuntime;
using SSL4Eco.Inference.Embedding;
using SSL4Eco.Inference.Heads;
using SSL4Eco.Inference.Onnx;
using SSL4Eco.Inference.Tests.Onnx;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Inference.Tests.Heads;

public sealed class HeadOnnxFusionTests
{
    [Theory]
    [InlineData(TaskType.Classification)]
    [InlineData(TaskType.MultiLabel)]
    [InlineData(TaskType.Regression)]
    [InlineData(TaskType.Distribution)]
    public void FusedPrediction_EqualsTheHeadAppliedToTheEmbedding(TaskType task)
    {
        using var dir = new TempDir();
        const int c = 3, s = 32, k = 4, d = 2048;
        ResNet50OnnxExporter.Write(OnnxTestModels.RandomWeights(c, 1), OnnxTestModels.Contract(c, s), dir.File("enc.onnx"));
        var rng = new Random(2);
        float[] Rand(int n, float scale) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() - 0.5) * scale).ToArray();
        var head = new LinearHead(task, d, Rand(k * d, 0.01f), Rand(k, 0.2f), ["a", "b", "c", "e"],
            task == TaskType.Regression ? Rand(k, 10f) : default, task == TaskType.Regression ? Rand(k, 1f).Select(x => 1.5f + x).ToArray() : default);
        HeadOnnxFusion.Append(dir.File("enc.onnx"), head, dir.File("fused.onnx"));

        var input = OnnxTestModels.RandomInput(2, c, s, 5);
        using var session = new InferenceSession(dir.File("fused.onnx"), OnnxTestModels.CpuOptions());
        var outputs = OnnxTestModels.Run(session, input, 2, c, s);
        var expected = head.Predict(outputs["embedding"].Data, 2);
        var actual = outputs[OnnxHeadAppender.PredictionName].Data;
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-4f * Math.Max(1f, Math.Abs(expected[i])), $"{task} [{i}]: {actual[i]} vs {expected[i]}");
        Assert.Equal(task.ToString(), session.ModelMetadata.CustomMetadataMap[HeadOnnxFusion.TaskKey]);

        // The encoder API still opens the fused model and returns the embedding.
        using var encoder = SeCoEcoEncoder.Open(dir.File("fused.onnx"));
        var emb = new float[2 * d];
        encoder.EmbedPreprocessed(input, 2, emb);
        Assert.Equal(outputs["embedding"].Data, emb);
    }

    [Fact]
    public void HeadOfTheWrongWidth_IsRejected()
    {
        using var dir = new TempDir();
        ResNet50OnnxExporter.Write(OnnxTestModels.RandomWeights(3, 1), OnnxTestModels.Contract(3, 32), dir.File("enc.onnx"));
        var head = new LinearHead(TaskType.Classification, 16, new float[32], new float[2]);
        var e = Assert.Throws<ArgumentException>(() => HeadOnnxFusion.Append(dir.File("enc.onnx"), head, dir.File("f.onnx")));
        Assert.Contains("16-d", e.Message);
        Assert.False(File.Exists(dir.File("f.onnx")));
    }
}

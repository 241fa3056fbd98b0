using Microsoft.ML.OnnxRuntime;
using SSL4Eco.Inference.Onnx;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Inference.Tests.Onnx;

/// <summary>The appended Gemm + activation head equals a manual float64 Gemm + activation on the model's own embedding.</summary>
public sealed class OnnxHeadAppenderTests : IClassFixture<OnnxHeadAppenderTests.Encoder>
{
    /// <summary>A small (4 channels, 32x32) encoder held in memory.</summary>
    public sealed class Encoder
    {
        public Encoder()
        {
            using var ms = new MemoryStream();
            ResNet50OnnxExporter.Write(OnnxTestModels.RandomWeights(4, seed: 11), OnnxTestModels.Contract(4, 32), ms);
            Bytes = ms.ToArray();
        }
        public byte[] Bytes { get; }
    }

    private const int K = 5, D = 2048, N = 3, C = 4, S = 32;
    private readonly Encoder _enc;
    public OnnxHeadAppenderTests(Encoder enc) => _enc = enc;

    private static (float[] W, float[] B) RandomHead(int seed)
    {
        var rng = new Random(seed);
        var w = new float[K * D];
        for (int i = 0; i < w.Length; i++) w[i] = (float)((rng.NextDouble() - 0.5) * 0.05);
        var b = new float[K];
        for (int i = 0; i < K; i++) b[i] = (float)(rng.NextDouble() - 0.5);
        return (w, b);
    }

    private byte[] AppendHead(float[] w, float[] b, HeadOutput act, IReadOnlyDictionary<string, string>? meta = null)
    {
        using var input = new MemoryStream(_enc.Bytes);
        using var output = new MemoryStream();
        OnnxHeadAppender.Append(input, output, w, b, act, meta ?? new Dictionary<string, string>());
        return output.ToArray();
    }

    [Theory]
    [InlineData(nameof(HeadOutput.None))]
    [InlineData(nameof(HeadOutput.Softmax))]
    [InlineData(nameof(HeadOutput.Sigmoid))]
    public void Prediction_equals_manual_gemm_and_activation_of_the_embedding(string activation)
    {
        var act = Enum.Parse<HeadOutput>(activation); // HeadOutput is internal: a public test method cannot take it
        var (w, b) = RandomHead(3);
        var bytes = AppendHead(w, b, act, new Dictionary<string, string> { ["ssl4eco.head.task"] = "biomes" });
        using var opts = OnnxTestModels.CpuOptions();
        using var session = new InferenceSession(bytes, opts);
        Assert.Equal([-1, K], session.OutputMetadata[OnnxHeadAppender.PredictionName].Dimensions);
        Assert.Equal("biomes", session.ModelMetadata.CustomMetadataMap["ssl4eco.head.task"]);
        Assert.Equal("test-resnet50", session.ModelMetadata.CustomMetadataMap["ssl4eco.model_id"]);

        var outs = OnnxTestModels.Run(session, OnnxTestModels.RandomInput(N, C, S, seed: 5), N, C, S);
        var emb = outs["embedding"];
        var pred = outs[OnnxHeadAppender.PredictionName];
        Assert.Equal([N, D], emb.Shape);
        Assert.Equal([N, K], pred.Shape);
        for (int n = 0; n < N; n++)
        {
            var z = new double[K];
            var scale = new double[K]; // sum of |terms|: float32 accumulation error is relative to it, not to the result
            for (int k = 0; k < K; k++)
            {
                double s = b[k], a = Math.Abs(b[k]);
                for (int d = 0; d < D; d++) { double t = (double)emb.Data[n * D + d] * w[k * D + d]; s += t; a += Math.Abs(t); }
                z[k] = s;
                scale[k] = a;
            }
            double[] expected = act switch
            {
                HeadOutput.Softmax => z.Select(v => Math.Exp(v - z.Max())).ToArray() is var e ? e.Select(v => v / e.Sum()).ToArray() : z,
                HeadOutput.Sigmoid => z.Select(v => 1 / (1 + Math.Exp(-v))).ToArray(),
                _ => z,
            };
            // float32 dot products of length 2048 with blocked accumulation: error ~ sqrt(D)·2^-24·scale ≈ 3e-6·scale;
            // 2e-5·scale leaves margin and is still far below any wrong-wiring error (a transposed W or missing bias is O(scale)).
            // Softmax and sigmoid have derivative ≤ 1/4 (sigmoid) or ≤ 1 (softmax), so the same bound holds after them.
            for (int k = 0; k < K; k++)
                Assert.True(Math.Abs(expected[k] - pred.Data[n * K + k]) <= 2e-5 * (act == HeadOutput.Softmax ? scale.Max() : scale[k]) + 1e-7,
                    $"row {n}, output {k}: expected {expected[k]}, got {pred.Data[n * K + k]} (scale {scale[k]})");
        }
    }

    [Fact]
    public void Head_model_passes_onnx_checker()
    {
        var (w, b) = RandomHead(4);
        using var dir = new TempDir();
        var path = dir.File("head.onnx");
        File.WriteAllBytes(path, AppendHead(w, b, HeadOutput.Softmax));
        var stdout = PythonOracle.Run("""
            import onnx
            onnx.checker.check_model(sys.argv[1], full_check=True)
            m = onnx.load(sys.argv[1])
            print(' '.join(o.name for o in m.graph.output))
            """, path);
        Assert.Equal("embedding prediction", stdout.Trim());
        Assert.Equal(["embedding", "prediction"], OnnxModelFile.ReadMetadata(path).Outputs.Select(o => o.Name));
    }

    [Fact]
    public void Wrong_sizes_and_a_second_head_are_rejected()
    {
        var (w, b) = RandomHead(1);
        var e = Assert.Throws<ArgumentException>(() => AppendHead(w[..^1], b, HeadOutput.None));
        Assert.Contains("5 x 2048", e.Message);
        var once = AppendHead(w, b, HeadOutput.None);
        using var again = new MemoryStream(once);
        var e2 = Assert.Throws<ArgumentException>(() => OnnxHeadAppender.Append(again, new MemoryStream(), w, b, HeadOutput.None, new Dictionary<string, string>()));
        Assert.Contains("prediction", e2.Message);
    }
}

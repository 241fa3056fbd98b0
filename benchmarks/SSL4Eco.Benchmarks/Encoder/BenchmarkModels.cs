using SSL4Eco.Inference.Checkpoints;
using SSL4Eco.Inference.Models;
using SSL4Eco.Inference.Onnx;
using SSL4Eco.Inference.Registry;

namespace SSL4Eco.Benchmarks.Encoder;

/// <summary>
/// Builds a full-size SeCo-Eco-shaped ONNX encoder (ResNet-50, 9 channels, 224², the official contract) from seeded random
/// weights, once per process, so benchmarks need no download. Speed does not depend on the weights' values.
/// </summary>
internal static class BenchmarkModels
{
    private static readonly Lazy<string> LazyPath = new(Create);

    public static string SeCoEcoOnnx => LazyPath.Value;

    public static ModelContract Contract => WeightsRegistry.Default["seco-eco"].Contract;

    private static string Create()
    {
        var path = Path.Combine(Path.GetTempPath(), "ssl4eco-bench-seco-eco.onnx");
        if (File.Exists(path)) return path;
        var rng = new Random(1);
        var tensors = new Dictionary<string, TensorData>();
        foreach (var (name, shape) in ResNet50Weights.ExpectedShapes(Contract.Channels))
        {
            var values = new float[shape.Aggregate(1, (a, b) => a * b)];
            bool variance = name.EndsWith("running_var", StringComparison.Ordinal);
            bool bnWeight = name.Contains("bn", StringComparison.Ordinal) && name.EndsWith(".weight", StringComparison.Ordinal)
                || name.Contains("downsample.1.weight", StringComparison.Ordinal);
            float std = shape.Length == 4 ? MathF.Sqrt(2f / (shape[1] * shape[2] * shape[3])) : 0.1f;
            for (int i = 0; i < values.Length; i++)
                values[i] = variance ? 1f + (float)rng.NextDouble() : bnWeight ? 1f : std * (float)(rng.NextDouble() * 2 - 1);
            tensors[name] = new TensorData(shape, values);
        }
        ResNet50OnnxExporter.Write(new ResNet50Weights(tensors), Contract, path);
        return path;
    }
}

using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using SSL4Eco.Inference.Checkpoints;
using SSL4Eco.Inference.Models;

namespace SSL4Eco.Inference.Tests.Onnx;

/// <summary>Random ResNet-50 weights, contracts and an ONNX Runtime runner for the ONNX tests.</summary>
internal static class OnnxTestModels
{
    public static ResNet50Weights RandomWeights(int channels, int seed)
    {
        var rng = new Random(seed);
        double Normal() => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
        var tensors = new Dictionary<string, TensorData>();
        foreach (var (name, shape) in ResNet50Weights.ExpectedShapes(channels))
        {
            int n = shape.Aggregate(1, (a, b) => a * b);
            var v = new float[n];
            if (shape.Length == 4)
            {
                double std = Math.Sqrt(2.0 / (shape[1] * shape[2] * shape[3]));
                for (int i = 0; i < n; i++) v[i] = (float)(Normal() * std);
            }
            else if (name.EndsWith(".running_var", StringComparison.Ordinal)) for (int i = 0; i < n; i++) v[i] = (float)(0.5 + rng.NextDouble());
            else if (name.EndsWith(".weight", StringComparison.Ordinal)) for (int i = 0; i < n; i++) v[i] = (float)(0.5 + rng.NextDouble());
            else for (int i = 0; i < n; i++) v[i] = (float)(0.1 * Normal());
            tensors[name] = new TensorData(shape, v);
        }
        return new ResNet50Weights(tensors);
    }

    public static ModelContract Contract(int channels, int size) => new()
    {
        Bands = Enumerable.Range(0, channels).Select(i => $"B{i + 1}").ToList(),
        Scaling = new InputScaling(255),
        Spatial = SpatialPolicy.CenterCropOrBicubicUpscale,
        InputSize = size,
        ModelId = "test-resnet50",
        Version = "0.1",
        SourceSha256 = new string('a', 64),
    };

    public static float[] RandomInput(int n, int c, int s, int seed, float max = 1f)
    {
        var rng = new Random(seed);
        var x = new float[n * c * s * s];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(rng.NextDouble() * max);
        return x;
    }

    /// <summary>Runs the session on input [n, c, s, s]; returns every output by name with its shape.</summary>
    public static Dictionary<string, (float[] Data, int[] Shape)> Run(InferenceSession session, float[] input, int n, int c, int s)
    {
        var t = new DenseTensor<float>(input, [n, c, s, s]);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("input", t)]);
        return results.ToDictionary(r => r.Name, r =>
        {
            var o = r.AsTensor<float>();
            return (o.ToArray(), o.Dimensions.ToArray());
        });
    }

    public static SessionOptions CpuOptions() => new()
    {
        IntraOpNumThreads = 2,
        InterOpNumThreads = 1,
        GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
    };
}

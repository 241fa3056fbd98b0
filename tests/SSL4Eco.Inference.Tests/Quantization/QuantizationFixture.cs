using SSL4Eco.Inference.Onnx;
using SSL4Eco.Inference.Quantization;
using SSL4Eco.Inference.Tests.Oracle;
using SSL4Eco.Inference.Tests.Onnx;

namespace SSL4Eco.Inference.Tests.Quantization;

/// <summary>
/// A random-weight ResNet-50 (9 bands, BatchNorm folded by our exporter) as fp32 ONNX, its int8 model calibrated on 32
/// synthetic Sentinel-2 patches (seeds 1000..1031) with the default method, and its fp16 model; written once per test class.
/// </summary>
public sealed class QuantizationFixture : IDisposable
{
    public const int CalibrationSeed = 1000;
    public const int CalibrationCount = 32;

    public TempDir Dir { get; } = new();

    public QuantizationFixture()
    {
        ResNet50OnnxExporter.Write(Weights(7), SyntheticSentinel2.Contract, Fp32);
        Report = ModelQuantizer.QuantizeInt8(Fp32, CalibrationPatches(CalibrationCount), Int8);
        ModelQuantizer.ConvertToFloat16(Fp32, Fp16);
    }

    /// <summary>
    /// Random weights (<see cref="OnnxTestModels.RandomWeights"/>) with the batch-norm scale of each residual branch's last
    /// convolution (bn3, downsample) times 0.2, as in trained ResNets (small last-γ, cf. torchvision's zero_init_residual):
    /// with γ ~ U(0.5, 1.5) everywhere each of the 16 blocks doubles the variance of the residual stream and the embedding
    /// reaches ~10⁵ (beyond float16's range) — not what a trained encoder does.
    /// </summary>
    public static SSL4Eco.Inference.Checkpoints.ResNet50Weights Weights(int seed)
    {
        var w = OnnxTestModels.RandomWeights(9, seed);
        foreach (var (name, t) in w.Tensors)
            if (name.EndsWith(".bn3.weight", StringComparison.Ordinal) || name.EndsWith(".downsample.1.weight", StringComparison.Ordinal))
                for (int i = 0; i < t.Values.Length; i++) t.Values[i] *= 0.2f;
        return w;
    }

    public static IEnumerable<SSL4Eco.Inference.Preprocessing.Patch> CalibrationPatches(int count) =>
        Enumerable.Range(CalibrationSeed, count).Select(s => SyntheticSentinel2.Patch(s));

    public string Fp32 => Dir.File("model.onnx");
    public string Int8 => Dir.File("model.int8.onnx");
    public string Fp16 => Dir.File("model.fp16.onnx");
    public QuantizationReport Report { get; }

    public void Dispose() => Dir.Dispose();
}

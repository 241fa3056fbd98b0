using Microsoft.ML.OnnxRuntime;
using SSL4Eco.Inference.Heads;
using SSL4Eco.Inference.Models;
using SSL4Eco.Inference.Onnx;
using SSL4Eco.Inference.Preprocessing;
using SSL4Eco.Inference.Quantization;
using SSL4Eco.Inference.Tests.Oracle;
using Xunit.Abstractions;

namespace SSL4Eco.Inference.Tests.Quantization;

/// <summary>
/// The int8/fp16 models: valid ONNX by the onnx checker, fused by ONNX Runtime into int8 kernels, deterministic calibration,
/// a linear probe on int8 embeddings as good as on fp32 ones, the precision in the contract and every refusal.
/// </summary>
public sealed class QuantizationTests : IClassFixture<QuantizationFixture>
{
    private readonly QuantizationFixture _f;
    private readonly ITestOutputHelper _log;
    public QuantizationTests(QuantizationFixture f, ITestOutputHelper log) { _f = f; _log = log; }

    [Fact]
    public void Int8AndFp16Models_PassTheOnnxChecker()
    {
        var result = PythonOracle.Run("""
            import onnx, sys
            for p in sys.argv[1:]:
                m = onnx.load(p)
                onnx.checker.check_model(m, full_check=True)
                print(p.split('/')[-1], m.graph.input[0].type.tensor_type.elem_type, m.graph.output[0].type.tensor_type.elem_type,
                      sorted(set(t.data_type for t in m.graph.initializer)))
            """, _f.Int8, _f.Fp16);
        // Both keep float32 (1) input and output; int8: s8 (3) weights, u8 (2) zero points, int32 (6) biases, float scales;
        // fp16: float16 (10) initializers only.
        Assert.Contains("model.int8.onnx 1 1 [1, 2, 3, 6]", result);
        Assert.Contains("model.fp16.onnx 1 1 [10]", result);
    }

    [Fact]
    public void Int8Model_IsFusedByOnnxRuntimeIntoQLinearKernels()
    {
        var optimised = _f.Dir.File("optimised.onnx");
        using (var so = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_EXTENDED, OptimizedModelFilePath = optimised })
        using (new InferenceSession(_f.Int8, so)) { }
        var ops = OnnxModelFile.Load(optimised).Graph.Node.GroupBy(n => n.OpType).ToDictionary(g => g.Key, g => g.Count());
        _log.WriteLine(string.Join(", ", ops.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key} {kv.Value}")));
        Assert.Equal(53, ops.GetValueOrDefault("QLinearConv"));
        Assert.Equal(16, ops.GetValueOrDefault("QLinearAdd"));
        Assert.False(ops.ContainsKey("Conv"), "a convolution was left in float");
        Assert.False(ops.ContainsKey("Relu"), "a ReLU was not folded into its quantisation");
        Assert.Equal(53, _f.Report.QuantizedConvolutions);
        Assert.Equal(16, _f.Report.QuantizedAdds);
    }

    [Fact]
    public void Calibration_IsDeterministic_SamePatchesGiveTheSameBytes()
    {
        var a = _f.Dir.File("det-a.onnx");
        var b = _f.Dir.File("det-b.onnx");
        var c = _f.Dir.File("det-c.onnx");
        var ra = ModelQuantizer.QuantizeInt8(_f.Fp32, QuantizationFixture.CalibrationPatches(4), a);
        var rb = ModelQuantizer.QuantizeInt8(_f.Fp32, QuantizationFixture.CalibrationPatches(4), b, new Int8QuantizationOptions { BatchSize = 3 });
        var rc = ModelQuantizer.QuantizeInt8(_f.Fp32, QuantizationFixture.CalibrationPatches(5).Skip(1), c);
        Assert.Equal(File.ReadAllBytes(a), File.ReadAllBytes(b));
        Assert.Equal(ra.Calibration, rb.Calibration);
        Assert.NotEqual(File.ReadAllBytes(a), File.ReadAllBytes(c));
        Assert.NotEqual(ra.Calibration.Sha256, rc.Calibration.Sha256);
        Assert.Equal(new CalibrationSummary(4, "percentile", ra.Calibration.Sha256), ra.Calibration);
    }

    [Fact]
    public void LinearProbe_OnInt8Embeddings_IsWithinOnePointOfTheFp32Probe()
    {
        const int train = 160, test = 200;
        var labels = new float[train + test];
        var patches = new List<Patch>();
        for (int i = 0; i < train + test; i++) { patches.Add(SyntheticSentinel2.Patch(20000 + i, 224, out int label)); labels[i] = label; }
        double Accuracy(string model)
        {
            var e = QuantizationQualityTests.Embed(model, patches, 16);
            var head = new LinearProbeTrainer(new LinearProbeOptions { Seed = 5 }).Fit(e.AsSpan(0, train * 2048), 2048, labels.AsSpan(0, train), SyntheticSentinel2.Classes);
            var p = head.Predict(e.AsSpan(train * 2048), test);
            int right = 0;
            for (int i = 0; i < test; i++)
            {
                var row = p.AsSpan(i * SyntheticSentinel2.Classes, SyntheticSentinel2.Classes);
                if (System.Numerics.Tensors.TensorPrimitives.IndexOfMax(row) == (int)labels[train + i]) right++;
            }
            return 100.0 * right / test;
        }
        double fp32 = Accuracy(_f.Fp32), int8 = Accuracy(_f.Int8);
        _log.WriteLine($"probe accuracy on {test} held-out patches: fp32 {fp32:F2} %, int8 {int8:F2} %");
        Assert.True(fp32 > 100.0 / SyntheticSentinel2.Classes + 20, $"the synthetic task is not learnt (fp32 {fp32} %)");
        Assert.True(Math.Abs(fp32 - int8) <= 1.0, $"fp32 {fp32} % vs int8 {int8} %");
    }

    [Fact]
    public void Precision_TravelsInTheContract_AndChangesTheRecipe()
    {
        var c32 = ModelContract.FromMetadata(OnnxModelFile.ReadMetadata(_f.Fp32).Metadata);
        var c8 = ModelContract.FromMetadata(OnnxModelFile.ReadMetadata(_f.Int8).Metadata);
        var c16 = ModelContract.FromMetadata(OnnxModelFile.ReadMetadata(_f.Fp16).Metadata);
        Assert.Equal(ModelPrecision.Fp32, c32.Precision);
        Assert.False(c32.ToMetadata().ContainsKey(ModelContract.MetadataKeys.Precision)); // absent = fp32: fp32 fingerprints unchanged
        Assert.Equal(ModelPrecision.Int8, c8.Precision);
        Assert.Equal(_f.Report.Calibration, c8.Calibration);
        Assert.Equal(ModelPrecision.Fp16, c16.Precision);
        Assert.Null(c16.Calibration);
        Assert.Equal(c32.ToCanonicalText(), (c8 with { Precision = ModelPrecision.Fp32, Calibration = null }).ToCanonicalText());
        // Same weights hash on purpose: only the precision differs, and still the recipes (and so caches, resumes) differ.
        var recipes = new[] { c32, c8, c16 }.Select(c => InputRecipe.For(c, weightsSha256: "x").Sha256()).ToHashSet();
        Assert.Equal(3, recipes.Count);
        Assert.Contains("ssl4eco.precision=int8\n", InputRecipe.For(c8).ToCanonicalText());
        Assert.Contains("ssl4eco.calibration.count=32\n", InputRecipe.For(c8).ToCanonicalText());
        var meta = c32.ToMetadata().ToDictionary(kv => kv.Key, kv => kv.Value);
        meta[ModelContract.MetadataKeys.Precision] = "int4";
        var e = Assert.Throws<ModelMetadataException>(() => ModelContract.FromMetadata(meta));
        Assert.Contains("precision 'int4'", e.Message);
    }

    [Fact]
    public void Fp16Model_KeepsFloat32InputAndOutput()
    {
        var info = OnnxModelFile.ReadMetadata(_f.Fp16);
        Assert.Equal("FLOAT", info.Inputs.Single().ElementType);
        Assert.Equal("FLOAT", info.Outputs.Single().ElementType);
        Assert.Equal("[batch, 2048]", info.Outputs.Single().ShapeText);
        Assert.Equal(OnnxModelFile.Load(_f.Fp32).Graph.Node.Count + 2, OnnxModelFile.Load(_f.Fp16).Graph.Node.Count);
    }

    [Fact]
    public void Refusals_NameTheProblem()
    {
        var outPath = _f.Dir.File("refused.onnx");
        var e1 = Assert.Throws<InvalidDataException>(() => ModelQuantizer.QuantizeInt8(_f.Int8, QuantizationFixture.CalibrationPatches(1), outPath));
        Assert.Contains("is int8", e1.Message);
        var e2 = Assert.Throws<InvalidDataException>(() => ModelQuantizer.ConvertToFloat16(_f.Fp16, outPath));
        Assert.Contains("is fp16", e2.Message);
        var e3 = Assert.Throws<ArgumentException>(() => ModelQuantizer.QuantizeInt8(_f.Fp32, [], outPath));
        Assert.Contains("No calibration patches", e3.Message);
        var junk = _f.Dir.File("junk.onnx");
        File.WriteAllBytes(junk, [1, 2, 3, 4, 5]);
        var e4 = Assert.Throws<InvalidDataException>(() => ModelQuantizer.QuantizeInt8(junk, QuantizationFixture.CalibrationPatches(1), outPath));
        Assert.Contains("not a valid ONNX model", e4.Message);
        Assert.Throws<ArgumentException>(() => ModelQuantizer.QuantizeInt8(_f.Fp32, QuantizationFixture.CalibrationPatches(1), outPath, new Int8QuantizationOptions { Percentile = 40 }));
        Assert.Throws<ArgumentException>(() => Int8QuantizationOptions.ParseMethod("entropy"));
        Assert.False(File.Exists(outPath));
        // A patch without the model's bands fails in the shared preprocessor, naming the band.
        var wrong = new Patch(["B1"], 8, 8, new float[64]);
        var e5 = Assert.ThrowsAny<ArgumentException>(() => ModelQuantizer.QuantizeInt8(_f.Fp32, [wrong], outPath));
        Assert.Contains("B2", e5.Message);
        Assert.False(File.Exists(outPath));
    }
}

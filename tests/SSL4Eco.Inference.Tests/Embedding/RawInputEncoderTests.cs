using SSL4Eco.Inference.Checkpoints;
using SSL4Eco.Inference.Embedding;
using SSL4Eco.Inference.Models;
using SSL4Eco.Inference.Onnx;
using SSL4Eco.Inference.Preprocessing;
using SSL4Eco.Inference.Registry;
using SSL4Eco.Inference.Tests.Onnx;

namespace SSL4Eco.Inference.Tests.Embedding;

/// <summary>
/// The encoder on a raw-input model (preprocessing in the graph) against the same encoder fed by host preprocessing:
/// equal embeddings, the raw entry points, IO binding's reuse (allocations per batch) and every error path.
/// </summary>
public class RawInputEncoderTests(Xunit.Abstractions.ITestOutputHelper testOutput)
{
    private const int S = 16, D = 6;
    private static readonly string[] Bands = ["B2", "B3", "B4", "B8", "NDVI"];
    private static readonly string[] RawBands = ["B4", "B08", "B2", "B3"];

    private static readonly ModelContract Contract = new()
    {
        Bands = Bands, Scaling = new InputScaling(255), Spatial = SpatialPolicy.CenterCropOrBicubicUpscale,
        InputSize = S, EmbeddingDim = D, ModelId = "tiny-test",
    };

    private static readonly byte[] HostModel = TinyEncoderModel.Build(Contract, Bands.Length, S, D, TinyEncoderModel.Weights(Bands.Length, D));

    private static byte[] RawModel(int h, int w, RawSampleType type = RawSampleType.UInt16) =>
        OnnxInputPreprocessing.Convert(HostModel, new RawInputForm { Bands = RawBands, SampleType = type, Height = h, Width = w });

    private static Patch MakePatch(int seed, int h, int w, double? baseline = null)
    {
        var rng = new Random(seed);
        var data = new float[RawBands.Length * h * w];
        for (int i = 0; i < data.Length; i++) data[i] = rng.Next(0, 10000);
        return new Patch(RawBands, h, w, data) { ProcessingBaseline = baseline };
    }

    private static void AssertClose(float[] expected, float[] actual, float relative)
    {
        Assert.Equal(expected.Length, actual.Length);
        float scale = Math.Abs(System.Numerics.Tensors.TensorPrimitives.MaxMagnitude(expected));
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= relative * scale, $"[{i}] host form {expected[i]}, raw form {actual[i]}");
    }

    [Theory]
    [InlineData(20, 17, RawSampleType.UInt16)]  // centre crop: exact
    [InlineData(16, 16, RawSampleType.Float32)] // no spatial step
    [InlineData(12, 10, RawSampleType.UInt16)]  // bicubic upscale: within the resize tolerance
    public void Raw_form_embeddings_equal_host_form_embeddings(int h, int w, RawSampleType type)
    {
        using var host = SeCoEcoEncoder.Open(HostModel, new EncoderOptions { BatchSize = 2 });
        using var raw = SeCoEcoEncoder.Open(RawModel(h, w, type), new EncoderOptions { BatchSize = 2 });
        Assert.True(raw.TakesRawInput);
        Assert.False(host.TakesRawInput);
        // Mixed baselines in one batch: harmonisation is decided per patch (Auto).
        var patches = Enumerable.Range(0, 5).Select(i => MakePatch(i, h, w, baseline: i % 2 == 0 ? 4.0 : null)).ToList();
        var expected = host.EmbedBatch(patches);
        var actual = raw.EmbedBatch(patches);
        if (h >= S && w >= S) Assert.Equal(expected, actual);
        else AssertClose(expected, actual, 1e-5f); // the resize tolerance
    }

    [Fact]
    public void EmbedRaw_takes_pixels_in_the_raw_band_order_with_per_patch_offsets()
    {
        using var raw = SeCoEcoEncoder.Open(RawModel(20, 17));
        var patches = Enumerable.Range(0, 3).Select(i => MakePatch(i, 20, 17, baseline: i == 1 ? 4.0 : null)).ToList();
        var expected = raw.EmbedBatch(patches);
        var pixels = patches.SelectMany(p => p.Data.Select(v => (ushort)v)).ToArray();
        var output = new float[3 * D];
        raw.EmbedRaw(pixels, 3, [0f, 1000f, 0f], output);
        Assert.Equal(expected, output);
        // No offsets: the encoder's mode decides (Auto → none), which differs for the harmonised patch only.
        raw.EmbedRaw(pixels, 3, [], output);
        Assert.Equal(expected.AsSpan(0, D).ToArray(), output.AsSpan(0, D).ToArray());
        Assert.NotEqual(expected.AsSpan(D, D).ToArray(), output.AsSpan(D, D).ToArray());
    }

    [Fact]
    public void A_nine_band_resnet50_embeds_raw_13_band_patches_as_the_host_form_does()
    {
        var contract = WeightsRegistry.Default.Entries.Single(e => e.Id == "seco-eco").Contract;
        using var ms = new MemoryStream();
        ResNet50OnnxExporter.Write(OnnxTestModels.RandomWeights(contract.Channels, seed: 3), contract, ms);
        var hostBytes = ms.ToArray();
        var rawBytes = OnnxInputPreprocessing.Convert(hostBytes, new RawInputForm { Bands = OnnxInputPreprocessingTests.FileBands, Height = 256, Width = 256 });
        using var host = SeCoEcoEncoder.Open(hostBytes, new EncoderOptions { BatchSize = 2 });
        using var raw = SeCoEcoEncoder.Open(rawBytes, new EncoderOptions { BatchSize = 2 });
        var pixels = OnnxInputPreprocessingTests.RawPatches(2, 12, 256, 256, seed: 9);
        var patches = Enumerable.Range(0, 2).Select(k => new Patch(OnnxInputPreprocessingTests.FileBands, 256, 256,
            pixels.AsSpan(k * 12 * 65536, 12 * 65536).ToArray().Select(v => (float)v).ToArray()) { ProcessingBaseline = 4.0 }).ToList();
        var expected = host.EmbedBatch(patches);
        var actual = new float[expected.Length];
        raw.EmbedRaw(pixels, 2, [1000f, 1000f], actual);
        // Same preprocessed tensor (crop: exact), so the embeddings match to ONNX Runtime's own run-to-run order effects.
        AssertClose(expected, actual, 1e-6f);
    }

    [Fact]
    public void Wrong_band_set_size_and_values_are_refused_by_name()
    {
        using var raw = SeCoEcoEncoder.Open(RawModel(20, 17));
        var noB3 = new Patch(["B4", "B8", "B2"], 20, 17, new float[3 * 20 * 17]);
        var e = Assert.Throws<ArgumentException>(() => raw.EmbedBatch([noB3]));
        Assert.Contains("lacks band 'B3'", e.Message);
        Assert.Contains("Patch 0", e.Message);
        var size = Assert.Throws<ArgumentException>(() => raw.EmbedBatch([MakePatch(1, 21, 17)]));
        Assert.Contains("takes 20x17 patches", size.Message);
        var p = MakePatch(1, 20, 17);
        p.Data[5] = 1.5f;
        Assert.Contains("whole numbers 0 to 65535", Assert.Throws<ArgumentException>(() => raw.EmbedBatch([p])).Message);
        p.Data[5] = 70000f;
        Assert.Contains("70000", Assert.Throws<ArgumentException>(() => raw.EmbedBatch([p])).Message);
        p.Data[5] = float.NaN;
        Assert.Contains("NaN", Assert.Throws<ArgumentException>(() => raw.EmbedBatch([p])).Message);
    }

    [Fact]
    public void Wrong_dtype_length_and_input_form_are_refused()
    {
        using var raw = SeCoEcoEncoder.Open(RawModel(20, 17));
        using var rawFloat = SeCoEcoEncoder.Open(RawModel(20, 17, RawSampleType.Float32));
        using var host = SeCoEcoEncoder.Open(HostModel);
        int per = RawBands.Length * 20 * 17;
        var output = new float[D];
        Assert.Contains("uint16 [N, 4, 20, 17]", Assert.Throws<InvalidOperationException>(() => raw.EmbedRaw(new float[per], 1, [], output)).Message);
        Assert.Contains("float32", Assert.Throws<InvalidOperationException>(() => rawFloat.EmbedRaw(new ushort[per], 1, [], output)).Message);
        Assert.Contains("takes preprocessed input", Assert.Throws<InvalidOperationException>(() => host.EmbedRaw(new ushort[per], 1, [], output)).Message);
        Assert.Contains("EmbedRaw", Assert.Throws<InvalidOperationException>(() => raw.EmbedPreprocessed(new float[5 * S * S], 1, output)).Message);
        Assert.Contains($"= {per} expected", Assert.Throws<ArgumentException>(() => raw.EmbedRaw(new ushort[per - 1], 1, [], output)).Message);
        Assert.Contains("one per patch", Assert.Throws<ArgumentException>(() => raw.EmbedRaw(new ushort[per], 1, [0f, 0f], output)).Message);
        var bad = new float[per];
        bad[3] = float.PositiveInfinity;
        Assert.Contains("fill nodata", Assert.Throws<ArgumentException>(() => rawFloat.EmbedRaw(bad, 1, [], output)).Message);
        var e = Assert.Throws<ArgumentException>(() => SeCoEcoEncoder.Open(RawModel(20, 17), new EncoderOptions { ScalingOverride = new InputScaling(10000) }));
        Assert.Contains("Convert the model again", e.Message);
    }

    [Fact]
    public void Outputs_kept_where_the_provider_computed_them_equal_the_copied_ones()
    {
        using var host = SeCoEcoEncoder.Open(HostModel, new EncoderOptions { BatchSize = 4 });
        var input = OnnxTestModels.RandomInput(3, Bands.Length, S, seed: 2, max: 40f);
        var expected = new float[3 * D];
        host.EmbedPreprocessed(input, 3, expected);
        using (var onDevice = host.EmbedPreprocessedOnDevice(input, 3))
        {
            Assert.Equal(new long[] { 3, D }, onDevice.GetTensorTypeAndShape().Shape);
            Assert.Equal(expected, onDevice.GetTensorDataAsSpan<float>().ToArray());
        }
        using var raw = SeCoEcoEncoder.Open(RawModel(20, 17));
        var patches = Enumerable.Range(0, 2).Select(i => MakePatch(i, 20, 17)).ToList();
        var pixels = patches.SelectMany(p => p.Data.Select(v => (ushort)v)).ToArray();
        using var rawOut = raw.EmbedRawOnDevice(pixels, 2, []);
        Assert.Equal(raw.EmbedBatch(patches), rawOut.GetTensorDataAsSpan<float>().ToArray());
        Assert.Throws<ArgumentException>(() => host.EmbedPreprocessedOnDevice(new float[5 * Bands.Length * S * S], 5)); // over the batch size
    }

    /// <summary>
    /// Allocations per batch, measured with <see cref="GC.GetAllocatedBytesForCurrentThread"/>: the way the encoder ran before
    /// (a new input and output <see cref="Microsoft.ML.OnnxRuntime.OrtValue"/>, shape arrays and <see cref="Microsoft.ML.OnnxRuntime.RunOptions"/> per run)
    /// against the IO-bound run slots (nothing per run once the slot is bound).
    /// </summary>
    [Fact]
    public void IO_binding_removes_per_batch_allocations()
    {
        const int n = 4, batches = 20;
        using var host = SeCoEcoEncoder.Open(HostModel, new EncoderOptions { BatchSize = n });
        var input = OnnxTestModels.RandomInput(n, Bands.Length, S, seed: 1, max: 40f);
        var output = new float[n * D];
        var log = testOutput;
        host.EmbedPreprocessed(input, n, output); // bind once
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < batches; i++) host.EmbedPreprocessed(input, n, output);
        long perBatch = (GC.GetAllocatedBytesForCurrentThread() - before) / batches;

        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(HostModel);
        long oldPerBatch = OldWayAllocations(session, input, output, n, batches);
        log.WriteLine($"allocated bytes per batch of {n}: per-run OrtValues {oldPerBatch}, IO-bound run slot {perBatch}");
        Assert.True(perBatch <= 64, $"{perBatch} bytes per batch with IO binding (the per-run OrtValue way: {oldPerBatch})");
        Assert.True(oldPerBatch > 4 * Math.Max(perBatch, 1), $"the per-run OrtValue way allocates {oldPerBatch} bytes per batch; IO binding {perBatch}");
    }

    private static unsafe long OldWayAllocations(Microsoft.ML.OnnxRuntime.InferenceSession session, float[] input, float[] output, int n, int batches)
    {
        void RunOnce()
        {
            fixed (float* pin = input)
            fixed (float* pout = output)
            {
                using var inValue = Microsoft.ML.OnnxRuntime.OrtValue.CreateTensorValueWithData(Microsoft.ML.OnnxRuntime.OrtMemoryInfo.DefaultInstance,
                    Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float, [n, Bands.Length, S, S], (IntPtr)pin, input.Length * sizeof(float));
                using var outValue = Microsoft.ML.OnnxRuntime.OrtValue.CreateTensorValueWithData(Microsoft.ML.OnnxRuntime.OrtMemoryInfo.DefaultInstance,
                    Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float, [n, D], (IntPtr)pout, output.Length * sizeof(float));
                using var runOptions = new Microsoft.ML.OnnxRuntime.RunOptions();
                session.Run(runOptions, ["x"], [inValue], ["embedding"], [outValue]);
            }
        }
        RunOnce();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < batches; i++) RunOnce();
        return (GC.GetAllocatedBytesForCurrentThread() - before) / batches;
    }
}

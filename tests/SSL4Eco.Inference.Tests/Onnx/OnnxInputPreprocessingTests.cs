using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using SSL4Eco.Inference.Models;
using SSL4Eco.Inference.Onnx;
using SSL4Eco.Inference.Onnx.Proto;
using SSL4Eco.Inference.Preprocessing;
using SSL4Eco.Inference.Registry;

namespace SSL4Eco.Inference.Tests.Onnx;

/// <summary>
/// The in-graph preprocessing (<see cref="OnnxInputPreprocessing"/>) against the host's <see cref="PatchPreprocessor"/>: an
/// "encoder" that returns its input shows the graph's preprocessed tensor, compared for every registry contract and
/// several patch shapes — bit for bit where the operators are the same (crop, band selection, harmonisation, NDVI, scaling),
/// within the stated tolerance for the resizing MatMuls.
/// </summary>
public class OnnxInputPreprocessingTests
{
    /// <summary>Sentinel-2 L2A bands as a 13-band file stores them (B10 is not in L2A), plus an NDVI band in some tests.</summary>
    internal static readonly string[] FileBands = ["B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B11", "B12"];

    /// <summary>Tolerance of the resizing MatMuls (bicubic, bilinear) relative to the largest magnitude of the plane: 1e-5 (stated and tested).</summary>
    internal const float ResizeTolerance = 1e-5f;

    /// <summary>An identity "encoder" [N, C, S, S] → output 'embedding' (same tensor), carrying the contract.</summary>
    internal static byte[] IdentityEncoder(ModelContract contract)
    {
        var graph = new GraphProto { Name = "identity_encoder" };
        graph.Input.Add(OnnxGraphBuilder.ValueInfo("input", "batch", (long)contract.Channels, (long)contract.InputSize, (long)contract.InputSize));
        graph.Output.Add(OnnxGraphBuilder.ValueInfo("embedding", "batch", (long)contract.Channels, (long)contract.InputSize, (long)contract.InputSize));
        var node = new NodeProto { OpType = "Identity", Name = "id" };
        node.Input.Add("input"); node.Output.Add("embedding");
        graph.Node.Add(node);
        var model = new ModelProto { IrVersion = 8, ProducerName = "ssl4eco-tests", Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        foreach (var (k, v) in contract.ToMetadata()) model.MetadataProps.Add(new StringStringEntryProto { Key = k, Value = v });
        return model.ToByteArray();
    }

    internal static ushort[] RawPatches(int n, int bands, int h, int w, int seed)
    {
        var rng = new Random(seed);
        var x = new ushort[n * bands * h * w];
        for (int i = 0; i < x.Length; i++) x[i] = (ushort)(rng.Next(20) == 0 ? rng.Next(0, 1200) : rng.Next(0, 12000)); // some below the offset
        return x;
    }

    private static float[] RunGraph(byte[] model, RawInputForm raw, Array data, float[] offsets, int n)
    {
        using var session = new InferenceSession(model);
        long[] shape = [n, raw.Bands.Count, raw.Height, raw.Width];
        using var rawValue = data is ushort[] u ? OrtValue.CreateTensorValueFromMemory(u, shape) : OrtValue.CreateTensorValueFromMemory((float[])data, shape);
        using var off = OrtValue.CreateTensorValueFromMemory(offsets, [n]);
        using var results = session.Run(new RunOptions(), [OnnxInputPreprocessing.RawInputName, OnnxInputPreprocessing.HarmonizeOffsetName], [rawValue, off], ["embedding"]);
        return results[0].GetTensorDataAsSpan<float>().ToArray();
    }

    public static TheoryData<string, int, int, string> Cases()
    {
        var d = new TheoryData<string, int, int, string>();
        foreach (var e in WeightsRegistry.Default.Entries)
            foreach (var (h, w) in new[] { (256, 256), (224, 224), (241, 230), (120, 120), (100, 150), (225, 200) })
            {
                d.Add(e.Id, h, w, "uint16");
                if (h == 241) d.Add(e.Id, h, w, "float32");
            }
        return d;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Graph_preprocessing_equals_host_preprocessing_for_every_registry_contract(string id, int h, int w, string dtype)
    {
        var contract = WeightsRegistry.Default.Entries.Single(e => e.Id == id).Contract;
        var raw = new RawInputForm { Bands = FileBands, SampleType = RawInputForm.ParseSampleType(dtype), Height = h, Width = w };
        var model = OnnxInputPreprocessing.Convert(IdentityEncoder(contract), raw);
        const int n = 3;
        var pixels = RawPatches(n, FileBands.Length, h, w, seed: h * 31 + w);
        var offsets = new[] { 1000f, 0f, 1000f }; // patch 1 is not harmonised
        Array data = raw.SampleType == RawSampleType.UInt16 ? pixels : pixels.Select(v => (float)v).ToArray();
        var graph = RunGraph(model, raw, data, offsets, n);

        var host = new PatchPreprocessor(contract);
        int per = host.ValuesPerPatch, plane = h * w;
        var step = host.Recipe.SpatialFor(h, w);
        for (int k = 0; k < n; k++)
        {
            var floats = pixels.AsSpan(k * FileBands.Length * plane, FileBands.Length * plane).ToArray().Select(v => (float)v).ToArray();
            var patch = new Patch(FileBands, h, w, floats) { ProcessingBaseline = offsets[k] > 0 ? 4.0 : 2.09 };
            var expected = host.Preprocess(patch);
            var actual = graph.AsSpan(k * per, per).ToArray();
            if (step is SpatialStep.Crop or SpatialStep.None)
            {
                Assert.Equal(expected, actual); // bit for bit
            }
            else
            {
                for (int c = 0; c < contract.Channels; c++)
                {
                    var e = expected.AsSpan(c * contract.InputSize * contract.InputSize, contract.InputSize * contract.InputSize);
                    var a = actual.AsSpan(c * contract.InputSize * contract.InputSize, contract.InputSize * contract.InputSize);
                    float scale = Math.Max(1e-6f, Math.Abs(System.Numerics.Tensors.TensorPrimitives.MaxMagnitude(e)));
                    for (int i = 0; i < e.Length; i++)
                        Assert.True(Math.Abs(e[i] - a[i]) <= ResizeTolerance * scale, $"{id} {h}x{w} {step} patch {k} channel {contract.Bands[c]} [{i}]: host {e[i]}, graph {a[i]}");
                }
            }
        }
    }

    [Fact]
    public void Ndvi_band_in_the_file_is_used_as_is_and_a_permuted_band_order_is_gathered()
    {
        var contract = WeightsRegistry.Default.Entries.Single(e => e.Id == "seco-eco").Contract;
        string[] bands = ["NDVI", "B8A", "B08", "B7", "B6", "B5", "B4", "B3", "B2"];
        var raw = new RawInputForm { Bands = bands, Height = 230, Width = 230 };
        var model = OnnxInputPreprocessing.Convert(IdentityEncoder(contract), raw);
        var pixels = RawPatches(2, bands.Length, 230, 230, seed: 5);
        var graph = RunGraph(model, raw, pixels, [1000f, 1000f], 2);
        var host = new PatchPreprocessor(contract, new PreprocessingOptions { Harmonize = HarmonizeMode.On });
        int plane = 230 * 230;
        for (int k = 0; k < 2; k++)
        {
            var patch = new Patch(bands, 230, 230, pixels.AsSpan(k * bands.Length * plane, bands.Length * plane).ToArray().Select(v => (float)v).ToArray());
            Assert.Equal(host.Preprocess(patch), graph.AsSpan(k * host.ValuesPerPatch, host.ValuesPerPatch).ToArray());
        }
    }

    [Fact]
    public void Ndvi_divide_by_zero_and_truncation_match_the_host()
    {
        // B4 = B8 = 0 (0/1e-5 = 0), B8 < B4 (negative → 0), values whose ratio × 10000 truncates, and large values.
        var contract = new ModelContract { Bands = ["NDVI"], Scaling = new InputScaling(1), Spatial = SpatialPolicy.CenterCropOrBicubicUpscale, InputSize = 2 };
        var raw = new RawInputForm { Bands = ["B4", "B8"], SampleType = RawSampleType.Float32, Height = 2, Width = 2 };
        var model = OnnxInputPreprocessing.Convert(IdentityEncoder(contract), raw);
        float[] pixels = [0, 500, 3, 65535, /* B8 */ 0, 100, 7, 65535];
        var graph = RunGraph(model, raw, pixels, [0f], 1);
        var expected = new PatchPreprocessor(contract).Preprocess(new Patch(["B4", "B8"], 2, 2, pixels));
        Assert.Equal(expected, graph);
        Assert.Equal(0f, graph[0]);
        Assert.Equal(0f, graph[1]);
        Assert.Equal(3999f, graph[2]); // (7 - 3) / (10 + 1e-5) = 0.39999996, × 10000 = 3999.9996, truncated
    }

    [Fact]
    public void Metadata_declares_the_raw_form_and_reads_back()
    {
        var contract = WeightsRegistry.Default.Entries.Single(e => e.Id == "seco-eco").Contract;
        var raw = new RawInputForm { Bands = FileBands, Height = 256, Width = 256 };
        var model = OnnxInputPreprocessing.Convert(IdentityEncoder(contract), raw);
        using var ms = new MemoryStream(model);
        var info = OnnxModelFile.Describe(OnnxModelFile.Parse(ms, "m"));
        Assert.Equal("raw", info.Metadata[ModelContract.MetadataKeys.InputForm]);
        Assert.Equal(string.Join(',', FileBands), info.Metadata[ModelContract.MetadataKeys.RawBands]);
        Assert.Equal("uint16", info.Metadata[ModelContract.MetadataKeys.RawDtype]);
        var back = ModelContract.FromMetadata(info.Metadata);
        Assert.Equal(raw.Bands, back.RawInput!.Bands);
        Assert.Equal((256, 256, RawSampleType.UInt16), (back.RawInput.Height, back.RawInput.Width, back.RawInput.SampleType));
        Assert.Equal(["raw", "harmonize_offset"], info.Inputs.Select(i => i.Name));
        Assert.Equal("UINT16", info.Inputs[0].ElementType);
        // The recipe of a raw-form model differs from the host-form one (its embeddings are not bit-identical).
        Assert.NotEqual(InputRecipe.For(contract).Sha256(), InputRecipe.For(back).Sha256());
    }

    [Fact]
    public void Raw_bands_that_cannot_feed_the_contract_are_refused_by_name()
    {
        var contract = WeightsRegistry.Default.Entries.Single(e => e.Id == "seco-eco").Contract;
        var noRed = new RawInputForm { Bands = ["B2", "B3", "B5", "B6", "B7", "B8", "B8A"], Height = 224, Width = 224 };
        var e = Assert.Throws<ArgumentException>(() => OnnxInputPreprocessing.Convert(IdentityEncoder(contract), noRed));
        Assert.Contains("'B4'", e.Message);
        var twice = new RawInputForm { Bands = ["B2", "B3", "B4", "B04", "B5", "B6", "B7", "B8", "B8A"], Height = 224, Width = 224 };
        Assert.Contains("twice", Assert.Throws<ArgumentException>(() => OnnxInputPreprocessing.Convert(IdentityEncoder(contract), twice)).Message);
        var empty = new RawInputForm { Bands = FileBands, Height = 0, Width = 224 };
        Assert.Contains("positive", Assert.Throws<ArgumentException>(() => OnnxInputPreprocessing.Convert(IdentityEncoder(contract), empty)).Message);
        Assert.Contains("uint16 or float32", Assert.Throws<ArgumentException>(() => RawInputForm.ParseSampleType("int8")).Message);
    }

    [Fact]
    public void A_raw_form_model_is_not_converted_twice_and_unknown_forms_are_refused()
    {
        var contract = WeightsRegistry.Default.Entries.Single(e => e.Id == "seco-eco").Contract;
        var raw = new RawInputForm { Bands = FileBands, Height = 224, Width = 224 };
        var once = OnnxInputPreprocessing.Convert(IdentityEncoder(contract), raw);
        Assert.Contains("already takes raw input", Assert.Throws<ModelMetadataException>(() => OnnxInputPreprocessing.Convert(once, raw)).Message);
        var meta = new Dictionary<string, string>(contract.ToMetadata()) { [ModelContract.MetadataKeys.InputForm] = "tiles" };
        Assert.Contains("'tiles'", Assert.Throws<ModelMetadataException>(() => ModelContract.FromMetadata(meta)).Message);
    }
}

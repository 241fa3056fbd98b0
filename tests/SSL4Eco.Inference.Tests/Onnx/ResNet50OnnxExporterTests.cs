using Microsoft.ML.OnnxRuntime;
using SSL4Eco.Inference.Checkpoints;
using SSL4Eco.Inference.Models;
using SSL4Eco.Inference.Onnx;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Inference.Tests.Onnx;

/// <summary>Small exported graphs: ONNX Runtime loads them, metadata round-trips, onnx.checker accepts them, errors are clear.</summary>
public sealed class ResNet50OnnxExporterTests : IClassFixture<ResNet50OnnxExporterTests.SmallModel>
{
    /// <summary>One small (3 channels, 32x32) random encoder exported once for the class.</summary>
    public sealed class SmallModel : IDisposable
    {
        public SmallModel()
        {
            Weights = OnnxTestModels.RandomWeights(3, seed: 7);
            Contract = OnnxTestModels.Contract(3, 32);
            ResNet50OnnxExporter.Write(Weights, Contract, Path, new OnnxExportOptions { ExtraMetadata = new Dictionary<string, string> { ["test.key"] = "x" } });
        }
        public TempDir Dir { get; } = new();
        public string Path => Dir.File("small.onnx");
        public ResNet50Weights Weights { get; }
        public ModelContract Contract { get; }
        public void Dispose() => Dir.Dispose();
    }

    private readonly SmallModel _m;
    public ResNet50OnnxExporterTests(SmallModel m) => _m = m;

    [Fact]
    public void OnnxRuntime_loads_and_runs_dynamic_batches_with_consistent_rows()
    {
        using var opts = OnnxTestModels.CpuOptions();
        using var session = new InferenceSession(_m.Path, opts);
        Assert.Equal(["input"], session.InputMetadata.Keys);
        Assert.Equal([-1, 3, 32, 32], session.InputMetadata["input"].Dimensions);
        Assert.Equal([-1, 2048], session.OutputMetadata["embedding"].Dimensions);

        var x3 = OnnxTestModels.RandomInput(3, 3, 32, seed: 1);
        var out3 = OnnxTestModels.Run(session, x3, 3, 3, 32)["embedding"];
        Assert.Equal([3, 2048], out3.Shape);
        Assert.All(out3.Data, v => Assert.True(float.IsFinite(v) && v >= 0)); // after ReLU + average pool
        Assert.Contains(out3.Data, v => v > 0);

        // Batch 1 with the second sample equals row 1 of the batch-3 result (samples are independent).
        var x1 = x3.AsSpan(3 * 32 * 32, 3 * 32 * 32).ToArray();
        var out1 = OnnxTestModels.Run(session, x1, 1, 3, 32)["embedding"];
        Assert.Equal([1, 2048], out1.Shape);
        for (int i = 0; i < 2048; i++) Assert.Equal(out3.Data[2048 + i], out1.Data[i], 1e-4f * (1 + Math.Abs(out1.Data[i])));
    }

    [Fact]
    public void Metadata_comes_back_through_OnnxRuntime_and_contract_round_trips()
    {
        using var session = new InferenceSession(_m.Path);
        var meta = session.ModelMetadata;
        Assert.Equal("SSL4Eco.NET", meta.ProducerName);
        Assert.False(string.IsNullOrWhiteSpace(meta.Description));
        foreach (var (k, v) in _m.Contract.ToMetadata()) Assert.Equal(v, meta.CustomMetadataMap[k]);
        Assert.Equal("x", meta.CustomMetadataMap["test.key"]);
        Assert.Equal(_m.Contract, ModelContract.FromMetadata(meta.CustomMetadataMap) with { Bands = _m.Contract.Bands });
        Assert.Equal(_m.Contract.Bands, ModelContract.FromMetadata(meta.CustomMetadataMap).Bands);
    }

    [Fact]
    public void ReadMetadata_returns_props_opset_and_io_without_a_session()
    {
        var info = OnnxModelFile.ReadMetadata(_m.Path);
        Assert.Equal(17, info.OpsetVersion);
        Assert.Equal(8, info.IrVersion);
        Assert.Equal("SSL4Eco.NET", info.ProducerName);
        Assert.False(string.IsNullOrEmpty(info.ProducerVersion));
        var input = Assert.Single(info.Inputs);
        Assert.Equal("input", input.Name);
        Assert.Equal("FLOAT", input.ElementType);
        Assert.Equal([-1L, 3, 32, 32], input.Shape);
        Assert.Equal("[batch, 3, 32, 32]", input.ShapeText);
        var output = Assert.Single(info.Outputs);
        Assert.Equal("embedding", output.Name);
        Assert.Equal("[batch, 2048]", output.ShapeText);
        Assert.Equal(_m.Contract.Bands, ModelContract.FromMetadata(info.Metadata).Bands);
        Assert.Equal(_m.Contract.ModelId, info.Metadata[ModelContract.MetadataKeys.ModelId]);
    }

    [Fact]
    public void Onnx_checker_full_check_accepts_the_file_and_sees_the_graph_we_intended()
    {
        var stdout = PythonOracle.Run("""
            import onnx, collections
            m = onnx.load(sys.argv[1])
            onnx.checker.check_model(sys.argv[1], full_check=True)
            ops = collections.Counter(n.op_type for n in m.graph.node)
            print(m.ir_version, m.opset_import[0].version, len(m.graph.initializer),
                  ops['Conv'], ops['Relu'], ops['Add'], ops['MaxPool'], ops['GlobalAveragePool'], ops['Flatten'],
                  all(t.HasField('raw_data') for t in m.graph.initializer))
            """, _m.Path);
        // 53 convolutions (1 + 16 blocks x 3 + 4 downsample), each with weight + folded bias; 1 + 16 x 3 ReLUs; 16 residual adds.
        Assert.Equal("8 17 106 53 49 16 1 1 1 True", stdout.Trim());
    }

    [Fact]
    public void Channel_mismatch_between_contract_and_weights_is_rejected_by_name()
    {
        var contract = OnnxTestModels.Contract(9, 32);
        using var ms = new MemoryStream();
        var e = Assert.Throws<ArgumentException>(() => ResNet50OnnxExporter.Write(_m.Weights, contract, ms));
        Assert.Contains("9 bands", e.Message);
        Assert.Contains("3 input channels", e.Message);
        Assert.Equal(0, ms.Length);
    }

    [Fact]
    public void Extra_metadata_may_not_override_the_contract()
    {
        var opts = new OnnxExportOptions { ExtraMetadata = new Dictionary<string, string> { [ModelContract.MetadataKeys.Bands] = "X" } };
        var e = Assert.Throws<ArgumentException>(() => ResNet50OnnxExporter.Write(_m.Weights, _m.Contract, new MemoryStream(), opts));
        Assert.Contains(ModelContract.MetadataKeys.Bands, e.Message);
    }

    [Fact]
    public void Non_writable_output_path_leaves_no_file()
    {
        using var dir = new TempDir();
        var missingFolder = dir.File(Path.Combine("no-such-folder", "model.onnx"));
        Assert.ThrowsAny<IOException>(() => ResNet50OnnxExporter.Write(_m.Weights, _m.Contract, missingFolder));
        Assert.False(File.Exists(missingFolder));

        var aFolder = dir.File("is-a-folder");
        Directory.CreateDirectory(aFolder);
        Assert.ThrowsAny<Exception>(() => ResNet50OnnxExporter.Write(_m.Weights, _m.Contract, aFolder));
        Assert.True(Directory.Exists(aFolder));
        Assert.Equal([aFolder], Directory.GetFileSystemEntries(dir.Path));
    }

    [Fact]
    public void Cancelled_or_failed_path_write_leaves_neither_target_nor_temp_file()
    {
        using var dir = new TempDir();
        var target = dir.File("model.onnx");
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => ResNet50OnnxExporter.Write(_m.Weights, _m.Contract, target, cancellationToken: cts.Token));
        Assert.Throws<ArgumentException>(() => ResNet50OnnxExporter.Write(_m.Weights, OnnxTestModels.Contract(4, 32), target));
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path));
    }

    [Fact]
    public void ReadMetadata_rejects_a_file_that_is_not_onnx()
    {
        using var dir = new TempDir();
        var f = dir.File("junk.onnx");
        File.WriteAllBytes(f, [0xFF, 0xFF, 0xFF, 0x01, 0x02]);
        var e = Assert.Throws<InvalidDataException>(() => OnnxModelFile.ReadMetadata(f));
        Assert.Contains("not a valid ONNX model", e.Message);
        Assert.Throws<FileNotFoundException>(() => OnnxModelFile.ReadMetadata(dir.File("absent.onnx")));
    }
}

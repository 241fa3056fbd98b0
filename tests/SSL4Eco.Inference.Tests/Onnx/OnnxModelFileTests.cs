using SSL4Eco.Inference.Onnx;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Inference.Tests.Onnx;

/// <summary>The metadata reader works on ONNX files written by another producer (PyTorch's exporter).</summary>
public sealed class OnnxModelFileTests
{
    [Fact]
    public void ReadMetadata_reads_a_model_exported_by_torch_onnx()
    {
        using var dir = new TempDir();
        var path = dir.File("torch.onnx");
        PythonOracle.Run("""
            import torch, onnx
            torch.set_num_threads(2)
            m = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Softmax(dim=1))
            torch.onnx.export(m, torch.zeros(2, 4), sys.argv[1], input_names=['x'], output_names=['probs'],
                              dynamic_axes={'x': {0: 'n'}, 'probs': {0: 'n'}}, opset_version=13)
            mp = onnx.load(sys.argv[1])
            e = mp.metadata_props.add(); e.key = 'k1'; e.value = 'v1'
            onnx.save(mp, sys.argv[1])
            """, path);
        var info = OnnxModelFile.ReadMetadata(path);
        Assert.Equal(13, info.OpsetVersion);
        Assert.Equal("pytorch", info.ProducerName);
        Assert.Equal("v1", info.Metadata["k1"]);
        var input = Assert.Single(info.Inputs); // initializers (weight, bias) are not listed as inputs
        Assert.Equal("x", input.Name);
        Assert.Equal("[n, 4]", input.ShapeText);
        var output = Assert.Single(info.Outputs);
        Assert.Equal("probs", output.Name);
        Assert.Equal([-1L, 3], output.Shape);
        Assert.Equal("n", output.DimensionNames[0]);
    }
}

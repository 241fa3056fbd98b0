using Google.Protobuf;
using SSL4Eco.Inference.Models;
using SSL4Eco.Inference.Onnx.Proto;

namespace SSL4Eco.Inference.Tests.Embedding;

/// <summary>
/// A tiny stand-in encoder written with the ONNX proto classes: x [N, C, S, S] → ReduceMean over H, W → [N, C]
/// → MatMul W [C, D] → embedding [N, D], with the contract in <c>metadata_props</c>.
/// </summary>
internal static class TinyEncoderModel
{
    /// <summary>Deterministic weights [C, D] with mixed signs.</summary>
    public static float[] Weights(int c, int d)
    {
        var w = new float[c * d];
        for (int i = 0; i < w.Length; i++) w[i] = ((i * 37 % 23) - 11) / 7f;
        return w;
    }

    /// <param name="metadata">Contract written as metadata, or null for none.</param>
    /// <param name="batch">Fixed batch dimension, or 0 for a symbolic one.</param>
    public static byte[] Build(ModelContract? metadata, int c, int s, int d, float[] w, int batch = 0)
    {
        var graph = new GraphProto { Name = "tiny_encoder" };
        graph.Input.Add(Value("x", batch, c, s, s));
        graph.Output.Add(Value("embedding", batch, d));
        var weights = new TensorProto { Name = "W", DataType = (int)TensorProto.Types.DataType.Float };
        weights.Dims.Add(c); weights.Dims.Add(d);
        weights.FloatData.Add(w);
        graph.Initializer.Add(weights);
        var mean = new NodeProto { OpType = "ReduceMean", Name = "pool" };
        mean.Input.Add("x"); mean.Output.Add("pooled");
        var axes = new AttributeProto { Name = "axes", Type = AttributeProto.Types.AttributeType.Ints };
        axes.Ints.Add(2); axes.Ints.Add(3);
        mean.Attribute.Add(axes);
        mean.Attribute.Add(new AttributeProto { Name = "keepdims", Type = AttributeProto.Types.AttributeType.Int, I = 0 });
        var matmul = new NodeProto { OpType = "MatMul", Name = "project" };
        matmul.Input.Add("pooled"); matmul.Input.Add("W"); matmul.Output.Add("embedding");
        graph.Node.Add(mean);
        graph.Node.Add(matmul);
        var model = new ModelProto { IrVersion = 7, ProducerName = "ssl4eco-tests", Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });
        if (metadata is not null)
            foreach (var (k, v) in metadata.ToMetadata())
                model.MetadataProps.Add(new StringStringEntryProto { Key = k, Value = v });
        return model.ToByteArray();
    }

    /// <summary>
    /// A deliberately slow encoder for cancellation tests: ReduceMean → [N, C] → MatMul [C, K] → <paramref name="layers"/>
    /// times MatMul [K, K] (one shared initializer) → MatMul [K, D].
    /// </summary>
    public static byte[] BuildSlow(ModelContract contract, int k, int layers)
    {
        int c = contract.Channels, d = contract.EmbeddingDim;
        var graph = new GraphProto { Name = "slow_encoder" };
        graph.Input.Add(Value("x", 0, c, contract.InputSize, contract.InputSize));
        graph.Output.Add(Value("embedding", 0, d));
        graph.Initializer.Add(Constant("Win", c, k, 1f / c));
        graph.Initializer.Add(Constant("Wkk", k, k, 1f / k));
        graph.Initializer.Add(Constant("Wout", k, d, 1f / k));
        var mean = new NodeProto { OpType = "ReduceMean", Name = "pool" };
        mean.Input.Add("x"); mean.Output.Add("h0");
        var axes = new AttributeProto { Name = "axes", Type = AttributeProto.Types.AttributeType.Ints };
        axes.Ints.Add(2); axes.Ints.Add(3);
        mean.Attribute.Add(axes);
        mean.Attribute.Add(new AttributeProto { Name = "keepdims", Type = AttributeProto.Types.AttributeType.Int, I = 0 });
        graph.Node.Add(mean);
        graph.Node.Add(MatMul("h0", "Win", "h1"));
        for (int i = 0; i < layers; i++) graph.Node.Add(MatMul($"h{i + 1}", "Wkk", $"h{i + 2}"));
        graph.Node.Add(MatMul($"h{layers + 1}", "Wout", "embedding"));
        var model = new ModelProto { IrVersion = 7, ProducerName = "ssl4eco-tests", Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });
        foreach (var (key, v) in contract.ToMetadata()) model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = v });
        return model.ToByteArray();

        static NodeProto MatMul(string a, string b, string y)
        {
            var n = new NodeProto { OpType = "MatMul", Name = y };
            n.Input.Add(a); n.Input.Add(b); n.Output.Add(y);
            return n;
        }

        static TensorProto Constant(string name, int rows, int cols, float value)
        {
            var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
            t.Dims.Add(rows); t.Dims.Add(cols);
            var bytes = new byte[rows * cols * sizeof(float)];
            System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes.AsSpan()).Fill(value);
            t.RawData = ByteString.CopyFrom(bytes);
            return t;
        }
    }

    private static ValueInfoProto Value(string name, int batch, params int[] dims)
    {
        var shape = new TensorShapeProto();
        shape.Dim.Add(batch > 0 ? new TensorShapeProto.Types.Dimension { DimValue = batch } : new TensorShapeProto.Types.Dimension { DimParam = "N" });
        foreach (var x in dims) shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = x });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } },
        };
    }
}

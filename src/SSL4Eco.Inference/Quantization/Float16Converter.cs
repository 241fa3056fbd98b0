using Google.Protobuf;
using SSL4Eco.Inference.Onnx;
using SSL4Eco.Inference.Onnx.Proto;
using DataType = SSL4Eco.Inference.Onnx.Proto.TensorProto.Types.DataType;

namespace SSL4Eco.Inference.Quantization;

/// <summary>
/// Rewrites a float32 graph into float16: every float32 initializer becomes float16 (values beyond ±65504 saturate), the
/// float32 graph inputs are cast to float16 on entry and the graph outputs cast back to float32, so callers keep feeding
/// and reading float32.
/// </summary>
/// <remarks>Stateless and thread-safe.</remarks>
internal static class Float16Converter
{
    public static ModelProto Convert(ModelProto model)
    {
        var result = model.Clone();
        var graph = result.Graph;
        foreach (var n in graph.Node)
        {
            if (n.OpType is "Cast" or "Constant" or "ConstantOfShape" or "RandomNormal" or "RandomUniform" or "EyeLike")
                throw new NotSupportedException($"The graph has a '{n.OpType}' node ('{n.Name}'), which the float16 conversion does not rewrite; convert the model with 'ssl4eco convert' first.");
        }
        var inits = graph.Initializer.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var t in graph.Initializer)
        {
            if (t.DataType != (int)DataType.Float) continue;
            var v = QdqGraphWriter.FloatValues(t);
            var half = new byte[v.Length * 2];
            for (int i = 0; i < v.Length; i++)
                System.Buffers.Binary.BinaryPrimitives.WriteHalfLittleEndian(half.AsSpan(i * 2), (Half)Math.Clamp(v[i], -65504f, 65504f));
            t.FloatData.Clear();
            t.RawData = ByteString.CopyFrom(half);
            t.DataType = (int)DataType.Float16;
        }
        var g = new OnnxGraphBuilder(graph);
        var head = new List<NodeProto>();
        foreach (var input in graph.Input)
        {
            if (inits.Contains(input.Name) || input.Type?.TensorType?.ElemType != (int)DataType.Float) continue;
            string cast = input.Name + "/fp16";
            head.Add(g.CreateNode("Cast", [input.Name], cast, OnnxGraphBuilder.Int("to", (long)DataType.Float16)));
            foreach (var n in graph.Node)
                for (int i = 0; i < n.Input.Count; i++)
                    if (n.Input[i] == input.Name) n.Input[i] = cast;
        }
        var tail = new List<NodeProto>();
        foreach (var output in graph.Output)
        {
            if (output.Type?.TensorType?.ElemType != (int)DataType.Float) continue;
            string inner = output.Name + "/fp16";
            foreach (var n in graph.Node)
            {
                for (int i = 0; i < n.Output.Count; i++) if (n.Output[i] == output.Name) n.Output[i] = inner;
                for (int i = 0; i < n.Input.Count; i++) if (n.Input[i] == output.Name) n.Input[i] = inner;
            }
            // The builder reserved the output's name for its producer; the Cast now produces it.
            var cast = new NodeProto { OpType = "Cast", Name = g.IsUsed(output.Name + "/Cast") ? output.Name + "/Cast/fp32" : output.Name + "/Cast" };
            cast.Input.Add(inner);
            cast.Output.Add(output.Name);
            cast.Attribute.Add(OnnxGraphBuilder.Int("to", (long)DataType.Float));
            tail.Add(cast);
        }
        var nodes = head.Concat(graph.Node).Concat(tail).ToList();
        graph.Node.Clear();
        graph.Node.Add(nodes);
        graph.ValueInfo.Clear();
        return result;
    }
}

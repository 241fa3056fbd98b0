using System.Runtime.InteropServices;
using Google.Protobuf;
using SSL4Eco.Inference.Onnx;
using SSL4Eco.Inference.Onnx.Proto;
using DataType = SSL4Eco.Inference.Onnx.Proto.TensorProto.Types.DataType;

namespace SSL4Eco.Inference.Quantization;

/// <summary>
/// Plans and writes a static int8 QDQ graph in the layout ONNX Runtime's CPU provider fuses into QLinearConv / QLinearAdd
/// (u8 activations × s8 weights, VNNI where the CPU has it):
/// <list type="bullet">
/// <item>every activation read by a quantised operator (Conv, Add, MaxPool, GlobalAveragePool) — the graph input, ReLU,
/// MaxPool, Add and un-activated Conv outputs — gets QuantizeLinear → DequantizeLinear (u8, per tensor, asymmetric);
/// a Conv or Add followed by a ReLU is quantised after the ReLU (zero point 0, so ONNX Runtime drops the ReLU and fuses);</item>
/// <item>MaxPool's output shares its input's scale and zero point (ONNX Runtime then pools the u8 values directly);</item>
/// <item>Conv weights: s8, symmetric per output channel (zero point 0, range ±127); biases: int32 with scale
/// input scale × weight scale (the layout QLinearConv needs);</item>
/// <item>everything after the last quantised activation (global pooling, flatten, heads) stays float32.</item>
/// </list>
/// </summary>
/// <remarks>Stateless and thread-safe.</remarks>
internal static class QdqGraphWriter
{
    private static readonly HashSet<string> Producers = new(StringComparer.Ordinal) { "Conv", "Relu", "Add", "MaxPool" };

    /// <summary>Which values get quantised, and which Conv nodes run in int8.</summary>
    /// <param name="Values">Values to quantise, in graph order (calibrate these).</param>
    /// <param name="SharedWith">A value whose quantisation parameters are copied from another (MaxPool output ← input).</param>
    /// <param name="Convolutions">Conv nodes whose weights are quantised.</param>
    /// <param name="Adds">Add nodes whose inputs are both quantised.</param>
    internal sealed record Plan(IReadOnlyList<string> Values, IReadOnlyDictionary<string, string> SharedWith,
        IReadOnlySet<NodeProto> Convolutions, int Adds);

    /// <summary>Plans the quantisation of <paramref name="graph"/>.</summary>
    public static Plan MakePlan(GraphProto graph, bool keepStemFloat)
    {
        var inits = graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        string? modelInput = graph.Input.Select(i => i.Name).FirstOrDefault(n => !inits.ContainsKey(n));
        var convs = new HashSet<NodeProto>();
        foreach (var n in graph.Node)
        {
            if (n.OpType != "Conv" || n.Input.Count < 2 || !inits.TryGetValue(n.Input[1], out var w) || w.Dims.Count != 4
                || w.DataType != (int)DataType.Float || (n.Input.Count > 2 && !inits.ContainsKey(n.Input[2])))
                continue;
            if (keepStemFloat && n.Input[0] == modelInput) continue;
            convs.Add(n);
        }
        // A value is quantised when an int8 operator reads it as an activation.
        var wanted = new HashSet<string>(StringComparer.Ordinal);
        foreach (var n in graph.Node)
        {
            if (convs.Contains(n)) wanted.Add(n.Input[0]);
            else if (n.OpType is "MaxPool" or "GlobalAveragePool") wanted.Add(n.Input[0]);
            else if (n.OpType == "Add" && n.Input.Count == 2 && n.Input.All(i => !inits.ContainsKey(i))) { wanted.Add(n.Input[0]); wanted.Add(n.Input[1]); }
        }
        var producedBy = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
        foreach (var n in graph.Node) foreach (var o in n.Output) producedBy[o] = n;
        bool Quantisable(string v) => v == modelInput || (producedBy.TryGetValue(v, out var p) && Producers.Contains(p.OpType));
        var values = new List<string>();
        if (modelInput is not null && wanted.Contains(modelInput)) values.Add(modelInput);
        var shared = new Dictionary<string, string>(StringComparer.Ordinal);
        int adds = 0;
        foreach (var n in graph.Node)
        {
            foreach (var o in n.Output)
            {
                if (!wanted.Contains(o) || !Quantisable(o)) continue;
                values.Add(o);
                if (n.OpType == "MaxPool" && values.Contains(n.Input[0])) shared[o] = n.Input[0];
            }
            if (n.OpType == "Add" && n.Input.Count == 2 && n.Input.All(i => wanted.Contains(i) && Quantisable(i))) adds++;
        }
        var quantised = values.ToHashSet(StringComparer.Ordinal);
        convs.RemoveWhere(c => !quantised.Contains(c.Input[0]));
        return new Plan(values, shared, convs, adds);
    }

    /// <summary>u8 asymmetric scale and zero point of a range (widened to contain 0).</summary>
    internal static (float Scale, byte ZeroPoint) ActivationParameters(float low, float high)
    {
        double lo = Math.Min(0, low), hi = Math.Max(0, high);
        if (!(hi > lo)) return (1f, 0);
        float scale = (float)((hi - lo) / 255);
        double zp = Math.Round(-lo / scale, MidpointRounding.ToEven);
        return (scale, (byte)Math.Clamp(zp, 0, 255));
    }

    /// <summary>Rewrites <paramref name="model"/> (a clone is returned) into the QDQ graph of <paramref name="plan"/>.</summary>
    public static ModelProto Write(ModelProto model, Plan plan, IReadOnlyDictionary<string, (float Low, float High)> ranges)
    {
        var result = model.Clone();
        var graph = result.Graph;
        var g = new OnnxGraphBuilder(graph);
        var inits = graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var parameters = new Dictionary<string, (float Scale, byte ZeroPoint)>(StringComparer.Ordinal);
        foreach (var v in plan.Values)
        {
            if (plan.SharedWith.ContainsKey(v)) continue;
            var (lo, hi) = ranges[v];
            parameters[v] = ActivationParameters(lo, hi);
        }
        foreach (var (v, from) in plan.SharedWith) parameters[v] = parameters[from];

        var dequantised = new Dictionary<string, string>(StringComparer.Ordinal);
        var nodes = new List<NodeProto>();
        void QuantiseValue(string v)
        {
            var (scale, zp) = parameters[v];
            string s = g.AddInitializer(v + "/scale", [scale]);
            string z = g.AddInitializer(v + "/zero_point", DataType.Uint8, ByteString.CopyFrom(zp));
            nodes.Add(g.CreateNode("QuantizeLinear", [v, s, z], v + "/quantized"));
            nodes.Add(g.CreateNode("DequantizeLinear", [v + "/quantized", s, z], v + "/dequantized"));
            dequantised[v] = v + "/dequantized";
        }
        var values = plan.Values.ToHashSet(StringComparer.Ordinal);
        foreach (var input in graph.Input) if (values.Contains(input.Name)) QuantiseValue(input.Name);

        var originalNodes = graph.Node.ToList();
        foreach (var n in originalNodes)
        {
            bool isQuantConv = plan.Convolutions.Contains(n);
            for (int i = 0; i < n.Input.Count; i++)
                if (dequantised.TryGetValue(n.Input[i], out var dq)) n.Input[i] = dq;
            if (isQuantConv)
            {
                float inputScale = parameters[n.Input[0][..^"/dequantized".Length]].Scale;
                var w = inits[n.Input[1]];
                var weightScales = QuantiseWeight(g, nodes, w);
                n.Input[1] = w.Name + "/dequantized";
                if (n.Input.Count > 2)
                {
                    QuantiseBias(g, nodes, inits[n.Input[2]], inputScale, weightScales);
                    n.Input[2] = n.Input[2] + "/dequantized";
                }
            }
            nodes.Add(n);
            foreach (var o in n.Output) if (values.Contains(o)) QuantiseValue(o);
        }
        // Outputs keep reading the float values; only internal consumers read the dequantised ones.
        graph.Node.Clear();
        graph.Node.Add(nodes);
        // Float weights and biases that were replaced by their quantised form are no longer read.
        var used = nodes.SelectMany(n => n.Input).ToHashSet(StringComparer.Ordinal);
        var keep = graph.Initializer.Where(t => used.Contains(t.Name) || graph.Output.Any(o => o.Name == t.Name)).ToList();
        graph.Initializer.Clear();
        graph.Initializer.Add(keep);
        graph.ValueInfo.Clear();
        return result;
    }

    private static float[] QuantiseWeight(OnnxGraphBuilder g, List<NodeProto> nodes, TensorProto w)
    {
        var values = FloatValues(w);
        int outC = (int)w.Dims[0];
        int per = values.Length / outC;
        var q = new sbyte[values.Length];
        var scales = new float[outC];
        for (int o = 0; o < outC; o++)
        {
            var row = values.AsSpan(o * per, per);
            float maxAbs = Math.Abs(System.Numerics.Tensors.TensorPrimitives.MaxMagnitude(row)); // MaxMagnitude keeps the sign
            float s = maxAbs > 0 ? maxAbs / 127f : 1f;
            scales[o] = s;
            for (int i = 0; i < per; i++) q[o * per + i] = (sbyte)Math.Clamp(Math.Round(row[i] / s, MidpointRounding.ToEven), -127, 127);
        }
        string qName = g.AddInitializer(w.Name + "/quantized", DataType.Int8, ByteString.CopyFrom(MemoryMarshal.AsBytes(q.AsSpan())), [.. w.Dims]);
        string sName = g.AddInitializer(w.Name + "/scale", scales, outC);
        string zName = g.AddInitializer(w.Name + "/zero_point", DataType.Int8, ByteString.CopyFrom(new byte[outC]), outC);
        nodes.Add(g.CreateNode("DequantizeLinear", [qName, sName, zName], w.Name + "/dequantized", OnnxGraphBuilder.Int("axis", 0)));
        return scales;
    }

    private static void QuantiseBias(OnnxGraphBuilder g, List<NodeProto> nodes, TensorProto b, float inputScale, float[] weightScales)
    {
        var values = FloatValues(b);
        if (values.Length != weightScales.Length)
            throw new InvalidDataException($"Conv bias '{b.Name}' has {values.Length} values for {weightScales.Length} output channels.");
        var q = new int[values.Length];
        var scales = new float[values.Length];
        for (int o = 0; o < values.Length; o++)
        {
            scales[o] = inputScale * weightScales[o];
            q[o] = (int)Math.Clamp(Math.Round(values[o] / (double)scales[o], MidpointRounding.ToEven), int.MinValue + 1, int.MaxValue);
        }
        var bytes = new byte[q.Length * 4];
        for (int i = 0; i < q.Length; i++) System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(i * 4), q[i]);
        string qName = g.AddInitializer(b.Name + "/quantized", DataType.Int32, ByteString.CopyFrom(bytes), values.Length);
        string sName = g.AddInitializer(b.Name + "/scale", scales, values.Length);
        string zName = g.AddInitializer(b.Name + "/zero_point", DataType.Int32, ByteString.CopyFrom(new byte[bytes.Length]), values.Length);
        nodes.Add(g.CreateNode("DequantizeLinear", [qName, sName, zName], b.Name + "/dequantized", OnnxGraphBuilder.Int("axis", 0)));
    }

    /// <summary>The values of a float32 initializer (raw data or float_data).</summary>
    internal static float[] FloatValues(TensorProto t)
    {
        if (t.DataType != (int)DataType.Float) throw new InvalidDataException($"Initializer '{t.Name}' is not float32.");
        if (t.FloatData.Count > 0) return t.FloatData.ToArray();
        var raw = t.RawData.Span;
        var v = new float[raw.Length / 4];
        for (int i = 0; i < v.Length; i++) v[i] = System.Buffers.Binary.BinaryPrimitives.ReadSingleLittleEndian(raw[(i * 4)..]);
        return v;
    }
}

using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Google.Protobuf;
using SSL4Eco.Inference.Onnx.Proto;

namespace SSL4Eco.Inference.Onnx;

/// <summary>
/// Appends nodes, float32 initializers (little-endian <c>raw_data</c>) and graph inputs/outputs to an ONNX
/// <see cref="GraphProto"/>. Used by the encoder exporter and by the head appender; other code can reuse it to
/// extend a graph.
/// </summary>
/// <remarks>Not thread-safe: one builder per graph, used from one thread.</remarks>
internal sealed class OnnxGraphBuilder
{
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);

    /// <summary>Wraps an existing graph; names already used by its nodes, initializers, inputs and outputs are reserved.</summary>
    public OnnxGraphBuilder(GraphProto graph)
    {
        Graph = graph ?? throw new ArgumentNullException(nameof(graph));
        foreach (var n in graph.Node) { foreach (var o in n.Output) _names.Add(o); if (n.HasName) _names.Add(n.Name); }
        foreach (var t in graph.Initializer) _names.Add(t.Name);
        foreach (var v in graph.Input) _names.Add(v.Name);
        foreach (var v in graph.Output) _names.Add(v.Name);
    }

    /// <summary>The graph being built.</summary>
    public GraphProto Graph { get; }

    /// <summary>True when the value/node name is already used in the graph.</summary>
    public bool IsUsed(string name) => _names.Contains(name);

    private string Reserve(string name)
    {
        if (!_names.Add(name)) throw new InvalidOperationException($"ONNX graph already has a value or node named '{name}'.");
        return name;
    }

    /// <summary>Adds a float32 initializer stored as little-endian raw data; returns its name.</summary>
    public string AddInitializer(string name, ReadOnlySpan<float> values, params long[] dims)
    {
        long count = 1;
        foreach (var d in dims) count *= d;
        if (count != values.Length)
            throw new ArgumentException($"Initializer '{name}': shape [{string.Join(", ", dims)}] holds {count} values but {values.Length} were given.");
        var tensor = new TensorProto { Name = Reserve(name), DataType = (int)TensorProto.Types.DataType.Float, RawData = ToLittleEndianBytes(values) };
        tensor.Dims.Add(dims);
        Graph.Initializer.Add(tensor);
        return name;
    }

    /// <summary>Adds an initializer of any element type from little-endian raw bytes; returns its name.</summary>
    public string AddInitializer(string name, TensorProto.Types.DataType type, ByteString raw, params long[] dims)
    {
        var tensor = new TensorProto { Name = Reserve(name), DataType = (int)type, RawData = raw };
        tensor.Dims.Add(dims);
        Graph.Initializer.Add(tensor);
        return name;
    }

    /// <summary>Float32 values as little-endian bytes.</summary>
    public static ByteString ToLittleEndianBytes(ReadOnlySpan<float> values)
    {
        if (BitConverter.IsLittleEndian) return ByteString.CopyFrom(MemoryMarshal.AsBytes(values));
        var bytes = new byte[values.Length * sizeof(float)];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), values[i]);
        return ByteString.CopyFrom(bytes);
    }

    /// <summary>Adds a node in the default domain with one output; the node is named after its output. Returns the output name.</summary>
    public string AddNode(string opType, IEnumerable<string> inputs, string output, params AttributeProto[] attributes)
    {
        Graph.Node.Add(CreateNode(opType, inputs, output, attributes));
        return output;
    }

    /// <summary>
    /// Creates a node like <see cref="AddNode"/> (its names reserved) without adding it to the graph, for a caller that
    /// places nodes itself (e.g. in topological order between existing ones).
    /// </summary>
    public NodeProto CreateNode(string opType, IEnumerable<string> inputs, string output, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = Reserve(output + "/" + opType) };
        node.Input.Add(inputs);
        node.Output.Add(Reserve(output));
        node.Attribute.Add(attributes);
        return node;
    }

    /// <summary>Declares a float32 graph input; each dimension is a <see cref="long"/> size or a <see cref="string"/> symbolic name.</summary>
    public void AddInput(string name, params object[] dims) => Graph.Input.Add(ValueInfo(Reserve(name), dims));

    /// <summary>Declares a float32 graph output of an existing value; dimensions as in <see cref="AddInput"/>.</summary>
    public void AddOutput(string name, params object[] dims)
    {
        if (!_names.Contains(name)) throw new InvalidOperationException($"ONNX graph has no value '{name}' to declare as output.");
        Graph.Output.Add(ValueInfo(name, dims));
    }

    /// <summary>A float32 tensor value info with the given dimensions.</summary>
    public static ValueInfoProto ValueInfo(string name, params object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
        {
            shape.Dim.Add(d switch
            {
                string s => new TensorShapeProto.Types.Dimension { DimParam = s },
                int i => new TensorShapeProto.Types.Dimension { DimValue = i },
                long l => new TensorShapeProto.Types.Dimension { DimValue = l },
                _ => throw new ArgumentException($"Dimension of '{name}' must be a size or a symbolic name, got {d?.GetType().Name ?? "null"}."),
            });
        }
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } },
        };
    }

    /// <summary>An INTS attribute.</summary>
    public static AttributeProto Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.Add(values);
        return a;
    }

    /// <summary>An INT attribute.</summary>
    public static AttributeProto Int(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    /// <summary>A FLOAT attribute.</summary>
    public static AttributeProto Float(string name, float value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };
}

using SSL4Eco.Inference.Models;
using Google.Protobuf;
using SSL4Eco.Inference.Onnx.Proto;

namespace SSL4Eco.Inference.Onnx;

/// <summary>A graph input or output as declared in an ONNX file.</summary>
/// <param name="Name">The value name.</param>
/// <param name="ElementType">The ONNX element type name (e.g. <c>FLOAT</c>).</param>
/// <param name="Shape">Dimension sizes; -1 where the dimension is symbolic or unknown.</param>
/// <param name="DimensionNames">Symbolic dimension names (e.g. <c>batch</c>); null where the size is fixed.</param>
/// <remarks>Immutable and thread-safe.</remarks>
public sealed record OnnxValueInfo(string Name, string ElementType, IReadOnlyList<long> Shape, IReadOnlyList<string?> DimensionNames)
{
    /// <summary>The shape as text, e.g. <c>[batch, 9, 224, 224]</c>.</summary>
    public string ShapeText => "[" + string.Join(", ", Shape.Select((d, i) => d >= 0 ? d.ToString(System.Globalization.CultureInfo.InvariantCulture) : DimensionNames[i] ?? "?")) + "]";
}

/// <summary>What <see cref="OnnxModelFile.ReadMetadata"/> returns: the header facts of an ONNX model.</summary>
/// <param name="Metadata">The <c>metadata_props</c> entries.</param>
/// <param name="IrVersion">The IR version.</param>
/// <param name="OpsetVersion">The opset version of the default domain (0 when not imported).</param>
/// <param name="ProducerName">The producer name.</param>
/// <param name="ProducerVersion">The producer version.</param>
/// <param name="DocString">The model's doc string.</param>
/// <param name="Inputs">Graph inputs that are not initializers.</param>
/// <param name="Outputs">Graph outputs.</param>
/// <remarks>Immutable and thread-safe.</remarks>
public sealed record OnnxModelInfo(
    IReadOnlyDictionary<string, string> Metadata, long IrVersion, long OpsetVersion, string ProducerName, string ProducerVersion,
    string DocString, IReadOnlyList<OnnxValueInfo> Inputs, IReadOnlyList<OnnxValueInfo> Outputs)
{
    /// <summary>The SSL4Eco contract in <see cref="Metadata"/>, or null with <paramref name="problem"/> saying why there is none.</summary>
    public ModelContract? TryReadContract(out string? problem)
    {
        try
        {
            problem = null;
            return ModelContract.FromMetadata(Metadata);
        }
        catch (ModelMetadataException e)
        {
            problem = e.Message;
            return null;
        }
    }

    /// <summary>The metadata entries the contract does not read (<see cref="ModelContract.FromMetadataKeys"/>), by ordinal key.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> ExtraMetadata =>
        Metadata.Where(kv => !ModelContract.FromMetadataKeys.Contains(kv.Key)).OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList();
}

/// <summary>Reads ONNX model files without an inference session (e.g. for <c>ssl4eco info</c>).</summary>
/// <remarks>Stateless and thread-safe.</remarks>
public static class OnnxModelFile
{
    /// <summary>Parses the ONNX file and returns its metadata, opset, and input/output names and shapes.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a valid ONNX protobuf.</exception>
    public static OnnxModelInfo ReadMetadata(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"ONNX model file '{path}' does not exist.", path);
        using var s = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        return Describe(Parse(s, path));
    }

    /// <summary>Parses an ONNX file into its protobuf model (for graph rewriting).</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a valid ONNX protobuf.</exception>
    internal static ModelProto Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"ONNX model file '{path}' does not exist.", path);
        using var s = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        return Parse(s, path);
    }

    /// <summary>
    /// Sets <c>metadata_props</c> entries (adding or replacing) and, when <paramref name="sort"/>, orders all entries by key so
    /// that equal models serialise to equal bytes.
    /// </summary>
    internal static void SetMetadata(ModelProto model, IReadOnlyDictionary<string, string> entries, bool sort = false)
    {
        foreach (var (key, value) in entries)
        {
            var existing = model.MetadataProps.FirstOrDefault(e => e.Key == key);
            if (existing is not null) existing.Value = value;
            else model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        }
        if (!sort) return;
        var ordered = model.MetadataProps.OrderBy(e => e.Key, StringComparer.Ordinal).ToList();
        model.MetadataProps.Clear();
        model.MetadataProps.Add(ordered);
    }

    internal static ModelProto Parse(Stream stream, string what)
    {
        ModelProto model;
        try { model = ModelProto.Parser.ParseFrom(stream); }
        catch (InvalidProtocolBufferException e) { throw new InvalidDataException($"'{what}' is not a valid ONNX model: {e.Message}", e); }
        if (model.Graph is null || model.IrVersion == 0)
            throw new InvalidDataException($"'{what}' is not a valid ONNX model: it has no graph or no IR version.");
        return model;
    }

    internal static OnnxModelInfo Describe(ModelProto model)
    {
        var meta = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var e in model.MetadataProps) meta[e.Key] = e.Value;
        long opset = model.OpsetImport.Where(o => string.IsNullOrEmpty(o.Domain) || o.Domain == "ai.onnx").Select(o => o.Version).DefaultIfEmpty(0).Max();
        var inits = model.Graph.Initializer.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        return new OnnxModelInfo(meta, model.IrVersion, opset, model.ProducerName, model.ProducerVersion, model.DocString,
            model.Graph.Input.Where(v => !inits.Contains(v.Name)).Select(ToInfo).ToList(),
            model.Graph.Output.Select(ToInfo).ToList());
    }

    private static OnnxValueInfo ToInfo(ValueInfoProto v)
    {
        var t = v.Type?.TensorType;
        var dims = t?.Shape?.Dim ?? [];
        string elem = t is null ? "UNKNOWN" : Enum.IsDefined(typeof(TensorProto.Types.DataType), t.ElemType)
            ? ((TensorProto.Types.DataType)t.ElemType).ToString().ToUpperInvariant() : t.ElemType.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return new OnnxValueInfo(v.Name, elem,
            dims.Select(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue ? d.DimValue : -1L).ToList(),
            dims.Select(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam ? d.DimParam : null).ToList());
    }
}

using Google.Protobuf;
using SSL4Eco.Inference.Onnx.Proto;

namespace SSL4Eco.Inference.Onnx;

/// <summary>The activation after a linear head.</summary>
internal enum HeadOutput
{
    /// <summary>No activation (regression: raw <c>x·Wᵀ + b</c>).</summary>
    None,
    /// <summary>Softmax over the k outputs (single-label classification, distribution heads).</summary>
    Softmax,
    /// <summary>Element-wise logistic sigmoid (multi-label classification).</summary>
    Sigmoid,
}

/// <summary>
/// Appends a linear head to an encoder ONNX model: <c>Gemm(embedding, W, b, transB=1)</c> followed by the activation,
/// as a new output <c>prediction</c> <c>[batch, k]</c>; the <c>embedding</c> output is kept.
/// </summary>
/// <remarks>Stateless and thread-safe.</remarks>
internal static class OnnxHeadAppender
{
    /// <summary>Name of the appended output.</summary>
    public const string PredictionName = "prediction";

    /// <summary>Reads the encoder model from <paramref name="encoderOnnx"/>, appends the head and writes the result to <paramref name="output"/>.</summary>
    /// <param name="encoderOnnx">An ONNX model with a float output named <c>embedding</c> of shape <c>[batch, D]</c>.</param>
    /// <param name="output">A writable stream; it is not closed.</param>
    /// <param name="weight">Head weight, <c>[k, D]</c> row-major (PyTorch <c>Linear.weight</c> layout).</param>
    /// <param name="bias">Head bias, <c>[k]</c>.</param>
    /// <param name="activation">The activation after the linear map.</param>
    /// <param name="extraMetadata">Entries added to (or replacing those in) <c>metadata_props</c>.</param>
    /// <exception cref="ArgumentException">The weight/bias sizes do not fit D, or the model already has a head.</exception>
    /// <exception cref="InvalidDataException">The input is not an ONNX model with an <c>embedding</c> output of known width.</exception>
    public static void Append(Stream encoderOnnx, Stream output, float[] weight, float[] bias, HeadOutput activation,
        IReadOnlyDictionary<string, string> extraMetadata)
    {
        ArgumentNullException.ThrowIfNull(encoderOnnx);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(weight);
        ArgumentNullException.ThrowIfNull(bias);
        ArgumentNullException.ThrowIfNull(extraMetadata);
        if (!Enum.IsDefined(activation)) throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown head activation.");
        var model = OnnxModelFile.Parse(encoderOnnx, "encoder stream");
        var emb = model.Graph.Output.FirstOrDefault(o => o.Name == ResNet50OnnxExporter.EmbeddingName)
            ?? throw new InvalidDataException($"The encoder model has no output named '{ResNet50OnnxExporter.EmbeddingName}'.");
        var dims = emb.Type?.TensorType?.Shape?.Dim;
        if (dims is null || dims.Count != 2 || dims[1].ValueCase != TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue)
            throw new InvalidDataException("The encoder's 'embedding' output must have shape [batch, D] with a fixed D.");
        long d = dims[1].DimValue;
        int k = bias.Length;
        if (k == 0) throw new ArgumentException("The head has no outputs (empty bias).", nameof(bias));
        if (weight.LongLength != k * d)
            throw new ArgumentException($"Head weight holds {weight.Length} values; expected k x D = {k} x {d} = {k * d} (row-major [k, D]).", nameof(weight));
        if (weight.Any(v => !float.IsFinite(v)) || bias.Any(v => !float.IsFinite(v)))
            throw new ArgumentException("Head weight or bias contains NaN or infinity.");

        var g = new OnnxGraphBuilder(model.Graph);
        if (g.IsUsed(PredictionName)) throw new ArgumentException($"The model already has a value named '{PredictionName}' (a head was appended before).", nameof(encoderOnnx));
        string w = g.AddInitializer("head.weight", weight, k, d);
        string b = g.AddInitializer("head.bias", bias, k);
        string gemmOut = activation == HeadOutput.None ? PredictionName : "head.logits";
        g.AddNode("Gemm", [ResNet50OnnxExporter.EmbeddingName, w, b], gemmOut,
            OnnxGraphBuilder.Float("alpha", 1f), OnnxGraphBuilder.Float("beta", 1f), OnnxGraphBuilder.Int("transB", 1));
        if (activation == HeadOutput.Softmax) g.AddNode("Softmax", [gemmOut], PredictionName, OnnxGraphBuilder.Int("axis", 1));
        else if (activation == HeadOutput.Sigmoid) g.AddNode("Sigmoid", [gemmOut], PredictionName);
        object batch = dims[0].ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue ? dims[0].DimValue : dims[0].DimParam;
        g.AddOutput(PredictionName, batch, (long)k);

        OnnxModelFile.SetMetadata(model, extraMetadata);
        model.WriteTo(output);
        output.Flush();
    }
}

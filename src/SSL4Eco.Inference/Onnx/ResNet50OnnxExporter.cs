using SSL4Eco.Inference.Files;
using System.Reflection;
using Google.Protobuf;
using SSL4Eco.Inference.Checkpoints;
using SSL4Eco.Inference.Models;
using SSL4Eco.Inference.Onnx.Proto;

namespace SSL4Eco.Inference.Onnx;

/// <summary>
/// Writes a torchvision ResNet-50 encoder (conv1 … layer4, global average pool, flatten) as an ONNX model in pure
/// .NET: input <c>input</c> float32 <c>[batch, C, S, S]</c>, output <c>embedding</c> float32 <c>[batch, 2048]</c>.
/// Batch normalisation (eval mode) is folded into the preceding convolution in float64 and stored as float32:
/// <c>w' = w·γ/√(var+ε)</c>, <c>b' = β − mean·γ/√(var+ε)</c>. opset 17, IR version 8, initializers as little-endian raw data.
/// The model contract is stored in <c>metadata_props</c> (<see cref="ModelContract.ToMetadata"/>).
/// </summary>
/// <remarks>Stateless and thread-safe.</remarks>
public static class ResNet50OnnxExporter
{
    /// <summary>The opset version of the default domain.</summary>
    public const int OpsetVersion = 17;

    /// <summary>The ONNX IR version written.</summary>
    public const int IrVersion = 8;

    /// <summary>Name of the graph input.</summary>
    public const string InputName = "input";

    /// <summary>Name of the embedding output.</summary>
    public const string EmbeddingName = "embedding";

    /// <summary>Name of the symbolic batch dimension.</summary>
    public const string BatchDimension = "batch";

    /// <summary>The producer name written to the model.</summary>
    public const string ProducerName = "SSL4Eco.NET";

    /// <summary>The producer version written to the model (the library's informational version).</summary>
    public static string ProducerVersion { get; } =
        typeof(ResNet50OnnxExporter).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion?.Split('+')[0]
        ?? typeof(ResNet50OnnxExporter).Assembly.GetName().Version?.ToString() ?? "0";

    /// <summary>Writes the encoder as ONNX to <paramref name="output"/>.</summary>
    /// <param name="weights">The encoder weights (torchvision names).</param>
    /// <param name="contract">The input contract; its band count must equal <see cref="ResNet50Weights.InputChannels"/>.</param>
    /// <param name="output">A writable stream; it is not closed.</param>
    /// <param name="options">Optional settings.</param>
    /// <param name="cancellationToken">Checked between layers.</param>
    /// <exception cref="ArgumentException">The contract is invalid or does not fit the weights.</exception>
    public static void Write(ResNet50Weights weights, ModelContract contract, Stream output, OnnxExportOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (!output.CanWrite) throw new ArgumentException("The ONNX output stream is not writable.", nameof(output));
        var model = Build(weights, contract, options ?? new OnnxExportOptions(), cancellationToken);
        cancellationToken.ThrowIfCancellationRequested();
        model.WriteTo(output);
        output.Flush();
    }

    /// <summary>
    /// Writes the encoder as ONNX to a file: the model goes to a temporary file next to <paramref name="path"/>, which is
    /// renamed to <paramref name="path"/> (replacing it) only on success; on failure no file is left behind.
    /// </summary>
    /// <param name="weights">The encoder weights (torchvision names).</param>
    /// <param name="contract">The input contract; its band count must equal <see cref="ResNet50Weights.InputChannels"/>.</param>
    /// <param name="path">The target file; its folder must exist. An existing file is replaced only on success.</param>
    /// <param name="options">Optional settings.</param>
    /// <param name="cancellationToken">Checked between layers and before the rename.</param>
    /// <exception cref="ArgumentException">The contract is invalid or does not fit the weights.</exception>
    /// <exception cref="IOException">The file cannot be written (e.g. missing folder, no permission).</exception>
    public static void Write(ResNet50Weights weights, ModelContract contract, string path, OnnxExportOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var model = Build(weights, contract, options ?? new OnnxExportOptions(), cancellationToken);
        AtomicFile.Write(path, s => model.WriteTo(s), cancellationToken);
    }

    internal static ModelProto Build(ResNet50Weights weights, ModelContract contract, OnnxExportOptions options, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(contract);
        contract.Validate();
        if (contract.Channels != weights.InputChannels)
            throw new ArgumentException(
                $"The model contract lists {contract.Channels} bands ({string.Join(", ", contract.Bands)}) but the weights' conv1 takes {weights.InputChannels} input channels.",
                nameof(contract));
        if (contract.EmbeddingDim != ResNet50Weights.OutputDim)
            throw new ArgumentException($"The model contract's embedding dimension is {contract.EmbeddingDim}, but a ResNet-50 encoder outputs {ResNet50Weights.OutputDim}.", nameof(contract));
        if (!(options.BatchNormEpsilon > 0)) throw new ArgumentException($"Batch-norm epsilon must be positive, got {options.BatchNormEpsilon}.", nameof(options));

        var graph = new GraphProto { Name = "ssl4eco_resnet50_encoder" };
        var g = new OnnxGraphBuilder(graph);
        g.AddInput(InputName, BatchDimension, (long)weights.InputChannels, (long)contract.InputSize, (long)contract.InputSize);
        double eps = options.BatchNormEpsilon;

        string x = ConvBn(g, weights, InputName, "conv1", "bn1", 7, 2, 3, eps);
        x = g.AddNode("Relu", [x], "relu");
        x = g.AddNode("MaxPool", [x], "maxpool",
            OnnxGraphBuilder.Ints("kernel_shape", 3, 3), OnnxGraphBuilder.Ints("strides", 2, 2), OnnxGraphBuilder.Ints("pads", 1, 1, 1, 1));
        for (int stage = 0; stage < 4; stage++)
        {
            for (int b = 0; b < ResNet50Weights.BlocksPerStage[stage]; b++)
            {
                ct.ThrowIfCancellationRequested();
                string p = $"layer{stage + 1}.{b}";
                int stride = stage > 0 && b == 0 ? 2 : 1;
                string y = ConvBn(g, weights, x, $"{p}.conv1", $"{p}.bn1", 1, 1, 0, eps);
                y = g.AddNode("Relu", [y], $"{p}.relu1");
                y = ConvBn(g, weights, y, $"{p}.conv2", $"{p}.bn2", 3, stride, 1, eps);
                y = g.AddNode("Relu", [y], $"{p}.relu2");
                y = ConvBn(g, weights, y, $"{p}.conv3", $"{p}.bn3", 1, 1, 0, eps);
                string identity = b == 0 ? ConvBn(g, weights, x, $"{p}.downsample.0", $"{p}.downsample.1", 1, stride, 0, eps) : x;
                y = g.AddNode("Add", [y, identity], $"{p}.add");
                x = g.AddNode("Relu", [y], $"{p}.out");
            }
        }
        x = g.AddNode("GlobalAveragePool", [x], "avgpool");
        g.AddNode("Flatten", [x], EmbeddingName, OnnxGraphBuilder.Int("axis", 1));
        g.AddOutput(EmbeddingName, BatchDimension, (long)ResNet50Weights.OutputDim);

        var model = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = ProducerName,
            ProducerVersion = ProducerVersion,
            DocString = options.DocString ?? $"SSL4Eco ResNet-50 encoder '{contract.ModelId}' ({contract.Channels} bands: {string.Join(", ", contract.Bands)}; " +
                $"input {contract.InputSize}x{contract.InputSize}; embedding {ResNet50Weights.OutputDim}). Batch norm folded into the convolutions.",
            Graph = graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = OpsetVersion });
        var meta = new Dictionary<string, string>(contract.ToMetadata(), StringComparer.Ordinal);
        if (options.ExtraMetadata is not null)
        {
            foreach (var (k, v) in options.ExtraMetadata)
            {
                if (!meta.TryAdd(k, v))
                    throw new ArgumentException($"Extra metadata key '{k}' would override the model contract's entry.", nameof(options));
            }
        }
        foreach (var (k, v) in meta.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            model.MetadataProps.Add(new StringStringEntryProto { Key = k, Value = v });
        return model;
    }

    /// <summary>Adds Conv(x, w', b') with the batch norm folded in; returns the output name (<paramref name="conv"/>).</summary>
    private static string ConvBn(OnnxGraphBuilder g, ResNet50Weights w, string x, string conv, string bn, int k, int stride, int pad, double eps)
    {
        var (folded, bias) = FoldBatchNorm(w[conv + ".weight"], w[bn + ".weight"], w[bn + ".bias"], w[bn + ".running_mean"], w[bn + ".running_var"], eps);
        var shape = w[conv + ".weight"].Shape;
        string wName = g.AddInitializer(conv + ".weight", folded, shape[0], shape[1], shape[2], shape[3]);
        string bName = g.AddInitializer(conv + ".bias", bias, shape[0]);
        return g.AddNode("Conv", [x, wName, bName], conv,
            OnnxGraphBuilder.Ints("kernel_shape", k, k), OnnxGraphBuilder.Ints("strides", stride, stride),
            OnnxGraphBuilder.Ints("pads", pad, pad, pad, pad), OnnxGraphBuilder.Ints("dilations", 1, 1), OnnxGraphBuilder.Int("group", 1));
    }

    /// <summary>Folds eval-mode batch norm into a convolution weight [O, ...] in float64; returns float32 weight and bias.</summary>
    internal static (float[] Weight, float[] Bias) FoldBatchNorm(TensorData convWeight, TensorData gamma, TensorData beta,
        TensorData mean, TensorData var, double eps)
    {
        int outC = convWeight.Shape[0];
        int per = convWeight.Values.Length / outC;
        var wOut = new float[convWeight.Values.Length];
        var bOut = new float[outC];
        for (int o = 0; o < outC; o++)
        {
            double v = var.Values[o];
            if (!(v + eps > 0)) throw new ArgumentException($"Batch-norm running variance {v} (channel {o}) plus epsilon is not positive.");
            double s = gamma.Values[o] / Math.Sqrt(v + eps);
            for (int i = 0; i < per; i++) wOut[o * per + i] = (float)(convWeight.Values[o * per + i] * s);
            bOut[o] = (float)(beta.Values[o] - mean.Values[o] * s);
        }
        return (wOut, bOut);
    }
}

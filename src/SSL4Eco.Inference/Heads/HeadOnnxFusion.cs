using SSL4Eco.Inference.Files;
using SSL4Eco.Inference.Onnx;

namespace SSL4Eco.Inference.Heads;

/// <summary>
/// Appends a trained <see cref="LinearHead"/> to an encoder's ONNX graph, so one session returns both the
/// <c>embedding</c> and the head's <c>prediction</c> (probabilities for classification/distribution, sigmoid scores for
/// multi-label, de-standardised values for regression — the standardisation is folded into the weights).
/// </summary>
/// <remarks>Stateless; thread-safe.</remarks>
public static class HeadOnnxFusion
{
    /// <summary>Metadata key holding the head's task.</summary>
    public const string TaskKey = "ssl4eco.head.task";

    /// <summary>Metadata key holding the head's output names, comma-separated.</summary>
    public const string OutputsKey = "ssl4eco.head.outputs";

    /// <summary>Reads <paramref name="encoderOnnx"/>, appends the head and writes <paramref name="outputOnnx"/> (temp file, renamed on success).</summary>
    /// <exception cref="ArgumentException">The head's input size differs from the encoder's embedding size.</exception>
    public static void Append(string encoderOnnx, LinearHead head, string outputOnnx)
    {
        ArgumentNullException.ThrowIfNull(head);
        var info = OnnxModelFile.ReadMetadata(encoderOnnx);
        var embedding = info.Outputs.FirstOrDefault(o => o.Name == ResNet50OnnxExporter.EmbeddingName)
            ?? throw new ArgumentException($"'{encoderOnnx}' has no '{ResNet50OnnxExporter.EmbeddingName}' output.");
        if (embedding.Shape.Count != 2 || embedding.Shape[1] != head.InputDim)
            throw new ArgumentException($"The head takes {head.InputDim}-d embeddings but the encoder outputs {embedding.ShapeText}.");
        var (weight, bias) = FoldedParameters(head);
        var activation = head.Task switch
        {
            TaskType.Classification or TaskType.Distribution => HeadOutput.Softmax,
            TaskType.MultiLabel => HeadOutput.Sigmoid,
            _ => HeadOutput.None,
        };
        var metadata = new Dictionary<string, string>
        {
            [TaskKey] = head.Task.ToString(),
            [OutputsKey] = string.Join(',', head.OutputNames),
        };
        using var src = File.OpenRead(encoderOnnx);
        AtomicFile.Write(outputOnnx, dst => OnnxHeadAppender.Append(src, dst, weight, bias, activation, metadata));
    }

    /// <summary>The head's weight [k, D] and bias [k] with regression standardisation folded in (y = (Wx + b)·std + mean).</summary>
    internal static (float[] Weight, float[] Bias) FoldedParameters(LinearHead head)
    {
        var weight = head.Weight.ToArray();
        var bias = head.Bias.ToArray();
        if (head.Task == TaskType.Regression && head.TargetStd.Length == head.Outputs)
        {
            var std = head.TargetStd.Span;
            var mean = head.TargetMean.Span;
            for (int k = 0; k < head.Outputs; k++)
            {
                System.Numerics.Tensors.TensorPrimitives.Multiply(weight.AsSpan(k * head.InputDim, head.InputDim), std[k], weight.AsSpan(k * head.InputDim, head.InputDim));
                bias[k] = bias[k] * std[k] + mean[k];
            }
        }
        return (weight, bias);
    }
}

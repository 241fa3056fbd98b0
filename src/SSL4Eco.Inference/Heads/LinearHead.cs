using SSL4Eco.Inference.Numerics;
using SSL4Eco.Inference.Files;
using System.Numerics.Tensors;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace SSL4Eco.Inference.Heads;

/// <summary>
/// A trained linear head on embeddings: <c>z = W·x + b</c> with <c>W</c> [outputs, inputDim]. <see cref="Predict"/>
/// returns per-class probabilities (softmax) for classification and distributions, per-label probabilities (sigmoid)
/// for multi-label, and values de-standardised with the stored target mean/std for regression.
/// </summary>
/// <remarks>Immutable; thread-safe. Saved as JSON (format <c>ssl4eco-linear-head</c>, version 1).</remarks>
public sealed class LinearHead
{
    /// <summary>The format tag written into saved heads.</summary>
    public const string FormatName = "ssl4eco-linear-head";

    private readonly float[] _weight;
    private readonly float[] _bias;
    private readonly float[]? _targetMean;
    private readonly float[]? _targetStd;

    /// <summary>Creates a head, validating shapes.</summary>
    /// <param name="task">The task the head predicts.</param>
    /// <param name="inputDim">Embedding dimension D.</param>
    /// <param name="weight">Row-major [outputs, D] weights (copied).</param>
    /// <param name="bias">[outputs] biases (copied).</param>
    /// <param name="outputNames">Class/label/target names (defaults to "0", "1", …).</param>
    /// <param name="targetMean">Regression only: per-target mean used to de-standardise outputs.</param>
    /// <param name="targetStd">Regression only: per-target standard deviation (positive).</param>
    /// <exception cref="ArgumentException">A shape or value is inconsistent; the message names it.</exception>
    public LinearHead(TaskType task, int inputDim, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        IReadOnlyList<string>? outputNames = null, ReadOnlySpan<float> targetMean = default, ReadOnlySpan<float> targetStd = default)
    {
        if (!Enum.IsDefined(task)) throw new ArgumentOutOfRangeException(nameof(task), task, "Unknown task type.");
        if (inputDim <= 0) throw new ArgumentOutOfRangeException(nameof(inputDim), inputDim, "The input dimension must be positive.");
        int outputs = bias.Length;
        if (outputs == 0) throw new ArgumentException("A head needs at least one output (bias is empty).", nameof(bias));
        if (weight.Length != outputs * inputDim)
            throw new ArgumentException($"Weight has {weight.Length} values; expected [{outputs}, {inputDim}] = {outputs * inputDim}.", nameof(weight));
        if (task == TaskType.Classification && outputs < 2)
            throw new ArgumentException("A classification head needs at least two classes.", nameof(bias));
        if (HasNonFinite(weight) || HasNonFinite(bias))
            throw new ArgumentException("Weight or bias contains NaN or infinity.", nameof(weight));
        if (outputNames != null && outputNames.Count != outputs)
            throw new ArgumentException($"{outputNames.Count} output names given for {outputs} outputs.", nameof(outputNames));
        if (!targetMean.IsEmpty || !targetStd.IsEmpty)
        {
            if (task != TaskType.Regression) throw new ArgumentException("Target mean/std only apply to regression heads.", nameof(targetMean));
            if (targetMean.Length != outputs || targetStd.Length != outputs)
                throw new ArgumentException($"Target mean/std must both have {outputs} values.", nameof(targetMean));
            foreach (var s in targetStd)
                if (!(s > 0) || float.IsInfinity(s)) throw new ArgumentException($"Target std {s} is not a positive finite number.", nameof(targetStd));
            _targetMean = targetMean.ToArray(); _targetStd = targetStd.ToArray();
        }
        Task = task; InputDim = inputDim; Outputs = outputs;
        _weight = weight.ToArray(); _bias = bias.ToArray();
        OutputNames = (outputNames ?? Enumerable.Range(0, outputs).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))).ToArray();
    }

    /// <summary>The task the head predicts.</summary>
    public TaskType Task { get; }

    /// <summary>Embedding dimension D.</summary>
    public int InputDim { get; }

    /// <summary>Number of classes, labels or targets.</summary>
    public int Outputs { get; }

    /// <summary>Class, label or target names, one per output.</summary>
    public IReadOnlyList<string> OutputNames { get; }

    /// <summary>Row-major [Outputs, InputDim] weights.</summary>
    public ReadOnlyMemory<float> Weight => _weight;

    /// <summary>[Outputs] biases.</summary>
    public ReadOnlyMemory<float> Bias => _bias;

    /// <summary>Regression target means (empty when outputs are not standardised).</summary>
    public ReadOnlyMemory<float> TargetMean => _targetMean ?? [];

    /// <summary>Regression target standard deviations (empty when outputs are not standardised).</summary>
    public ReadOnlyMemory<float> TargetStd => _targetStd ?? [];

    /// <summary>Raw outputs z = W·x + b, [count, Outputs] row-major.</summary>
    /// <exception cref="ArgumentException">The embeddings are not [count, InputDim].</exception>
    public float[] Logits(ReadOnlySpan<float> embeddings, int count)
    {
        if (count < 0 || embeddings.Length != (long)count * InputDim)
            throw new ArgumentException($"Embeddings have {embeddings.Length} values; expected [{count}, {InputDim}].", nameof(embeddings));
        var z = new float[count * Outputs];
        DenseKernels.MultiplyTransposed(embeddings, count, _weight, Outputs, InputDim, z, _bias);
        return z;
    }

    /// <summary>
    /// Predictions, [count, Outputs] row-major: probabilities (classification, multi-label, distribution) or values
    /// (regression, in the original target units).
    /// </summary>
    /// <exception cref="ArgumentException">The embeddings are not [count, InputDim].</exception>
    public float[] Predict(ReadOnlySpan<float> embeddings, int count)
    {
        var z = Logits(embeddings, count);
        ApplyLink(z);
        return z;
    }

    /// <summary>Turns raw outputs into predictions in place (softmax, sigmoid or de-standardisation).</summary>
    internal void ApplyLink(Span<float> z)
    {
        for (int i = 0; i + Outputs <= z.Length; i += Outputs)
        {
            var row = z.Slice(i, Outputs);
            switch (Task)
            {
                case TaskType.Classification:
                case TaskType.Distribution:
                    TensorPrimitives.SoftMax(row, row);
                    break;
                case TaskType.MultiLabel:
                    TensorPrimitives.Sigmoid(row, row);
                    break;
                default:
                    if (_targetStd != null) TensorPrimitives.MultiplyAdd(row, _targetStd, _targetMean!, row);
                    break;
            }
        }
    }

    /// <summary>Writes the head as JSON to a temporary file renamed over <paramref name="path"/> on success.</summary>
    public void Save(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var dto = new HeadFile
        {
            Format = FormatName, Version = 1, Task = TaskName(Task), InputDim = InputDim, Outputs = Outputs,
            OutputNames = OutputNames.ToArray(), Weight = _weight, Bias = _bias, TargetMean = _targetMean, TargetStd = _targetStd,
        };
        AtomicFile.Write(path, stream => JsonSerializer.Serialize(stream, dto));
    }

    /// <summary>Reads a head written by <see cref="Save"/>.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a valid head; the message names the problem.</exception>
    public static LinearHead Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Head file '{path}' does not exist.", path);
        HeadFile? dto;
        try
        {
            using var stream = File.OpenRead(path);
            dto = JsonSerializer.Deserialize<HeadFile>(stream);
        }
        catch (JsonException e) { throw new InvalidDataException($"Head file '{path}' is not valid JSON: {e.Message}", e); }
        if (dto is null || dto.Format != FormatName)
            throw new InvalidDataException($"Head file '{path}' is not an {FormatName} file (format '{dto?.Format}').");
        if (dto.Version != 1) throw new InvalidDataException($"Head file '{path}' has unsupported version {dto.Version}.");
        var task = dto.Task switch
        {
            "classification" => TaskType.Classification, "multilabel" => TaskType.MultiLabel,
            "regression" => TaskType.Regression, "distribution" => TaskType.Distribution,
            _ => throw new InvalidDataException($"Head file '{path}' has unknown task '{dto.Task}'."),
        };
        if (dto.Weight is null || dto.Bias is null) throw new InvalidDataException($"Head file '{path}' lacks weight or bias.");
        if (dto.Bias.Length != dto.Outputs) throw new InvalidDataException($"Head file '{path}': bias has {dto.Bias.Length} values for {dto.Outputs} outputs.");
        try
        {
            return new LinearHead(task, dto.InputDim, dto.Weight, dto.Bias, dto.OutputNames, dto.TargetMean, dto.TargetStd);
        }
        catch (ArgumentException e) { throw new InvalidDataException($"Head file '{path}' is inconsistent: {e.Message}", e); }
    }

    internal static string TaskName(TaskType task) => task switch
    {
        TaskType.Classification => "classification", TaskType.MultiLabel => "multilabel",
        TaskType.Regression => "regression", _ => "distribution",
    };

    private static bool HasNonFinite(ReadOnlySpan<float> x)
    {
        foreach (var v in x) if (!float.IsFinite(v)) return true;
        return false;
    }

    private sealed class HeadFile
    {
        [JsonPropertyName("format")] public string? Format { get; set; }
        [JsonPropertyName("version")] public int Version { get; set; }
        [JsonPropertyName("task")] public string? Task { get; set; }
        [JsonPropertyName("input_dim")] public int InputDim { get; set; }
        [JsonPropertyName("outputs")] public int Outputs { get; set; }
        [JsonPropertyName("output_names")] public string[]? OutputNames { get; set; }
        [JsonPropertyName("weight")] public float[]? Weight { get; set; }
        [JsonPropertyName("bias")] public float[]? Bias { get; set; }
        [JsonPropertyName("target_mean"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public float[]? TargetMean { get; set; }
        [JsonPropertyName("target_std"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public float[]? TargetStd { get; set; }
    }
}

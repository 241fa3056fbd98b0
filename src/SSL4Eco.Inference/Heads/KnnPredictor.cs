using SSL4Eco.Inference.Similarity;

namespace SSL4Eco.Inference.Heads;

/// <summary>
/// Exact k-nearest-neighbour predictor on embeddings: cosine similarity, the top-k training rows weighted by
/// <c>softmax(similarity / temperature)</c> (temperature 0.07 by default). Classification and multi-label give
/// weighted votes as per-class/label probabilities; regression and distributions give the weighted mean of the
/// neighbours' targets. k is chosen per call.
/// </summary>
/// <remarks>Immutable after construction; predictions are thread-safe.</remarks>
public sealed class KnnPredictor
{
    /// <summary>The default softmax temperature.</summary>
    public const float DefaultTemperature = 0.07f;

    private readonly EmbeddingIndex _index;
    private readonly float[] _targets;

    /// <summary>Stores the training rows.</summary>
    /// <param name="task">The task.</param>
    /// <param name="embeddings">Row-major [N, dim] training embeddings.</param>
    /// <param name="dim">Embedding dimension.</param>
    /// <param name="targets">N class indices (classification) or row-major [N, outputs] targets.</param>
    /// <param name="outputs">Number of classes, labels or targets.</param>
    /// <param name="temperature">Softmax temperature (positive).</param>
    /// <exception cref="ArgumentException">Shapes or values are invalid; the message names the problem.</exception>
    public KnnPredictor(TaskType task, ReadOnlySpan<float> embeddings, int dim, ReadOnlySpan<float> targets, int outputs, float temperature = DefaultTemperature)
    {
        if (!Enum.IsDefined(task)) throw new ArgumentOutOfRangeException(nameof(task), task, "Unknown task type.");
        if (outputs <= 0) throw new ArgumentOutOfRangeException(nameof(outputs), outputs, "Need at least one output.");
        if (!(temperature > 0) || float.IsInfinity(temperature)) throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "The temperature must be positive and finite.");
        _index = new EmbeddingIndex(embeddings, dim);
        int perRow = task == TaskType.Classification ? 1 : outputs;
        if (targets.Length != (long)_index.Count * perRow)
            throw new ArgumentException($"Targets have {targets.Length} values; expected {_index.Count} rows × {perRow}.", nameof(targets));
        _targets = new float[_index.Count * outputs];
        for (int i = 0; i < _index.Count; i++)
        {
            if (task == TaskType.Classification)
            {
                float c = targets[i];
                if (c != MathF.Floor(c) || c < 0 || c >= outputs)
                    throw new ArgumentException($"Class index {c} at row {i} is not an integer in [0, {outputs}).", nameof(targets));
                _targets[i * outputs + (int)c] = 1;
            }
            else
            {
                for (int j = 0; j < outputs; j++)
                {
                    float v = targets[i * outputs + j];
                    if (!float.IsFinite(v)) throw new ArgumentException($"Target at row {i} is {v}.", nameof(targets));
                    _targets[i * outputs + j] = v;
                }
            }
        }
        Task = task; Outputs = outputs; Temperature = temperature;
    }

    /// <summary>The task.</summary>
    public TaskType Task { get; }

    /// <summary>Number of classes, labels or targets.</summary>
    public int Outputs { get; }

    /// <summary>Softmax temperature.</summary>
    public float Temperature { get; }

    /// <summary>Number of stored training rows.</summary>
    public int Count => _index.Count;

    /// <summary>Predictions for <paramref name="count"/> query rows, [count, Outputs] row-major.</summary>
    /// <exception cref="ArgumentException">Shapes or k are invalid, or a query holds NaN/∞.</exception>
    public float[] Predict(ReadOnlySpan<float> queries, int count, int k, CancellationToken cancellationToken = default)
    {
        var (indices, sims) = _index.TopK(queries, count, k, cancellationToken);
        int kk = Math.Min(k, _index.Count);
        var result = new float[count * Outputs];
        var w = new float[kk];
        for (int q = 0; q < count; q++)
        {
            var s = sims.AsSpan(q * kk, kk);
            float max = s[0];
            double total = 0;
            for (int j = 0; j < kk; j++) total += w[j] = MathF.Exp((s[j] - max) / Temperature);
            var row = result.AsSpan(q * Outputs, Outputs);
            for (int j = 0; j < kk; j++)
                System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(_targets.AsSpan(indices[q * kk + j] * Outputs, Outputs), (float)(w[j] / total), row, row);
        }
        return result;
    }
}

using SSL4Eco.Inference.Files;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace SSL4Eco.Inference.Evaluation;

/// <summary>Mean and population standard deviation (numpy <c>std</c>, ddof 0) of a metric over folds.</summary>
/// <param name="Mean">Mean over folds.</param>
/// <param name="Std">Standard deviation over folds.</param>
/// <remarks>Immutable; thread-safe.</remarks>
public sealed record MetricSummary(
    [property: JsonPropertyName("mean")] double Mean,
    [property: JsonPropertyName("std")] double Std);

/// <summary>The metrics of one fold.</summary>
/// <remarks>Immutable; thread-safe.</remarks>
public sealed record FoldResult
{
    /// <summary>0-based fold number.</summary>
    [JsonPropertyName("fold")] public int Fold { get; init; }

    /// <summary>Rows used to fit (including the early-stopping rows of a linear probe).</summary>
    [JsonPropertyName("train_count")] public int TrainCount { get; init; }

    /// <summary>Rows evaluated.</summary>
    [JsonPropertyName("test_count")] public int TestCount { get; init; }

    /// <summary>The fold's metrics.</summary>
    [JsonPropertyName("metrics")] public required MetricsReport Metrics { get; init; }
}

/// <summary>The evaluation of one embedding set.</summary>
/// <remarks>Immutable after construction; thread-safe for reading.</remarks>
public sealed record EmbeddingResult
{
    /// <summary>The embedding set's name (e.g. its file name).</summary>
    [JsonPropertyName("name")] public required string Name { get; init; }

    /// <summary>Embedding dimension.</summary>
    [JsonPropertyName("dim")] public int Dim { get; init; }

    /// <summary>Per-fold metrics.</summary>
    [JsonPropertyName("folds")] public required IReadOnlyList<FoldResult> Folds { get; init; }

    /// <summary>Mean ± std of each scalar metric over folds, by JSON metric key.</summary>
    [JsonPropertyName("summary")] public required IReadOnlyDictionary<string, MetricSummary> Summary { get; init; }

    /// <summary>Classification only: confusion matrix [true class][predicted class] summed over folds.</summary>
    [JsonPropertyName("confusion"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<IReadOnlyList<int>>? Confusion { get; init; }
}

/// <summary>
/// The result of <see cref="ProbeEvaluation"/>: settings and, per embedding set, per-fold metrics and their
/// mean ± std. Saved as JSON (snake_case) and as a Markdown table.
/// </summary>
/// <remarks>Immutable after construction; thread-safe for reading.</remarks>
public sealed record EvaluationReport
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>Task name (classification, multilabel, regression, distribution).</summary>
    [JsonPropertyName("task")] public required string Task { get; init; }

    /// <summary>Method name (linear, knn, ridge).</summary>
    [JsonPropertyName("method")] public required string Method { get; init; }

    /// <summary>Number of folds (1 for a given split).</summary>
    [JsonPropertyName("folds")] public int Folds { get; init; }

    /// <summary>Seed of folds and training.</summary>
    [JsonPropertyName("seed")] public int Seed { get; init; }

    /// <summary>Number of labelled samples.</summary>
    [JsonPropertyName("samples")] public int Samples { get; init; }

    /// <summary>Class, label or target names.</summary>
    [JsonPropertyName("output_names")] public required IReadOnlyList<string> OutputNames { get; init; }

    /// <summary>One result per embedding set, in the order given.</summary>
    [JsonPropertyName("results")] public required IReadOnlyList<EmbeddingResult> Results { get; init; }

    /// <summary>The report as indented JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Reads a report written by <see cref="SaveJson"/>.</summary>
    /// <exception cref="InvalidDataException">The file is not a report.</exception>
    public static EvaluationReport LoadJson(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<EvaluationReport>(File.ReadAllText(path), Json)
                ?? throw new InvalidDataException($"'{path}' holds no evaluation report.");
        }
        catch (JsonException e) { throw new InvalidDataException($"'{path}' is not an evaluation report: {e.Message}", e); }
    }

    /// <summary>Writes the JSON to a temporary file renamed over <paramref name="path"/>.</summary>
    public void SaveJson(string path) => _ = AtomicFile.WriteText(path, ToJson());

    /// <summary>Writes the Markdown to a temporary file renamed over <paramref name="path"/>.</summary>
    public void SaveMarkdown(string path) => _ = AtomicFile.WriteText(path, ToMarkdown());

    /// <summary>
    /// A Markdown summary: settings, then one table with a row per embedding set and a column per metric
    /// (<c>mean ± std</c>), then per-fold tables.
    /// </summary>
    public string ToMarkdown()
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append("# Probe evaluation\n\n");
        sb.Append(inv, $"Task **{Task}**, method **{Method}**, {Folds} fold(s), seed {Seed}, {Samples} samples, {OutputNames.Count} output(s).\n\n");
        var keys = Results.SelectMany(r => r.Summary.Keys).Distinct().ToList();
        sb.Append("| embeddings | dim | ").Append(string.Join(" | ", keys)).Append(" |\n");
        sb.Append("|---|---:|").Append(string.Concat(keys.Select(_ => "---:|"))).Append('\n');
        foreach (var r in Results)
        {
            sb.Append(inv, $"| {Escape(r.Name)} | {r.Dim} | ");
            sb.Append(string.Join(" | ", keys.Select(k => r.Summary.TryGetValue(k, out var s) ? string.Format(inv, "{0:F4} ± {1:F4}", s.Mean, s.Std) : "–")));
            sb.Append(" |\n");
        }
        foreach (var r in Results)
        {
            sb.Append(inv, $"\n## {Escape(r.Name)}: per fold\n\n");
            var fk = r.Folds.SelectMany(f => f.Metrics.Scalars().Select(p => p.Key)).Distinct().ToList();
            sb.Append("| fold | train | test | ").Append(string.Join(" | ", fk)).Append(" |\n");
            sb.Append("|---:|---:|---:|").Append(string.Concat(fk.Select(_ => "---:|"))).Append('\n');
            foreach (var f in r.Folds)
            {
                var m = f.Metrics.Scalars().ToDictionary(p => p.Key, p => p.Value);
                sb.Append(inv, $"| {f.Fold} | {f.TrainCount} | {f.TestCount} | ");
                sb.Append(string.Join(" | ", fk.Select(k => m.TryGetValue(k, out var v) ? v.ToString("F4", inv) : "–"))).Append(" |\n");
            }
        }
        return sb.ToString();
    }

    private static string Escape(string s) => s.Replace("|", "\\|", StringComparison.Ordinal);

}

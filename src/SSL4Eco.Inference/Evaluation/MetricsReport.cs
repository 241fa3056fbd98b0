using System.Text.Json.Serialization;

namespace SSL4Eco.Inference.Evaluation;

/// <summary>
/// The metrics of one evaluation. Serialises with snake_case keys (<c>accuracy</c>, <c>f1_macro</c>, <c>f1_micro</c>,
/// <c>f1_weighted</c>, <c>map_micro</c>, <c>map_macro</c>, <c>auroc_micro</c>, <c>auroc_macro</c>, <c>r2</c>,
/// <c>r2_mean</c>, <c>mae</c>, <c>rmse</c>, <c>jsd</c>); metrics that do not apply are <c>null</c> and omitted.
/// </summary>
/// <remarks>Immutable after initialisation; thread-safe for reading.</remarks>
public sealed record MetricsReport
{
    /// <summary>Accuracy (subset accuracy for multi-label).</summary>
    [JsonPropertyName("accuracy"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? Accuracy { get; init; }

    /// <summary>Macro-averaged F1.</summary>
    [JsonPropertyName("f1_macro"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? F1Macro { get; init; }

    /// <summary>Micro-averaged F1.</summary>
    [JsonPropertyName("f1_micro"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? F1Micro { get; init; }

    /// <summary>Support-weighted F1.</summary>
    [JsonPropertyName("f1_weighted"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? F1Weighted { get; init; }

    /// <summary>Micro-averaged average precision.</summary>
    [JsonPropertyName("map_micro"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? MapMicro { get; init; }

    /// <summary>Macro-averaged average precision.</summary>
    [JsonPropertyName("map_macro"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? MapMacro { get; init; }

    /// <summary>Micro-averaged ROC AUC.</summary>
    [JsonPropertyName("auroc_micro"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? AurocMicro { get; init; }

    /// <summary>Macro-averaged ROC AUC (null when a class column holds one class).</summary>
    [JsonPropertyName("auroc_macro"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? AurocMacro { get; init; }

    /// <summary>R² per regression target.</summary>
    [JsonPropertyName("r2"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<double>? R2 { get; init; }

    /// <summary>Mean R² over targets.</summary>
    [JsonPropertyName("r2_mean"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? R2Mean { get; init; }

    /// <summary>Mean absolute error.</summary>
    [JsonPropertyName("mae"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? Mae { get; init; }

    /// <summary>Root mean squared error (mean over targets of per-target RMSE).</summary>
    [JsonPropertyName("rmse"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? Rmse { get; init; }

    /// <summary>Mean Jensen–Shannon divergence (natural log).</summary>
    [JsonPropertyName("jsd"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? Jsd { get; init; }

    /// <summary>The scalar metrics present in this report, by their JSON key, in a fixed order (R² per target excluded).</summary>
    public IReadOnlyList<KeyValuePair<string, double>> Scalars()
    {
        var list = new List<KeyValuePair<string, double>>();
        void Add(string k, double? v) { if (v is double d) list.Add(new(k, d)); }
        Add("accuracy", Accuracy); Add("f1_macro", F1Macro); Add("f1_micro", F1Micro); Add("f1_weighted", F1Weighted);
        Add("map_micro", MapMicro); Add("map_macro", MapMacro); Add("auroc_micro", AurocMicro); Add("auroc_macro", AurocMacro);
        Add("r2_mean", R2Mean); Add("mae", Mae); Add("rmse", Rmse); Add("jsd", Jsd);
        return list;
    }
}

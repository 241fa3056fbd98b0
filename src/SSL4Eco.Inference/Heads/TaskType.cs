namespace SSL4Eco.Inference.Heads;

/// <summary>The kind of downstream task a head or a metric set serves.</summary>
/// <remarks>An immutable enumeration; thread-safe.</remarks>
public enum TaskType
{
    /// <summary>Single-label classification: one class index per sample, scores are per-class probabilities.</summary>
    Classification,

    /// <summary>Multi-label classification: a 0/1 indicator per label, scores are independent per-label probabilities.</summary>
    MultiLabel,

    /// <summary>Regression of one or more real-valued targets.</summary>
    Regression,

    /// <summary>Prediction of a discrete distribution (e.g. land-cover fractions); rows sum to one.</summary>
    Distribution,
}

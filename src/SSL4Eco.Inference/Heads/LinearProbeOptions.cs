namespace SSL4Eco.Inference.Heads;

/// <summary>
/// Settings of <see cref="LinearProbeTrainer"/>. Defaults follow <c>torch.optim.AdamW</c> (lr 1e-3, betas 0.9/0.999,
/// eps 1e-8, weight decay 0.01), batch 256, at most 1000 epochs, early stopping after 10 epochs without a lower
/// validation loss, 10 % of the training rows held out for validation, seed 42.
/// </summary>
/// <remarks>A mutable settings object, not thread-safe: configure it before training and do not change it while a trainer uses it.</remarks>
public sealed class LinearProbeOptions
{
    /// <summary>The task (selects the loss: softmax CE, BCE-with-logits, MSE on standardised targets, soft-label CE).</summary>
    public TaskType Task { get; set; } = TaskType.Classification;

    /// <summary>AdamW learning rate.</summary>
    public double LearningRate { get; set; } = 1e-3;

    /// <summary>AdamW first-moment decay.</summary>
    public double Beta1 { get; set; } = 0.9;

    /// <summary>AdamW second-moment decay.</summary>
    public double Beta2 { get; set; } = 0.999;

    /// <summary>AdamW denominator epsilon.</summary>
    public double Epsilon { get; set; } = 1e-8;

    /// <summary>Decoupled weight decay (applied to weights and bias, as torch's default parameter group).</summary>
    public double WeightDecay { get; set; } = 0.01;

    /// <summary>Mini-batch size.</summary>
    public int BatchSize { get; set; } = 256;

    /// <summary>Maximum number of epochs.</summary>
    public int MaxEpochs { get; set; } = 1000;

    /// <summary>Epochs without a lower validation loss before stopping (the best epoch's weights are returned).</summary>
    public int Patience { get; set; } = 10;

    /// <summary>Fraction of the training rows held out for validation when no validation set is given.</summary>
    public double ValidationFraction { get; set; } = 0.1;

    /// <summary>Seed of the split, initialisation and shuffling.</summary>
    public int Seed { get; set; } = 42;

    /// <summary>Classification only: per-class loss weights (as <c>CrossEntropyLoss(weight=…)</c>).</summary>
    public IReadOnlyList<float>? ClassWeights { get; set; }

    /// <summary>Multi-label only: per-label positive weights (as <c>BCEWithLogitsLoss(pos_weight=…)</c>).</summary>
    public IReadOnlyList<float>? PositiveWeights { get; set; }

    /// <summary>Test hook: initial [outputs, D] weights and [outputs] bias instead of the seeded uniform initialisation.</summary>
    internal (float[] Weight, float[] Bias)? InitialParameters { get; set; }

    /// <summary>Checks every setting against <paramref name="outputs"/> classes/labels/targets.</summary>
    /// <exception cref="ArgumentException">A setting is out of range; the message names it.</exception>
    public void Validate(int outputs)
    {
        if (!Enum.IsDefined(Task)) throw new ArgumentException($"Unknown task type {Task}.", nameof(Task));
        if (!(LearningRate > 0) || double.IsInfinity(LearningRate)) throw new ArgumentException($"LearningRate must be positive and finite, got {LearningRate}.", nameof(LearningRate));
        if (!(Beta1 >= 0 && Beta1 < 1)) throw new ArgumentException($"Beta1 must be in [0, 1), got {Beta1}.", nameof(Beta1));
        if (!(Beta2 >= 0 && Beta2 < 1)) throw new ArgumentException($"Beta2 must be in [0, 1), got {Beta2}.", nameof(Beta2));
        if (!(Epsilon > 0)) throw new ArgumentException($"Epsilon must be positive, got {Epsilon}.", nameof(Epsilon));
        if (!(WeightDecay >= 0)) throw new ArgumentException($"WeightDecay must be non-negative, got {WeightDecay}.", nameof(WeightDecay));
        if (BatchSize <= 0) throw new ArgumentException($"BatchSize must be positive, got {BatchSize}.", nameof(BatchSize));
        if (MaxEpochs <= 0) throw new ArgumentException($"MaxEpochs must be positive, got {MaxEpochs}.", nameof(MaxEpochs));
        if (Patience <= 0) throw new ArgumentException($"Patience must be positive, got {Patience}.", nameof(Patience));
        if (!(ValidationFraction > 0 && ValidationFraction < 1)) throw new ArgumentException($"ValidationFraction must be in (0, 1), got {ValidationFraction}.", nameof(ValidationFraction));
        if (ClassWeights != null)
        {
            if (Task != TaskType.Classification) throw new ArgumentException("ClassWeights apply only to classification.", nameof(ClassWeights));
            if (ClassWeights.Count != outputs) throw new ArgumentException($"ClassWeights has {ClassWeights.Count} values for {outputs} classes.", nameof(ClassWeights));
            if (ClassWeights.Any(w => !(w >= 0) || float.IsInfinity(w))) throw new ArgumentException("ClassWeights must be non-negative and finite.", nameof(ClassWeights));
        }
        if (PositiveWeights != null)
        {
            if (Task != TaskType.MultiLabel) throw new ArgumentException("PositiveWeights apply only to multi-label tasks.", nameof(PositiveWeights));
            if (PositiveWeights.Count != outputs) throw new ArgumentException($"PositiveWeights has {PositiveWeights.Count} values for {outputs} labels.", nameof(PositiveWeights));
            if (PositiveWeights.Any(w => !(w >= 0) || float.IsInfinity(w))) throw new ArgumentException("PositiveWeights must be non-negative and finite.", nameof(PositiveWeights));
        }
    }
}

/// <summary>Progress of one training epoch.</summary>
/// <param name="Epoch">1-based epoch number.</param>
/// <param name="TrainLoss">Mean training loss over the epoch's batches.</param>
/// <param name="ValidationLoss">Validation loss after the epoch.</param>
/// <param name="BestEpoch">The epoch with the lowest validation loss so far.</param>
/// <remarks>Immutable; thread-safe.</remarks>
public sealed record ProbeEpoch(int Epoch, double TrainLoss, double ValidationLoss, int BestEpoch);

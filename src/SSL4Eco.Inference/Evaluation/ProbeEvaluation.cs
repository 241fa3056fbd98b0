using SSL4Eco.Inference.Arrays;
using SSL4Eco.Inference.Heads;

namespace SSL4Eco.Inference.Evaluation;

/// <summary>How a probe evaluation fits a predictor on each fold's training rows.</summary>
/// <remarks>An immutable enumeration; thread-safe.</remarks>
public enum ProbeMethod
{
    /// <summary>A linear layer trained with <see cref="LinearProbeTrainer"/> (early stopping on 10 % of the fold's training rows).</summary>
    Linear,

    /// <summary>Exact cosine kNN with softmax-weighted votes (<see cref="KnnPredictor"/>).</summary>
    Knn,

    /// <summary>Closed-form ridge regression (<see cref="RidgeRegression"/>); regression tasks only.</summary>
    Ridge,
}

/// <summary>A named embedding table [Count, Dim].</summary>
/// <remarks>Immutable; thread-safe.</remarks>
public sealed class EmbeddingSet
{
    private readonly float[] _data;

    /// <summary>Creates a set, checking the shape and that every value is finite.</summary>
    /// <param name="name">The set's name in reports.</param>
    /// <param name="data">Row-major [N, dim] embeddings (copied).</param>
    /// <param name="dim">Embedding dimension.</param>
    /// <param name="ids">Optional unique sample ids, one per row; with label ids, rows are matched by id.</param>
    /// <exception cref="ArgumentException">The data is empty, not rows of <paramref name="dim"/>, holds NaN/∞, or ids are wrong.</exception>
    public EmbeddingSet(string name, ReadOnlySpan<float> data, int dim, IReadOnlyList<string>? ids = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (dim <= 0) throw new ArgumentOutOfRangeException(nameof(dim), dim, "The embedding dimension must be positive.");
        if (data.Length == 0) throw new ArgumentException($"Embedding set '{name}' is empty.", nameof(data));
        if (data.Length % dim != 0) throw new ArgumentException($"Embedding set '{name}' ({data.Length} values) is not rows of {dim}.", nameof(data));
        for (int i = 0; i < data.Length; i++)
            if (!float.IsFinite(data[i])) throw new ArgumentException($"Embedding set '{name}' holds {data[i]} at row {i / dim}, column {i % dim}.", nameof(data));
        Name = name; Dim = dim; Count = data.Length / dim; _data = data.ToArray();
        if (ids != null)
        {
            if (ids.Count != Count) throw new ArgumentException($"Embedding set '{name}' has {ids.Count} ids for {Count} rows.", nameof(ids));
            if (ids.Distinct(StringComparer.Ordinal).Count() != Count) throw new ArgumentException($"Embedding set '{name}' has duplicate ids.", nameof(ids));
            Ids = ids.ToArray();
        }
    }

    /// <summary>Sample ids, one per row, or null.</summary>
    public IReadOnlyList<string>? Ids { get; }

    /// <summary>
    /// This set's rows in the order of <paramref name="ids"/> (when both this set and the labels have ids), else
    /// this set unchanged.
    /// </summary>
    /// <exception cref="ArgumentException">A label id has no embedding row.</exception>
    public EmbeddingSet AlignTo(IReadOnlyList<string>? ids)
    {
        if (ids is null || Ids is null) return this;
        var row = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < Ids.Count; i++) row[Ids[i]] = i;
        var data = new float[ids.Count * Dim];
        for (int i = 0; i < ids.Count; i++)
        {
            if (!row.TryGetValue(ids[i], out int r)) throw new ArgumentException($"Label id '{ids[i]}' has no row in embedding set '{Name}'.");
            _data.AsSpan(r * Dim, Dim).CopyTo(data.AsSpan(i * Dim, Dim));
        }
        return new EmbeddingSet(Name, data, Dim, ids);
    }

    /// <summary>The given rows of this set, in that order (ids kept when the set has them).</summary>
    internal EmbeddingSet Rows(IReadOnlyList<int> rows)
    {
        var data = new float[rows.Count * Dim];
        for (int i = 0; i < rows.Count; i++) _data.AsSpan(rows[i] * Dim, Dim).CopyTo(data.AsSpan(i * Dim, Dim));
        return new EmbeddingSet(Name, data, Dim, Ids is null ? null : rows.Select(r => Ids[r]).ToArray());
    }

    /// <summary>The set's name in reports.</summary>
    public string Name { get; }

    /// <summary>Number of rows.</summary>
    public int Count { get; }

    /// <summary>Embedding dimension.</summary>
    public int Dim { get; }

    /// <summary>Row-major [Count, Dim] values.</summary>
    public ReadOnlyMemory<float> Data => _data;

    /// <summary>Reads a [N, D] <c>.npy</c> file; the name defaults to the file name without extension.</summary>
    /// <param name="path">The .npy file.</param>
    /// <param name="name">Name in reports.</param>
    /// <param name="ids">Optional sample ids, one per row.</param>
    /// <exception cref="InvalidDataException">The array is not 2-D, is empty, or holds NaN/∞.</exception>
    public static EmbeddingSet FromNpy(string path, string? name = null, IReadOnlyList<string>? ids = null)
    {
        var (data, shape) = NpyFile.ReadSingle(path);
        if (shape.Length != 2) throw new InvalidDataException($"Embeddings in '{path}' must be [N, D], got [{string.Join(", ", shape)}].");
        try { return new EmbeddingSet(name ?? Path.GetFileNameWithoutExtension(path), data, shape[1], ids); }
        catch (ArgumentException e) { throw new InvalidDataException($"Embeddings in '{path}': {e.Message}", e); }
    }
}

/// <summary>Settings of <see cref="ProbeEvaluation"/>.</summary>
/// <remarks>A mutable settings object, not thread-safe: configure it before a run and do not change it during one.</remarks>
public sealed class ProbeEvaluationOptions
{
    /// <summary>How predictors are fitted.</summary>
    public ProbeMethod Method { get; set; } = ProbeMethod.Linear;

    /// <summary>Number of folds (stratified for classification); ignored when <see cref="Split"/> is given.</summary>
    public int Folds { get; set; } = 5;

    /// <summary>Seed of the folds and of training.</summary>
    public int Seed { get; set; } = 42;

    /// <summary>Neighbours for <see cref="ProbeMethod.Knn"/>.</summary>
    public int KnnK { get; set; } = 20;

    /// <summary>Softmax temperature for <see cref="ProbeMethod.Knn"/>.</summary>
    public float KnnTemperature { get; set; } = KnnPredictor.DefaultTemperature;

    /// <summary>Regularisation for <see cref="ProbeMethod.Ridge"/>.</summary>
    public double RidgeAlpha { get; set; } = 1.0;

    /// <summary>Linear probe settings (its task and seed are set from the evaluation).</summary>
    public LinearProbeOptions Probe { get; set; } = new();

    /// <summary>
    /// A given split instead of folds: one entry per sample, <c>train</c>, <c>val</c> or <c>test</c> (val rows
    /// early-stop the linear probe; without any, 10 % of train is held out).
    /// </summary>
    public IReadOnlyList<string>? Split { get; set; }

    /// <summary>
    /// Evaluate only the ids that the labels and every embedding set share, instead of refusing labels without an embedding or
    /// embedding rows without a label (see <see cref="LabelMatcher"/>). Default false.
    /// </summary>
    public bool AllowMissingLabels { get; set; }

    internal ProbeEvaluationOptions MemberwiseCloneOptions() => (ProbeEvaluationOptions)MemberwiseClone();
}

/// <summary>
/// Cross-validated probe evaluation of one or more embedding sets on the same labels: K folds (stratified for
/// classification) or a given split, a linear/kNN/ridge predictor per fold, <see cref="Metrics"/> per fold and mean ±
/// std over folds, in one <see cref="EvaluationReport"/>.
/// </summary>
/// <remarks>Static and thread-safe.</remarks>
public static class ProbeEvaluation
{
    /// <summary>Runs the evaluation.</summary>
    /// <param name="embeddings">
    /// One or more embedding sets, matched to the labels by <see cref="LabelMatcher"/>: by id when both the set and the labels
    /// have ids (a partial overlap is refused unless <see cref="ProbeEvaluationOptions.AllowMissingLabels"/>), otherwise by
    /// row order with equal counts.
    /// </param>
    /// <param name="labels">The labels.</param>
    /// <param name="options">Settings (defaults when null).</param>
    /// <param name="progress">Receives a line per fold.</param>
    /// <param name="cancellationToken">Cancels between folds and training batches.</param>
    /// <exception cref="ArgumentException">
    /// Ids do not match, row counts differ, a classification has a single class, an evaluation fold holds a class its training rows
    /// lack, the method does not fit the task, or settings are out of range.
    /// </exception>
    public static EvaluationReport Run(IReadOnlyList<EmbeddingSet> embeddings, LabelSet labels, ProbeEvaluationOptions? options = null,
        IProgress<string>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(embeddings);
        ArgumentNullException.ThrowIfNull(labels);
        options ??= new ProbeEvaluationOptions();
        if (embeddings.Count == 0) throw new ArgumentException("Give at least one embedding set.", nameof(embeddings));
        if (options.Split is { } given && given.Count != labels.Count)
            throw new ArgumentException($"The split has {given.Count} entries for {labels.Count} label rows.", nameof(options));
        var match = LabelMatcher.Match(embeddings, labels, options.AllowMissingLabels);
        (embeddings, labels) = (match.Embeddings, match.Labels);
        if (options.Split is { } split && match.LabelsWithoutEmbedding > 0)
        {
            // The split names the original label rows: keep the entries of the rows kept.
            var copy = options.MemberwiseCloneOptions();
            copy.Split = match.LabelRows.Select(i => split[i]).ToArray();
            options = copy;
        }
        if (options.Method == ProbeMethod.Ridge && labels.Task != TaskType.Regression)
            throw new ArgumentException($"Ridge evaluation supports regression only, not {labels.Task}; use linear or knn.", nameof(options));
        if (options.Method == ProbeMethod.Knn && options.KnnK <= 0)
            throw new ArgumentException($"KnnK must be positive, got {options.KnnK}.", nameof(options));
        if (labels.Task == TaskType.Classification)
        {
            var present = new HashSet<float>();
            foreach (var v in labels.Values.Span) present.Add(v);
            if (present.Count < 2) throw new ArgumentException($"The labels hold a single class ('{labels.OutputNames[(int)labels.Values.Span[0]]}'); classification needs two or more.", nameof(labels));
        }
        var folds = MakeFolds(labels, options);
        var results = new List<EmbeddingResult>();
        foreach (var set in embeddings)
        {
            var foldResults = new List<FoldResult>();
            int[,]? confusion = labels.Task == TaskType.Classification ? new int[labels.Outputs, labels.Outputs] : null;
            for (int f = 0; f < folds.Count; f++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var (train, val, test) = folds[f];
                var trainAll = val.Length > 0 ? train.Concat(val).ToArray() : train;
                CheckClassesSeen(labels, trainAll, test, f);
                var scores = FitPredict(set, labels, options, train, val, test, cancellationToken);
                var truth = Gather(labels.Values.Span, test, labels.ValuesPerRow);
                var metrics = Metrics.Compute(labels.Task, truth, scores, labels.Outputs);
                if (confusion != null)
                {
                    var pred = Metrics.ArgMax(Array.ConvertAll(scores, v => (double)v), labels.Outputs);
                    for (int i = 0; i < test.Length; i++) confusion[(int)truth[i], pred[i]]++;
                }
                foldResults.Add(new FoldResult { Fold = f, TrainCount = trainAll.Length, TestCount = test.Length, Metrics = metrics });
                progress?.Report($"{set.Name}: fold {f + 1}/{folds.Count} done");
            }
            results.Add(new EmbeddingResult
            {
                Name = set.Name, Dim = set.Dim, Folds = foldResults, Summary = Summarise(foldResults),
                Confusion = confusion is null ? null : Enumerable.Range(0, labels.Outputs)
                    .Select(i => (IReadOnlyList<int>)Enumerable.Range(0, labels.Outputs).Select(j => confusion[i, j]).ToArray()).ToArray(),
            });
        }
        return new EvaluationReport
        {
            Task = LinearHead.TaskName(labels.Task), Method = options.Method.ToString().ToLowerInvariant(),
            Folds = folds.Count, Seed = options.Seed, Samples = labels.Count, OutputNames = labels.OutputNames, Results = results,
        };
    }

    private static float[] FitPredict(EmbeddingSet set, LabelSet labels, ProbeEvaluationOptions o, int[] train, int[] val, int[] test, CancellationToken ct)
    {
        int d = set.Dim, per = labels.ValuesPerRow, k = labels.Outputs;
        var x = set.Data.Span; var y = labels.Values.Span;
        var xTest = Gather(x, test, d);
        switch (o.Method)
        {
            case ProbeMethod.Knn:
            {
                var all = val.Length > 0 ? train.Concat(val).ToArray() : train;
                return new KnnPredictor(labels.Task, Gather(x, all, d), d, Gather(y, all, per), k, o.KnnTemperature).Predict(xTest, test.Length, o.KnnK, ct);
            }
            case ProbeMethod.Ridge:
            {
                var all = val.Length > 0 ? train.Concat(val).ToArray() : train;
                return RidgeRegression.Fit(Gather(x, all, d), d, Gather(y, all, per), k, o.RidgeAlpha, labels.OutputNames, ct).Predict(xTest, test.Length);
            }
            default:
            {
                var p = o.Probe;
                var probe = new LinearProbeOptions
                {
                    Task = labels.Task, LearningRate = p.LearningRate, Beta1 = p.Beta1, Beta2 = p.Beta2, Epsilon = p.Epsilon,
                    WeightDecay = p.WeightDecay, BatchSize = p.BatchSize, MaxEpochs = p.MaxEpochs, Patience = p.Patience,
                    ValidationFraction = p.ValidationFraction, Seed = o.Seed, ClassWeights = p.ClassWeights, PositiveWeights = p.PositiveWeights,
                };
                var trainer = new LinearProbeTrainer(probe);
                var head = val.Length > 0
                    ? trainer.Fit(Gather(x, train, d), Gather(y, train, per), Gather(x, val, d), Gather(y, val, per), d, k, labels.OutputNames, cancellationToken: ct)
                    : trainer.Fit(Gather(x, train, d), d, Gather(y, train, per), k, labels.OutputNames, cancellationToken: ct);
                return head.Predict(xTest, test.Length);
            }
        }
    }

    /// <summary>Folds as (train, val, test) row sets. K-fold: val is empty (the trainer holds out its own 10 %).</summary>
    internal static List<(int[] Train, int[] Val, int[] Test)> MakeFolds(LabelSet labels, ProbeEvaluationOptions o)
    {
        int n = labels.Count;
        if (o.Split != null)
        {
            if (o.Split.Count != n) throw new ArgumentException($"The split has {o.Split.Count} entries for {n} samples.", nameof(o));
            var groups = new Dictionary<string, List<int>> { ["train"] = [], ["val"] = [], ["test"] = [] };
            for (int i = 0; i < n; i++)
            {
                var s = (o.Split[i] ?? "").Trim().ToLowerInvariant();
                if (s == "validation") s = "val";
                if (!groups.TryGetValue(s, out var list)) throw new ArgumentException($"Split entry {i} is '{o.Split[i]}'; expected train, val or test.", nameof(o));
                list.Add(i);
            }
            if (groups["train"].Count == 0 || groups["test"].Count == 0) throw new ArgumentException("The split needs train and test rows.", nameof(o));
            return [(groups["train"].ToArray(), groups["val"].ToArray(), groups["test"].ToArray())];
        }
        if (o.Folds < 2) throw new ArgumentException($"Folds must be at least 2, got {o.Folds}.", nameof(o));
        if (o.Folds > n) throw new ArgumentException($"{o.Folds} folds need at least {o.Folds} samples, got {n}.", nameof(o));
        var fold = new int[n];
        var rng = new Random(o.Seed);
        if (labels.Task == TaskType.Classification)
        {
            // Stratified: each class's rows shuffled, then dealt round-robin, continuing where the previous class stopped.
            var y = labels.Values.Span;
            int next = 0;
            for (int c = 0; c < labels.Outputs; c++)
            {
                var rows = new List<int>();
                for (int i = 0; i < n; i++) if ((int)y[i] == c) rows.Add(i);
                var arr = rows.ToArray();
                rng.Shuffle(arr);
                foreach (var r in arr) { fold[r] = next; next = (next + 1) % o.Folds; }
            }
        }
        else
        {
            var order = Enumerable.Range(0, n).ToArray();
            rng.Shuffle(order);
            for (int i = 0; i < n; i++) fold[order[i]] = i % o.Folds;
        }
        var result = new List<(int[], int[], int[])>();
        for (int f = 0; f < o.Folds; f++)
            result.Add((Enumerable.Range(0, n).Where(i => fold[i] != f).ToArray(), [], Enumerable.Range(0, n).Where(i => fold[i] == f).ToArray()));
        return result;
    }

    private static void CheckClassesSeen(LabelSet labels, int[] train, int[] test, int fold)
    {
        if (labels.Task != TaskType.Classification) return;
        var y = labels.Values.Span;
        var seen = new HashSet<int>();
        foreach (var i in train) seen.Add((int)y[i]);
        if (seen.Count < 2) throw new ArgumentException($"The training rows of fold {fold} hold a single class; use fewer folds or more data.");
        foreach (var i in test)
            if (!seen.Contains((int)y[i]))
                throw new ArgumentException($"Class '{labels.OutputNames[(int)y[i]]}' appears in the evaluation rows of fold {fold} but not in its training rows; use fewer folds or drop rare classes.");
    }

    private static IReadOnlyDictionary<string, MetricSummary> Summarise(List<FoldResult> folds)
    {
        var result = new Dictionary<string, MetricSummary>();
        var keys = folds.SelectMany(f => f.Metrics.Scalars().Select(p => p.Key)).Distinct();
        foreach (var key in keys)
        {
            var values = folds.Select(f => f.Metrics.Scalars().FirstOrDefault(p => p.Key == key)).Where(p => p.Key != null).Select(p => p.Value).ToArray();
            double mean = values.Average();
            double std = Math.Sqrt(values.Select(v => (v - mean) * (v - mean)).Average());
            result[key] = new MetricSummary(mean, std);
        }
        return result;
    }

    private static float[] Gather(ReadOnlySpan<float> data, int[] rows, int width)
    {
        var result = new float[rows.Length * width];
        for (int i = 0; i < rows.Length; i++) data.Slice(rows[i] * width, width).CopyTo(result.AsSpan(i * width, width));
        return result;
    }
}

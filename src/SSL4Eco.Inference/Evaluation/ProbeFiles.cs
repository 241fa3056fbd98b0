using SSL4Eco.Inference.Heads;

namespace SSL4Eco.Inference.Evaluation;

/// <summary>
/// The files of a probe evaluation: labels (<c>.csv</c> with an id column, or <c>.npy</c> in embedding row order) and an
/// official split (one of <c>train</c>/<c>val</c>/<c>test</c> per label row), and the head trained on all rows.
/// </summary>
/// <remarks>Stateless and thread-safe.</remarks>
public static class ProbeFiles
{
    /// <summary>Reads a label file: <see cref="LabelSet.FromCsv"/> for <c>.csv</c> (ids from <paramref name="idColumn"/>), else <see cref="LabelSet.FromNpy"/>.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file does not fit the task (see the readers).</exception>
    public static LabelSet ReadLabels(string path, TaskType task, string idColumn = "id")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"label file '{path}' does not exist; check the path.", path);
        return Path.GetExtension(path).Equals(".csv", StringComparison.OrdinalIgnoreCase)
            ? LabelSet.FromCsv(path, task, idColumn)
            : LabelSet.FromNpy(path, task);
    }

    /// <summary>
    /// Reads a split file: one split name per non-empty line, or, when the first line is a CSV header naming a
    /// <c>split</c> column, the last column of each following line. Names are checked by <see cref="ProbeEvaluation.Run"/>.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file holds no rows.</exception>
    public static IReadOnlyList<string> ReadSplit(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"split file '{path}' does not exist; check the path.", path);
        var lines = File.ReadAllLines(path).Where(l => !string.IsNullOrWhiteSpace(l)).ToList();
        var split = lines.Count > 0 && lines[0].Contains(',') && lines[0].Contains("split", StringComparison.OrdinalIgnoreCase)
            ? lines.Skip(1).Select(l => l.Split(',')[^1].Trim()).ToList()
            : lines.Select(l => l.Trim()).ToList();
        if (split.Count == 0) throw new InvalidDataException($"split file '{path}' holds no rows; write one of train/val/test per label row.");
        return split;
    }

    /// <summary>
    /// The head of the evaluation's method trained on every matched row of the first embedding set: closed-form ridge for
    /// <see cref="ProbeMethod.Ridge"/>, else a linear probe (<see cref="LinearProbeTrainer"/> with
    /// <see cref="ProbeEvaluationOptions.Probe"/>; k-NN has no weights to save, so it too gets the linear probe).
    /// </summary>
    /// <param name="match">Embeddings matched to labels (<see cref="LabelMatcher.Match"/>).</param>
    /// <param name="options">The evaluation's settings.</param>
    /// <param name="cancellationToken">Cancels training.</param>
    /// <exception cref="ArgumentException">The match holds no embedding set, or the data do not fit the method.</exception>
    public static LinearHead FitHead(LabelMatch match, ProbeEvaluationOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(match);
        ArgumentNullException.ThrowIfNull(options);
        if (match.Embeddings.Count == 0) throw new ArgumentException("The match holds no embedding set; give at least one to train a head on.", nameof(match));
        var first = match.Embeddings[0];
        var labels = match.Labels;
        return options.Method == ProbeMethod.Ridge
            ? RidgeRegression.Fit(first.Data.Span, first.Dim, labels.Values.Span, labels.Outputs, options.RidgeAlpha, labels.OutputNames, cancellationToken)
            : new LinearProbeTrainer(options.Probe).Fit(first.Data.Span, first.Dim, labels.Values.Span, labels.Outputs, labels.OutputNames, cancellationToken: cancellationToken);
    }
}

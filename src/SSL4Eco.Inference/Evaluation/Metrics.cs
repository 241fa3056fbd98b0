using SSL4Eco.Inference.Heads;

namespace SSL4Eco.Inference.Evaluation;

/// <summary>How per-label F1 scores are combined.</summary>
/// <remarks>An immutable enumeration; thread-safe.</remarks>
public enum F1Average
{
    /// <summary>Unweighted mean of the per-label scores.</summary>
    Macro,

    /// <summary>Scores from true positives, false positives and false negatives pooled over labels.</summary>
    Micro,

    /// <summary>Mean of the per-label scores weighted by each label's true support.</summary>
    Weighted,
}

/// <summary>
/// Evaluation metrics with exactly scikit-learn 1.2's definitions (checked against sklearn in the tests).
/// Single-label labels are class indices; multi-label truths are row-major <c>[N, L]</c> 0/1 indicator matrices;
/// regression and distribution arrays are row-major <c>[N, T]</c>.
/// </summary>
/// <remarks>
/// Static and thread-safe. Conventions: F1 uses <c>zero_division=0</c> and, for single-label data, the labels present
/// in either the truth or the prediction (sklearn's <c>unique_labels</c>). Average precision is sklearn's step-wise
/// <c>average_precision_score</c> (ties form one threshold); a label column with no positives scores 0, as sklearn 1.2
/// returns (with a warning). ROC AUC is sklearn's <c>roc_auc_score</c>; it is undefined for a column holding one class,
/// where sklearn raises and <see cref="RocAuc"/> throws <see cref="ArgumentException"/> (reports carry <c>null</c>).
/// For single-label classification, average precision and AUROC are computed one-vs-rest on the one-hot truth
/// (sklearn <c>multi_class='ovr'</c>; macro = unweighted mean over classes, micro = on the flattened matrix).
/// </remarks>
public static class Metrics
{
    /// <summary>Probability threshold at or above which a multi-label score predicts the label.</summary>
    public const double MultiLabelThreshold = 0.5;

    /// <summary>Fraction of samples whose predicted label equals the true label (sklearn <c>accuracy_score</c>).</summary>
    /// <exception cref="ArgumentException">The spans differ in length or are empty.</exception>
    public static double Accuracy(ReadOnlySpan<int> yTrue, ReadOnlySpan<int> yPred)
    {
        CheckPair(yTrue.Length, yPred.Length, nameof(yPred));
        int hit = 0;
        for (int i = 0; i < yTrue.Length; i++) if (yTrue[i] == yPred[i]) hit++;
        return (double)hit / yTrue.Length;
    }

    /// <summary>Single-label F1 (sklearn <c>f1_score</c>, labels = union of truth and prediction, zero_division 0).</summary>
    /// <exception cref="ArgumentException">The spans differ in length or are empty.</exception>
    public static double F1(ReadOnlySpan<int> yTrue, ReadOnlySpan<int> yPred, F1Average average)
    {
        CheckPair(yTrue.Length, yPred.Length, nameof(yPred));
        var labels = new SortedSet<int>();
        foreach (var v in yTrue) labels.Add(v);
        foreach (var v in yPred) labels.Add(v);
        var index = new Dictionary<int, int>();
        foreach (var l in labels) index[l] = index.Count;
        int k = index.Count;
        var tp = new double[k]; var fp = new double[k]; var fn = new double[k];
        for (int i = 0; i < yTrue.Length; i++)
        {
            int t = index[yTrue[i]], p = index[yPred[i]];
            if (t == p) tp[t]++;
            else { fp[p]++; fn[t]++; }
        }
        return CombineF1(tp, fp, fn, average);
    }

    /// <summary>
    /// Multi-label F1 (sklearn <c>f1_score</c> on indicator matrices, zero_division 0) with predictions
    /// <c>score &gt;= 0.5</c>. <paramref name="average"/> may be macro, micro or weighted.
    /// </summary>
    /// <param name="yTrue">Row-major [N, labels] 0/1 truth.</param>
    /// <param name="scores">Row-major [N, labels] probabilities.</param>
    /// <param name="labels">Number of label columns.</param>
    /// <param name="average">How per-label scores are combined.</param>
    /// <exception cref="ArgumentException">Shapes disagree or the truth is not 0/1.</exception>
    public static double MultiLabelF1(ReadOnlySpan<double> yTrue, ReadOnlySpan<double> scores, int labels, F1Average average)
    {
        int n = CheckMatrix(yTrue.Length, scores.Length, labels);
        CheckBinary(yTrue);
        var tp = new double[labels]; var fp = new double[labels]; var fn = new double[labels];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < labels; j++)
            {
                bool t = yTrue[i * labels + j] == 1, p = scores[i * labels + j] >= MultiLabelThreshold;
                if (t && p) tp[j]++;
                else if (p) fp[j]++;
                else if (t) fn[j]++;
            }
        return CombineF1(tp, fp, fn, average);
    }

    /// <summary>
    /// Average precision (sklearn <c>average_precision_score</c>) of a [N, labels] indicator matrix: macro = mean of
    /// per-column scores, micro = score of the flattened matrix. A column without positives scores 0 (as sklearn 1.2).
    /// </summary>
    /// <exception cref="ArgumentException">Shapes disagree, the truth is not 0/1 or a score is NaN.</exception>
    public static double AveragePrecision(ReadOnlySpan<double> yTrue, ReadOnlySpan<double> scores, int labels, bool micro)
    {
        int n = CheckMatrix(yTrue.Length, scores.Length, labels);
        CheckBinary(yTrue);
        CheckFinite(scores, nameof(scores));
        if (micro || labels == 1) return BinaryAveragePrecision(yTrue, scores);
        double sum = 0;
        var t = new double[n]; var s = new double[n];
        for (int j = 0; j < labels; j++)
        {
            Column(yTrue, labels, j, t); Column(scores, labels, j, s);
            sum += BinaryAveragePrecision(t, s);
        }
        return sum / labels;
    }

    /// <summary>
    /// Area under the ROC curve (sklearn <c>roc_auc_score</c>) of a [N, labels] indicator matrix: macro = mean of
    /// per-column scores, micro = score of the flattened matrix.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// Shapes disagree, the truth is not 0/1, a score is NaN, or a scored column (or the flattened matrix) holds only
    /// one class, where ROC AUC is undefined (sklearn raises too).
    /// </exception>
    public static double RocAuc(ReadOnlySpan<double> yTrue, ReadOnlySpan<double> scores, int labels, bool micro)
    {
        int n = CheckMatrix(yTrue.Length, scores.Length, labels);
        CheckBinary(yTrue);
        CheckFinite(scores, nameof(scores));
        if (micro || labels == 1) return BinaryRocAuc(yTrue, scores, micro ? "the flattened label matrix" : "label column 0");
        double sum = 0;
        var t = new double[n]; var s = new double[n];
        for (int j = 0; j < labels; j++)
        {
            Column(yTrue, labels, j, t); Column(scores, labels, j, s);
            sum += BinaryRocAuc(t, s, $"label column {j}");
        }
        return sum / labels;
    }

    /// <summary>
    /// Coefficient of determination per target (sklearn 1.2 <c>r2_score(multioutput='raw_values')</c>, force_finite):
    /// a constant target scores 1 when predicted exactly, otherwise 0.
    /// </summary>
    /// <exception cref="ArgumentException">Shapes disagree or are empty.</exception>
    public static double[] R2(ReadOnlySpan<double> yTrue, ReadOnlySpan<double> yPred, int targets)
    {
        int n = CheckMatrix(yTrue.Length, yPred.Length, targets);
        var result = new double[targets];
        for (int j = 0; j < targets; j++)
        {
            double mean = 0;
            for (int i = 0; i < n; i++) mean += yTrue[i * targets + j];
            mean /= n;
            double num = 0, den = 0;
            for (int i = 0; i < n; i++)
            {
                double t = yTrue[i * targets + j], d = t - yPred[i * targets + j], c = t - mean;
                num += d * d; den += c * c;
            }
            result[j] = num == 0 ? 1.0 : den == 0 ? 0.0 : 1 - num / den;
        }
        return result;
    }

    /// <summary>Mean absolute error averaged uniformly over targets (sklearn <c>mean_absolute_error</c>).</summary>
    /// <exception cref="ArgumentException">Shapes disagree or are empty.</exception>
    public static double MeanAbsoluteError(ReadOnlySpan<double> yTrue, ReadOnlySpan<double> yPred, int targets)
    {
        CheckMatrix(yTrue.Length, yPred.Length, targets);
        double sum = 0;
        for (int i = 0; i < yTrue.Length; i++) sum += Math.Abs(yTrue[i] - yPred[i]);
        return sum / yTrue.Length;
    }

    /// <summary>
    /// Root mean squared error as sklearn 1.2 <c>mean_squared_error(squared=False)</c>: the square root per target,
    /// then the uniform mean over targets.
    /// </summary>
    /// <exception cref="ArgumentException">Shapes disagree or are empty.</exception>
    public static double RootMeanSquaredError(ReadOnlySpan<double> yTrue, ReadOnlySpan<double> yPred, int targets)
    {
        int n = CheckMatrix(yTrue.Length, yPred.Length, targets);
        double total = 0;
        for (int j = 0; j < targets; j++)
        {
            double sum = 0;
            for (int i = 0; i < n; i++) { double d = yTrue[i * targets + j] - yPred[i * targets + j]; sum += d * d; }
            total += Math.Sqrt(sum / n);
        }
        return total / targets;
    }

    /// <summary>
    /// Mean over rows of the Jensen–Shannon divergence (natural log) between row distributions, i.e.
    /// <c>scipy.spatial.distance.jensenshannon(p, q) ** 2</c>; each row is first normalised to sum 1 as scipy does.
    /// </summary>
    /// <exception cref="ArgumentException">Shapes disagree, a value is negative or NaN, or a row sums to zero.</exception>
    public static double JensenShannonDivergence(ReadOnlySpan<double> p, ReadOnlySpan<double> q, int classes)
    {
        int n = CheckMatrix(p.Length, q.Length, classes);
        double total = 0;
        for (int i = 0; i < n; i++)
        {
            var pr = p.Slice(i * classes, classes); var qr = q.Slice(i * classes, classes);
            double ps = RowSum(pr, i, "truth"), qs = RowSum(qr, i, "prediction"), js = 0;
            for (int j = 0; j < classes; j++)
            {
                double a = pr[j] / ps, b = qr[j] / qs, m = 0.5 * (a + b);
                if (a > 0) js += a * Math.Log(a / m);
                if (b > 0) js += b * Math.Log(b / m);
            }
            total += js / 2;
        }
        return total / n;
    }

    /// <summary>Index of the largest score in each row (first on ties, as numpy <c>argmax</c>).</summary>
    /// <exception cref="ArgumentException">The length is not a multiple of <paramref name="classes"/>.</exception>
    public static int[] ArgMax(ReadOnlySpan<double> scores, int classes)
    {
        if (classes <= 0 || scores.Length % classes != 0)
            throw new ArgumentException($"Scores of length {scores.Length} are not rows of {classes} classes.", nameof(scores));
        var result = new int[scores.Length / classes];
        for (int i = 0; i < result.Length; i++)
        {
            var row = scores.Slice(i * classes, classes);
            int best = 0;
            for (int j = 1; j < classes; j++) if (row[j] > row[best]) best = j;
            result[i] = best;
        }
        return result;
    }

    /// <summary>Single-precision overload of <see cref="Compute(TaskType, ReadOnlySpan{double}, ReadOnlySpan{double}, int)"/>.</summary>
    public static MetricsReport Compute(TaskType task, ReadOnlySpan<float> yTrue, ReadOnlySpan<float> yScore, int outputs)
    {
        var t = new double[yTrue.Length]; var s = new double[yScore.Length];
        for (int i = 0; i < t.Length; i++) t[i] = yTrue[i];
        for (int i = 0; i < s.Length; i++) s[i] = yScore[i];
        return Compute(task, t, s, outputs);
    }

    /// <summary>Refuses NaN/∞ (a metric of them is meaningless and a report holding them cannot be written as JSON).</summary>
    private static void RequireFinite(ReadOnlySpan<double> values, string what, int perRow)
    {
        for (int i = 0; i < values.Length; i++)
            if (!double.IsFinite(values[i]))
                throw new ArgumentException(FormattableString.Invariant(
                    $"The {what} hold {values[i]} at row {i / perRow}, column {i % perRow}; metrics need finite values."));
    }

    /// <summary>
    /// Computes the metric set of a task. Classification: <paramref name="yTrue"/> holds N class indices and
    /// <paramref name="yScore"/> [N, outputs] probabilities (argmax → label): accuracy, F1 macro/micro/weighted,
    /// one-vs-rest mAP and AUROC. Multi-label: [N, outputs] 0/1 truth and probabilities: subset accuracy, F1
    /// macro/micro at 0.5, mAP and AUROC. Regression: [N, outputs] values: R² per target and mean, MAE, RMSE.
    /// Distribution: [N, outputs] rows: JSD, MAE, RMSE. Metrics that do not apply are <c>null</c>, as is an AUROC that
    /// is undefined because a column holds one class.
    /// </summary>
    /// <exception cref="ArgumentException">Shapes disagree, a class index is out of range, or values are invalid or not finite.</exception>
    public static MetricsReport Compute(TaskType task, ReadOnlySpan<double> yTrue, ReadOnlySpan<double> yScore, int outputs)
    {
        if (outputs <= 0) throw new ArgumentOutOfRangeException(nameof(outputs), outputs, "Need at least one output column.");
        RequireFinite(yTrue, "truth (y_true)", task == TaskType.Classification ? 1 : outputs);
        RequireFinite(yScore, "scores (y_score)", outputs);
        switch (task)
        {
            case TaskType.Classification:
            {
                if (yScore.Length != yTrue.Length * outputs)
                    throw new ArgumentException($"Classification scores must be [N={yTrue.Length}, {outputs}], got {yScore.Length} values.", nameof(yScore));
                if (yTrue.Length == 0) throw new ArgumentException("No samples to evaluate.", nameof(yTrue));
                var truth = new int[yTrue.Length];
                var onehot = new double[yScore.Length];
                for (int i = 0; i < truth.Length; i++)
                {
                    double v = yTrue[i];
                    if (v != Math.Floor(v) || v < 0 || v >= outputs)
                        throw new ArgumentException($"Class index {v} at row {i} is not an integer in [0, {outputs}).", nameof(yTrue));
                    truth[i] = (int)v;
                    onehot[i * outputs + truth[i]] = 1;
                }
                var pred = ArgMax(yScore, outputs);
                return new MetricsReport
                {
                    Accuracy = Accuracy(truth, pred),
                    F1Macro = F1(truth, pred, F1Average.Macro),
                    F1Micro = F1(truth, pred, F1Average.Micro),
                    F1Weighted = F1(truth, pred, F1Average.Weighted),
                    MapMicro = AveragePrecision(onehot, yScore, outputs, micro: true),
                    MapMacro = AveragePrecision(onehot, yScore, outputs, micro: false),
                    AurocMicro = TryRocAuc(onehot, yScore, outputs, true),
                    AurocMacro = TryRocAuc(onehot, yScore, outputs, false),
                };
            }
            case TaskType.MultiLabel:
            {
                int n = CheckMatrix(yTrue.Length, yScore.Length, outputs);
                CheckBinary(yTrue);
                int exact = 0;
                for (int i = 0; i < n; i++)
                {
                    bool same = true;
                    for (int j = 0; j < outputs && same; j++)
                        same = (yTrue[i * outputs + j] == 1) == (yScore[i * outputs + j] >= MultiLabelThreshold);
                    if (same) exact++;
                }
                return new MetricsReport
                {
                    Accuracy = (double)exact / n,
                    F1Macro = MultiLabelF1(yTrue, yScore, outputs, F1Average.Macro),
                    F1Micro = MultiLabelF1(yTrue, yScore, outputs, F1Average.Micro),
                    F1Weighted = MultiLabelF1(yTrue, yScore, outputs, F1Average.Weighted),
                    MapMicro = AveragePrecision(yTrue, yScore, outputs, micro: true),
                    MapMacro = AveragePrecision(yTrue, yScore, outputs, micro: false),
                    AurocMicro = TryRocAuc(yTrue, yScore, outputs, true),
                    AurocMacro = TryRocAuc(yTrue, yScore, outputs, false),
                };
            }
            case TaskType.Regression:
            {
                var r2 = R2(yTrue, yScore, outputs);
                return new MetricsReport
                {
                    R2 = r2, R2Mean = r2.Average(),
                    Mae = MeanAbsoluteError(yTrue, yScore, outputs),
                    Rmse = RootMeanSquaredError(yTrue, yScore, outputs),
                };
            }
            case TaskType.Distribution:
                return new MetricsReport
                {
                    Jsd = JensenShannonDivergence(yTrue, yScore, outputs),
                    Mae = MeanAbsoluteError(yTrue, yScore, outputs),
                    Rmse = RootMeanSquaredError(yTrue, yScore, outputs),
                };
            default:
                throw new ArgumentOutOfRangeException(nameof(task), task, "Unknown task type.");
        }
    }

    private static double? TryRocAuc(ReadOnlySpan<double> yTrue, ReadOnlySpan<double> scores, int labels, bool micro)
    {
        try { return RocAuc(yTrue, scores, labels, micro); }
        catch (ArgumentException) { return null; }
    }

    private static double CombineF1(double[] tp, double[] fp, double[] fn, F1Average average)
    {
        static double F(double tp, double fp, double fn) => tp == 0 ? 0 : 2 * tp / (2 * tp + fp + fn);
        int k = tp.Length;
        switch (average)
        {
            case F1Average.Micro:
                return F(tp.Sum(), fp.Sum(), fn.Sum());
            case F1Average.Macro:
            {
                double s = 0;
                for (int j = 0; j < k; j++) s += F(tp[j], fp[j], fn[j]);
                return k == 0 ? 0 : s / k;
            }
            case F1Average.Weighted:
            {
                double s = 0, w = 0;
                for (int j = 0; j < k; j++) { double support = tp[j] + fn[j]; s += support * F(tp[j], fp[j], fn[j]); w += support; }
                return w == 0 ? 0 : s / w;
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(average), average, "Unknown F1 average.");
        }
    }

    /// <summary>Descending distinct-threshold cumulative (true positives, false positives), as sklearn's _binary_clf_curve.</summary>
    private static (double[] Tps, double[] Fps) BinaryCurve(ReadOnlySpan<double> y, ReadOnlySpan<double> s)
    {
        int n = y.Length;
        var keys = s.ToArray();
        var idx = new int[n];
        for (int i = 0; i < n; i++) idx[i] = i;
        Array.Sort(keys, idx);
        var tps = new List<double>(); var fps = new List<double>();
        double tp = 0, fp = 0;
        for (int i = n - 1; i >= 0; i--)
        {
            double v = y[idx[i]];
            tp += v; fp += 1 - v;
            if (i == 0 || keys[i - 1] != keys[i]) { tps.Add(tp); fps.Add(fp); }
        }
        return (tps.ToArray(), fps.ToArray());
    }

    private static double BinaryAveragePrecision(ReadOnlySpan<double> y, ReadOnlySpan<double> s)
    {
        var (tps, fps) = BinaryCurve(y, s);
        double positives = tps[^1];
        if (positives == 0) return 0;
        double ap = 0, previous = 0;
        for (int k = 0; k < tps.Length; k++)
        {
            ap += (tps[k] - previous) / positives * (tps[k] / (tps[k] + fps[k]));
            previous = tps[k];
        }
        return ap;
    }

    private static double BinaryRocAuc(ReadOnlySpan<double> y, ReadOnlySpan<double> s, string what)
    {
        var (tps, fps) = BinaryCurve(y, s);
        double p = tps[^1], q = fps[^1];
        if (p == 0 || q == 0)
            throw new ArgumentException($"ROC AUC is undefined for {what}: only one class is present in the truth.");
        double area = 0, x0 = 0, y0 = 0;
        for (int k = 0; k < tps.Length; k++)
        {
            double x1 = fps[k] / q, y1 = tps[k] / p;
            area += (x1 - x0) * (y1 + y0) / 2;
            x0 = x1; y0 = y1;
        }
        return area;
    }

    private static void Column(ReadOnlySpan<double> matrix, int columns, int j, double[] into)
    {
        for (int i = 0; i < into.Length; i++) into[i] = matrix[i * columns + j];
    }

    private static double RowSum(ReadOnlySpan<double> row, int i, string what)
    {
        double s = 0;
        foreach (var v in row)
        {
            if (!(v >= 0)) throw new ArgumentException($"The {what} distribution at row {i} holds a negative or NaN value ({v}).");
            s += v;
        }
        if (s == 0) throw new ArgumentException($"The {what} distribution at row {i} sums to zero.");
        return s;
    }

    private static void CheckPair(int a, int b, string name)
    {
        if (a != b) throw new ArgumentException($"Truth has {a} samples but {name} has {b}.", name);
        if (a == 0) throw new ArgumentException("No samples to evaluate.", name);
    }

    private static int CheckMatrix(int truth, int other, int columns)
    {
        if (columns <= 0) throw new ArgumentOutOfRangeException(nameof(columns), columns, "Need at least one column.");
        if (truth != other) throw new ArgumentException($"Truth has {truth} values but the prediction has {other}.");
        if (truth == 0) throw new ArgumentException("No samples to evaluate.");
        if (truth % columns != 0) throw new ArgumentException($"{truth} values are not rows of {columns} columns.");
        return truth / columns;
    }

    private static void CheckBinary(ReadOnlySpan<double> y)
    {
        for (int i = 0; i < y.Length; i++)
            if (y[i] != 0 && y[i] != 1) throw new ArgumentException($"Label indicator {y[i]} at flat index {i} is not 0 or 1.");
    }

    private static void CheckFinite(ReadOnlySpan<double> s, string name)
    {
        for (int i = 0; i < s.Length; i++)
            if (double.IsNaN(s[i])) throw new ArgumentException($"Score at flat index {i} is NaN.", name);
    }
}

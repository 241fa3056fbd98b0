using SSL4Eco.Inference.Numerics;
namespace SSL4Eco.Inference.Heads;

/// <summary>
/// Trains a <see cref="LinearHead"/> (one linear layer) on frozen embeddings with mini-batch AdamW and early stopping
/// on the validation loss. Embeddings are row-major [N, D]; targets are N class indices (classification) or row-major
/// [N, outputs] 0/1 indicators, values or distributions. Regression targets are standardised with the training rows'
/// mean and (population) standard deviation; the head de-standardises its outputs.
/// </summary>
/// <remarks>
/// Thread-safe as long as its options are not changed during training: each <c>Fit</c> call owns its state.
/// Products are blocked and parallel over the machine's cores.
/// </remarks>
public sealed class LinearProbeTrainer
{
    private const int EvalChunk = 1024;

    /// <summary>Creates a trainer with the given options (defaults when null).</summary>
    public LinearProbeTrainer(LinearProbeOptions? options = null) => Options = options ?? new LinearProbeOptions();

    /// <summary>The training settings.</summary>
    public LinearProbeOptions Options { get; }

    /// <summary>Trains on the rows, holding out <see cref="LinearProbeOptions.ValidationFraction"/> of them (seeded) for early stopping.</summary>
    /// <param name="embeddings">Row-major [N, dim] embeddings.</param>
    /// <param name="dim">Embedding dimension D.</param>
    /// <param name="targets">N class indices, or row-major [N, outputs] targets.</param>
    /// <param name="outputs">Number of classes, labels or targets.</param>
    /// <param name="outputNames">Optional names, one per output.</param>
    /// <param name="progress">Receives one report per epoch.</param>
    /// <param name="cancellationToken">Cancels between batches.</param>
    /// <exception cref="ArgumentException">Options, shapes or values are invalid; the message names the problem.</exception>
    public LinearHead Fit(ReadOnlySpan<float> embeddings, int dim, ReadOnlySpan<float> targets, int outputs,
        IReadOnlyList<string>? outputNames = null, IProgress<ProbeEpoch>? progress = null, CancellationToken cancellationToken = default)
    {
        int n = CheckData(embeddings, dim, targets, outputs, "training");
        if (n < 2) throw new ArgumentException($"Need at least two rows to split off a validation set, got {n}.", nameof(embeddings));
        var order = Enumerable.Range(0, n).ToArray();
        new Random(Options.Seed).Shuffle(order);
        int nVal = Math.Clamp((int)Math.Round(n * Options.ValidationFraction), 1, n - 1);
        var val = order[..nVal];
        var train = order[nVal..];
        return Train(embeddings, targets, train, embeddings, targets, val, dim, outputs, outputNames, progress, cancellationToken);
    }

    /// <summary>Trains on the training rows and early-stops on the given validation rows.</summary>
    /// <exception cref="ArgumentException">Options, shapes or values are invalid; the message names the problem.</exception>
    public LinearHead Fit(ReadOnlySpan<float> trainEmbeddings, ReadOnlySpan<float> trainTargets,
        ReadOnlySpan<float> validationEmbeddings, ReadOnlySpan<float> validationTargets, int dim, int outputs,
        IReadOnlyList<string>? outputNames = null, IProgress<ProbeEpoch>? progress = null, CancellationToken cancellationToken = default)
    {
        int n = CheckData(trainEmbeddings, dim, trainTargets, outputs, "training");
        int nv = CheckData(validationEmbeddings, dim, validationTargets, outputs, "validation");
        return Train(trainEmbeddings, trainTargets, Enumerable.Range(0, n).ToArray(), validationEmbeddings, validationTargets,
            Enumerable.Range(0, nv).ToArray(), dim, outputs, outputNames, progress, cancellationToken);
    }

    private int CheckData(ReadOnlySpan<float> x, int dim, ReadOnlySpan<float> y, int outputs, string what)
    {
        if (dim <= 0) throw new ArgumentOutOfRangeException(nameof(dim), dim, "The embedding dimension must be positive.");
        if (outputs <= 0) throw new ArgumentOutOfRangeException(nameof(outputs), outputs, "Need at least one output.");
        Options.Validate(outputs);
        if (x.Length == 0) throw new ArgumentException($"The {what} embeddings are empty.");
        if (x.Length % dim != 0) throw new ArgumentException($"The {what} embeddings ({x.Length} values) are not rows of {dim}.");
        int n = x.Length / dim;
        int perRow = Options.Task == TaskType.Classification ? 1 : outputs;
        if (y.Length != (long)n * perRow)
            throw new ArgumentException($"The {what} targets have {y.Length} values; expected {n} rows × {perRow}.");
        for (int i = 0; i < x.Length; i++)
            if (!float.IsFinite(x[i])) throw new ArgumentException($"The {what} embedding at row {i / dim}, column {i % dim} is {x[i]}.");
        for (int i = 0; i < y.Length; i++)
        {
            float v = y[i];
            bool ok = Options.Task switch
            {
                TaskType.Classification => v == MathF.Floor(v) && v >= 0 && v < outputs,
                TaskType.MultiLabel => v == 0 || v == 1,
                TaskType.Distribution => v >= 0 && float.IsFinite(v),
                _ => float.IsFinite(v),
            };
            if (!ok) throw new ArgumentException($"The {what} target at row {i / perRow} is {v}, invalid for {Options.Task} with {outputs} outputs.");
        }
        if (Options.Task == TaskType.Classification && outputs < 2) throw new ArgumentException("Classification needs at least two classes.");
        return n;
    }

    private LinearHead Train(ReadOnlySpan<float> x, ReadOnlySpan<float> y, int[] trainRows, ReadOnlySpan<float> xv, ReadOnlySpan<float> yv,
        int[] valRows, int dim, int k, IReadOnlyList<string>? names, IProgress<ProbeEpoch>? progress, CancellationToken ct)
    {
        var o = Options;
        var task = o.Task;
        int perRow = task == TaskType.Classification ? 1 : k;
        float[]? mean = null, std = null;
        if (task == TaskType.Regression) (mean, std) = TargetMoments(y, trainRows, k);

        var rng = new Random(o.Seed);
        var w = new float[k * dim];
        var b = new float[k];
        float bound = 1f / MathF.Sqrt(dim);
        for (int i = 0; i < w.Length; i++) w[i] = (float)(rng.NextDouble() * 2 - 1) * bound;
        for (int i = 0; i < b.Length; i++) b[i] = (float)(rng.NextDouble() * 2 - 1) * bound;
        if (o.InitialParameters is { } init) { init.Weight.CopyTo(w, 0); init.Bias.CopyTo(b, 0); }
        var mw = new float[w.Length]; var vw = new float[w.Length]; var gw = new float[w.Length];
        var mb = new float[k]; var vb = new float[k]; var gb = new float[k];
        var bestW = (float[])w.Clone(); var bestB = (float[])b.Clone();
        float[]? classW = o.ClassWeights?.ToArray(), posW = o.PositiveWeights?.ToArray();

        int bs = Math.Min(o.BatchSize, trainRows.Length);
        var xb = new float[Math.Max(bs, EvalChunk) * dim];
        var yb = new float[Math.Max(bs, EvalChunk) * perRow];
        var z = new float[Math.Max(bs, EvalChunk) * k];
        double best = double.PositiveInfinity;
        int bestEpoch = 0, step = 0;
        var order = (int[])trainRows.Clone();

        for (int epoch = 1; epoch <= o.MaxEpochs; epoch++)
        {
            rng.Shuffle(order);
            double trainLoss = 0; int batches = 0;
            for (int start = 0; start < order.Length; start += bs)
            {
                ct.ThrowIfCancellationRequested();
                int m = Math.Min(bs, order.Length - start);
                Gather(x, y, order.AsSpan(start, m), dim, perRow, xb, yb, mean, std);
                DenseKernels.MultiplyTransposed(xb, m, w, k, dim, z, b);
                var (num, den) = Loss(task, z.AsSpan(0, m * k), m, k, yb, classW, posW, gradient: true);
                trainLoss += den > 0 ? num / den : 0; batches++;
                if (den <= 0) continue;
                float scale = (float)(1 / den);
                var dz = z.AsSpan(0, m * k);
                System.Numerics.Tensors.TensorPrimitives.Multiply(dz, scale, dz);
                DenseKernels.TransposeMultiply(dz, m, k, xb, dim, gw);
                Array.Clear(gb);
                for (int i = 0; i < m; i++)
                    for (int c = 0; c < k; c++) gb[c] += dz[i * k + c];
                step++;
                AdamW(w, gw, mw, vw, step); AdamW(b, gb, mb, vb, step);
            }

            double valNum = 0, valDen = 0;
            for (int start = 0; start < valRows.Length; start += EvalChunk)
            {
                ct.ThrowIfCancellationRequested();
                int m = Math.Min(EvalChunk, valRows.Length - start);
                Gather(xv, yv, valRows.AsSpan(start, m), dim, perRow, xb, yb, mean, std);
                DenseKernels.MultiplyTransposed(xb, m, w, k, dim, z, b);
                var (num, den) = Loss(task, z.AsSpan(0, m * k), m, k, yb, classW, posW, gradient: false);
                valNum += num; valDen += den;
            }
            double valLoss = valDen > 0 ? valNum / valDen : 0;
            if (valLoss < best)
            {
                best = valLoss; bestEpoch = epoch;
                Array.Copy(w, bestW, w.Length); Array.Copy(b, bestB, b.Length);
            }
            progress?.Report(new ProbeEpoch(epoch, trainLoss / Math.Max(1, batches), valLoss, bestEpoch));
            if (epoch - bestEpoch >= o.Patience) break;
        }
        return new LinearHead(task, dim, bestW, bestB, names, mean, std);
    }

    private void AdamW(float[] p, float[] g, float[] m, float[] v, int t)
    {
        var o = Options;
        float lr = (float)o.LearningRate, b1 = (float)o.Beta1, b2 = (float)o.Beta2, eps = (float)o.Epsilon;
        float decay = (float)(1 - o.LearningRate * o.WeightDecay);
        float c1 = (float)(1 - Math.Pow(o.Beta1, t)), c2 = (float)Math.Sqrt(1 - Math.Pow(o.Beta2, t));
        float stepSize = lr / c1;
        for (int i = 0; i < p.Length; i++)
        {
            p[i] *= decay;
            m[i] = b1 * m[i] + (1 - b1) * g[i];
            v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
            p[i] -= stepSize * m[i] / (MathF.Sqrt(v[i]) / c2 + eps);
        }
    }

    private static (float[] Mean, float[] Std) TargetMoments(ReadOnlySpan<float> y, int[] rows, int k)
    {
        var sum = new double[k]; var sq = new double[k];
        foreach (var r in rows)
            for (int j = 0; j < k; j++) sum[j] += y[r * k + j];
        var mean = new float[k]; var std = new float[k];
        for (int j = 0; j < k; j++) mean[j] = (float)(sum[j] / rows.Length);
        foreach (var r in rows)
            for (int j = 0; j < k; j++) { double d = y[r * k + j] - mean[j]; sq[j] += d * d; }
        for (int j = 0; j < k; j++)
        {
            float s = (float)Math.Sqrt(sq[j] / rows.Length);
            std[j] = s > 1e-12f && float.IsFinite(s) ? s : 1f;
        }
        return (mean, std);
    }

    private static void Gather(ReadOnlySpan<float> x, ReadOnlySpan<float> y, ReadOnlySpan<int> rows, int dim, int perRow,
        float[] xb, float[] yb, float[]? mean, float[]? std)
    {
        for (int i = 0; i < rows.Length; i++)
        {
            int r = rows[i];
            x.Slice(r * dim, dim).CopyTo(xb.AsSpan(i * dim, dim));
            y.Slice(r * perRow, perRow).CopyTo(yb.AsSpan(i * perRow, perRow));
            if (mean != null)
                for (int j = 0; j < perRow; j++) yb[i * perRow + j] = (yb[i * perRow + j] - mean[j]) / std![j];
        }
    }

    /// <summary>
    /// Loss numerator and denominator of a batch (the loss is num/den, as torch's mean reductions); with
    /// <paramref name="gradient"/>, z is overwritten with d(num)/dz.
    /// </summary>
    internal static (double Num, double Den) Loss(TaskType task, Span<float> z, int m, int k, ReadOnlySpan<float> y,
        float[]? classWeights, float[]? posWeights, bool gradient)
    {
        double num = 0, den = 0;
        for (int i = 0; i < m; i++)
        {
            var row = z.Slice(i * k, k);
            switch (task)
            {
                case TaskType.Classification:
                {
                    int c = (int)y[i];
                    float wc = classWeights?[c] ?? 1f;
                    double lse = LogSumExp(row);
                    num += wc * (lse - row[c]); den += wc;
                    if (gradient)
                    {
                        for (int j = 0; j < k; j++) row[j] = wc * (float)Math.Exp(row[j] - lse);
                        row[c] -= wc;
                    }
                    break;
                }
                case TaskType.Distribution:
                {
                    var q = y.Slice(i * k, k);
                    double lse = LogSumExp(row), qs = 0;
                    for (int j = 0; j < k; j++) { num += q[j] * (lse - row[j]); qs += q[j]; }
                    den += 1;
                    if (gradient)
                        for (int j = 0; j < k; j++) row[j] = (float)(qs * Math.Exp(row[j] - lse) - q[j]);
                    break;
                }
                case TaskType.MultiLabel:
                    for (int j = 0; j < k; j++)
                    {
                        double zz = row[j], t = y[i * k + j], pw = posWeights?[j] ?? 1f;
                        num += pw * t * Softplus(-zz) + (1 - t) * Softplus(zz);
                        if (gradient)
                        {
                            double s = 1 / (1 + Math.Exp(-zz));
                            row[j] = (float)(s * (pw * t + 1 - t) - pw * t);
                        }
                    }
                    den += k;
                    break;
                default:
                    for (int j = 0; j < k; j++)
                    {
                        double d = row[j] - y[i * k + j];
                        num += d * d;
                        if (gradient) row[j] = (float)(2 * d);
                    }
                    den += k;
                    break;
            }
        }
        return (num, den);
    }

    private static double Softplus(double x) => Math.Max(x, 0) + Math.Log(1 + Math.Exp(-Math.Abs(x)));

    private static double LogSumExp(ReadOnlySpan<float> row)
    {
        float max = System.Numerics.Tensors.TensorPrimitives.Max(row);
        double s = 0;
        foreach (var v in row) s += Math.Exp(v - max);
        return max + Math.Log(s);
    }
}

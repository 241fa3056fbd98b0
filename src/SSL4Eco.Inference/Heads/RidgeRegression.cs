namespace SSL4Eco.Inference.Heads;

/// <summary>
/// Closed-form ridge regression, as scikit-learn's <c>Ridge(alpha, fit_intercept=True)</c>: embeddings and targets are
/// centred, <c>(XcᵀXc + αI) W = XcᵀYc</c> is solved by Cholesky on the D×D system in double precision, and the
/// intercept is <c>ȳ − x̄·W</c>.
/// </summary>
/// <remarks>Static and thread-safe. The Gram matrix is accumulated in parallel blocks of rows.</remarks>
public static class RidgeRegression
{
    private const int Chunk = 256;

    /// <summary>Fits a regression <see cref="LinearHead"/>.</summary>
    /// <param name="embeddings">Row-major [N, dim] embeddings.</param>
    /// <param name="dim">Embedding dimension D.</param>
    /// <param name="targets">Row-major [N, targets] values.</param>
    /// <param name="targetCount">Number of targets.</param>
    /// <param name="alpha">Regularisation strength (≥ 0; 0 needs a full-rank centred Gram matrix).</param>
    /// <param name="targetNames">Optional names, one per target.</param>
    /// <param name="cancellationToken">Cancels between row chunks.</param>
    /// <exception cref="ArgumentException">Shapes or values are invalid, or the system is not positive definite.</exception>
    public static LinearHead Fit(ReadOnlySpan<float> embeddings, int dim, ReadOnlySpan<float> targets, int targetCount,
        double alpha = 1.0, IReadOnlyList<string>? targetNames = null, CancellationToken cancellationToken = default)
    {
        if (dim <= 0) throw new ArgumentOutOfRangeException(nameof(dim), dim, "The embedding dimension must be positive.");
        if (targetCount <= 0) throw new ArgumentOutOfRangeException(nameof(targetCount), targetCount, "Need at least one target.");
        if (!(alpha >= 0) || double.IsInfinity(alpha)) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "Alpha must be a non-negative finite number.");
        if (embeddings.Length == 0 || embeddings.Length % dim != 0)
            throw new ArgumentException($"Embeddings ({embeddings.Length} values) are not a non-empty set of rows of {dim}.", nameof(embeddings));
        int n = embeddings.Length / dim, t = targetCount;
        if (targets.Length != (long)n * t) throw new ArgumentException($"Targets have {targets.Length} values; expected [{n}, {t}].", nameof(targets));
        for (int i = 0; i < embeddings.Length; i++)
            if (!float.IsFinite(embeddings[i])) throw new ArgumentException($"Embedding at row {i / dim}, column {i % dim} is {embeddings[i]}.", nameof(embeddings));
        for (int i = 0; i < targets.Length; i++)
            if (!float.IsFinite(targets[i])) throw new ArgumentException($"Target at row {i / t} is {targets[i]}.", nameof(targets));

        var xMean = new double[dim]; var yMean = new double[t];
        for (int r = 0; r < n; r++)
        {
            for (int j = 0; j < dim; j++) xMean[j] += embeddings[r * dim + j];
            for (int j = 0; j < t; j++) yMean[j] += targets[r * t + j];
        }
        for (int j = 0; j < dim; j++) xMean[j] /= n;
        for (int j = 0; j < t; j++) yMean[j] /= n;

        var gram = new double[dim * dim];   // upper triangle accumulated, then mirrored
        var xty = new double[dim * t];
        var xc = new double[Chunk * dim];
        var yc = new double[Chunk * t];
        for (int start = 0; start < n; start += Chunk)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int m = Math.Min(Chunk, n - start);
            for (int i = 0; i < m; i++)
            {
                for (int j = 0; j < dim; j++) xc[i * dim + j] = embeddings[(start + i) * dim + j] - xMean[j];
                for (int j = 0; j < t; j++) yc[i * t + j] = targets[(start + i) * t + j] - yMean[j];
            }
            int rows = m;
            Parallel.For(0, dim, new ParallelOptions { MaxDegreeOfParallelism = dim * (long)dim * m < 1 << 18 ? 1 : Environment.ProcessorCount }, a =>
            {
                var g = gram.AsSpan(a * dim + a, dim - a);
                var xy = xty.AsSpan(a * t, t);
                for (int i = 0; i < rows; i++)
                {
                    double v = xc[i * dim + a];
                    if (v == 0) continue;
                    System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(xc.AsSpan(i * dim + a, dim - a), v, g, g);
                    System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(yc.AsSpan(i * t, t), v, xy, xy);
                }
            });
        }
        for (int a = 0; a < dim; a++)
        {
            gram[a * dim + a] += alpha;
            for (int c = a + 1; c < dim; c++) gram[c * dim + a] = gram[a * dim + c];
        }
        CholeskyInPlace(gram, dim);
        var coef = new double[dim * t];    // [dim, t]
        Array.Copy(xty, coef, coef.Length);
        SolveCholesky(gram, dim, coef, t);

        var weight = new float[t * dim];
        var bias = new float[t];
        for (int j = 0; j < t; j++)
        {
            double intercept = yMean[j];
            for (int a = 0; a < dim; a++)
            {
                weight[j * dim + a] = (float)coef[a * t + j];
                intercept -= xMean[a] * coef[a * t + j];
            }
            bias[j] = (float)intercept;
        }
        return new LinearHead(TaskType.Regression, dim, weight, bias, targetNames);
    }

    /// <summary>Lower Cholesky factor L (A = L·Lᵀ) in place in the lower triangle of a symmetric matrix.</summary>
    internal static void CholeskyInPlace(double[] a, int n)
    {
        for (int j = 0; j < n; j++)
        {
            var rowJ = a.AsSpan(j * n, j);
            double d = a[j * n + j] - System.Numerics.Tensors.TensorPrimitives.Dot(rowJ, rowJ);
            if (!(d > 0))
                throw new ArgumentException($"The ridge system is not positive definite at column {j} (collinear embeddings with alpha 0?). Use a positive alpha.");
            double l = Math.Sqrt(d);
            a[j * n + j] = l;
            int jj = j;
            Parallel.For(j + 1, n, new ParallelOptions { MaxDegreeOfParallelism = (long)(n - j) * j < 1 << 16 ? 1 : Environment.ProcessorCount }, i =>
            {
                double s = a[i * n + jj] - System.Numerics.Tensors.TensorPrimitives.Dot(a.AsSpan(i * n, jj), a.AsSpan(jj * n, jj));
                a[i * n + jj] = s / l;
            });
        }
    }

    /// <summary>Solves L·Lᵀ·X = B for B [n, cols] in place.</summary>
    internal static void SolveCholesky(double[] l, int n, double[] b, int cols)
    {
        for (int c = 0; c < cols; c++)
        {
            for (int i = 0; i < n; i++)
            {
                double s = b[i * cols + c];
                for (int k = 0; k < i; k++) s -= l[i * n + k] * b[k * cols + c];
                b[i * cols + c] = s / l[i * n + i];
            }
            for (int i = n - 1; i >= 0; i--)
            {
                double s = b[i * cols + c];
                for (int k = i + 1; k < n; k++) s -= l[k * n + i] * b[k * cols + c];
                b[i * cols + c] = s / l[i * n + i];
            }
        }
    }
}

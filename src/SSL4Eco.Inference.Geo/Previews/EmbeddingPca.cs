namespace SSL4Eco.Inference.Geo.Previews;

/// <summary>Leading principal components of row vectors by deterministic power iteration with deflation.</summary>
/// <remarks>Stateless and thread-safe.</remarks>
internal static class EmbeddingPca
{
    /// <summary>
    /// Projections <c>[n, k]</c> of the centred rows of <paramref name="x"/> (<c>[n, d]</c>) on the first <paramref name="k"/>
    /// principal axes; each axis' sign makes its largest-magnitude loading positive.
    /// </summary>
    public static double[] Project(ReadOnlySpan<float> x, int n, int d, int k, int iterations = 200)
    {
        var (mean, axes) = Fit(x, n, d, k, iterations);
        var result = new double[(long)n * k];
        for (int i = 0; i < n; i++) ProjectOne(x.Slice(i * d, d), mean, axes, result.AsSpan(i * k, k));
        return result;
    }

    /// <summary>Projection of one vector on fitted axes (centred with the fitted mean).</summary>
    public static void ProjectOne(ReadOnlySpan<float> v, double[] mean, IReadOnlyList<double[]> axes, Span<double> result)
    {
        for (int a = 0; a < axes.Count; a++)
        {
            double s = 0;
            var ax = axes[a];
            for (int j = 0; j < mean.Length; j++) s += (v[j] - mean[j]) * ax[j];
            result[a] = s;
        }
    }

    /// <summary>Mean and the first <paramref name="k"/> principal axes of the rows of <paramref name="x"/> (<c>[n, d]</c>).</summary>
    public static (double[] Mean, IReadOnlyList<double[]> Axes) Fit(ReadOnlySpan<float> x, int n, int d, int k, int iterations = 200)
    {
        var mean = new double[d];
        for (int i = 0; i < n; i++) for (int j = 0; j < d; j++) mean[j] += x[i * d + j];
        for (int j = 0; j < d; j++) mean[j] /= Math.Max(1, n);
        var c = new double[(long)n * d];
        for (int i = 0; i < n; i++) for (int j = 0; j < d; j++) c[(long)i * d + j] = x[i * d + j] - mean[j];
        var axes = new List<double[]>();
        var rng = new Random(12345);
        var proj = new double[n];
        for (int a = 0; a < k; a++)
        {
            var v = Enumerable.Range(0, d).Select(_ => rng.NextDouble() - 0.5).ToArray();
            for (int it = 0; it < iterations; it++)
            {
                foreach (var u in axes) Orthogonalise(v, u);
                Normalise(v);
                for (int i = 0; i < n; i++) { double s = 0; for (int j = 0; j < d; j++) s += c[(long)i * d + j] * v[j]; proj[i] = s; }
                var w = new double[d];
                for (int i = 0; i < n; i++) { double p = proj[i]; for (int j = 0; j < d; j++) w[j] += c[(long)i * d + j] * p; }
                v = w;
            }
            foreach (var u in axes) Orthogonalise(v, u);
            Normalise(v);
            int big = 0;
            for (int j = 1; j < d; j++) if (Math.Abs(v[j]) > Math.Abs(v[big])) big = j;
            if (v[big] < 0) for (int j = 0; j < d; j++) v[j] = -v[j];
            axes.Add(v);
        }
        return (mean, axes);
    }

    private static void Orthogonalise(double[] v, double[] u)
    {
        double dot = 0;
        for (int j = 0; j < v.Length; j++) dot += v[j] * u[j];
        for (int j = 0; j < v.Length; j++) v[j] -= dot * u[j];
    }

    private static void Normalise(double[] v)
    {
        double norm = Math.Sqrt(v.Sum(x => x * x));
        if (norm == 0) { v[0] = 1; return; }
        for (int j = 0; j < v.Length; j++) v[j] /= norm;
    }
}

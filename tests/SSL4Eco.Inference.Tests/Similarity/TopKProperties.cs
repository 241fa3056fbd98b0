using FsCheck.Xunit;
using SSL4Eco.Inference.Evaluation;
using SSL4Eco.Inference.Numerics;

namespace SSL4Eco.Inference.Tests.Similarity;

/// <summary>Properties of the partial top-k selection and of metric identities, on random inputs.</summary>
public class TopKProperties
{
    /// <summary>Partial top-k equals the first k of a stable sort by value descending (ties: lower index first).</summary>
    [Property(MaxTest = 200)]
    public bool TopK_equals_stable_full_sort(short[] raw, byte kRaw)
    {
        if (raw.Length == 0) return true;
        var values = raw.Select(v => (float)(v % 16)).ToArray(); // small range: many ties
        int k = 1 + kRaw % values.Length;
        var idx = new int[k]; var best = new float[k];
        DenseKernels.TopK(values, k, idx, best);
        var expected = Enumerable.Range(0, values.Length).OrderByDescending(i => values[i]).ThenBy(i => i).Take(k).ToArray();
        return idx.SequenceEqual(expected) && best.SequenceEqual(expected.Select(i => values[i]));
    }

    /// <summary>For single-label data micro-F1 equals accuracy (every sample is one TP or one FP + one FN).</summary>
    [Property(MaxTest = 200)]
    public bool Micro_f1_equals_accuracy(byte[] t, byte[] p)
    {
        int n = Math.Min(t.Length, p.Length);
        if (n == 0) return true;
        var yt = t.Take(n).Select(v => v % 5).ToArray();
        var yp = p.Take(n).Select(v => v % 5).ToArray();
        return Math.Abs(Metrics.F1(yt, yp, F1Average.Micro) - Metrics.Accuracy(yt, yp)) < 1e-12;
    }
}

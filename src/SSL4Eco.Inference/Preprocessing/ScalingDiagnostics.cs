using SSL4Eco.Inference.Checkpoints;
using SSL4Eco.Inference.Models;

namespace SSL4Eco.Inference.Preprocessing;

/// <summary>How well one input scaling fits the statistics a checkpoint's first BatchNorm saw in training.</summary>
/// <param name="Scaling">The scaling tried.</param>
/// <param name="MeanError">Mean over conv1's channels of |mean − running_mean| / sqrt(running_var).</param>
/// <param name="LogVarianceRatio">Mean over channels of |ln(var / running_var)|.</param>
/// <remarks>Immutable; thread-safe.</remarks>
public sealed record ScalingFit(InputScaling Scaling, double MeanError, double LogVarianceRatio)
{
    /// <summary>The ranking score (lower fits better): <see cref="MeanError"/> + <see cref="LogVarianceRatio"/>.</summary>
    public double Score => MeanError + LogVarianceRatio;
}

/// <summary>
/// The check SPEC.md offers for the scaling conflict (official DN/255 vs TorchGeo's DN/10000): run conv1 on real patches
/// preprocessed with each candidate scaling and compare the per-channel mean and variance of its output with
/// <c>bn1.running_mean</c>/<c>running_var</c> — the statistics the network saw during training. The right scaling
/// gives a small score; a wrong one is off by orders of magnitude in variance.
/// </summary>
/// <remarks>Stateless; thread-safe. conv1 is evaluated at every <see cref="Stride"/>-th output position in each axis.</remarks>
public static class ScalingDiagnostics
{
    /// <summary>Subsampling of conv1 output positions per axis (statistics, not images, are needed).</summary>
    public const int Stride = 3;

    /// <summary>Scores each candidate scaling on the patches; best (lowest score) first.</summary>
    /// <exception cref="ArgumentException">No patches or candidates, or the contract does not fit the weights.</exception>
    public static IReadOnlyList<ScalingFit> Compare(ResNet50Weights weights, ModelContract contract, IReadOnlyList<Patch> patches,
        IReadOnlyList<InputScaling> candidates, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(contract);
        ArgumentNullException.ThrowIfNull(patches);
        ArgumentNullException.ThrowIfNull(candidates);
        if (patches.Count == 0) throw new ArgumentException("The scaling check needs at least one patch.");
        if (candidates.Count == 0) throw new ArgumentException("The scaling check needs at least one candidate scaling.");
        if (contract.Channels != weights.InputChannels)
            throw new ArgumentException($"The contract lists {contract.Channels} bands but conv1 takes {weights.InputChannels} channels.");
        var kernel = weights["conv1.weight"];
        var runMean = weights["bn1.running_mean"].Values;
        var runVar = weights["bn1.running_var"].Values;
        var fits = new List<ScalingFit>();
        foreach (var scaling in candidates)
        {
            var pre = new PatchPreprocessor(contract, new PreprocessingOptions { ScalingOverride = scaling });
            var input = new float[pre.ValuesPerPatch];
            int outC = kernel.Shape[0];
            var sum = new double[outC];
            var sumSq = new double[outC];
            long count = 0;
            foreach (var patch in patches)
            {
                cancellationToken.ThrowIfCancellationRequested();
                pre.Preprocess(patch, input);
                count += Conv1Statistics(input, contract.Channels, contract.InputSize, kernel, sum, sumSq);
            }
            double meanErr = 0, logVar = 0;
            for (int c = 0; c < outC; c++)
            {
                double m = sum[c] / count, v = Math.Max(sumSq[c] / count - m * m, 1e-30);
                meanErr += Math.Abs(m - runMean[c]) / Math.Sqrt(Math.Max(runVar[c], 1e-12));
                logVar += Math.Abs(Math.Log(v / Math.Max(runVar[c], 1e-30)));
            }
            fits.Add(new ScalingFit(scaling, meanErr / outC, logVar / outC));
        }
        return fits.OrderBy(f => f.Score).ToList();
    }

    /// <summary>Accumulates conv1 (7×7, stride 2, padding 3, no bias) output sums per channel; returns the positions counted.</summary>
    private static long Conv1Statistics(float[] input, int channels, int size, TensorData kernel, double[] sum, double[] sumSq)
    {
        int outC = kernel.Shape[0], k = kernel.Shape[2], pad = k / 2, outSize = (size + 2 * pad - k) / 2 + 1;
        var w = kernel.Values;
        var window = new float[channels * k * k];
        long positions = 0;
        for (int oy = 0; oy < outSize; oy += Stride)
        for (int ox = 0; ox < outSize; ox += Stride)
        {
            int idx = 0;
            for (int c = 0; c < channels; c++)
            for (int ky = 0; ky < k; ky++)
            {
                int y = oy * 2 - pad + ky;
                for (int kx = 0; kx < k; kx++)
                {
                    int x = ox * 2 - pad + kx;
                    window[idx++] = y < 0 || y >= size || x < 0 || x >= size ? 0f : input[(c * size + y) * size + x];
                }
            }
            for (int o = 0; o < outC; o++)
            {
                double v = System.Numerics.Tensors.TensorPrimitives.Dot(window, w.AsSpan(o * window.Length, window.Length));
                sum[o] += v;
                sumSq[o] += v * v;
            }
            positions++;
        }
        return positions;
    }
}

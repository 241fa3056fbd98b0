using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using SSL4Eco.Inference.Onnx.Proto;

namespace SSL4Eco.Inference.Quantization;

/// <summary>
/// Runs a float32 model through ONNX Runtime with chosen intermediate values exposed as extra graph outputs and reduces
/// each to a range: the observed min/max, or (percentile) quantiles from a histogram taken in a second pass over [min, max].
/// Results depend only on the inputs and their order (the reductions are order-independent per value), so equal
/// calibration inputs give equal ranges.
/// </summary>
/// <remarks>Stateless and thread-safe.</remarks>
internal static class ActivationCalibrator
{
    private const int Bins = 8192;

    /// <summary>The calibrated [low, high] of every value in <paramref name="values"/>.</summary>
    /// <param name="model">The float32 model (not modified).</param>
    /// <param name="inputName">The graph input fed with the patches.</param>
    /// <param name="patchShape">The shape of one patch [C, H, W].</param>
    /// <param name="patches">Preprocessed patches, each C·H·W values.</param>
    /// <param name="values">Intermediate values to observe.</param>
    /// <param name="options">Method, percentile, batch size and threads.</param>
    /// <param name="ct">Checked between batches.</param>
    public static Dictionary<string, (float Low, float High)> Calibrate(ModelProto model, string inputName, long[] patchShape,
        IReadOnlyList<float[]> patches, IReadOnlyList<string> values, Int8QuantizationOptions options, CancellationToken ct)
    {
        var probe = model.Clone();
        var outputs = probe.Graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var v in values)
        {
            if (outputs.Contains(v)) continue;
            probe.Graph.Output.Add(new ValueInfoProto
            {
                Name = v,
                Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float } },
            });
        }
        using var so = new SessionOptions { IntraOpNumThreads = options.IntraOpThreads };
        using var session = new InferenceSession(probe.ToByteArray(), so);
        var min = new float[values.Count];
        var max = new float[values.Count];
        Array.Fill(min, float.PositiveInfinity);
        Array.Fill(max, float.NegativeInfinity);
        ForEachBatch(session, inputName, patchShape, patches, values, options.BatchSize, ct, (i, data) =>
        {
            min[i] = Math.Min(min[i], System.Numerics.Tensors.TensorPrimitives.Min(data));
            max[i] = Math.Max(max[i], System.Numerics.Tensors.TensorPrimitives.Max(data));
        });
        var result = new Dictionary<string, (float, float)>(StringComparer.Ordinal);
        for (int i = 0; i < values.Count; i++)
        {
            if (!float.IsFinite(min[i]) || !float.IsFinite(max[i]))
                throw new InvalidDataException($"Calibration: the model's value '{values[i]}' is not finite (NaN or infinity) on the calibration patches; its weights or the patches are corrupt.");
            result[values[i]] = (min[i], max[i]);
        }
        if (options.Method == CalibrationMethod.MinMax) return result;

        var hist = new long[values.Count][];
        for (int i = 0; i < values.Count; i++) hist[i] = new long[Bins];
        ForEachBatch(session, inputName, patchShape, patches, values, options.BatchSize, ct, (i, data) =>
        {
            float lo = min[i], width = max[i] - min[i];
            if (!(width > 0)) return;
            float perBin = Bins / width;
            var h = hist[i];
            foreach (var x in data)
            {
                int b = (int)((x - lo) * perBin);
                h[Math.Clamp(b, 0, Bins - 1)]++;
            }
        });
        double tail = (100 - options.Percentile) / 100;
        for (int i = 0; i < values.Count; i++)
        {
            var h = hist[i];
            long total = h.Sum();
            float width = max[i] - min[i];
            if (total == 0 || !(width > 0)) continue;
            long cut = (long)Math.Floor(total * tail);
            // Upper edge of the first bin (from the top) whose cumulative count from the top exceeds the tail.
            long acc = 0;
            int hiBin = Bins - 1;
            for (; hiBin > 0; hiBin--) { acc += h[hiBin]; if (acc > cut) break; }
            acc = 0;
            int loBin = 0;
            for (; loBin < Bins - 1; loBin++) { acc += h[loBin]; if (acc > cut) break; }
            float high = min[i] + (hiBin + 1) * width / Bins;
            float low = min[i] + loBin * width / Bins;
            // A non-negative value (after ReLU) keeps its zero floor exactly: only its upper tail is clipped.
            result[values[i]] = (min[i] >= 0 ? min[i] : Math.Min(low, 0), Math.Min(high, max[i]));
        }
        return result;
    }

    private static void ForEachBatch(InferenceSession session, string inputName, long[] patchShape, IReadOnlyList<float[]> patches,
        IReadOnlyList<string> values, int batchSize, CancellationToken ct, Action<int, ReadOnlySpan<float>> observe)
    {
        long per = patchShape.Aggregate(1L, (a, b) => a * b);
        using var run = new RunOptions();
        for (int start = 0; start < patches.Count; start += batchSize)
        {
            ct.ThrowIfCancellationRequested();
            int n = Math.Min(batchSize, patches.Count - start);
            var batch = new float[n * per];
            for (int i = 0; i < n; i++) patches[start + i].CopyTo(batch, i * per);
            using var input = OrtValue.CreateTensorValueFromMemory(batch, [n, .. patchShape]);
            using var results = session.Run(run, [inputName], [input], values.ToArray());
            int k = 0;
            foreach (var r in results) observe(k++, r.GetTensorDataAsSpan<float>());
        }
    }
}

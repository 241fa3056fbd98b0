using System.Diagnostics;
using System.Globalization;
using SSL4Eco.Inference.Embedding;
using SSL4Eco.Inference.Preprocessing;
using SSL4Eco.Inference.Quantization;

namespace SSL4Eco.Benchmarks.Encoder;

/// <summary>
/// <c>precision-throughput [FP32_MODEL] [ROUNDS]</c>: writes the int8 (32 synthetic calibration patches, default method) and
/// fp16 models of an fp32 encoder (default: the seeded random SeCo-Eco-shaped model), then measures encoder-only images/s
/// of fp32, int8 and fp16 through the library (<see cref="SeCoEcoEncoder.EmbedPreprocessed"/>, default threads) at batch 8
/// and 32. Precisions are interleaved round by round and the median round is reported, so a load change on a shared machine
/// hits all of them alike.
/// </summary>
internal static class PrecisionThroughput
{
    public static int Run(string[] args)
    {
        string fp32 = args.Length > 0 ? Path.GetFullPath(args[0]) : BenchmarkModels.SeCoEcoOnnx;
        int rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 5;
        string dir = Path.Combine(Path.GetTempPath(), "ssl4eco-bench-precision");
        Directory.CreateDirectory(dir);
        string int8 = Path.Combine(dir, "model.int8.onnx"), fp16 = Path.Combine(dir, "model.fp16.onnx");
        var sw = Stopwatch.StartNew();
        var report = ModelQuantizer.QuantizeInt8(fp32, CalibrationPatches(32), int8);
        Console.WriteLine(FormattableString.Invariant($"quantised in {sw.Elapsed.TotalSeconds:F1} s: {report.QuantizedConvolutions} convolutions, {report.QuantizedAdds} adds ({report.Calibration.Method}, {report.Calibration.Count} patches)"));
        ModelQuantizer.ConvertToFloat16(fp32, fp16);
        var models = new (string Name, string Path)[] { ("fp32", fp32), ("int8", int8), ("fp16", fp16) };
        foreach (int batch in new[] { 8, 32 })
        {
            var encoders = models.Select(m => SeCoEcoEncoder.Open(m.Path, new EncoderOptions { BatchSize = batch })).ToArray();
            try
            {
                var rng = new Random(1);
                var input = new float[batch * encoders[0].Preprocessor.ValuesPerPatch];
                for (int i = 0; i < input.Length; i++) input[i] = (float)(rng.NextDouble() * 12);
                var output = new float[batch * encoders[0].Contract.EmbeddingDim];
                var times = models.Select(_ => new List<double>()).ToArray();
                foreach (var e in encoders) e.EmbedPreprocessed(input, batch, output); // warm-up
                for (int r = 0; r < rounds; r++)
                {
                    for (int m = 0; m < models.Length; m++)
                    {
                        // fp16 on the CPU is slow: one batch per round; fp32/int8: about 64 images per round.
                        int reps = m == 2 ? 1 : Math.Max(1, 64 / batch);
                        sw.Restart();
                        for (int k = 0; k < reps; k++) encoders[m].EmbedPreprocessed(input, batch, output);
                        times[m].Add(reps * batch / sw.Elapsed.TotalSeconds);
                    }
                }
                double Median(List<double> v) { v.Sort(); return v[v.Count / 2]; }
                double baseline = Median(times[0]);
                Console.WriteLine(FormattableString.Invariant($"batch {batch}: ") + string.Join(", ", models.Select((m, i) =>
                    FormattableString.Invariant($"{m.Name} {Median(times[i]):F1} images/s ({Median(times[i]) / baseline:F2}x)"))));
            }
            finally
            {
                foreach (var e in encoders) e.Dispose();
            }
        }
        return 0;
    }

    /// <summary>Seeded patches with Sentinel-2-like digital numbers (B2..B8A; smooth fields plus noise).</summary>
    internal static IEnumerable<Patch> CalibrationPatches(int count)
    {
        string[] bands = ["B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A"];
        float[] mean = [600, 800, 800, 1200, 2000, 2300, 2500, 2600];
        for (int p = 0; p < count; p++)
        {
            var rng = new Random(100 + p);
            var data = new float[bands.Length * 256 * 256];
            for (int b = 0; b < bands.Length; b++)
            {
                float level = mean[b] * (float)(0.5 + rng.NextDouble());
                for (int i = 0; i < 256 * 256; i++)
                    data[b * 65536 + i] = MathF.Max(1, level * (1 + 0.2f * MathF.Sin(i % 256 / 20f + p) * MathF.Cos(i / 256 / 17f)) + (float)(rng.NextDouble() * 100));
            }
            yield return new Patch(bands, 256, 256, data);
        }
    }
}

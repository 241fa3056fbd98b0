using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using SSL4Eco.Inference.Arrays;
using SSL4Eco.Inference.Embedding;

namespace SSL4Eco.Benchmarks.Compare;

/// <summary>
/// The .NET side of <c>benchmarks/compare-pytorch.sh</c>: images/s of a raw ONNX Runtime session and of the library
/// (<see cref="SeCoEcoEncoder.EmbedPreprocessed"/>) on the same preprocessed batches PyTorch gets (an npy written by the
/// script), for each model file given (fp32, int8, fp16); the roofline is <see cref="Roofline"/>. Prints tab-separated rows: <c>kind  name  batch  value</c>.
/// </summary>
internal static class CompareRun
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>compare BATCH_NPY BATCHES SECONDS fp32=M [int8=M] [fp16=M]</summary>
    public static int Run(string[] args)
    {
        var (data, shape) = NpyFile.ReadSingle(args[0]);
        var batches = args[1].Split(',').Select(s => int.Parse(s, Inv)).ToArray();
        double seconds = double.Parse(args[2], Inv);
        var named = args.Skip(3).Select(a => a.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
        int per = shape[1] * shape[2] * shape[3];
        foreach (var (precision, path) in new[] { "fp32", "int8", "fp16" }.Where(named.ContainsKey).Select(p => (p, named[p])))
        {
            foreach (int b in batches)
            {
                var input = data.AsSpan(0, b * per).ToArray();
                if (precision == "fp32") Row("images/s", "onnxruntime-raw-fp32", b, Raw(path, input, b, shape, seconds));
                Row("images/s", "library-" + precision, b, Library(path, input, b, seconds));
            }
        }
        return 0;
    }

    private static void Row(string kind, string name, int batch, double value) =>
        Console.WriteLine(string.Create(Inv, $"{kind}\t{name}\t{batch}\t{value:F2}"));

    /// <summary>Median seconds of <paramref name="once"/> over runs filling about <paramref name="seconds"/> (2 warm-ups, at least 5 runs).</summary>
    internal static double Median(Action once, double seconds)
    {
        once(); once();
        var times = new List<double>();
        var total = Stopwatch.StartNew();
        while (times.Count < 5 || total.Elapsed.TotalSeconds < seconds)
        {
            var sw = Stopwatch.StartNew();
            once();
            times.Add(sw.Elapsed.TotalSeconds);
        }
        times.Sort();
        return times[times.Count / 2];
    }

    private static double Library(string model, float[] input, int batch, double seconds)
    {
        using var encoder = SeCoEcoEncoder.Open(model, new EncoderOptions { BatchSize = batch });
        var output = new float[batch * encoder.Contract.EmbeddingDim];
        return batch / Median(() => encoder.EmbedPreprocessed(input, batch, output), seconds);
    }

    private static double Raw(string model, float[] input, int batch, int[] shape, double seconds)
    {
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        using var session = new InferenceSession(model, options);
        string inName = session.InputMetadata.Keys.First(), outName = session.OutputMetadata.Keys.First();
        using var value = OrtValue.CreateTensorValueFromMemory(input, [batch, shape[1], shape[2], shape[3]]);
        using var run = new RunOptions();
        return batch / Median(() => { using var o = session.Run(run, [inName], [value], [outName]); }, seconds);
    }
}

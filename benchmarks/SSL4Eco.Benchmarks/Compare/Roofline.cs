using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using SSL4Eco.Inference.Embedding;

namespace SSL4Eco.Benchmarks.Compare;

/// <summary>
/// <c>roofline PROBES_TSV GFLOP_PER_IMAGE SECONDS ROUNDS fp32=M [int8=M] [old-gemm=M.onnx old-gemm-n=N]</c>: the measured
/// arithmetic peak of ONNX Runtime on this machine and the encoder's share of it (the roofline line of
/// <c>benchmarks/compare-pytorch.sh</c>). Each probe (written by <c>onnx_graph.py roofline</c>: compute-bound Conv,
/// QLinearConv, MatMul and MatMulInteger with constant weights) runs on a session with one intra-op thread per core and
/// spinning on, with its input and output tensors allocated once (a run moves no data but the kernel's); the encoder runs
/// through the library (<see cref="SeCoEcoEncoder.EmbedPreprocessed"/>) at batch 8. Probes and encoders are interleaved
/// round by round (A B A B) and each keeps its fastest call over all rounds, so a load burst on a shared machine cannot
/// make the peak look lower than the encoder. The old probe (an N×N×N MatMul whose B is an input, output allocated per
/// call, median call) is measured alongside for the diagnosis. Prints tab-separated <c>kind  name  batch  value</c> rows:
/// <c>gflops</c> per probe (best call), <c>gflops</c> of each encoder (best call), <c>gflops-median</c> of the old probe.
/// </summary>
internal static class Roofline
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static int Run(string[] args)
    {
        var probes = File.ReadAllLines(args[0]).Where(l => l.Length > 0).Select(l => l.Split('\t')).ToList();
        double gflopPerImage = double.Parse(args[1], Inv), seconds = double.Parse(args[2], Inv);
        int rounds = int.Parse(args[3], Inv);
        var named = args.Skip(4).Select(a => a.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
        var subjects = new List<Subject>();
        try
        {
            foreach (var p in probes)
                subjects.Add(Probe(Path.GetFileNameWithoutExtension(p[0]), p[0], double.Parse(p[1], Inv), p[2].Split(',').Select(s => long.Parse(s, Inv)).ToArray(), p[3] == "uint8"));
            foreach (var precision in new[] { "fp32", "int8" }.Where(named.ContainsKey))
                subjects.Add(Encoder("encoder-" + precision, named[precision], 8, gflopPerImage));
            if (named.TryGetValue("old-gemm", out var old))
                subjects.Add(OldGemm(old, int.Parse(named["old-gemm-n"], Inv)));
            foreach (var s in subjects) { s.Once(); s.Once(); } // warm-up
            for (int r = 0; r < rounds; r++)
                foreach (var s in subjects)
                {
                    var total = Stopwatch.StartNew();
                    do
                    {
                        var sw = Stopwatch.StartNew();
                        s.Once();
                        s.Times.Add(sw.Elapsed.TotalSeconds);
                    }
                    while (total.Elapsed.TotalSeconds < seconds / rounds / subjects.Count);
                }
            foreach (var s in subjects)
            {
                s.Times.Sort();
                Console.WriteLine(string.Create(Inv, $"gflops\t{s.Name}\t{s.Batch}\t{s.Gop / s.Times[0]:F2}"));
                if (s.Name.StartsWith("old-", StringComparison.Ordinal))
                    Console.WriteLine(string.Create(Inv, $"gflops-median\t{s.Name}\t{s.Batch}\t{s.Gop / s.Times[s.Times.Count / 2]:F2}"));
            }
        }
        finally
        {
            foreach (var s in subjects) s.Dispose();
        }
        return 0;
    }

    private sealed class Subject(string name, int batch, double gop, Action once, IDisposable[] owned) : IDisposable
    {
        public string Name { get; } = name;
        public int Batch { get; } = batch;
        public double Gop { get; } = gop;
        public List<double> Times { get; } = [];
        public void Once() => once();
        public void Dispose() { foreach (var d in owned) d.Dispose(); }
    }

    private static SessionOptions Options() => new()
    {
        GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        IntraOpNumThreads = Environment.ProcessorCount,
    };

    private static Subject Probe(string name, string model, double gop, long[] shape, bool u8)
    {
        using var options = Options();
        var session = new InferenceSession(model, options);
        long count = shape.Aggregate(1L, (a, b) => a * b);
        var rng = new Random(11);
        OrtValue input;
        if (u8)
        {
            var data = new byte[count];
            rng.NextBytes(data);
            input = OrtValue.CreateTensorValueFromMemory(data, shape);
        }
        else
        {
            var data = new float[count];
            for (long i = 0; i < count; i++) data[i] = (float)rng.NextDouble();
            input = OrtValue.CreateTensorValueFromMemory(data, shape);
        }
        var meta = session.OutputMetadata.First();
        var outShape = meta.Value.Dimensions.Select(d => (long)d).ToArray();
        var output = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, meta.Value.ElementDataType, outShape);
        var run = new RunOptions();
        string[] inNames = [session.InputMetadata.Keys.First()], outNames = [meta.Key];
        OrtValue[] inputs = [input], outputs = [output];
        return new Subject(name, (int)shape[0], gop, () => session.Run(run, inNames, inputs, outNames, outputs), [run, input, output, session]);
    }

    private static Subject Encoder(string name, string model, int batch, double gflopPerImage)
    {
        var encoder = SeCoEcoEncoder.Open(model, new EncoderOptions { BatchSize = batch, IntraOpThreads = Environment.ProcessorCount });
        var rng = new Random(1);
        var input = new float[batch * encoder.Preprocessor.ValuesPerPatch];
        for (int i = 0; i < input.Length; i++) input[i] = (float)(rng.NextDouble() * 12);
        var output = new float[batch * encoder.Contract.EmbeddingDim];
        return new Subject(name, batch, batch * gflopPerImage, () => encoder.EmbedPreprocessed(input, batch, output), [encoder]);
    }

    /// <summary>The probe compare-pytorch used before: B an input (packed on every call), output allocated per call.</summary>
    private static Subject OldGemm(string model, int n)
    {
        using var options = Options();
        var session = new InferenceSession(model, options);
        var rng = new Random(5);
        var fa = new float[n * n];
        var fb = new float[n * n];
        for (int i = 0; i < fa.Length; i++) { fa[i] = (float)rng.NextDouble(); fb[i] = (float)rng.NextDouble(); }
        var a = OrtValue.CreateTensorValueFromMemory(fa, [n, n]);
        var b = OrtValue.CreateTensorValueFromMemory(fb, [n, n]);
        var run = new RunOptions();
        var names = session.InputMetadata.Keys.ToArray();
        string[] outNames = [session.OutputMetadata.Keys.First()];
        OrtValue[] inputs = [a, b];
        return new Subject("old-gemm-fp32-input-b", n, 2.0 * n * n * n / 1e9, () => { using var o = session.Run(run, names, inputs, outNames); }, [run, a, b, session]);
    }
}

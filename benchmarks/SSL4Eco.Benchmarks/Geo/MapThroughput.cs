using System.Diagnostics;
using SSL4Eco.Inference.Embedding;
using SSL4Eco.Inference.Geo.Pipeline;
using SSL4Eco.Inference.Preprocessing;

namespace SSL4Eco.Benchmarks.Geo;

/// <summary>
/// End-to-end map throughput against encoder-only throughput at the same batch size, measured in one process:
/// (1) the encoder on preprocessed batches (no I/O), as many tiles as the raster has; (2) the streaming pipeline on the
/// raster (GDAL reads, validity, preprocessing, the same encoder, COG writing). Prints tiles/s of both and the ratio.
/// </summary>
internal static class MapThroughput
{
    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length < 3) { Console.Error.WriteLine("usage: map-throughput RASTER MODEL.onnx BATCH [OUTDIR]"); return 2; }
        string raster = args[0], model = args[1];
        int batch = int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture);
        var outDir = args.Length > 3 ? args[3] : Path.Combine(Path.GetTempPath(), "ssl4eco-map-throughput");
        Directory.CreateDirectory(outDir);
        int cores = Environment.ProcessorCount;
        // Two configurations of the same encoder, each measured end-to-end and encoder-only in this process:
        // A = one caller on a session using every core (ONNX Runtime's default); B = two callers side by side, each on a
        // session of half the cores (what 'ssl4eco map' does on CPU). The ratio is end-to-end over the best encoder-only.
        var configs = new[] { (Name: "A: 1 caller x all cores", Intra: 0, Callers: 1), (Name: $"B: 2 callers x {Math.Max(1, cores / 2)} threads", Intra: Math.Max(1, cores / 2), Callers: 2) };
        var lines = new List<string>();
        var phases = new List<string>();
        double bestEncoder = 0, bestEndToEnd = 0;
        int tiles = 0;
        foreach (var (name, intra, callers) in configs)
        {
            double endToEnd;
            using (var encoder = SeCoEcoEncoder.Open(model, new EncoderOptions { BatchSize = batch, Harmonize = HarmonizeMode.Off, IntraOpThreads = intra }))
            {
                var c = encoder.Contract;
                var warm = new float[batch * c.Channels * c.InputSize * c.InputSize];
                Parallel.For(0, callers, _ => encoder.EmbedPreprocessed(warm, batch, new float[batch * c.EmbeddingDim])); // warm-up, as EncoderOnly
                var request = new MapRequest
                {
                    InputPath = raster, OutputPrefix = Path.Combine(outDir, "map"), Resume = false,
                    EmbedConcurrency = callers, // harmonisation: the encoder's recipe (Off)
                };
                var sw = Stopwatch.StartNew();
                var marks = new Marks(sw);
                var result = await EmbeddingMapper.RunAsync(request, encoder, marks);
                double total = sw.Elapsed.TotalSeconds;
                endToEnd = result.Progress.Completed / total;
                tiles = result.Progress.Completed;
                phases.Add(FormattableString.Invariant(
                    $"{name}: {total:F2} s = start-up to the first recorded tile {marks.First:F2} s + steady {marks.Last - marks.First:F2} s ({(tiles - marks.FirstCount) / (marks.Last - marks.First):F2} tiles/s) + outputs after the last tile {total - marks.Last:F2} s"));
            }
            double encoderOnly = EncoderOnly(model, batch, tiles, intra, callers, spin: true);
            bestEncoder = Math.Max(bestEncoder, encoderOnly);
            bestEndToEnd = Math.Max(bestEndToEnd, endToEnd);
            lines.Add(FormattableString.Invariant($"{name}: end-to-end {endToEnd:F2} tiles/s, encoder-only {encoderOnly:F2} tiles/s ({endToEnd / encoderOnly:P1})"));
        }
        Console.WriteLine(FormattableString.Invariant(
            $"raster {raster}: {tiles} tiles, batch {batch}, {cores} cores: best end-to-end {bestEndToEnd:F2} tiles/s vs best encoder-only {bestEncoder:F2} tiles/s = **{bestEndToEnd / bestEncoder:P1}**"));
        foreach (var l in lines) Console.WriteLine("  - " + l);
        foreach (var l in phases) Console.WriteLine("  - phases " + l);
        return 0;
    }

    /// <summary>When the writer recorded the first and the last tile (progress is reported synchronously by the writer).</summary>
    private sealed class Marks(Stopwatch clock) : IProgress<MapProgress>
    {
        public double First { get; private set; } = double.NaN;
        public int FirstCount { get; private set; }
        public double Last { get; private set; }

        public void Report(MapProgress value)
        {
            if (value.Completed == 0) return;
            if (double.IsNaN(First)) { First = clock.Elapsed.TotalSeconds; FirstCount = value.Completed; }
            Last = clock.Elapsed.TotalSeconds;
        }
    }

    /// <summary>
    /// Encoder-only tiles/s for <paramref name="callers"/> concurrent <c>EmbedPreprocessed</c> callers on one encoder whose
    /// session uses <paramref name="intraOpThreads"/> threads (0 = ONNX Runtime's default, one per core).
    /// </summary>
    internal static double EncoderOnly(string model, int batch, int tiles, int intraOpThreads, int callers, bool spin)
    {
        using var encoder = SeCoEcoEncoder.Open(model, new EncoderOptions { BatchSize = batch, Harmonize = HarmonizeMode.Off, AllowSpinning = spin, IntraOpThreads = intraOpThreads });
        var c = encoder.Contract;
        int perTile = c.Channels * c.InputSize * c.InputSize;
        var input = new float[batch * perTile];
        for (int i = 0; i < input.Length; i++) input[i] = (i % 977) / 100f;
        Parallel.For(0, callers, _ => encoder.EmbedPreprocessed(input, batch, new float[batch * c.EmbeddingDim])); // warm-up
        int next = 0;
        var sw = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, callers).Select(_ => Task.Factory.StartNew(() =>
        {
            var output = new float[batch * c.EmbeddingDim];
            while (true)
            {
                int start = Interlocked.Add(ref next, batch) - batch;
                if (start >= tiles) return;
                int n = Math.Min(batch, tiles - start);
                encoder.EmbedPreprocessed(input.AsSpan(0, n * perTile), n, output.AsSpan(0, n * c.EmbeddingDim));
            }
        }, TaskCreationOptions.LongRunning)).ToArray();
        Task.WaitAll(workers);
        return tiles / sw.Elapsed.TotalSeconds;
    }
}

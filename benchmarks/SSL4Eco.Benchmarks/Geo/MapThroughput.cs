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
        bool spin = Environment.GetEnvironmentVariable("SSL4ECO_SPIN") != "0";
        var outDir = args.Length > 3 ? args[3] : Path.Combine(Path.GetTempPath(), "ssl4eco-map-throughput");
        Directory.CreateDirectory(outDir);
        using var encoder = SeCoEcoEncoder.Open(model, new EncoderOptions { BatchSize = batch, Harmonize = HarmonizeMode.Off, AllowSpinning = spin });
        var c = encoder.Contract;
        var request = new MapRequest { InputPath = raster, OutputPrefix = Path.Combine(outDir, "map"), BatchSize = batch, Resume = false, Harmonize = HarmonizeMode.Off };

        // Warm-up of both paths on one batch.
        var input = new float[batch * c.Channels * c.InputSize * c.InputSize];
                for (int i = 0; i < input.Length; i++) input[i] = (i % 977) / 100f;
        var output = new float[batch * c.EmbeddingDim];
        encoder.EmbedPreprocessed(input, batch, output);

        var sw = Stopwatch.StartNew();
        var result = await EmbeddingMapper.RunAsync(request, encoder);
        double endToEnd = result.Progress.Completed / sw.Elapsed.TotalSeconds;
        int tiles = result.Progress.Completed;

        sw.Restart();
        int perTile = c.Channels * c.InputSize * c.InputSize;
        for (int done = 0; done < tiles; done += batch)
        {
            int n = Math.Min(batch, tiles - done);
            encoder.EmbedPreprocessed(input.AsSpan(0, n * perTile), n, output.AsSpan(0, n * c.EmbeddingDim));
        }
        double encoderOnly = tiles / sw.Elapsed.TotalSeconds;

        Console.WriteLine(FormattableString.Invariant(
            $"raster {raster}: {result.Rows}x{result.Columns} = {tiles} tiles, batch {batch}, ORT spinning {(spin ? "on" : "off")}: end-to-end {endToEnd:F2} tiles/s, encoder-only {encoderOnly:F2} tiles/s, ratio {endToEnd / encoderOnly:P1}"));
        return 0;
    }
}

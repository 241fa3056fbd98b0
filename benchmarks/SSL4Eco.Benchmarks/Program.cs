using BenchmarkDotNet.Running;
using SSL4Eco.Benchmarks.Geo;

// BenchmarkDotNet suites: dotnet run -c Release --project benchmarks/SSL4Eco.Benchmarks -- --filter '*'
// The map-scaling measurement (issue: end-to-end vs encoder-only on large rasters) is a plain timed run, see
// benchmarks/map-throughput.sh: dotnet run -c Release --project benchmarks/SSL4Eco.Benchmarks -- map-throughput RASTER MODEL BATCH
if (args.Length > 0 && args[0] == "map-throughput")
    return await MapThroughput.RunAsync(args[1..]);
// map-profile RASTER MODEL BATCH [TILES] [ROUNDS]: ms per tile of each map stage on one thread (benchmarks/map-throughput.sh).
if (args.Length > 0 && args[0] == "map-profile")
    return MapProfile.Run(args[1..]);
if (args.Length > 0 && args[0] == "preprocess-kernels")
    return PreprocessKernels.Run(args[1..]); // multi-pass vs single-pass host preprocessing of a tile (map-int8.sh)
if (args.Length > 0 && args[0] == "encoder-concurrency")
{
    // encoder-concurrency MODEL BATCH TILES: encoder-only tiles/s per (intra-op threads, concurrent callers).
    int b = int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture), t = int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture);
    foreach (var (intra, callers) in new[] { (0, 1), (1, 2), (1, 1), (2, 2) })
        foreach (var spin in new[] { true, false })
            Console.WriteLine(FormattableString.Invariant($"intra-op {intra}, callers {callers}, spinning {spin}: {MapThroughput.EncoderOnly(args[1], b, t, intra, callers, spin):F2} tiles/s"));
    return 0;
}
// precision-throughput [FP32_MODEL] [ROUNDS]: fp32 vs int8 vs fp16 encoder images/s at batch 8 and 32 (benchmarks/results/quantization.md).
if (args.Length > 0 && args[0] == "precision-throughput")
    return SSL4Eco.Benchmarks.Encoder.PrecisionThroughput.Run(args[1..]);
if (args.Length > 0 && args[0] == "compare")
    return SSL4Eco.Benchmarks.Compare.CompareRun.Run(args[1..]); // see benchmarks/compare-pytorch.sh
if (args.Length > 0 && args[0] == "roofline")
    return SSL4Eco.Benchmarks.Compare.Roofline.Run(args[1..]); // see benchmarks/compare-pytorch.sh
if (args.Length > 0 && args[0] == "knn")
    return SSL4Eco.Benchmarks.Heads.KnnVsNumpy.Run(args[1..]); // see benchmarks/knn-vs-numpy.sh
if (args.Length > 0 && args[0] == "chart")
    return SSL4Eco.Benchmarks.Compare.CompareChart.Write(args[1], args[2]);
if (args.Length > 0 && args[0] == "write-model")
{
    File.Copy(SSL4Eco.Benchmarks.Encoder.BenchmarkModels.SeCoEcoOnnx, args[1], overwrite: true);
    return 0;
}
// write-int8 FP32 OUT [COUNT=8]: the int8 model of an fp32 encoder, calibrated on COUNT seeded synthetic patches (the
// calibration saturates at 8, benchmarks/results/quantization.md); write-fp16 FP32 OUT: its float16 model.
if (args.Length > 0 && args[0] == "write-int8")
{
    SSL4Eco.Inference.Quantization.ModelQuantizer.QuantizeInt8(args[1], SSL4Eco.Benchmarks.Encoder.PrecisionThroughput.CalibrationPatches(
        args.Length > 3 ? int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture) : 8), args[2]);
    return 0;
}
if (args.Length > 0 && args[0] == "write-fp16")
{
    SSL4Eco.Inference.Quantization.ModelQuantizer.ConvertToFloat16(args[1], args[2]);
    return 0;
}
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;

/// <summary>Entry point holder for BenchmarkSwitcher.</summary>
public partial class Program;

using BenchmarkDotNet.Running;
using SSL4Eco.Benchmarks.Geo;

// BenchmarkDotNet suites: dotnet run -c Release --project benchmarks/SSL4Eco.Benchmarks -- --filter '*'
// The map-scaling measurement (issue: end-to-end vs encoder-only on large rasters) is a plain timed run, see
// benchmarks/map-throughput.sh: dotnet run -c Release --project benchmarks/SSL4Eco.Benchmarks -- map-throughput RASTER MODEL BATCH
if (args.Length > 0 && args[0] == "map-throughput")
    return await MapThroughput.RunAsync(args[1..]);
if (args.Length > 0 && args[0] == "write-model")
{
    File.Copy(SSL4Eco.Benchmarks.Encoder.BenchmarkModels.SeCoEcoOnnx, args[1], overwrite: true);
    return 0;
}
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;

/// <summary>Entry point holder for BenchmarkSwitcher.</summary>
public partial class Program;

using System.Globalization;
using SSL4Eco.Benchmarks.Gpu;
using SSL4Eco.Inference.Conversion;

// GpuBench (--checkpoint CKPT | --onnx MODEL) --out DIR [--provider auto|cuda|cpu] [--batches 1,8,32,64,128] [--seconds 2] [--patches 64] [--threads 0]
// The library's half of benchmarks/gpu/run.sh (see benchmarks/gpu/README.md).
// --interleave ROUNDS: instead, the fp32 paths (host preprocessing, in-graph preprocessing, preprocessed input) on the chosen
// provider, one batch of each in turn per round, median images/s per path: a same-run A/B that load drift cannot bias.
var opts = new Dictionary<string, string>(StringComparer.Ordinal);
for (int i = 0; i + 1 < args.Length; i += 2) opts[args[i]] = args[i + 1];
if (!opts.ContainsKey("--out") || !(opts.ContainsKey("--checkpoint") ^ opts.ContainsKey("--onnx")))
{
    Console.Error.WriteLine("usage: GpuBench (--checkpoint CKPT | --onnx MODEL) --out DIR [--provider auto|cuda|cpu] [--batches 1,8,32,64,128] [--seconds 2] [--patches 64] [--threads 0]");
    return 64;
}
string outDir = opts["--out"];
Directory.CreateDirectory(outDir);
string model = opts.TryGetValue("--onnx", out var m) ? m : Path.Combine(outDir, "model_fp32.onnx");
if (opts.TryGetValue("--checkpoint", out var ckpt))
{
    var conv = CheckpointConverter.Convert(ckpt, model);
    Console.WriteLine($"converted {ckpt} -> {model} (layout {conv.Layout}, registry entry {conv.MatchedEntry?.Id ?? "none"})");
}
var cfg = new GpuBenchConfig(model, outDir,
    Provider: opts.GetValueOrDefault("--provider", "auto"),
    Batches: opts.TryGetValue("--batches", out var b) ? b.Split(',').Select(x => int.Parse(x, CultureInfo.InvariantCulture)).ToArray() : null,
    Seconds: opts.TryGetValue("--seconds", out var s) ? double.Parse(s, CultureInfo.InvariantCulture) : 2,
    Patches: opts.TryGetValue("--patches", out var p) ? int.Parse(p, CultureInfo.InvariantCulture) : 64,
    Threads: opts.TryGetValue("--threads", out var t) ? int.Parse(t, CultureInfo.InvariantCulture) : 0);
if (opts.TryGetValue("--interleave", out var rounds))
    return GpuBenchmark.Interleaved(cfg, int.Parse(rounds, CultureInfo.InvariantCulture), Console.Out);
return GpuBenchmark.Run(cfg, Console.Out);

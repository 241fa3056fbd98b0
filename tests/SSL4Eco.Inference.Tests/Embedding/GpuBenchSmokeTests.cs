using System.Text.Json.Nodes;
using SSL4Eco.Benchmarks.Gpu;
using SSL4Eco.Inference.Registry;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Inference.Tests.Embedding;

/// <summary>
/// The library's half of <c>benchmarks/gpu</c> (its source is compiled into this project) on this CPU-only machine, with a
/// tiny encoder carrying the seco-eco contract: it must say that no GPU is present, time every fp32 path, find the raw-input
/// model's embeddings equal to the host-form ones, mark the float16 and CUDA-graph rows as not available, and
/// <c>summarize.py</c> must turn the results into its table.
/// </summary>
public class GpuBenchSmokeTests
{
    [Fact]
    public void Gpu_benchmark_runs_on_the_cpu_provider_and_says_no_gpu_is_present()
    {
        using var dir = new TempDir();
        var contract = WeightsRegistry.Default.Entries.Single(e => e.Id == "seco-eco").Contract with { EmbeddingDim = 6 };
        var model = dir.File("tiny.onnx");
        File.WriteAllBytes(model, TinyEncoderModel.Build(contract, contract.Channels, contract.InputSize, 6, TinyEncoderModel.Weights(contract.Channels, 6)));
        var log = new StringWriter();
        Assert.Equal(0, GpuBenchmark.Run(new GpuBenchConfig(model, dir.Path, "auto", [1, 2], Seconds: 0.01, Patches: 3), log));
        Assert.Contains("NO GPU PRESENT", log.ToString());

        var rows = JsonNode.Parse(File.ReadAllText(dir.File("dotnet_results.json")))!.AsArray().Select(r => r!.AsObject()).ToList();
        Assert.False(rows.Single(r => (string?)r["kind"] == "env")["gpu"]!.GetValue<bool>());
        var timed = rows.Where(r => (string?)r["kind"] == "throughput" && r.ContainsKey("images_per_s")).ToList();
        Assert.Equal(5 * 2, timed.Count); // three fp32 and two fp16 paths x two batch sizes
        Assert.All(timed, r => Assert.True(r["images_per_s"]!.GetValue<double>() > 0));
        var parity = rows.Where(r => (string?)r["kind"] == "parity").ToList();
        Assert.Equal(5, parity.Count);
        Assert.All(parity, r => Assert.True(r["cos_min"]!.GetValue<double>() >= ((string?)r["precision"] == "fp16" ? 0.9999 : 0.9999999), r.ToJsonString()));
        var unavailable = rows.Where(r => r["status"] is not null).Select(r => (string)r["status"]!).ToList();
        Assert.Equal(2, unavailable.Count); // the fp32 and fp16 CUDA-graph rows (no CUDA provider here)
        Assert.All(unavailable, s => Assert.StartsWith("not available", s));
        Assert.True(File.Exists(dir.File("patches_u16.npy")));

        var summary = PythonOracle.Run("import runpy\nsys.argv = sys.argv[1:]\nrunpy.run_path(sys.argv[0], run_name='__main__')\n",
            Path.Combine(Repo.Root, "benchmarks", "gpu", "summarize.py"), dir.Path);
        Assert.Contains("NO GPU PRESENT: every number below was measured on the CPU.", summary);
        Assert.Contains("library EmbedRaw uint16 (preprocessing in the graph) [fp32] / library EmbedBatch (host preprocessing) [fp32]: b1", summary);
        Assert.Contains("library EmbedPreprocessed [fp16]", summary);
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.ML.OnnxRuntime;
using SSL4Eco.Inference.Embedding;
using SSL4Eco.Inference.Models;
using SSL4Eco.Inference.Onnx;
using SSL4Eco.Inference.Preprocessing;

namespace SSL4Eco.Benchmarks.Gpu;

/// <summary>What <see cref="GpuBenchmark.Run"/> measures.</summary>
/// <param name="Model">A preprocessed-input encoder written by <c>ssl4eco convert</c> (contract in its metadata).</param>
/// <param name="OutDir">Where results (<c>dotnet_results.json</c>), the patches (<c>patches_u16.npy</c>) and embeddings (<c>emb_*.npy</c>) go.</param>
/// <param name="Provider">cuda, cpu, or auto (CUDA when the loaded ONNX Runtime has it and it starts, else the CPU).</param>
/// <param name="Batches">Batch sizes to time.</param>
/// <param name="Seconds">Minimum seconds per timed repeat.</param>
/// <param name="Patches">Synthetic 12-band 256² uint16 patches generated (repeated to fill a batch).</param>
/// <param name="Threads">Intra-op threads on the CPU (0 = ONNX Runtime's default).</param>
/// <remarks>Immutable; thread-safe.</remarks>
public sealed record GpuBenchConfig(string Model, string OutDir, string Provider = "auto", int[]? Batches = null, double Seconds = 2,
    int Patches = 64, int Threads = 0)
{
    public int[] BatchSizes => Batches ?? [1, 8, 32, 64, 128];
}

/// <summary>
/// The library's side of <c>benchmarks/gpu</c>: on one execution provider, times (images/s, median of 3 repeats) the encoder
/// from raw uint16 patches with host preprocessing (<c>EmbedBatch</c>), on preprocessed input (<c>EmbedPreprocessed</c>), and a
/// raw-input model with its preprocessing in the graph (<c>EmbedRaw</c>), each in float32 and (when the library can convert
/// to float16) float16, and compares every path's embeddings with the CPU provider's host-form embeddings (cosine).
/// Results are JSON objects, one per line on the log and all in <c>dotnet_results.json</c>.
/// </summary>
/// <remarks>Not thread-safe; one run at a time.</remarks>
public static class GpuBenchmark
{
    /// <summary>The raw patches' bands (Sentinel-2 L2A in file order; NDVI is derived from B4/B8).</summary>
    public static readonly string[] RawBands = ["B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B11", "B12"];
    public const int Size = 256;

    public static int Run(GpuBenchConfig cfg, TextWriter log)
    {
        Directory.CreateDirectory(cfg.OutDir);
        var results = new List<JsonObject>();
        void Record(JsonObject o)
        {
            results.Add(o);
            log.WriteLine(o.ToJsonString());
            var all = new JsonArray(results.Select(r => (JsonNode)r.DeepClone()).ToArray());
            File.WriteAllText(Path.Combine(cfg.OutDir, "dotnet_results.json"), all.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        }

        var providers = OrtEnv.Instance().GetAvailableProviders();
        var (provider, gpuNote) = ChooseProvider(cfg, providers);
        Record(new JsonObject
        {
            ["kind"] = "env", ["provider"] = provider.ToString(), ["gpu"] = provider != ExecutionProvider.Cpu, ["note"] = gpuNote,
            ["ort_version"] = OrtEnv.Instance().GetVersionString(), ["providers"] = string.Join(",", providers),
            ["cpus"] = Environment.ProcessorCount, ["dotnet"] = Environment.Version.ToString(),
        });
        log.WriteLine(provider == ExecutionProvider.Cpu
            ? $"NO GPU PRESENT: {gpuNote} Running with the CPU execution provider ({Environment.ProcessorCount} cores); the numbers below are CPU numbers."
            : $"GPU: running with the {provider} execution provider. {gpuNote}");

        // Models: fp32 host form, fp32 raw form, and the fp16 pair when the library can convert.
        var contract = ModelContract.FromMetadata(OnnxModelFile.ReadMetadata(cfg.Model).Metadata);
        var raw = new RawInputForm { Bands = RawBands, SampleType = RawSampleType.UInt16, Height = Size, Width = Size };
        string rawModel = Path.Combine(cfg.OutDir, "model_raw_fp32.onnx");
        OnnxInputPreprocessing.Convert(cfg.Model, rawModel, raw);
        string fp16 = Path.Combine(cfg.OutDir, "model_fp16.onnx"), rawFp16 = Path.Combine(cfg.OutDir, "model_raw_fp16.onnx");
        string? fp16Why = Float16.TryConvert(cfg.Model, fp16);
        if (fp16Why is null) OnnxInputPreprocessing.Convert(fp16, rawFp16, raw);

        // Patches: deterministic synthetic Sentinel-2-like uint16 digital numbers, written for PyTorch.
        int n = cfg.Patches, per = RawBands.Length * Size * Size;
        var pixels = SyntheticPatches(n);
        WriteUInt16Npy(Path.Combine(cfg.OutDir, "patches_u16.npy"), pixels, n, RawBands.Length, Size, Size);
        var patches = Enumerable.Range(0, n).Select(k => new Patch(RawBands, Size, Size,
            pixels.AsSpan(k * per, per).ToArray().Select(v => (float)v).ToArray())).ToArray();

        // Reference: the CPU provider, host preprocessing, fp32.
        var reference = new float[n * contract.EmbeddingDim];
        // Same chunking as the timed paths (a reduction's summation order may depend on the batch).
        using (var cpu = SeCoEcoEncoder.Open(cfg.Model, new EncoderOptions { BatchSize = cfg.BatchSizes.Max(), IntraOpThreads = cfg.Threads }))
            cpu.EmbedBatch(patches, reference);
        SSL4Eco.Inference.Arrays.NpyFile.Write(Path.Combine(cfg.OutDir, "emb_lib_cpu.npy"), reference, n, contract.EmbeddingDim);

        int maxBatch = cfg.BatchSizes.Max();
        var opts = EncoderOptions.For(provider) with { BatchSize = maxBatch, IntraOpThreads = provider == ExecutionProvider.Cpu ? cfg.Threads : 0 };
        var paths = new (string Name, string Precision, string? Model, string Form, bool Graph)[]
        {
            ("library EmbedBatch (host preprocessing)", "fp32", cfg.Model, "host", false),
            ("library EmbedPreprocessed", "fp32", cfg.Model, "pre", false),
            ("library EmbedRaw uint16 (preprocessing in the graph)", "fp32", rawModel, "raw", false),
            ("library EmbedRaw uint16 (preprocessing in the graph) + CUDA graph", "fp32", rawModel, "raw", true),
            ("library EmbedPreprocessed", "fp16", fp16Why is null ? fp16 : null, "pre", false),
            ("library EmbedRaw uint16 (preprocessing in the graph)", "fp16", fp16Why is null ? rawFp16 : null, "raw", false),
            ("library EmbedRaw uint16 (preprocessing in the graph) + CUDA graph", "fp16", fp16Why is null ? rawFp16 : null, "raw", true),
        };
        // Inputs of every form for max(n, largest batch) patches (the n patches repeated): preprocessing done once, outside the timing.
        int total = Math.Max(n, maxBatch);
        var pre = new PatchPreprocessor(contract);
        int vpp = pre.ValuesPerPatch;
        var preprocessed = new float[(long)total * vpp];
        for (int k = 0; k < total; k++) pre.Preprocess(patches[k % n], preprocessed.AsSpan(k * vpp, vpp));
        var rawBatch = new ushort[(long)total * per];
        for (int k = 0; k < total; k++) pixels.AsSpan((k % n) * per, per).CopyTo(rawBatch.AsSpan(k * per, per));
        var batchPatches = Enumerable.Range(0, total).Select(k => patches[k % n]).ToArray();
        int dim = contract.EmbeddingDim;

        void Embed(SeCoEcoEncoder encoder, string form, int start, int count, Span<float> into)
        {
            switch (form)
            {
                case "host": encoder.EmbedBatch(new ArraySegment<Patch>(batchPatches, start, count), into); break;
                case "pre": encoder.EmbedPreprocessed(preprocessed.AsSpan(start * vpp, count * vpp), count, into); break;
                default: encoder.EmbedRaw(rawBatch.AsSpan(start * per, count * per), count, [], into); break; // no baseline offset in the synthetic patches
            }
        }

        SeCoEcoEncoder? TryOpen(string name, string precision, string model, EncoderOptions o)
        {
            try { return SeCoEcoEncoder.Open(model, o); }
            catch (Exception e) when (e is ExecutionProviderUnavailableException or OnnxRuntimeException)
            {
                Record(new JsonObject { ["kind"] = "throughput", ["name"] = name, ["precision"] = precision, ["status"] = "failed to open: " + e.Message });
                return null;
            }
        }

        var output = new float[(long)maxBatch * dim];
        foreach (var (name, precision, model, form, graph) in paths)
        {
            if (model is null)
            {
                Record(new JsonObject { ["kind"] = "throughput", ["name"] = name, ["precision"] = precision, ["status"] = "not available: " + fp16Why });
                continue;
            }
            if (graph && provider != ExecutionProvider.Cuda)
            {
                Record(new JsonObject { ["kind"] = "throughput", ["name"] = name, ["precision"] = precision, ["status"] = "not available: CUDA graphs need the CUDA provider" });
                continue;
            }
            if (!graph)
            {
                using var encoder = TryOpen(name, precision, model, opts);
                if (encoder is null) continue;
                // Parity on the n patches (in chunks of at most the largest batch).
                var emb = new float[(long)n * dim];
                for (int s0 = 0; s0 < n; s0 += maxBatch)
                {
                    int c = Math.Min(maxBatch, n - s0);
                    Embed(encoder, form, s0, c, emb.AsSpan(s0 * dim, c * dim));
                }
                var (cosMin, relMax) = Compare(emb, reference, dim);
                SSL4Eco.Inference.Arrays.NpyFile.Write(Path.Combine(cfg.OutDir, $"emb_lib_{form}_{precision}.npy"), emb, n, dim);
                Record(new JsonObject { ["kind"] = "parity", ["name"] = name, ["precision"] = precision, ["against"] = "CPU provider, host preprocessing, fp32", ["cos_min"] = cosMin, ["rel_l2_max"] = relMax });
                foreach (int b in cfg.BatchSizes)
                    RecordTime(name, precision, b, encoder, () => Embed(encoder, form, 0, b, output.AsSpan(0, b * dim)));
            }
            else
            {
                // A CUDA graph replays one shape: one encoder per batch size, whose batch is exactly that size.
                foreach (int b in cfg.BatchSizes)
                {
                    using var encoder = TryOpen(name, precision, model, opts with { BatchSize = b, Cuda = opts.Cuda with { EnableCudaGraph = true } });
                    if (encoder is null) break;
                    RecordTime(name, precision, b, encoder, () => Embed(encoder, form, 0, b, output.AsSpan(0, b * dim)));
                }
            }
        }

        void RecordTime(string name, string precision, int b, SeCoEcoEncoder encoder, Action run)
        {
            var (median, reps, iters) = Time(run, b, cfg.Seconds);
            Record(new JsonObject
            {
                ["kind"] = "throughput", ["name"] = name, ["precision"] = precision, ["batch"] = b, ["images_per_s"] = Math.Round(median, 2),
                ["repeats"] = new JsonArray(reps.Select(r => (JsonNode)Math.Round(r, 2)).ToArray()), ["iters_per_repeat"] = iters,
                ["provider"] = encoder.ActiveProvider.ToString(),
            });
        }
        return 0;
    }

    /// <summary>
    /// Same-run A/B of the fp32 paths on the chosen provider at the first batch size: per round one batch of host preprocessing
    /// (<c>EmbedBatch</c>), of preprocessing in the graph (<c>EmbedRaw</c>) and of preprocessed input (<c>EmbedPreprocessed</c>),
    /// in rotating order; prints the median images/s of each and the ratio raw / host.
    /// </summary>
    public static int Interleaved(GpuBenchConfig cfg, int rounds, TextWriter log)
    {
        Directory.CreateDirectory(cfg.OutDir);
        var (provider, note) = ChooseProvider(cfg, OrtEnv.Instance().GetAvailableProviders());
        log.WriteLine(provider == ExecutionProvider.Cpu ? $"NO GPU PRESENT: {note} CPU provider, {Environment.ProcessorCount} cores, intra-op threads {cfg.Threads}." : $"{provider}: {note}");
        int b = cfg.BatchSizes[0], per = RawBands.Length * Size * Size;
        var raw = new RawInputForm { Bands = RawBands, Height = Size, Width = Size };
        string rawModel = Path.Combine(cfg.OutDir, "model_raw_fp32.onnx");
        OnnxInputPreprocessing.Convert(cfg.Model, rawModel, raw);
        var pixels = SyntheticPatches(b);
        var patches = Enumerable.Range(0, b).Select(k => new Patch(RawBands, Size, Size, pixels.AsSpan(k * per, per).ToArray().Select(v => (float)v).ToArray())).ToArray();
        var opts = EncoderOptions.For(provider) with { BatchSize = b, IntraOpThreads = provider == ExecutionProvider.Cpu ? cfg.Threads : 0 };
        using var host = SeCoEcoEncoder.Open(cfg.Model, opts);
        using var inGraph = SeCoEcoEncoder.Open(rawModel, opts);
        var pre = new float[(long)b * host.Preprocessor.ValuesPerPatch];
        for (int k = 0; k < b; k++) host.Preprocessor.Preprocess(patches[k], pre.AsSpan(k * host.Preprocessor.ValuesPerPatch, host.Preprocessor.ValuesPerPatch));
        var output = new float[(long)b * host.Contract.EmbeddingDim];
        var runs = new (string Name, Action Run)[]
        {
            ("host preprocessing (EmbedBatch, preprocessed-input model)", () => host.EmbedBatch(patches, output)),
            ("preprocessing in the graph (EmbedRaw uint16, raw-input model)", () => inGraph.EmbedRaw(pixels, b, [], output)),
            ("preprocessed input (EmbedPreprocessed)", () => host.EmbedPreprocessed(pre, b, output)),
        };
        foreach (var r in runs) r.Run(); // warm-up
        var rates = runs.Select(_ => new List<double>()).ToArray();
        var sw = new Stopwatch();
        for (int round = 0; round < rounds; round++)
            for (int j = 0; j < runs.Length; j++)
            {
                int i = (j + round) % runs.Length;
                sw.Restart();
                runs[i].Run();
                rates[i].Add(b / sw.Elapsed.TotalSeconds);
            }
        double Median(List<double> x) { var s = x.Order().ToArray(); return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2; }
        for (int i = 0; i < runs.Length; i++)
            log.WriteLine($"{runs[i].Name}: median {Median(rates[i]):F3} images/s over {rounds} batches of {b} (min {rates[i].Min():F3}, max {rates[i].Max():F3})");
        log.WriteLine($"in-graph / host preprocessing: {Median(rates[1]) / Median(rates[0]):F3}; per-round ratios median {Median(rates[1].Zip(rates[0], (x, y) => x / y).ToList()):F3}");
        return 0;
    }

    private static (ExecutionProvider, string) ChooseProvider(GpuBenchConfig cfg, IReadOnlyList<string> providers)
    {
        string p = cfg.Provider.ToLowerInvariant();
        if (p == "cpu") return (ExecutionProvider.Cpu, "The CPU provider was asked for.");
        bool listed = providers.Contains("CUDAExecutionProvider");
        if (!listed)
            return p == "cuda" ? throw new InvalidOperationException($"--provider cuda: this build's ONNX Runtime has no CUDA provider ({string.Join(", ", providers)}); publish with -p:Gpu=true.")
                : (ExecutionProvider.Cpu, $"This build's ONNX Runtime has no CUDA provider ({string.Join(", ", providers)}).");
        try
        {
            // Open a throwaway session to see whether CUDA starts (driver, CUDA 13, cuDNN 9).
            using var so = new SessionOptions();
            ExecutionProviders_Probe(so);
            return (ExecutionProvider.Cuda, "The CUDA provider started.");
        }
        catch (Exception e) when (p != "cuda")
        {
            return (ExecutionProvider.Cpu, "The CUDA provider is listed but did not start: " + e.Message.Split('\n')[0]);
        }
    }

    private static void ExecutionProviders_Probe(SessionOptions so)
    {
        using var cuda = new OrtCUDAProviderOptions();
        so.AppendExecutionProvider_CUDA(cuda);
    }

    /// <summary>Median images/s of 3 repeats of at least <paramref name="seconds"/> each (after 2 warm-up runs).</summary>
    public static (double Median, double[] Repeats, int Iterations) Time(Action run, int batch, double seconds)
    {
        run(); run();
        var sw = Stopwatch.StartNew();
        run();
        double one = Math.Max(sw.Elapsed.TotalSeconds, 1e-6);
        int iters = Math.Max(1, (int)Math.Ceiling(seconds / one));
        var reps = new double[3];
        for (int r = 0; r < 3; r++)
        {
            sw.Restart();
            for (int i = 0; i < iters; i++) run();
            reps[r] = iters * batch / sw.Elapsed.TotalSeconds;
        }
        var sorted = reps.Order().ToArray();
        return (sorted[1], reps, iters);
    }

    /// <summary>Minimum row cosine and maximum row relative L2 error of <paramref name="a"/> against <paramref name="reference"/> (rows of <paramref name="dim"/>).</summary>
    public static (double CosMin, double RelMax) Compare(float[] a, float[] reference, int dim)
    {
        double cosMin = 1, relMax = 0;
        for (int r = 0; r < a.Length / dim; r++)
        {
            double ab = 0, aa = 0, bb = 0, dd = 0;
            for (int i = r * dim; i < (r + 1) * dim; i++)
            {
                ab += (double)a[i] * reference[i]; aa += (double)a[i] * a[i]; bb += (double)reference[i] * reference[i];
                double d = a[i] - reference[i]; dd += d * d;
            }
            cosMin = Math.Min(cosMin, ab / Math.Sqrt(aa * bb));
            relMax = Math.Max(relMax, Math.Sqrt(dd / bb));
        }
        return (cosMin, relMax);
    }

    /// <summary>Deterministic Sentinel-2-like digital numbers: smooth fields per band plus noise, 0..10000.</summary>
    public static ushort[] SyntheticPatches(int n)
    {
        var rng = new Random(12345);
        int plane = Size * Size;
        var x = new ushort[(long)n * RawBands.Length * plane];
        for (int k = 0; k < n; k++)
        {
            double fx = 1 + 4 * rng.NextDouble(), fy = 1 + 4 * rng.NextDouble(), ph = 6.28 * rng.NextDouble();
            for (int b = 0; b < RawBands.Length; b++)
            {
                double level = 600 + 250 * b, vegetation = b is 4 or 5 or 6 or 7 or 8 ? 1.6 : 0.7;
                int at = (k * RawBands.Length + b) * plane;
                for (int y = 0; y < Size; y++)
                    for (int c = 0; c < Size; c++)
                    {
                        double veg = 0.5 + 0.3 * Math.Sin(6.283 * fx * c / Size + ph) * Math.Cos(6.283 * fy * y / Size);
                        double v = level * (vegetation > 1 ? 0.45 + veg : 1.25 - 0.7 * veg) + 40 * (rng.NextDouble() - 0.5);
                        x[at + y * Size + c] = (ushort)Math.Clamp(Math.Round(v), 0, 10000);
                    }
            }
        }
        return x;
    }

    private static void WriteUInt16Npy(string path, ushort[] data, params int[] shape)
    {
        string dict = $"{{'descr': '<u2', 'fortran_order': False, 'shape': ({string.Join(", ", shape)},), }}";
        int total = 10 + dict.Length + 1;
        dict += new string(' ', (64 - total % 64) % 64) + "\n";
        using var f = File.Create(path);
        f.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0]);
        f.Write(BitConverter.GetBytes((ushort)dict.Length));
        f.Write(Encoding.ASCII.GetBytes(dict));
        f.Write(MemoryMarshal.AsBytes(data.AsSpan()));
    }

    /// <summary>float16 conversion through the library (<c>ModelQuantizer.ConvertToFloat16</c>, as <c>ssl4eco convert --precision float16</c>). Returns null when converted, else why not.</summary>
    public static class Float16
    {
        public static string? TryConvert(string source, string target)
        {
            try
            {
                SSL4Eco.Inference.Quantization.ModelQuantizer.ConvertToFloat16(source, target);
                return null;
            }
            catch (Exception e) when (e is InvalidDataException or ArgumentException or IOException)
            {
                return "float16 conversion failed: " + e.Message;
            }
        }
    }
}

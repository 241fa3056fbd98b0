using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;
using SSL4Eco.Inference.Arrays;
using SSL4Eco.Inference.Embedding;
using SSL4Eco.Inference.Models;
using SSL4Eco.Inference.Preprocessing;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Inference.Tests.Embedding;

public class SeCoEcoEncoderTests
{
    private const int S = 16, D = 6;
    private static readonly string[] Bands = ["B2", "B3", "B4", "B8", "NDVI"];

    private static readonly ModelContract Contract = new()
    {
        Bands = Bands, Scaling = new InputScaling(255), Spatial = SpatialPolicy.CenterCropOrBicubicUpscale,
        InputSize = S, EmbeddingDim = D, ModelId = "tiny-test",
    };

    private static readonly float[] W = TinyEncoderModel.Weights(Bands.Length, D);
    private static readonly Lazy<byte[]> Model = new(() => TinyEncoderModel.Build(Contract, Bands.Length, S, D, W));

    private static SeCoEcoEncoder Open(EncoderOptions? options = null) => SeCoEcoEncoder.Open(Model.Value, options);

    /// <summary>Patches with bands B4, B8, B2, B3 (no NDVI: it is derived), sizes at least S so the centre crop applies.</summary>
    private static Patch MakePatch(int seed, int h = 20, int w = 17, double? baseline = null, DateOnly? date = null)
    {
        string[] names = ["B4", "B08", "B2", "B3"];
        var rng = new Random(seed);
        var data = new float[names.Length * h * w];
        for (int i = 0; i < data.Length; i++) data[i] = rng.Next(0, 10000);
        return new Patch(names, h, w, data) { ProcessingBaseline = baseline, Date = date };
    }

    private static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, float tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance, $"[{i}] expected {expected[i]}, got {actual[i]}");
    }

    /// <summary>
    /// numpy, from the raw patches: harmonise (baseline ≥ 4), NDVI as SPEC, centre crop (round half-to-even), / 255,
    /// mean over H, W, times W. It also runs onnx.checker on our model bytes. The preprocessed input is compared
    /// exactly (same float32 operations), the embeddings within 1e-4 (float32 means of 256 values ~ 1..40, summed
    /// in a different order by ONNX Runtime; relative error ~1e-6).
    /// </summary>
    [Fact]
    public void Embeddings_match_numpy_from_raw_patches()
    {
        using var dir = new TempDir();
        var patches = new[] { MakePatch(1), MakePatch(2, 23, 16, baseline: 4.0), MakePatch(3, 16, 16, baseline: 2.0) };
        for (int k = 0; k < patches.Length; k++)
            NpyFile.Write(dir.File($"p{k}.npy"), patches[k].Data, 4, patches[k].Height, patches[k].Width);
        NpyFile.Write(dir.File("w.npy"), W, Bands.Length, D);
        File.WriteAllBytes(dir.File("model.onnx"), Model.Value);
        PythonOracle.Run("""
            import numpy as np, onnx, sys, os
            d, S = sys.argv[1], 16
            onnx.checker.check_model(onnx.load(os.path.join(d, 'model.onnx')))
            W = np.load(os.path.join(d, 'w.npy'))
            xs = []
            for k, harm in enumerate([False, True, False]):
                p = np.load(os.path.join(d, f'p{k}.npy')).astype(np.float32)
                b4, b8, b2, b3 = p
                if harm:
                    b4, b8, b2, b3 = [np.maximum(b - np.float32(1000), np.float32(0)) for b in (b4, b8, b2, b3)]
                ndvi = (b8 - b4) / (b8 + b4 + 0.00001)
                ndvi[ndvi < 0] = 0
                ndvi = (ndvi * 10000).astype(np.uint16).astype(np.float32)
                x = np.stack([b2, b3, b4, b8, ndvi])
                i, j = int(round((x.shape[1] - S) / 2.)), int(round((x.shape[2] - S) / 2.))
                xs.append(x[:, i:i + S, j:j + S] / np.float32(255))
            x = np.stack(xs).astype(np.float32)
            np.save(os.path.join(d, 'x.npy'), x)
            emb = x.astype(np.float64).mean(axis=(2, 3)) @ W.astype(np.float64)
            np.save(os.path.join(d, 'emb.npy'), emb)
            """, dir.Path);
        using var encoder = Open();
        var x = NpyFile.ReadSingle(dir.File("x.npy")).Data;
        int per = encoder.Preprocessor.ValuesPerPatch;
        for (int k = 0; k < patches.Length; k++)
            Assert.Equal(x.AsSpan(k * per, per).ToArray(), encoder.Preprocessor.Preprocess(patches[k]));
        var expected = NpyFile.ReadDouble(dir.File("emb.npy")).Data.Select(v => (float)v).ToArray();
        AssertClose(expected, encoder.EmbedBatch(patches), 1e-4f);
        var viaPreprocessed = new float[patches.Length * D];
        encoder.EmbedPreprocessed(x, patches.Length, viaPreprocessed);
        AssertClose(expected, viaPreprocessed, 1e-4f);
    }

    [Fact]
    public void Contract_is_read_from_metadata()
    {
        using var encoder = Open();
        Assert.Equal(Bands, encoder.Contract.Bands);
        Assert.Equal("tiny-test", encoder.Contract.ModelId);
        Assert.Equal(new InputScaling(255), encoder.Contract.Scaling);
        Assert.Equal(ExecutionProvider.Cpu, encoder.ActiveProvider);
    }

    [Fact]
    public void Missing_metadata_is_an_error_unless_a_contract_is_given()
    {
        var bare = TinyEncoderModel.Build(null, Bands.Length, S, D, W);
        var e = Assert.Throws<ModelMetadataException>(() => SeCoEcoEncoder.Open(bare));
        Assert.Contains(ModelContract.MetadataKeys.Bands, e.Message);
        var scaled = Contract with { Scaling = new InputScaling(10000) };
        using var encoder = SeCoEcoEncoder.Open(bare, new EncoderOptions { ContractOverride = scaled });
        Assert.Equal(10000, encoder.Contract.Scaling.Divisor);
        using var reference = Open(new EncoderOptions { ScalingOverride = new InputScaling(10000) });
        var p = MakePatch(4);
        Assert.Equal(reference.Embed(p), encoder.Embed(p));
    }

    /// <summary>
    /// Never mix two runs: the encoder's recipe, which keys every resume fingerprint, cache entry and output metadata, holds
    /// the scaling and harmonisation actually used (EncoderOptions), and its preprocessor executes that same recipe.
    /// </summary>
    [Fact]
    public void Never_mix_two_runs_the_recipe_holds_the_scaling_override_and_harmonisation_in_effect()
    {
        using var plain = Open();
        using var scaled = Open(new EncoderOptions { ScalingOverride = new InputScaling(10000) });
        using var off = Open(new EncoderOptions { Harmonize = HarmonizeMode.Off });
        Assert.Equal(Contract.Scaling, plain.Recipe.Scaling);
        Assert.Equal(new InputScaling(10000), scaled.Recipe.Scaling);
        Assert.Equal("10000", scaled.Recipe.ToMetadata()[ModelContract.MetadataKeys.ScalingDivisor]);
        Assert.Equal(HarmonizeMode.Off, off.Recipe.Harmonize);
        Assert.Equal(3, new[] { plain.Recipe.Sha256(), scaled.Recipe.Sha256(), off.Recipe.Sha256() }.Distinct().Count());
        Assert.Equal(plain.Recipe.WeightsSha256, scaled.Recipe.WeightsSha256);   // same weights, so only the scaling differs
        foreach (var e in new[] { plain, scaled, off })
            Assert.Equal(e.Recipe with { WeightsSha256 = null }, e.Preprocessor.Recipe);
        // The executor follows the recipe: DN / 10000 instead of the contract's scaling.
        var p = MakePatch(4);
        Assert.NotEqual(plain.Preprocessor.Preprocess(p), scaled.Preprocessor.Preprocess(p));
    }

    [Fact]
    public void Shapes_that_contradict_the_contract_are_named()
    {
        var threeChannels = TinyEncoderModel.Build(Contract, 3, S, D, TinyEncoderModel.Weights(3, D));
        var e = Assert.Throws<ModelMetadataException>(() => SeCoEcoEncoder.Open(threeChannels));
        Assert.Contains("'x'", e.Message);
        Assert.Contains($"[N, {Bands.Length}, {S}, {S}]", e.Message);
        var wrongDim = TinyEncoderModel.Build(Contract with { EmbeddingDim = 7 }, Bands.Length, S, D, W);
        Assert.Contains("embedding dimension 7", Assert.Throws<ModelMetadataException>(() => SeCoEcoEncoder.Open(wrongDim)).Message);
        var fixedBatch = TinyEncoderModel.Build(Contract, Bands.Length, S, D, W, batch: 2);
        Assert.Contains("dynamic batch", Assert.Throws<ModelMetadataException>(() => SeCoEcoEncoder.Open(fixedBatch)).Message);
    }

    [Fact]
    public void Batch_one_models_are_run_one_patch_at_a_time()
    {
        using var one = SeCoEcoEncoder.Open(TinyEncoderModel.Build(Contract, Bands.Length, S, D, W, batch: 1));
        using var dynamic = Open();
        var patches = Enumerable.Range(0, 3).Select(i => MakePatch(i)).ToArray();
        Assert.Equal(dynamic.EmbedBatch(patches), one.EmbedBatch(patches));
    }

    [Fact]
    public void Band_order_does_not_change_the_embedding()
    {
        var p = MakePatch(5);
        int plane = p.Height * p.Width;
        int[] order = [3, 1, 0, 2];
        var data = new float[p.Data.Length];
        for (int i = 0; i < order.Length; i++) p.Band(order[i]).CopyTo(data.AsSpan(i * plane, plane));
        var shuffled = new Patch(order.Select(i => p.BandNames[i]).Prepend("SCL").ToArray(), p.Height, p.Width,
            new float[plane].Concat(data).ToArray());
        using var encoder = Open();
        Assert.Equal(encoder.Embed(p), encoder.Embed(shuffled));
    }

    [Fact]
    public void Batches_larger_than_BatchSize_equal_one_by_one()
    {
        using var encoder = Open(new EncoderOptions { BatchSize = 4 });
        var patches = Enumerable.Range(0, 11).Select(i => MakePatch(10 + i, 16 + i % 5, 16 + i % 3)).ToArray();
        var batch = encoder.EmbedBatch(patches);
        Assert.Equal(11 * D, batch.Length);
        for (int i = 0; i < patches.Length; i++)
            AssertClose(encoder.Embed(patches[i]), batch.AsSpan(i * D, D), 1e-6f);
    }

    [Fact]
    public void Concurrent_calls_give_the_same_results()
    {
        using var encoder = Open(new EncoderOptions { BatchSize = 3 });
        var patches = Enumerable.Range(0, 7).Select(i => MakePatch(30 + i)).ToArray();
        var expected = encoder.EmbedBatch(patches);
        var results = new float[8][];
        Parallel.For(0, results.Length, new ParallelOptions { MaxDegreeOfParallelism = 8 }, t =>
        {
            for (int r = 0; r < 5; r++) results[t] = encoder.EmbedBatch(patches);
        });
        foreach (var r in results) Assert.Equal(expected, r);
    }

    [Fact]
    public void EmbedBatch_into_a_span_equals_the_array_form_and_checks_the_destination()
    {
        using var encoder = Open(new EncoderOptions { BatchSize = 3 });
        var patches = Enumerable.Range(0, 7).Select(i => MakePatch(50 + i)).ToArray();
        var expected = encoder.EmbedBatch(patches);
        var into = new float[7 * D + 5];
        into.AsSpan(7 * D).Fill(42f);
        IEmbeddingModel model = encoder;     // the interface call reaches the encoder's in-place implementation
        model.EmbedBatch(patches, into.AsSpan(), CancellationToken.None);
        Assert.Equal(expected, into.AsSpan(0, 7 * D).ToArray());
        Assert.All(into.AsSpan(7 * D).ToArray(), v => Assert.Equal(42f, v));
        var e = Assert.Throws<ArgumentException>(() => model.EmbedBatch(patches, new float[7 * D - 1].AsSpan(), CancellationToken.None));
        Assert.Contains($"{7 * D} needed", e.Message);
    }

    [Fact]
    public void Run_slots_are_reused_and_at_most_one_per_concurrent_caller()
    {
        using var encoder = Open(new EncoderOptions { BatchSize = 3 });
        var patches = Enumerable.Range(0, 7).Select(i => MakePatch(i)).ToList();
        var first = encoder.EmbedBatch(patches);
        Assert.Equal(first, encoder.EmbedBatch(patches)); // same slot, rebound for the short last chunk and back
        Assert.Equal(1, encoder.RunSlotsCreated);
        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 4 }, _ => Assert.Equal(first, encoder.EmbedBatch(patches)));
        Assert.InRange(encoder.RunSlotsCreated, 1, 4);
    }

    [Fact]
    public void EmbedDates_gives_rows_mean_and_concatenation()
    {
        using var encoder = Open();
        var dates = new[] { MakePatch(40, date: new DateOnly(2020, 3, 1)), MakePatch(41, date: new DateOnly(2020, 6, 1)), MakePatch(42) };
        var m = encoder.EmbedDates(dates);
        Assert.Equal(3, m.DateCount);
        Assert.Equal(D, m.Dimension);
        Assert.Equal(new DateOnly?[] { new(2020, 3, 1), new(2020, 6, 1), null }, m.Dates);
        var rows = dates.Select(encoder.Embed).ToArray();
        for (int t = 0; t < 3; t++) AssertClose(rows[t], m.Date(t), 1e-6f);
        AssertClose(rows.SelectMany(r => r).ToArray(), m.Concatenation, 1e-6f);
        var mean = Enumerable.Range(0, D).Select(j => (float)rows.Average(r => (double)r[j])).ToArray();
        AssertClose(mean, m.Mean, 1e-4f); // rows reach ~100 (ulp ~1e-5); the float32 sum of 3 rows is compared with a double mean
        Assert.Throws<ArgumentException>(() => encoder.EmbedDates([]));
    }

    private static async IAsyncEnumerable<Patch> Stream(int count, Action<int>? onYield = null, [EnumeratorCancellation] CancellationToken ct = default)
    {
        for (int i = 0; i < count; i++)
        {
            await Task.Yield();
            ct.ThrowIfCancellationRequested();
            onYield?.Invoke(i);
            yield return MakePatch(50 + i);
        }
    }

    [Fact]
    public async Task EmbedAsync_batches_in_order_and_stops_on_cancellation()
    {
        using var encoder = Open(new EncoderOptions { BatchSize = 3 });
        var expected = encoder.EmbedBatch(Enumerable.Range(0, 7).Select(i => MakePatch(50 + i)).ToArray());
        var rows = new List<float[]>();
        await foreach (var row in encoder.EmbedAsync(Stream(7))) rows.Add(row);
        Assert.Equal(7, rows.Count);
        AssertClose(expected, rows.SelectMany(r => r).ToArray(), 1e-6f);

        using var cts = new CancellationTokenSource();
        int seen = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in encoder.EmbedAsync(Stream(100, i => { if (i == 4) cts.Cancel(); }), cts.Token)) seen++;
        });
        Assert.Equal(3, seen); // the first batch of 3 came out; the cancel arrived while the second was being read
        Assert.ThrowsAny<OperationCanceledException>(() => encoder.EmbedBatch([MakePatch(1)], new CancellationToken(true)));
    }

    [Fact]
    public void Cancellation_terminates_a_run_in_flight()
    {
        // 2000 x 128 x 1024^2 = 268 G multiply-adds on one thread: several seconds of work. Cancelling after 100 ms must
        // end the run through RunOptions.Terminate (without it the run would finish and return embeddings).
        var contract = Contract with { InputSize = 4 };
        using var encoder = SeCoEcoEncoder.Open(TinyEncoderModel.BuildSlow(contract, 1024, 2000),
            new EncoderOptions { IntraOpThreads = 1, BatchSize = 128 });
        var patches = Enumerable.Range(0, 128).Select(i => MakePatch(i, 4, 4)).ToArray();
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        var e = Assert.ThrowsAny<OperationCanceledException>(() => encoder.EmbedBatch(patches, cts.Token));
        Assert.IsType<OnnxRuntimeException>(e.InnerException);
    }

    [Fact]
    public void Cuda_on_the_cpu_package_names_provider_and_package()
    {
        var e = Assert.Throws<ExecutionProviderUnavailableException>(() => Open(new EncoderOptions { ExecutionProvider = ExecutionProvider.Cuda }));
        Assert.Equal(ExecutionProvider.Cuda, e.Provider);
        Assert.Contains("Cuda", e.Message);
        Assert.Contains("CPUExecutionProvider", e.Message);
        Assert.Contains("Microsoft.ML.OnnxRuntime.Gpu", e.Message);
    }

    [Theory]
    [InlineData(ExecutionProvider.Cuda, "CUDAExecutionProvider")]
    [InlineData(ExecutionProvider.TensorRT, "TensorrtExecutionProvider")]
    [InlineData(ExecutionProvider.DirectML, "DmlExecutionProvider")]
    [InlineData(ExecutionProvider.OpenVINO, "OpenVINOExecutionProvider")]
    public void A_listed_provider_whose_append_fails_is_reported_too(ExecutionProvider provider, string ortName)
    {
        // Pretend the native library lists the provider: appending then fails inside ONNX Runtime's CPU package
        // (EntryPointNotFoundException or OnnxRuntimeException), which must become the same clear exception.
        using var so = new SessionOptions();
        var e = Assert.Throws<ExecutionProviderUnavailableException>(() =>
            ExecutionProviders.Configure(so, new EncoderOptions { ExecutionProvider = provider }, ["CPUExecutionProvider", ortName]));
        Assert.True(e.InnerException is EntryPointNotFoundException or OnnxRuntimeException, e.InnerException?.GetType().Name);
        Assert.Contains(ExecutionProviders.PackageFor(provider), e.Message);
    }

    [Fact]
    public void Cpu_fallback_logs_a_warning_and_works()
    {
        var log = new ListLogger();
        using var encoder = Open(new EncoderOptions { ExecutionProvider = ExecutionProvider.Cuda, AllowCpuFallback = true, Logger = log });
        Assert.Equal(ExecutionProvider.Cpu, encoder.ActiveProvider);
        var w = Assert.Single(log.Entries);
        Assert.Equal(LogLevel.Warning, w.Level);
        Assert.Contains("Cuda", w.Message);
        using var cpu = Open();
        Assert.Equal(cpu.Embed(MakePatch(7)), encoder.Embed(MakePatch(7)));
    }

    [Fact]
    public void Bad_input_errors_name_the_problem()
    {
        using var encoder = Open();
        var p = MakePatch(8, date: new DateOnly(2021, 5, 4));
        p.Data[2 * p.Height * p.Width + 5] = float.NaN; // B2, row 0, column 5
        var e = Assert.Throws<ArgumentException>(() => encoder.EmbedBatch([MakePatch(9), p]));
        Assert.Contains("Patch 1 (2021-05-04)", e.Message);
        Assert.Contains("'B2'", e.Message);
        Assert.Contains("row 0, column 5", e.Message);
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => encoder.EmbedBatch([])).Message);
        Assert.Throws<ArgumentException>(() => encoder.EmbedPreprocessed(new float[10], 1, new float[D]));
        Assert.Throws<ArgumentException>(() => encoder.EmbedPreprocessed(new float[encoder.Preprocessor.ValuesPerPatch], 1, new float[D + 1]));
    }

    [Fact]
    public void Options_are_validated_naming_the_field()
    {
        Assert.Equal("BatchSize", Assert.Throws<ArgumentException>(() => new EncoderOptions { BatchSize = 0 }.Validate()).ParamName);
        Assert.Equal("IntraOpThreads", Assert.Throws<ArgumentException>(() => new EncoderOptions { IntraOpThreads = -1 }.Validate()).ParamName);
        Assert.Equal("DeviceId", Assert.Throws<ArgumentException>(() => new EncoderOptions { DeviceId = -1 }.Validate()).ParamName);
        Assert.Equal("ScalingOverride", Assert.Throws<ArgumentException>(() => new EncoderOptions { ScalingOverride = new InputScaling(0) }.Validate()).ParamName);
        Assert.Equal("ContractOverride", Assert.Throws<ArgumentException>(() => new EncoderOptions { ContractOverride = Contract with { Bands = [] } }.Validate()).ParamName);
        Assert.Throws<ArgumentException>(() => Open(new EncoderOptions { BatchSize = -3 }));
    }

    [Fact]
    public void MachineLimits_ThreadsAndBatchSize_AreBoundedByTheMachine()
    {
        var max = EncoderOptions.MaxThreads;
        Assert.Equal(4 * Environment.ProcessorCount, max);
        new EncoderOptions { IntraOpThreads = max, BatchSize = EncoderOptions.MaxBatchSize }.Validate();
        var e = Assert.Throws<ArgumentException>(() => new EncoderOptions { IntraOpThreads = max + 1 }.Validate());
        Assert.Equal("IntraOpThreads", e.ParamName);
        Assert.Contains("--threads", e.Message);
        Assert.Contains(max.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Message);
        Assert.Equal("BatchSize", Assert.Throws<ArgumentException>(() => new EncoderOptions { BatchSize = EncoderOptions.MaxBatchSize + 1 }.Validate()).ParamName);
    }

    [Fact]
    public void Open_from_path_stream_and_bytes_agree()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("m.onnx"), Model.Value);
        using var a = SeCoEcoEncoder.Open(dir.File("m.onnx"));
        using var stream = File.OpenRead(dir.File("m.onnx"));
        using var b = SeCoEcoEncoder.Open(stream);
        using var c = Open();
        var p = MakePatch(12);
        Assert.Equal(c.Embed(p), a.Embed(p));
        Assert.Equal(c.Embed(p), b.Embed(p));
        Assert.Throws<FileNotFoundException>(() => SeCoEcoEncoder.Open(dir.File("missing.onnx")));
    }

    [Fact]
    public async Task Use_after_Dispose_throws_ObjectDisposedException()
    {
        var encoder = Open();
        encoder.Dispose();
        encoder.Dispose(); // idempotent
        Assert.Throws<ObjectDisposedException>(() => encoder.Embed(MakePatch(1)));
        Assert.Throws<ObjectDisposedException>(() => encoder.EmbedPreprocessed(new float[encoder.Preprocessor.ValuesPerPatch], 1, new float[D]));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => { await foreach (var _ in encoder.EmbedAsync(Stream(1))) { } });
    }

    private sealed class ListLogger : ILogger
    {
        public List<(LogLevel Level, string Message)> Entries { get; } = [];
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Entries) Entries.Add((logLevel, formatter(state, exception)));
        }
    }
}

using BenchmarkDotNet.Attributes;
using Microsoft.ML.OnnxRuntime;
using SSL4Eco.Inference.Embedding;
using SSL4Eco.Inference.Preprocessing;

namespace SSL4Eco.Benchmarks.Encoder;

/// <summary>
/// Encoder throughput (images/s = batch / mean time) at batch 1, 8 and 32: the library's <see cref="SeCoEcoEncoder"/>
/// on preprocessed input, the library end to end from raw 256² 13-band patches (preprocessing included), and the
/// baseline, a raw ONNX Runtime session on the same file with the same session options.
/// </summary>
[MemoryDiagnoser]
[WarmupCount(2)]
[IterationCount(8)]
public class EncoderThroughputBenchmarks
{
    private SeCoEcoEncoder _encoder = null!;
    private InferenceSession _raw = null!;
    private float[] _input = null!;
    private float[] _output = null!;
    private Patch[] _patches = null!;

    /// <summary>Images per run.</summary>
    [Params(1, 8, 32)]
    public int Batch { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var path = BenchmarkModels.SeCoEcoOnnx;
        _encoder = SeCoEcoEncoder.Open(path, new EncoderOptions { BatchSize = Batch });
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        _raw = new InferenceSession(path, options);
        var c = _encoder.Contract;
        _input = new float[Batch * c.Channels * c.InputSize * c.InputSize];
        var rng = new Random(3);
        for (int i = 0; i < _input.Length; i++) _input[i] = (float)(rng.NextDouble() * 20);
        _output = new float[Batch * c.EmbeddingDim];
        string[] bands = ["B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B11", "B12"];
        _patches = Enumerable.Range(0, Batch).Select(_ =>
        {
            var data = new float[bands.Length * 256 * 256];
            for (int i = 0; i < data.Length; i++) data[i] = rng.Next(100, 5000);
            return new Patch(bands, 256, 256, data);
        }).ToArray();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _encoder.Dispose();
        _raw.Dispose();
    }

    /// <summary>Baseline: a plain ONNX Runtime session, OrtValue over the same input array.</summary>
    [Benchmark(Baseline = true)]
    public float RawOnnxRuntime()
    {
        var c = _encoder.Contract;
        using var input = OrtValue.CreateTensorValueFromMemory(_input, [Batch, c.Channels, c.InputSize, c.InputSize]);
        using var run = new RunOptions();
        using var outputs = _raw.Run(run, ["input"], [input], ["embedding"]);
        return outputs[0].GetTensorDataAsSpan<float>()[0];
    }

    /// <summary>The library on already-preprocessed input.</summary>
    [Benchmark]
    public float EncoderPreprocessed()
    {
        _encoder.EmbedPreprocessed(_input, Batch, _output);
        return _output[0];
    }

    /// <summary>The library from raw 13-band 256² patches (band selection, NDVI, crop, scaling included).</summary>
    [Benchmark]
    public float EncoderFromPatches() => _encoder.EmbedBatch(_patches)[0];
}

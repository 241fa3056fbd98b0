using BenchmarkDotNet.Attributes;
using SSL4Eco.Inference.Heads;

namespace SSL4Eco.Benchmarks.Heads;

/// <summary>
/// One linear-probe training epoch on 50k × 2048 embeddings, 10 classes, batch 256 (AdamW, softmax cross-entropy,
/// plus the validation pass), against a naive scalar triple-loop epoch doing the same products.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(warmupCount: 1, iterationCount: 3)]
public class ProbeTrainingBenchmarks
{
    private const int N = 50_000, D = 2048, K = 10, Batch = 256;
    private float[] _x = null!;
    private float[] _y = null!;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(1);
        _x = new float[N * D];
        for (int i = 0; i < _x.Length; i++) _x[i] = (float)rng.NextDouble();
        _y = new float[N];
        for (int i = 0; i < N; i++) _y[i] = rng.Next(K);
    }

    /// <summary>The library trainer limited to one epoch (blocked, parallel, SIMD products).</summary>
    [Benchmark]
    public LinearHead LibraryEpoch() =>
        new LinearProbeTrainer(new LinearProbeOptions { Task = TaskType.Classification, MaxEpochs = 1 }).Fit(_x, D, _y, K);

    /// <summary>Naive baseline: scalar loops for logits and gradients, plain SGD, single thread, same batches.</summary>
    [Benchmark(Baseline = true)]
    public float NaiveEpoch()
    {
        var w = new float[K * D];
        var b = new float[K];
        var z = new float[K];
        var g = new float[K * D];
        for (int start = 0; start < N; start += Batch)
        {
            int m = Math.Min(Batch, N - start);
            Array.Clear(g);
            for (int i = start; i < start + m; i++)
            {
                float max = float.NegativeInfinity;
                for (int c = 0; c < K; c++)
                {
                    float s = b[c];
                    for (int j = 0; j < D; j++) s += w[c * D + j] * _x[i * D + j];
                    z[c] = s; max = Math.Max(max, s);
                }
                float sum = 0;
                for (int c = 0; c < K; c++) sum += z[c] = MathF.Exp(z[c] - max);
                for (int c = 0; c < K; c++)
                {
                    float d = z[c] / sum - (c == (int)_y[i] ? 1 : 0);
                    for (int j = 0; j < D; j++) g[c * D + j] += d * _x[i * D + j];
                }
            }
            for (int j = 0; j < g.Length; j++) w[j] -= 1e-3f * g[j] / m;
        }
        return w[0];
    }
}

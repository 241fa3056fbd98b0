using SSL4Eco.Inference.Embedding;
using SSL4Eco.Inference.Models;
using Xunit.Abstractions;

namespace SSL4Eco.Inference.Tests.Quantization;

/// <summary>The quality gates of issue #12 on held-out synthetic Sentinel-2 patches (not in the calibration set).</summary>
public sealed class QuantizationQualityTests : IClassFixture<QuantizationFixture>
{
    private readonly QuantizationFixture _f;
    private readonly ITestOutputHelper _log;
    public QuantizationQualityTests(QuantizationFixture f, ITestOutputHelper log) { _f = f; _log = log; }

    internal static float[] Embed(string model, IReadOnlyList<SSL4Eco.Inference.Preprocessing.Patch> patches, int batch = 8)
    {
        using var e = SeCoEcoEncoder.Open(model, new EncoderOptions { BatchSize = batch, IntraOpThreads = 2 });
        return e.EmbedBatch(patches);
    }

    /// <summary>Cosine of each row pair of two row-major [N, dim] arrays, in float64.</summary>
    public static double[] RowCosines(float[] a, float[] b, int dim)
    {
        var c = new double[a.Length / dim];
        for (int r = 0; r < c.Length; r++)
        {
            double ab = 0, aa = 0, bb = 0;
            for (int i = r * dim; i < (r + 1) * dim; i++) { ab += (double)a[i] * b[i]; aa += (double)a[i] * a[i]; bb += (double)b[i] * b[i]; }
            c[r] = ab / Math.Sqrt(aa * bb);
        }
        return c;
    }

    [Fact]
    public void Int8_and_fp16_embeddings_of_held_out_patches_match_fp32()
    {
        var patches = Enumerable.Range(5000, 32).Select(s => SyntheticSentinel2.Patch(s)).ToList();
        var fp32 = Embed(_f.Fp32, patches);
        var int8 = Embed(_f.Int8, patches);
        var fp16 = Embed(_f.Fp16, patches);
        var c8 = RowCosines(fp32, int8, 2048);
        var c16 = RowCosines(fp32, fp16, 2048);
        Array.Sort(c8);
        Array.Sort(c16);
        _log.WriteLine($"int8 vs fp32 cosine: min {c8[0]:F5} median {c8[c8.Length / 2]:F5}; fp16: min {c16[0]:F6} median {c16[c16.Length / 2]:F6}");
        Assert.True(c8[0] >= 0.99, $"int8 min cosine {c8[0]}");
        Assert.True(c16[0] >= 0.9999, $"fp16 min cosine {c16[0]}");
    }
}

using SSL4Eco.Inference.Models;
using SSL4Eco.Inference.Preprocessing;

namespace SSL4Eco.Inference.Tests.Quantization;

/// <summary>
/// Synthetic Sentinel-2 L2A patches (B2..B8A, digital numbers = reflectance × 10⁴) with realistic spectra: each patch
/// is a smooth spatial mixture of a dominant land-cover class (its label) and one other class, with per-patch brightness,
/// texture and sensor noise. Deterministic per seed.
/// </summary>
internal static class SyntheticSentinel2
{
    public static readonly string[] Bands = ["B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A"];

    /// <summary>Mean DN per band of water, forest, cropland, bare soil, urban.</summary>
    private static readonly float[][] Signatures =
    [
        [600, 550, 400, 350, 300, 280, 250, 230],
        [300, 500, 300, 900, 2200, 2700, 2900, 3000],
        [700, 900, 900, 1300, 2000, 2300, 2500, 2600],
        [1200, 1500, 1800, 2000, 2200, 2300, 2400, 2500],
        [1100, 1150, 1200, 1300, 1450, 1500, 1600, 1650],
    ];

    public static int Classes => Signatures.Length;

    /// <summary>The official SeCo-Eco contract (B2..B8A + NDVI, DN/255, 224 px) on a random-weight test model.</summary>
    public static ModelContract Contract { get; } = new()
    {
        Bands = [.. Bands, "NDVI"],
        Scaling = new InputScaling(255),
        Spatial = SpatialPolicy.CenterCropOrBicubicUpscale,
        InputSize = 224,
        ModelId = "test-resnet50",
        Version = "0.1",
        SourceSha256 = new string('a', 64),
    };

    public static Patch Patch(int seed, int size = 224) => Patch(seed, size, out _);

    public static Patch Patch(int seed, int size, out int label)
    {
        var rng = new Random(seed);
        label = rng.Next(Classes);
        int other = (label + 1 + rng.Next(Classes - 1)) % Classes;
        double cover = 0.6 + 0.3 * rng.NextDouble();
        float brightness = (float)(0.8 + 0.4 * rng.NextDouble());
        var mix = SmoothField(rng, size, 6);
        var texture = SmoothField(rng, size, 24);
        // Threshold so that about 'cover' of the patch is the dominant class, with soft edges.
        var sorted = mix.ToArray();
        Array.Sort(sorted);
        float t = sorted[(int)((1 - cover) * (sorted.Length - 1))];
        var data = new float[Bands.Length * size * size];
        for (int p = 0; p < size * size; p++)
        {
            float w = 1f / (1f + MathF.Exp(-(mix[p] - t) * 25f));
            float tex = 0.85f + 0.3f * texture[p];
            for (int b = 0; b < Bands.Length; b++)
            {
                float dn = (w * Signatures[label][b] + (1 - w) * Signatures[other][b]) * brightness * tex;
                dn += (float)(Normal(rng) * (20 + 0.02 * dn));
                data[b * size * size + p] = MathF.Max(1, MathF.Round(dn));
            }
        }
        return new Patch(Bands, size, size, data);
    }

    private static float[] SmoothField(Random rng, int size, int grid)
    {
        var g = new float[(grid + 1) * (grid + 1)];
        for (int i = 0; i < g.Length; i++) g[i] = (float)rng.NextDouble();
        var f = new float[size * size];
        for (int y = 0; y < size; y++)
        {
            float gy = y * grid / (float)size;
            int y0 = (int)gy; float fy = gy - y0;
            for (int x = 0; x < size; x++)
            {
                float gx = x * grid / (float)size;
                int x0 = (int)gx; float fx = gx - x0;
                float a = g[y0 * (grid + 1) + x0], b = g[y0 * (grid + 1) + x0 + 1], c = g[(y0 + 1) * (grid + 1) + x0], d = g[(y0 + 1) * (grid + 1) + x0 + 1];
                f[y * size + x] = (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy;
            }
        }
        return f;
    }

    private static double Normal(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
}

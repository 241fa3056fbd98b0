using System.Globalization;
using SSL4Eco.Training.Augmentation;

namespace SSL4Eco.Training.Data;

/// <summary>
/// Writes a synthetic dataset in the SSL4Eco layout (<c>imgs/{index:06d}/{YYYYMMDD}_{tile}.tif</c>, 13-band uint16
/// GeoTIFF: B1..B12 and NDVI) for tests, demos and benchmarks. Each location gets a land-cover mix (vegetation, soil,
/// water) with smooth spatial structure and 2–4 dates whose vegetation vigour follows a phenology curve, with
/// Sentinel-2 L2A-like reflectances ×10000 and the NDVI band stored as SSL4Eco does (<c>uint16(max(ndvi, 0)·10000)</c>).
/// </summary>
/// <remarks>Stateless; thread-safe (each call writes its own files).</remarks>
public static class SyntheticSsl4EcoDataset
{
    // Typical L2A reflectance ×10000 for B1,B2,B3,B4,B5,B6,B7,B8,B8A,B9,B11,B12.
    private static readonly float[] Vegetation = [300, 350, 600, 350, 1000, 2600, 3200, 3500, 3600, 3400, 1800, 900];
    private static readonly float[] Soil = [900, 1100, 1500, 1900, 2200, 2400, 2500, 2600, 2700, 2600, 3200, 2700];
    private static readonly float[] Water = [500, 450, 400, 250, 200, 150, 140, 120, 110, 90, 40, 30];

    /// <summary>Generates <paramref name="locations"/> locations of <paramref name="size"/>×<paramref name="size"/> pixels under <paramref name="root"/>.</summary>
    /// <param name="root">The dataset root; <c>imgs/</c> is created inside.</param>
    /// <param name="locations">Number of locations.</param>
    /// <param name="size">Image side in pixels (256 in SSL4Eco).</param>
    /// <param name="seed">Seed; the same seed gives the same files.</param>
    /// <param name="minDates">Fewest dates per location (≥ 1).</param>
    /// <param name="maxDates">Most dates per location (≤ 4).</param>
    /// <param name="cancellationToken">Checked between locations.</param>
    public static void Generate(string root, int locations, int size = 256, ulong seed = 0, int minDates = 2, int maxDates = 4,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        ArgumentOutOfRangeException.ThrowIfLessThan(locations, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(size, 8);
        if (minDates < 1 || maxDates > 4 || minDates > maxDates) throw new ArgumentException($"Dates per location must satisfy 1 ≤ min ≤ max ≤ 4, got {minDates}..{maxDates}.");
        Parallel.For(0, locations, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = cancellationToken }, loc =>
        {
            var rng = DeterministicRandom.Derive(seed, loc);
            string dir = Path.Combine(root, "imgs", loc.ToString("D6", CultureInfo.InvariantCulture));
            Directory.CreateDirectory(dir);
            int dates = minDates + rng.NextInt(maxDates - minDates + 1);
            // Land-cover fractions from a few smooth random bumps.
            var veg = Field(ref rng, size); var water = Field(ref rng, size);
            double waterLevel = rng.Uniform(0.6, 1.2), vegBias = rng.Uniform(-0.3, 0.5);
            double phase = rng.Uniform(0, 1), amplitude = rng.Uniform(0.2, 0.8);
            // Field pattern (e.g. crop rows): a location-specific orientation and period, stable across dates.
            double angle = rng.Uniform(0, Math.PI), period = rng.Uniform(4, 16), stripe = rng.Uniform(0.1, 0.4);
            double ca = Math.Cos(angle), sa = Math.Sin(angle);
            string tile = "T" + (10 + rng.NextInt(50)).ToString(CultureInfo.InvariantCulture) + (char)('C' + rng.NextInt(20)) + "AB";
            var data = new ushort[13 * size * size];
            for (int d = 0; d < dates; d++)
            {
                var date = new DateOnly(2017 + rng.NextInt(8), 1, 1).AddDays(d * (365 / dates) + rng.NextInt(30));
                double vigour = 0.5 + 0.5 * amplitude * Math.Sin(2 * Math.PI * (date.DayOfYear / 365.0 + phase));
                for (int p = 0; p < size * size; p++)
                {
                    double w = Math.Clamp((water[p] - waterLevel) * 4, 0, 1);
                    double pattern = 1 + stripe * Math.Sin(2 * Math.PI * ((p % size) * ca + (p / size) * sa) / period);
                    double v = Math.Clamp((veg[p] + vegBias) * pattern, 0, 1) * vigour * (1 - w);
                    double s = Math.Max(0, 1 - w - v);
                    float noise = (float)(rng.NextDouble() - 0.5) * 0.06f;
                    for (int b = 0; b < 12; b++)
                    {
                        double r = (v * Vegetation[b] + s * Soil[b] + w * Water[b]) * (1 + noise);
                        data[b * size * size + p] = (ushort)Math.Clamp(r, 1, 65535);
                    }
                    float b4 = data[3 * size * size + p], b8 = data[7 * size * size + p];
                    float ndvi = MathF.Max((b8 - b4) / (b8 + b4 + 1e-5f), 0);
                    data[12 * size * size + p] = (ushort)(ndvi * 10000);
                }
                string file = Path.Combine(dir, $"{date:yyyyMMdd}_{tile}.tif");
                GdalRasterIO.WriteUInt16(file, data, 13, size, size, 300000 + 2560 * loc, 5000000, 32632);
            }
        });
    }

    private static float[] Field(ref DeterministicRandom rng, int size)
    {
        var f = new float[size * size];
        int bumps = 3 + rng.NextInt(4);
        for (int k = 0; k < bumps; k++)
        {
            double cx = rng.NextDouble() * size, cy = rng.NextDouble() * size, r = size * rng.Uniform(0.1, 0.4), a = rng.Uniform(0.3, 1);
            for (int y = 0; y < size; y++)
                for (int x = 0; x < size; x++)
                {
                    double dx = x - cx, dy = y - cy;
                    f[y * size + x] += (float)(a * Math.Exp(-(dx * dx + dy * dy) / (2 * r * r)));
                }
        }
        return f;
    }
}

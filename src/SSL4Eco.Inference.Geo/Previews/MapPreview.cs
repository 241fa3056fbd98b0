using SSL4Eco.Inference.Files;
using SkiaSharp;
using SSL4Eco.Gdal;

namespace SSL4Eco.Inference.Geo.Previews;

/// <summary>
/// Writes a PNG preview: on the left a true-colour view (B4, B3, B2) of the input raster, on the right the first three principal
/// components of the embedding map as RGB, both over the input's extent at the same size (longest side at most
/// <c>maxSize</c>), each map pixel drawn where its geotransform puts it. Each channel is stretched linearly between its 2nd
/// and 98th percentiles; nodata tiles, and the margin outside the map (with stride &lt; tile the map starts half a tile
/// minus half a stride inside the input), are black.
/// </summary>
/// <remarks>Stateless and thread-safe (each call opens its own datasets). Needs SkiaSharp's native library at run time.</remarks>
public static class MapPreview
{
    /// <summary>Most map pixels the principal axes are fitted on (a regular sample beyond that).</summary>
    internal const int PcaSample = 4096;

    /// <summary>Writes <paramref name="pngPath"/>; throws <see cref="ArgumentException"/> when the input lacks B4/B3/B2.</summary>
    /// <param name="embeddingMapPath">Embedding raster written by the map pipeline (e.g. <c>map.tif</c>).</param>
    /// <param name="inputPath">The input raster the map was made from.</param>
    /// <param name="pngPath">Output PNG.</param>
    /// <param name="maxSize">Longest side of each half, in pixels.</param>
    /// <param name="inputBands">Band names of the input when it has no descriptions.</param>
    public static string Write(string embeddingMapPath, string inputPath, string pngPath, int maxSize = 512, IReadOnlyList<string>? inputBands = null)
    {
        if (maxSize < 8) throw new ArgumentOutOfRangeException(nameof(maxSize), $"Preview size must be at least 8, got {maxSize}.");
        Files.OutputGuard.Check([embeddingMapPath, inputPath], [pngPath]);
        using var input = GdalDataset.Open(inputPath);
        double scale = Math.Min(1.0, (double)maxSize / Math.Max(input.Width, input.Height));
        int w = Math.Max(1, (int)Math.Round(input.Width * scale)), h = Math.Max(1, (int)Math.Round(input.Height * scale));
        // B4, B3, B2 in that order, each found exactly once by name (the resolver refuses a missing or duplicated one).
        var (_, rgbBands) = Rasters.PatchReader.ResolveBands(input, inputBands, ["B4", "B3", "B2"]);
        var rgb = new float[3 * w * h];
        input.Read(new PixelWindow(0, 0, input.Width, input.Height), rgb, rgbBands, w, h, GdalResampling.Average);
        var left = ToRgb(rgb, w * h, null);

        // Bounded memory: the axes are fitted on at most PcaSample pixels taken at a regular step, then every pixel is
        // projected row by row (only three values per pixel are kept).
        using var emb = new Outputs.EmbeddingRasterReader(embeddingMapPath);
        int rows = emb.Height, cols = emb.Width, d = emb.Dim, n = rows * cols;
        var row = new float[(long)cols * d];
        var rowNoData = new bool[cols];
        int step = Math.Max(1, (int)Math.Ceiling(n / (double)PcaSample));
        var sample = new List<float>();
        int sampled = 0;
        var valid = new bool[n];
        for (int y = 0; y < rows; y++)
        {
            emb.Read(y, 0, cols, row, rowNoData);
            for (int x0 = 0; x0 < cols; x0++)
            {
                int t = y * cols + x0;
                valid[t] = !rowNoData[x0];
                if (valid[t] && t % step == 0) { sample.AddRange(row.AsSpan(x0 * d, d)); sampled++; }
            }
        }
        int kk = Math.Min(3, d);
        var pcPlanes = new float[3 * n];
        if (sampled > 0)
        {
            var (mean, axes) = EmbeddingPca.Fit(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(sample), sampled, d, kk);
            var pc = new double[kk];
            for (int y = 0; y < rows; y++)
            {
                emb.Read(y, 0, cols, row, rowNoData);
                for (int x0 = 0; x0 < cols; x0++)
                {
                    if (rowNoData[x0]) continue;
                    EmbeddingPca.ProjectOne(row.AsSpan(x0 * d, d), mean, axes, pc);
                    for (int c = 0; c < kk; c++) pcPlanes[c * n + y * cols + x0] = (float)pc[c];
                }
            }
        }
        var small = ToRgb(pcPlanes, n, valid);

        // Both halves show the input's extent: each preview pixel takes the map pixel under its centre, found through the
        // two geotransforms (the map covers only part of the input when stride < tile); outside the map it stays black.
        var inputTransform = input.GeoTransform ?? new GeoTransform(0, 1, 0, 0, 0, 1);
        var mapTransform = emb.Dataset.GeoTransform ?? new GeoTransform(0, 1, 0, 0, 0, 1);
        using var bmp = new SKBitmap(2 * w, h, SKColorType.Rgba8888, SKAlphaType.Opaque);
        for (int yy = 0; yy < h; yy++)
            for (int xx = 0; xx < w; xx++)
            {
                int p = yy * w + xx;
                bmp.SetPixel(xx, yy, new SKColor(left[3 * p], left[3 * p + 1], left[3 * p + 2]));
                var q = MapPixelUnder(inputTransform, mapTransform, (xx + 0.5) * input.Width / w, (yy + 0.5) * input.Height / h, rows, cols);
                bmp.SetPixel(w + xx, yy, q < 0 ? SKColors.Black : new SKColor(small[3 * q], small[3 * q + 1], small[3 * q + 2]));
            }
        return AtomicFile.WriteVia(pngPath, tmp =>
        {
            using var image = SKImage.FromBitmap(bmp);
            using var data = image.Encode(SKEncodedImageFormat.Png, 100);
            using var f = File.Create(tmp);
            data.SaveTo(f);
        });
    }

    /// <summary>The map pixel (row-major index) under input pixel position (col, row), or −1 outside the map.</summary>
    internal static int MapPixelUnder(GeoTransform input, GeoTransform map, double col, double row, int rows, int cols)
    {
        var (x, y) = input.PixelToGeo(col, row);
        var (mc, mr) = map.GeoToPixel(x, y);
        if (!(mc >= 0 && mr >= 0 && mc < cols && mr < rows)) return -1;
        return (int)mr * cols + (int)mc;
    }

    /// <summary>Interleaved RGB bytes from three planes, each stretched between its 2nd and 98th percentile of valid pixels.</summary>
    internal static byte[] ToRgb(float[] planes, int n, bool[]? valid)
    {
        var result = new byte[3 * n];
        for (int c = 0; c < 3; c++)
        {
            var plane = planes.AsSpan(c * n, n).ToArray();
            var vals = Enumerable.Range(0, n).Where(i => (valid is null || valid[i]) && float.IsFinite(plane[i])).Select(i => plane[i]).OrderBy(v => v).ToArray();
            if (vals.Length == 0) continue;
            float lo = vals[(int)(0.02 * (vals.Length - 1))], hi = vals[(int)(0.98 * (vals.Length - 1))];
            float range = hi > lo ? hi - lo : 1;
            for (int i = 0; i < n; i++)
            {
                if (valid is not null && !valid[i]) continue;
                result[3 * i + c] = (byte)Math.Clamp((plane[i] - lo) / range * 255f + 0.5f, 0, 255);
            }
        }
        return result;
    }
}

using SSL4Eco.Inference.Files;
using SkiaSharp;
using SSL4Eco.Inference.Geo.Gdal;

namespace SSL4Eco.Inference.Geo.Previews;

/// <summary>
/// Writes a PNG preview: on the left a true-colour view (B4, B3, B2) of the input raster, on the right the first three principal
/// components of the embedding map as RGB, both at the same size (longest side at most <c>maxSize</c>). Each channel is
/// stretched linearly between its 2nd and 98th percentiles; nodata tiles are black.
/// </summary>
/// <remarks>Stateless and thread-safe (each call opens its own datasets). Needs SkiaSharp's native library at run time.</remarks>
public static class MapPreview
{
    /// <summary>Writes <paramref name="pngPath"/>; throws <see cref="ArgumentException"/> when the input lacks B4/B3/B2.</summary>
    /// <param name="embeddingMapPath">Embedding raster written by the map pipeline (e.g. <c>map.tif</c>).</param>
    /// <param name="inputPath">The input raster the map was made from.</param>
    /// <param name="pngPath">Output PNG.</param>
    /// <param name="maxSize">Longest side of each half, in pixels.</param>
    /// <param name="inputBands">Band names of the input when it has no descriptions.</param>
    public static string Write(string embeddingMapPath, string inputPath, string pngPath, int maxSize = 512, IReadOnlyList<string>? inputBands = null)
    {
        if (maxSize < 8) throw new ArgumentOutOfRangeException(nameof(maxSize), $"Preview size must be at least 8, got {maxSize}.");
        using var input = GdalDataset.Open(inputPath);
        double scale = Math.Min(1.0, (double)maxSize / Math.Max(input.Width, input.Height));
        int w = Math.Max(1, (int)Math.Round(input.Width * scale)), h = Math.Max(1, (int)Math.Round(input.Height * scale));
        var (names, idx) = Rasters.PatchReader.ResolveBands(input, inputBands);
        int Find(string b) => Array.FindIndex(names, n => string.Equals(n, b, StringComparison.OrdinalIgnoreCase)) is int i and >= 0
            ? idx[i] : throw new ArgumentException($"'{inputPath}' has no band {b} for the true-colour preview; its bands are {string.Join(", ", names)}.");
        int[] rgbBands = [Find("B4"), Find("B3"), Find("B2")];
        var rgb = new float[3 * w * h];
        input.Read(new PixelWindow(0, 0, input.Width, input.Height), rgb, rgbBands, w, h, GdalResampling.Average);
        var left = ToRgb(rgb, w * h, null);

        using var emb = GdalDataset.Open(embeddingMapPath);
        int rows = emb.Height, cols = emb.Width, d = emb.BandCount, n = rows * cols;
        var bandMajor = new float[(long)d * n];
        emb.Read(new PixelWindow(0, 0, cols, rows), bandMajor);
        double? nd = emb.Band(1).NoData;
        var validIdx = Enumerable.Range(0, n).Where(t => nd is null || bandMajor[t] != nd.Value).ToArray();
        var x = new float[(long)validIdx.Length * d];
        for (int k = 0; k < validIdx.Length; k++) for (int j = 0; j < d; j++) x[(long)k * d + j] = bandMajor[(long)j * n + validIdx[k]];
        var pcs = validIdx.Length > 0 ? EmbeddingPca.Project(x, validIdx.Length, d, Math.Min(3, d)) : [];
        int kk = Math.Min(3, d);
        var pcPlanes = new float[3 * n];
        var valid = new bool[n];
        for (int k = 0; k < validIdx.Length; k++)
        {
            valid[validIdx[k]] = true;
            for (int c = 0; c < 3; c++) pcPlanes[c * n + validIdx[k]] = c < kk ? (float)pcs[k * kk + c] : 0f;
        }
        var small = ToRgb(pcPlanes, n, valid);

        using var bmp = new SKBitmap(2 * w, h, SKColorType.Rgba8888, SKAlphaType.Opaque);
        for (int yy = 0; yy < h; yy++)
            for (int xx = 0; xx < w; xx++)
            {
                int p = yy * w + xx;
                bmp.SetPixel(xx, yy, new SKColor(left[3 * p], left[3 * p + 1], left[3 * p + 2]));
                int r = Math.Min(rows - 1, yy * rows / h), c = Math.Min(cols - 1, xx * cols / w), q = r * cols + c;
                bmp.SetPixel(w + xx, yy, new SKColor(small[3 * q], small[3 * q + 1], small[3 * q + 2]));
            }
        return AtomicFile.WriteVia(pngPath, tmp =>
        {
            using var image = SKImage.FromBitmap(bmp);
            using var data = image.Encode(SKEncodedImageFormat.Png, 100);
            using var f = File.Create(tmp);
            data.SaveTo(f);
        });
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

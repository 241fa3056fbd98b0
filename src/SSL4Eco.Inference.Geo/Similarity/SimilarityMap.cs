using SSL4Eco.Inference.Files;
using SSL4Eco.Inference.Geo.Gdal;
using SSL4Eco.Inference.Similarity;

namespace SSL4Eco.Inference.Geo.Similarity;

/// <summary>
/// Cosine similarity of every pixel of an embedding map (the raster <c>ssl4eco map</c> writes: one band per dimension)
/// to a query vector, written as a one-band float32 GeoTIFF on the same grid (CRS and geotransform copied); the map's
/// nodata pixels stay nodata.
/// </summary>
/// <remarks>Stateless; thread-safe (each call opens its own datasets).</remarks>
public static class SimilarityMap
{
    /// <summary>Nodata of the similarity raster (cosine similarities lie in [−1, 1]).</summary>
    public const float NoData = -9999f;

    /// <summary>The embedding of one map pixel (for a query "like this place").</summary>
    /// <exception cref="ArgumentException">The pixel is outside the map or nodata.</exception>
    public static float[] PixelEmbedding(string embeddingMap, int row, int col)
    {
        using var ds = GdalDataset.Open(embeddingMap);
        if (row < 0 || col < 0 || row >= ds.Height || col >= ds.Width)
            throw new ArgumentException($"Pixel ({row}, {col}) is outside the {ds.Height} x {ds.Width} map.");
        var v = new float[ds.BandCount];
        ds.Read(new PixelWindow(col, row, 1, 1), v);
        if (ds.Band(1).NoData is double nd && v.All(x => x == (float)nd))
            throw new ArgumentException($"Pixel ({row}, {col}) of the map is nodata.");
        return v;
    }

    /// <summary>Writes the similarity of each map pixel to <paramref name="query"/> to <paramref name="outputPath"/> (temp file, renamed on success).</summary>
    /// <exception cref="ArgumentException">The query length differs from the map's band count.</exception>
    public static void Write(string embeddingMap, ReadOnlySpan<float> query, string outputPath, CancellationToken cancellationToken = default)
    {
        using var ds = GdalDataset.Open(embeddingMap);
        int dim = ds.BandCount, w = ds.Width, h = ds.Height;
        if (query.Length != dim) throw new ArgumentException($"The query has {query.Length} dims but the map has {dim} bands.");
        double? nodata = ds.Band(1).NoData;
        var similarity = new float[w * h];
        var rowValues = new float[dim * w];
        var pixel = new float[dim];
        for (int y = 0; y < h; y++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            ds.Read(new PixelWindow(0, y, w, 1), rowValues);   // band-major: [dim, w]
            for (int x = 0; x < w; x++)
            {
                for (int d = 0; d < dim; d++) pixel[d] = rowValues[d * w + x];
                bool isNoData = nodata is double nd && pixel.All(v => v == (float)nd);
                similarity[y * w + x] = isNoData ? NoData : EmbeddingIndex.CosineSimilarities(query, pixel, dim)[0];
            }
        }
        AtomicFile.WriteVia(outputPath, tmp =>
        {
            using (var outDs = GdalDataset.Create("GTiff", tmp, w, h, 1, GdalDataType.Float32,
                       new Dictionary<string, string> { ["COMPRESS"] = "DEFLATE", ["TILED"] = "YES" }))
            {
                outDs.GeoTransform = ds.GeoTransform;
                if (ds.ProjectionWkt.Length > 0) outDs.ProjectionWkt = ds.ProjectionWkt;
                var band = outDs.Band(1);
                band.NoData = NoData;
                band.Description = "cosine_similarity";
                outDs.Write(new PixelWindow(0, 0, w, h), similarity);
            }
        });
    }
}

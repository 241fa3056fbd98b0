using SSL4Eco.Gdal;
using SSL4Eco.Inference.Geo.Outputs;
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
        using var reader = new Outputs.EmbeddingRasterReader(embeddingMap);
        if (row < 0 || col < 0 || row >= reader.Height || col >= reader.Width)
            throw new ArgumentException($"Pixel ({row}, {col}) is outside the {reader.Height} x {reader.Width} map.");
        var v = new float[reader.Dim];
        var noData = new bool[1];
        reader.Read(row, col, 1, v, noData);
        if (noData[0]) throw new ArgumentException($"Pixel ({row}, {col}) of the map is nodata.");
        return v;
    }

    /// <summary>Writes the similarity of each map pixel to <paramref name="query"/> to <paramref name="outputPath"/> (temp file, renamed on success).</summary>
    /// <exception cref="ArgumentException">The query length differs from the map's band count.</exception>
    public static void Write(string embeddingMap, ReadOnlySpan<float> query, string outputPath, CancellationToken cancellationToken = default)
    {
        var q = query.ToArray();
        PixelMapTransform.Write(embeddingMap, outputPath, ["cosine_similarity"], NoData,
            (pixel, result) => result[0] = EmbeddingIndex.CosineSimilarities(q, pixel, q.Length)[0], q.Length, cancellationToken);
    }
}

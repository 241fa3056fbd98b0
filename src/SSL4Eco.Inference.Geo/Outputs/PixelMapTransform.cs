using SSL4Eco.Inference.Files;
using SSL4Eco.Gdal;

namespace SSL4Eco.Inference.Geo.Outputs;

/// <summary>
/// Turns an embedding map raster (one band per dimension, as <c>ssl4eco map</c> writes) into another raster on the same
/// grid, pixel by pixel: reads one row at a time (bounded memory), keeps CRS and geotransform, writes nodata where the
/// map is nodata, and writes through a temporary file renamed on success.
/// </summary>
internal static class PixelMapTransform
{
    /// <summary>Applies <paramref name="transform"/> (embedding → <paramref name="bandNames"/>.Count values) to every valid pixel.</summary>
    public static void Write(string embeddingMap, string outputPath, IReadOnlyList<string> bandNames, float noData,
        Action<float[], float[]> transform, int? expectedDim = null, CancellationToken cancellationToken = default)
    {
        // The map and, for an int8 map, its scale raster are inputs the output must not replace.
        OutputGuard.Check([embeddingMap, CogMapWriter.ScalePath(embeddingMap)], [outputPath]);
        using var reader = new EmbeddingRasterReader(embeddingMap);
        var ds = reader.Dataset;
        int dim = reader.Dim, w = reader.Width, h = reader.Height, k = bandNames.Count;
        if (expectedDim is int e && e != dim) throw new ArgumentException($"Expected {e}-d embeddings but the map has {dim} bands.");
        var result = new float[k * w * h];
        var row = new float[dim * w];
        var rowNoData = new bool[w];
        var pixel = new float[dim];
        var values = new float[k];
        for (int y = 0; y < h; y++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            reader.Read(y, 0, w, row, rowNoData);
            for (int x = 0; x < w; x++)
            {
                row.AsSpan(x * dim, dim).CopyTo(pixel);
                if (rowNoData[x]) Array.Fill(values, noData);
                else transform(pixel, values);
                for (int c = 0; c < k; c++) result[(c * h + y) * w + x] = values[c];
            }
        }
        AtomicFile.WriteVia(outputPath, tmp =>
        {
            using var outDs = GdalDataset.Create("GTiff", tmp, w, h, k, GdalDataType.Float32,
                new Dictionary<string, string> { ["COMPRESS"] = "DEFLATE", ["TILED"] = "YES" });
            outDs.GeoTransform = ds.GeoTransform;
            if (ds.ProjectionWkt.Length > 0) outDs.ProjectionWkt = ds.ProjectionWkt;
            for (int c = 0; c < k; c++)
            {
                var band = outDs.Band(c + 1);
                band.NoData = noData;
                band.Description = bandNames[c];
            }
            outDs.Write(new PixelWindow(0, 0, w, h), result);
        });
    }
}

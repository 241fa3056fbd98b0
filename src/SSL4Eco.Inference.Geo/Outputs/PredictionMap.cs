using SSL4Eco.Inference.Heads;

namespace SSL4Eco.Inference.Geo.Outputs;

/// <summary>
/// Applies a trained <see cref="LinearHead"/> to every pixel of an embedding map and writes its predictions as a GeoTIFF
/// on the same grid: one float32 band per output (class probabilities, label scores, target values or distribution
/// bins), named by the head's output names; nodata where the map is nodata.
/// </summary>
/// <remarks>Stateless; thread-safe (each call opens its own datasets).</remarks>
public static class PredictionMap
{
    /// <summary>Nodata of the prediction raster.</summary>
    public const float NoData = -9999f;

    /// <summary>Writes the head's predictions for <paramref name="embeddingMap"/> to <paramref name="outputPath"/>.</summary>
    /// <exception cref="ArgumentException">The head's input size differs from the map's band count.</exception>
    public static void Write(string embeddingMap, LinearHead head, string outputPath, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(head);
        PixelMapTransform.Write(embeddingMap, outputPath, head.OutputNames, NoData,
            (pixel, result) => head.Predict(pixel, 1).CopyTo(result, 0), head.InputDim, cancellationToken);
    }
}

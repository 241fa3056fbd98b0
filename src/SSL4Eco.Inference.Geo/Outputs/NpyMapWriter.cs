using SSL4Eco.Inference.Files;
using System.Text.Json;
using SSL4Eco.Inference.Arrays;
using SSL4Eco.Inference.Geo.Gdal;

namespace SSL4Eco.Inference.Geo.Outputs;

/// <summary>
/// Writes <c>prefix.npy</c> (<c>[rows, cols, dim]</c> float32, nodata tiles hold the nodata value), <c>prefix.valid.npy</c>
/// (<c>[rows, cols]</c> float64 valid fractions) and <c>prefix.json</c>: grid size, tile size, stride, CRS (WKT, EPSG,
/// PROJJSON), output geotransform, nodata, input bands, date and the run metadata.
/// </summary>
internal static class NpyMapWriter
{
    public static IReadOnlyList<string> Write(string prefix, EmbeddingMap map)
    {
        var npy = AtomicFile.WriteVia(prefix + ".npy", tmp => NpyFile.Write(tmp, map.Values, map.Rows, map.Columns, map.Dim));
        var valid = AtomicFile.WriteVia(prefix + ".valid.npy", tmp => NpyFile.Write(tmp, map.ValidFraction, map.Rows, map.Columns));
        int? epsg = null;
        string? projjson = null;
        if (map.ProjectionWkt.Length > 0)
        {
            using var srs = GdalSpatialReference.FromUserInput(map.ProjectionWkt);
            epsg = srs.Epsg;
            projjson = srs.ToProjJson();
        }
        var sidecar = new Dictionary<string, object?>
        {
            ["shape"] = new[] { map.Rows, map.Columns, map.Dim },
            ["rows"] = map.Rows,
            ["cols"] = map.Columns,
            ["dim"] = map.Dim,
            ["tile_size"] = map.Grid.TileSize,
            ["stride"] = map.Grid.Stride,
            ["raster_size"] = new[] { map.Grid.RasterWidth, map.Grid.RasterHeight },
            ["transform"] = map.Grid.OutputTransform.ToArray(),
            ["input_transform"] = map.Grid.Transform.ToArray(),
            ["crs_wkt"] = map.ProjectionWkt,
            ["epsg"] = epsg,
            ["crs_projjson"] = projjson is null ? null : JsonDocument.Parse(projjson).RootElement,
            ["nodata"] = map.NoDataValue,
            ["input_bands"] = map.InputBands,
            ["date"] = map.Date?.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
            ["metadata"] = map.Metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToDictionary(kv => kv.Key, kv => kv.Value),
        };
        var json = AtomicFile.WriteVia(prefix + ".json", tmp =>
            File.WriteAllText(tmp, JsonSerializer.Serialize(sidecar, new JsonSerializerOptions { WriteIndented = true })));
        return [npy, valid, json];
    }
}

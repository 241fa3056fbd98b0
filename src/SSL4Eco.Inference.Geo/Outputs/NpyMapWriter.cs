using SSL4Eco.Inference.Files;
using System.Text.Json;
using SSL4Eco.Inference.Arrays;
using SSL4Eco.Gdal;

namespace SSL4Eco.Inference.Geo.Outputs;

/// <summary>
/// Writes <c>prefix.npy</c> (<c>[rows, cols, dim]</c> float32, nodata tiles hold the nodata value), <c>prefix.valid.npy</c>
/// (<c>[rows, cols]</c> float64 valid fractions) and <c>prefix.json</c>: grid size, tile size, stride, CRS (WKT, EPSG,
/// PROJJSON), output geotransform, nodata, input bands, date and the run metadata.
/// </summary>
internal sealed class NpyMapWriter : IMapWriter
{
    /// <summary>The registry name of this format.</summary>
    public const string FormatName = "npy";

    public string Format => FormatName;

    public int Order => 1;

    public IReadOnlyList<string> Extensions { get; } = [".npy"];

    public IReadOnlyList<string> FilesFor(string prefix, EmbeddingRasterType rasterType) => [prefix + ".npy", prefix + ".valid.npy", prefix + ".json"];

    Task<IReadOnlyList<MapOutput>> IMapWriter.WriteAsync(string prefix, EmbeddingMap map, MapWriteOptions options, CancellationToken cancellationToken)
    {
        MapOutputRole[] roles = [MapOutputRole.Embeddings, MapOutputRole.ValidFraction, MapOutputRole.Metadata];
        return Task.FromResult<IReadOnlyList<MapOutput>>([.. Write(prefix, map).Select((f, i) => new MapOutput(Format, roles[i], f))]);
    }

    public static IReadOnlyList<string> Write(string prefix, EmbeddingMap map)
    {
        int tiles = map.Rows * map.Columns, piece = map.TilesPerPiece();
        var buffer = new float[(long)Math.Min(piece, Math.Max(1, tiles)) * map.Dim];
        var npy = NpyFileWrite(prefix + ".npy", map, tiles, piece, buffer);
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

    // Streams the values piece by piece (bounded memory).
    private static string NpyFileWrite(string path, EmbeddingMap map, int tiles, int piece, float[] buffer)
    {
        NpyFile.WriteSingle(path, [map.Rows, map.Columns, map.Dim], s =>
        {
            for (int t = 0; t < tiles; t += piece)
            {
                int n = Math.Min(piece, tiles - t);
                var span = buffer.AsSpan(0, n * map.Dim);
                map.Values.Read(t, n, span);
                s.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(span));
            }
        });
        return Path.GetFullPath(path);
    }
}

using SSL4Eco.Inference.Files;
using System.Text.Json;
using System.Text.Json.Nodes;
using NetTopologySuite.IO;
using Parquet;
using Parquet.Schema;
using SSL4Eco.Gdal;

namespace SSL4Eco.Inference.Geo.Outputs;

/// <summary>
/// Writes embedding maps as GeoParquet 1.0.0: one row per embedded tile and date (nodata tiles are omitted) with columns
/// <c>geometry</c> (WKB polygon footprint in the raster CRS), <c>row</c>, <c>col</c>, <c>date</c> (yyyy-MM-dd or null),
/// <c>valid_fraction</c> and <c>embedding</c> (list&lt;float&gt;); file metadata <c>geo</c> holds version, primary column,
/// WKB encoding, CRS as PROJJSON (from OSR), geometry types and bbox; the run metadata (of the first map) is added as
/// further key/values. Several maps (the dates of one grid) go into one table, in the order given.
/// </summary>
/// <remarks>Memory: rows are written in row groups of at most ~8 MiB of embeddings, read from the maps piece by piece.</remarks>
internal sealed class GeoParquetMapWriter : IMapWriter
{
    /// <summary>The registry name of this format.</summary>
    public const string FormatName = "geoparquet";

    public string Format => FormatName;

    public int Order => 2;

    public IReadOnlyList<string> Extensions { get; } = [".parquet"];

    public IReadOnlyList<string> FilesFor(string prefix, EmbeddingRasterType rasterType) => [prefix + ".parquet"];

    async Task<IReadOnlyList<MapOutput>> IMapWriter.WriteAsync(string prefix, EmbeddingMap map, MapWriteOptions options, CancellationToken cancellationToken) =>
        [new MapOutput(Format, MapOutputRole.Embeddings, await WriteAsync(prefix + ".parquet", map, options.Tiles, cancellationToken).ConfigureAwait(false))];

    public static Task<string> WriteAsync(string path, EmbeddingMap map, ISet<int> includeRoiOnly, CancellationToken ct, int? tilesPerGroup = null) =>
        WriteAsync(path, [map], includeRoiOnly, ct, tilesPerGroup);

    public static Task<string> WriteAsync(string path, IReadOnlyList<EmbeddingMap> maps, ISet<int> includeRoiOnly, CancellationToken ct, int? tilesPerGroup = null)
    {
        if (maps.Count == 0) throw new ArgumentException("No map to write.", nameof(maps));
        var first = maps[0];
        if (maps.Any(m => m.Rows != first.Rows || m.Columns != first.Columns || m.Dim != first.Dim))
            throw new ArgumentException("All maps of one GeoParquet table must share grid and embedding length.", nameof(maps));
        var keeps = maps.Select(m => Enumerable.Range(0, m.Rows * m.Columns).Where(i => includeRoiOnly.Contains(i) && !m.IsNoData[i]).ToArray()).ToList();
        double minX = double.PositiveInfinity, minY = double.PositiveInfinity, maxX = double.NegativeInfinity, maxY = double.NegativeInfinity;
        foreach (var i in keeps.SelectMany(k => k).Distinct())
        {
            var e = first.Grid.TileAt(i / first.Columns, i % first.Columns).Footprint.EnvelopeInternal;
            minX = Math.Min(minX, e.MinX); minY = Math.Min(minY, e.MinY); maxX = Math.Max(maxX, e.MaxX); maxY = Math.Max(maxY, e.MaxY);
        }
        var column = new JsonObject
        {
            ["encoding"] = "WKB",
            ["geometry_types"] = new JsonArray("Polygon"),
        };
        if (first.ProjectionWkt.Length > 0)
        {
            using var srs = GdalSpatialReference.FromUserInput(first.ProjectionWkt);
            column["crs"] = JsonNode.Parse(srs.ToProjJson());
        }
        if (keeps.Any(k => k.Length > 0)) column["bbox"] = new JsonArray(minX, minY, maxX, maxY);
        var geo = new JsonObject { ["version"] = "1.0.0", ["primary_column"] = "geometry", ["columns"] = new JsonObject { ["geometry"] = column } };

        var geometry = new DataField<byte[]>("geometry");
        var row = new DataField<int>("row");
        var col = new DataField<int>("col");
        var date = new DataField<string>("date", true);
        var valid = new DataField<double>("valid_fraction");
        var element = new DataField<float>("element");
        var embedding = new ListField("embedding", element);
        var schema = new ParquetSchema(geometry, row, col, date, valid, embedding);
        int dim = first.Dim, cols = first.Columns;
        int perGroup = tilesPerGroup ?? first.TilesPerPiece();
        return AtomicFile.WriteViaAsync(path, async tmp =>
        {
            await using var stream = File.Create(tmp);
            await using var writer = await ParquetWriter.CreateAsync(schema, stream, cancellationToken: ct).ConfigureAwait(false);
            writer.CustomMetadata = new Dictionary<string, string>(first.Metadata) { ["geo"] = geo.ToJsonString(new JsonSerializerOptions { WriteIndented = false }) };
            var wkb = new WKBWriter();
            bool wroteGroup = false;
            for (int m = 0; m < maps.Count; m++)
            {
                var map = maps[m];
                var keep = keeps[m];
                var dateText = map.Date?.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
                for (int start = 0; start < keep.Length; start += perGroup)
                {
                    ct.ThrowIfCancellationRequested();
                    var part = keep.AsSpan(start, Math.Min(perGroup, keep.Length - start)).ToArray();
                    await WriteGroupAsync(map, part, dateText).ConfigureAwait(false);
                    wroteGroup = true;
                }
            }
            if (!wroteGroup) await WriteGroupAsync(first, [], null).ConfigureAwait(false);   // an empty table still has its schema

            async Task WriteGroupAsync(EmbeddingMap map, int[] part, string? dateText)
            {
                var flat = new float[(long)part.Length * dim];
                var rep = new int[flat.Length];
                for (int k = 0; k < part.Length; k++)
                {
                    map.Values.Read(part[k], 1, flat.AsSpan(k * dim, dim));
                    rep.AsSpan(k * dim + 1, dim - 1).Fill(1);
                }
                using var rg = writer.CreateRowGroup();
                await rg.WriteAsync(geometry, part.Select(i => wkb.Write(map.Grid.TileAt(i / cols, i % cols).Footprint)).ToArray()).ConfigureAwait(false);
                await rg.WriteAsync<int>(row, part.Select(i => i / cols).ToArray(), null, null, ct).ConfigureAwait(false);
                await rg.WriteAsync<int>(col, part.Select(i => i % cols).ToArray(), null, null, ct).ConfigureAwait(false);
                await rg.WriteAsync(date, part.Select(_ => dateText!).ToArray()).ConfigureAwait(false);
                await rg.WriteAsync<double>(valid, part.Select(i => map.ValidFraction[i]).ToArray(), null, null, ct).ConfigureAwait(false);
                var def = new int[flat.Length];
                Array.Fill(def, element.MaxDefinitionLevel);
                await rg.WriteAllPartsAsync<float>(element, flat, def, rep, ct).ConfigureAwait(false);
            }
        }, ct);
    }
}

using SSL4Eco.Inference.Files;
using System.Text.Json;
using System.Text.Json.Nodes;
using NetTopologySuite.IO;
using Parquet;
using Parquet.Schema;
using SSL4Eco.Inference.Geo.Gdal;

namespace SSL4Eco.Inference.Geo.Outputs;

/// <summary>
/// Writes an embedding map as GeoParquet 1.0.0: one row per embedded tile (nodata tiles are omitted) with columns
/// <c>geometry</c> (WKB polygon footprint in the raster CRS), <c>row</c>, <c>col</c>, <c>date</c> (yyyy-MM-dd or null),
/// <c>valid_fraction</c> and <c>embedding</c> (list&lt;float&gt;); file metadata <c>geo</c> holds version, primary column,
/// WKB encoding, CRS as PROJJSON (from OSR), geometry types and bbox; the run metadata is added as further key/values.
/// </summary>
internal static class GeoParquetMapWriter
{
    public static Task<string> WriteAsync(string path, EmbeddingMap map, ISet<int> includeRoiOnly, CancellationToken ct, int? tilesPerGroup = null)
    {
        var keep = Enumerable.Range(0, map.Rows * map.Columns).Where(i => includeRoiOnly.Contains(i) && !map.IsNoData[i]).ToArray();
        var wkb = new WKBWriter();
        var geoms = new List<byte[]>(keep.Length);
        double minX = double.PositiveInfinity, minY = double.PositiveInfinity, maxX = double.NegativeInfinity, maxY = double.NegativeInfinity;
        foreach (var i in keep)
        {
            var poly = map.Grid.TileAt(i / map.Columns, i % map.Columns).Footprint;
            geoms.Add(wkb.Write(poly));
            var e = poly.EnvelopeInternal;
            minX = Math.Min(minX, e.MinX); minY = Math.Min(minY, e.MinY); maxX = Math.Max(maxX, e.MaxX); maxY = Math.Max(maxY, e.MaxY);
        }
        var column = new JsonObject
        {
            ["encoding"] = "WKB",
            ["geometry_types"] = new JsonArray("Polygon"),
        };
        if (map.ProjectionWkt.Length > 0)
        {
            using var srs = GdalSpatialReference.FromUserInput(map.ProjectionWkt);
            column["crs"] = JsonNode.Parse(srs.ToProjJson());
        }
        if (keep.Length > 0) column["bbox"] = new JsonArray(minX, minY, maxX, maxY);
        var geo = new JsonObject { ["version"] = "1.0.0", ["primary_column"] = "geometry", ["columns"] = new JsonObject { ["geometry"] = column } };

        var geometry = new DataField<byte[]>("geometry");
        var row = new DataField<int>("row");
        var col = new DataField<int>("col");
        var date = new DataField<string>("date", true);
        var valid = new DataField<double>("valid_fraction");
        var element = new DataField<float>("element");
        var embedding = new ListField("embedding", element);
        var schema = new ParquetSchema(geometry, row, col, date, valid, embedding);

        var dateText = map.Date?.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        int perGroup = tilesPerGroup ?? map.TilesPerPiece();
        return AtomicFile.WriteViaAsync(path, async tmp =>
        {
            await using var stream = File.Create(tmp);
            await using var writer = await ParquetWriter.CreateAsync(schema, stream, cancellationToken: ct).ConfigureAwait(false);
            var md = new Dictionary<string, string>(map.Metadata) { ["geo"] = geo.ToJsonString(new JsonSerializerOptions { WriteIndented = false }) };
            writer.CustomMetadata = md;
            // One row group per piece of at most ~8 MiB of embeddings, so memory does not grow with the map.
            for (int start = 0; start < keep.Length || (start == 0 && keep.Length == 0); start += perGroup)
            {
                var part = keep.AsSpan(start, Math.Min(perGroup, keep.Length - start)).ToArray();
                var flat = new float[(long)part.Length * map.Dim];
                var rep = new int[flat.Length];
                for (int k = 0; k < part.Length; k++)
                {
                    map.Values.Read(part[k], 1, flat.AsSpan(k * map.Dim, map.Dim));
                    rep.AsSpan(k * map.Dim + 1, map.Dim - 1).Fill(1);
                }
                using var rg = writer.CreateRowGroup();
                await rg.WriteAsync(geometry, geoms.GetRange(start, part.Length)).ConfigureAwait(false);
                await rg.WriteAsync<int>(row, part.Select(i => i / map.Columns).ToArray(), null, null, ct).ConfigureAwait(false);
                await rg.WriteAsync<int>(col, part.Select(i => i % map.Columns).ToArray(), null, null, ct).ConfigureAwait(false);
                await rg.WriteAsync(date, part.Select(_ => dateText!).ToArray()).ConfigureAwait(false);
                await rg.WriteAsync<double>(valid, part.Select(i => map.ValidFraction[i]).ToArray(), null, null, ct).ConfigureAwait(false);
                var def = new int[flat.Length];
                Array.Fill(def, element.MaxDefinitionLevel);
                await rg.WriteAllPartsAsync<float>(element, flat, def, rep, ct).ConfigureAwait(false);
                if (keep.Length == 0) break;
            }
        });
    }
}

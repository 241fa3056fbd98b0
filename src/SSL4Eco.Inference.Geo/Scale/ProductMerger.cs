using System.Globalization;
using System.Security;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Parquet;
using Parquet.Schema;
using SSL4Eco.Gdal;

namespace SSL4Eco.Inference.Geo.Scale;

/// <summary>The files a merge wrote.</summary>
/// <param name="Vrt">The mosaic VRT of every unit's embedding raster.</param>
/// <param name="Cog">The COG mosaic with overviews, when asked for.</param>
/// <param name="ParquetRoot">Root of the hive-partitioned GeoParquet dataset (<c>mgrs_tile=TILE/unit=KEY/part-0.parquet</c>).</param>
/// <param name="Collection">The STAC-style collection JSON describing the product.</param>
/// <param name="Rows">Table rows written (after the overlap rule).</param>
/// <remarks>Immutable; thread-safe.</remarks>
public sealed record MergeResult(string Vrt, string? Cog, string ParquetRoot, string Collection, long Rows);

/// <summary>
/// Merges the unit outputs of a finished <see cref="WorkManifest"/> into one product under a folder (local or object
/// storage): <c>mosaic.vrt</c> (one band per embedding dimension; every unit placed at its whole-pixel offset on the common
/// grid), optionally <c>mosaic.tif</c> (COG, DEFLATE, nearest-neighbour overviews), <c>parquet/mgrs_tile=TILE/unit=KEY/part-0.parquet</c>
/// (hive-style by Sentinel-2 MGRS tile, from the unit's scene name; <c>__HIVE_DEFAULT_PARTITION__</c>, the hive convention for
/// null, when the name carries none)
/// (GeoParquet; <c>row</c>/<c>col</c> are rewritten to the mosaic's pixel, so they mean the same in every partition) and
/// <c>collection.json</c> (STAC-style: model, recipe fingerprint, options, one band per embedding dimension, the
/// collection-level GeoParquet <c>geo</c> metadata). Overlap rule (<see cref="WorkManifest.OverlapRule"/>): where units cover
/// the same mosaic pixel, the unit earlier in the manifest owns it, in the rasters (it is drawn last) and in the table (rows
/// of later units inside an earlier unit's extent are left out). Blocks of one raster never overlap, so their merge equals
/// a single run over the whole raster. Units must share CRS and pixel size and sit whole pixels apart.
/// </summary>
/// <remarks>Stateless; thread-safe for distinct output folders.</remarks>
public static class ProductMerger
{
    /// <summary>Merges; see the type remarks.</summary>
    /// <param name="manifest">The plan whose units are all done.</param>
    /// <param name="outputFolder">Product folder (local or object URL); null = <c>OUTPUT_ROOT/product</c>.</param>
    /// <param name="workFolder">Local scratch folder.</param>
    /// <param name="cog">Also write the COG mosaic.</param>
    /// <param name="cancellationToken">Cancels between units.</param>
    /// <exception cref="InvalidOperationException">Some units are not done, or the units do not share one grid.</exception>
    public static async Task<MergeResult> MergeAsync(WorkManifest manifest, string? outputFolder, string workFolder, bool cog = false,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentException.ThrowIfNullOrWhiteSpace(workFolder);
        var output = GdalVsi.ToGdalPath(outputFolder ?? GdalVsi.Combine(manifest.OutputRoot, "product"));
        if (GdalVsi.IsVirtual(manifest.OutputRoot)) GdalVsi.ClearCache();
        var notDone = manifest.Units.Select(u => (Unit: u, Why: UnitStore.WhyNotDone(manifest, u))).Where(x => x.Why is not null).ToList();
        if (notDone.Count > 0)
            throw new InvalidOperationException($"{notDone.Count} of {manifest.Units.Count} units are not done (first: {notDone[0].Unit.Key}, unit {notDone[0].Unit.Index}: {notDone[0].Why}); " +
                "run the shards that own them again (unit k belongs to shard k mod n), then merge.");
        Directory.CreateDirectory(workFolder);
        var scratch = Path.Combine(Path.GetFullPath(workFolder), $"merge-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(scratch);
        try
        {
            var layout = Layout(manifest);
            var vrtLocal = Path.Combine(scratch, "mosaic.vrt");
            File.WriteAllText(vrtLocal, VrtXml(manifest, layout), new UTF8Encoding(false));
            string? cogPath = null;
            if (cog)
            {
                var cogLocal = Path.Combine(scratch, "mosaic.tif");
                using (var vrt = GdalDataset.Open(vrtLocal))
                using (vrt.CreateCopy("COG", cogLocal, new Dictionary<string, string>
                    { ["COMPRESS"] = "DEFLATE", ["PREDICTOR"] = "YES", ["OVERVIEWS"] = "AUTO", ["RESAMPLING"] = "NEAREST", ["BIGTIFF"] = "IF_SAFER" })) { }
                cogPath = GdalVsi.Combine(output, "mosaic.tif");
                UnitStore.Commit(cogLocal, cogPath, cancellationToken);
            }
            var vrtPath = GdalVsi.Combine(output, "mosaic.vrt");
            UnitStore.Commit(vrtLocal, vrtPath, cancellationToken);
            var parquetRoot = GdalVsi.Combine(output, "parquet");
            long rows = 0;
            for (int k = 0; k < manifest.Units.Count; k++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var unit = manifest.Units[k];
                var local = Path.Combine(scratch, $"part-{k}.parquet");
                rows += await RewriteParquetAsync(manifest.UnitPath(unit, ".parquet"), local, layout, k, cancellationToken).ConfigureAwait(false);
                UnitStore.Commit(local, GdalVsi.Combine(parquetRoot, PartitionPath(unit)), cancellationToken);
            }
            var collectionLocal = Path.Combine(scratch, "collection.json");
            File.WriteAllText(collectionLocal, CollectionJson(manifest, layout, cog), new UTF8Encoding(false));
            var collection = GdalVsi.Combine(output, "collection.json");
            UnitStore.Commit(collectionLocal, collection, cancellationToken);
            return new MergeResult(vrtPath, cogPath, parquetRoot, collection, rows);
        }
        finally
        {
            Directory.Delete(scratch, true);
        }
    }

    /// <summary>Where each unit's raster sits in the mosaic.</summary>
    private sealed record Placement(string Path, int Col, int Row, int Width, int Height);

    private sealed record MosaicLayout(GeoTransform Transform, string Wkt, int Width, int Height, int Bands, string DataType, double? NoData,
        string[] Descriptions, IReadOnlyDictionary<string, string> Metadata, IReadOnlyList<Placement> Units);

    private static MosaicLayout Layout(WorkManifest manifest)
    {
        var infos = new List<(string Path, GeoTransform T, int W, int H)>();
        string wkt = "", type = "";
        int bands = 0;
        double? noData = null;
        string[] descriptions = [];
        IReadOnlyDictionary<string, string> metadata = new Dictionary<string, string>();
        foreach (var unit in manifest.Units)
        {
            var path = manifest.UnitPath(unit, ".tif");
            using var ds = GdalDataset.Open(path);
            var t = ds.GeoTransform ?? throw new InvalidOperationException($"'{path}' has no geotransform; re-run its unit.");
            if (t.RowRotation != 0 || t.ColumnRotation != 0) throw new InvalidOperationException($"'{path}' is rotated; a mosaic needs north-up rasters.");
            if (infos.Count == 0)
            {
                (wkt, bands, type, noData) = (ds.ProjectionWkt, ds.BandCount, ds.Band(1).DataType.ToString(), ds.Band(1).NoData);
                descriptions = Enumerable.Range(1, bands).Select(b => ds.Band(b).Description).ToArray();
                metadata = ds.GetMetadata();
            }
            else
            {
                var f = infos[0];
                if (ds.BandCount != bands || ds.Band(1).DataType.ToString() != type)
                    throw new InvalidOperationException($"'{path}' has {ds.BandCount} {ds.Band(1).DataType} bands, the first unit {bands} {type}; every unit must come from one manifest.");
                if (Math.Abs(t.PixelWidth - f.T.PixelWidth) > 1e-9 * Math.Abs(f.T.PixelWidth) || Math.Abs(t.PixelHeight - f.T.PixelHeight) > 1e-9 * Math.Abs(f.T.PixelHeight))
                    throw new InvalidOperationException($"'{path}' has another pixel size than '{f.Path}'; the units of a mosaic must share one grid (same resolution and stride).");
                using var a = GdalSpatialReference.FromUserInput(wkt.Length > 0 ? wkt : "EPSG:4326");
                using var b = GdalSpatialReference.FromUserInput(ds.ProjectionWkt.Length > 0 ? ds.ProjectionWkt : "EPSG:4326");
                if (!a.IsSame(b)) throw new InvalidOperationException($"'{path}' is in another CRS than '{f.Path}'; map scenes of one CRS (e.g. one UTM zone) per manifest.");
            }
            infos.Add((path, t, ds.Width, ds.Height));
        }
        // The origin is the unit reaching furthest left/up (exact: one of the units' own origins).
        var first = infos[0].T;
        double pw = first.PixelWidth, ph = first.PixelHeight;
        var originX = infos.Select(i => i.T.OriginX).Aggregate((x, y) => pw > 0 ? Math.Min(x, y) : Math.Max(x, y));
        var originY = infos.Select(i => i.T.OriginY).Aggregate((x, y) => ph < 0 ? Math.Max(x, y) : Math.Min(x, y));
        var placements = new List<Placement>();
        foreach (var (path, t, w, h) in infos)
        {
            double c = (t.OriginX - originX) / pw, r = (t.OriginY - originY) / ph;
            int ci = (int)Math.Round(c), ri = (int)Math.Round(r);
            if (Math.Abs(c - ci) > 1e-6 || Math.Abs(r - ri) > 1e-6)
                throw new InvalidOperationException(FormattableString.Invariant(
                    $"'{path}' sits {c:0.###}, {r:0.###} pixels from the mosaic origin, not a whole number; scenes of one mosaic must lie on one pixel grid (plan blocks of one raster, or scenes on a common grid)."));
            placements.Add(new Placement(path, ci, ri, w, h));
        }
        int width = placements.Max(p => p.Col + p.Width), height = placements.Max(p => p.Row + p.Height);
        return new MosaicLayout(new GeoTransform(originX, pw, 0, originY, 0, ph), wkt, width, height, bands, type, noData, descriptions, metadata, placements);
    }

    private static string VrtXml(WorkManifest manifest, MosaicLayout l)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append(inv, $"<VRTDataset rasterXSize=\"{l.Width}\" rasterYSize=\"{l.Height}\">\n");
        if (l.Wkt.Length > 0) sb.Append("  <SRS dataAxisToSRSAxisMapping=\"1,2\">").Append(SecurityElement.Escape(l.Wkt)).Append("</SRS>\n");
        var t = l.Transform;
        sb.Append(inv, $"  <GeoTransform>{t.OriginX:R}, {t.PixelWidth:R}, {t.RowRotation:R}, {t.OriginY:R}, {t.ColumnRotation:R}, {t.PixelHeight:R}</GeoTransform>\n");
        sb.Append("  <Metadata>\n");
        foreach (var (k, v) in l.Metadata.Where(kv => kv.Key.StartsWith("ssl4eco.", StringComparison.Ordinal)).OrderBy(kv => kv.Key, StringComparer.Ordinal))
            sb.Append("    <MDI key=\"").Append(SecurityElement.Escape(k)).Append("\">").Append(SecurityElement.Escape(v)).Append("</MDI>\n");
        sb.Append("    <MDI key=\"ssl4eco.overlap_rule\">").Append(WorkManifest.OverlapRule).Append("</MDI>\n");
        sb.Append("  </Metadata>\n");
        for (int b = 1; b <= l.Bands; b++)
        {
            sb.Append(inv, $"  <VRTRasterBand dataType=\"{l.DataType}\" band=\"{b}\">\n");
            if (l.NoData is double nd) sb.Append(inv, $"    <NoDataValue>{nd:R}</NoDataValue>\n");
            if (l.Descriptions[b - 1].Length > 0) sb.Append("    <Description>").Append(SecurityElement.Escape(l.Descriptions[b - 1])).Append("</Description>\n");
            // Drawn last = on top: so the unit earliest in the manifest is written last.
            for (int k = l.Units.Count - 1; k >= 0; k--)
            {
                var p = l.Units[k];
                sb.Append("    <SimpleSource>\n");
                sb.Append("      <SourceFilename relativeToVRT=\"0\">").Append(SecurityElement.Escape(p.Path)).Append("</SourceFilename>\n");
                sb.Append(inv, $"      <SourceBand>{b}</SourceBand>\n");
                sb.Append(inv, $"      <SrcRect xOff=\"0\" yOff=\"0\" xSize=\"{p.Width}\" ySize=\"{p.Height}\" />\n");
                sb.Append(inv, $"      <DstRect xOff=\"{p.Col}\" yOff=\"{p.Row}\" xSize=\"{p.Width}\" ySize=\"{p.Height}\" />\n");
                sb.Append("    </SimpleSource>\n");
            }
            sb.Append("  </VRTRasterBand>\n");
        }
        sb.Append("</VRTDataset>\n");
        return sb.ToString();
    }

    /// <summary>
    /// Where a unit's rows go under the GeoParquet root: <c>mgrs_tile=TILE/unit=KEY/part-0.parquet</c>, the tile read from the
    /// unit's scene name (<c>…_T31UES_…</c>, <c>S2A_31UES_…</c>), <c>__HIVE_DEFAULT_PARTITION__</c> when it names none.
    /// </summary>
    public static string PartitionPath(WorkUnit unit)
    {
        ArgumentNullException.ThrowIfNull(unit);
        return $"mgrs_tile={ScalePlanner.TileInName(unit.Key) ?? "__HIVE_DEFAULT_PARTITION__"}/unit={unit.Key}/part-0.parquet";
    }

    /// <summary>Copies unit <paramref name="k"/>'s table with row/col moved to the mosaic and rows owned by earlier units left out.</summary>
    private static async Task<long> RewriteParquetAsync(string source, string target, MosaicLayout layout, int k, CancellationToken ct)
    {
        var me = layout.Units[k];
        bool OwnedByEarlier(int row, int col)
        {
            for (int j = 0; j < k; j++)
            {
                var p = layout.Units[j];
                if (col >= p.Col && col < p.Col + p.Width && row >= p.Row && row < p.Row + p.Height) return true;
            }
            return false;
        }
        await using var input = new MemoryStream(GdalVsi.ReadAllBytes(source));
        await using var reader = await ParquetReader.CreateAsync(input, cancellationToken: ct).ConfigureAwait(false);
        var schema = reader.Schema;
        var fields = schema.GetDataFields();
        DataField F(string name) => fields.FirstOrDefault(f => f.Name == name) ?? throw new InvalidDataException($"'{source}' has no '{name}' column; re-run its unit.");
        var (geometry, rowF, colF, dateF, validF) = (F("geometry"), F("row"), F("col"), F("date"), F("valid_fraction"));
        var element = fields.First(f => f.Path.ToList().Contains("embedding"));
        long written = 0;
        await using var output = File.Create(target);
        await using var writer = await ParquetWriter.CreateAsync(schema, output, cancellationToken: ct).ConfigureAwait(false);
        writer.CustomMetadata = new Dictionary<string, string>(reader.CustomMetadata);
        bool wroteGroup = false;
        for (int g = 0; g < reader.RowGroupCount; g++)
        {
            using var rg = reader.OpenRowGroupReader(g);
            int n = checked((int)rg.RowCount);
            if (n == 0) continue;
            var geoms = new byte[]?[n];
            var rows = new int[n];
            var cols = new int[n];
            var dates = new string?[n];
            var valid = new double[n];
            await rg.ReadAsync(geometry, geoms.AsMemory(), null, ct).ConfigureAwait(false);
            await rg.ReadAsync<int>(rowF, rows.AsMemory(), null, ct).ConfigureAwait(false);
            await rg.ReadAsync<int>(colF, cols.AsMemory(), null, ct).ConfigureAwait(false);
            await rg.ReadAsync(dateF, dates.AsMemory(), null, ct).ConfigureAwait(false);
            await rg.ReadAsync<double>(validF, valid.AsMemory(), null, ct).ConfigureAwait(false);
            long count = rg.GetMetadata(element)?.MetaData?.NumValues ?? throw new InvalidDataException($"'{source}': the embedding column has no metadata.");
            var data = new float[checked((int)count)];
            var rep = new int[data.Length];
            var def = new int[data.Length];
            await rg.ReadRawAsync<float>(element, data.AsMemory(), def.AsMemory(), rep.AsMemory(), ct).ConfigureAwait(false);
            int dim = data.Length / n;
            var keep = Enumerable.Range(0, n).Where(i => !OwnedByEarlier(rows[i] + me.Row, cols[i] + me.Col)).ToArray();
            var flat = new float[keep.Length * dim];
            var outRep = new int[flat.Length];
            var outDef = new int[flat.Length];
            Array.Fill(outDef, element.MaxDefinitionLevel);
            for (int j = 0; j < keep.Length; j++)
            {
                data.AsSpan(keep[j] * dim, dim).CopyTo(flat.AsSpan(j * dim, dim));
                outRep.AsSpan(j * dim + 1, dim - 1).Fill(1);
            }
            using var wg = writer.CreateRowGroup();
            await wg.WriteAsync(geometry, keep.Select(i => geoms[i]!).ToArray()).ConfigureAwait(false);
            await wg.WriteAsync<int>(rowF, keep.Select(i => rows[i] + me.Row).ToArray(), null, null, ct).ConfigureAwait(false);
            await wg.WriteAsync<int>(colF, keep.Select(i => cols[i] + me.Col).ToArray(), null, null, ct).ConfigureAwait(false);
            await wg.WriteAsync(dateF, keep.Select(i => dates[i]!).ToArray()).ConfigureAwait(false);
            await wg.WriteAsync<double>(validF, keep.Select(i => valid[i]).ToArray(), null, null, ct).ConfigureAwait(false);
            await wg.WriteAllPartsAsync<float>(element, flat, outDef, outRep, ct).ConfigureAwait(false);
            written += keep.Length;
            wroteGroup = true;
        }
        if (!wroteGroup)
        {
            using var wg = writer.CreateRowGroup();
            await wg.WriteAsync(geometry, Array.Empty<byte[]>()).ConfigureAwait(false);
            await wg.WriteAsync<int>(rowF, Array.Empty<int>(), null, null, ct).ConfigureAwait(false);
            await wg.WriteAsync<int>(colF, Array.Empty<int>(), null, null, ct).ConfigureAwait(false);
            await wg.WriteAsync(dateF, Array.Empty<string>()).ConfigureAwait(false);
            await wg.WriteAsync<double>(validF, Array.Empty<double>(), null, null, ct).ConfigureAwait(false);
            await wg.WriteAllPartsAsync<float>(element, Array.Empty<float>(), Array.Empty<int>(), Array.Empty<int>(), ct).ConfigureAwait(false);
        }
        return written;
    }

    private static string CollectionJson(WorkManifest manifest, MosaicLayout l, bool cog)
    {
        var t = l.Transform;
        double x0 = t.OriginX, x1 = t.OriginX + l.Width * t.PixelWidth, y0 = t.OriginY, y1 = t.OriginY + l.Height * t.PixelHeight;
        var bbox = new JsonArray(Math.Min(x0, x1), Math.Min(y0, y1), Math.Max(x0, x1), Math.Max(y0, y1));
        var column = new JsonObject { ["encoding"] = "WKB", ["geometry_types"] = new JsonArray("Polygon"), ["bbox"] = bbox.DeepClone() };
        int? epsg = null;
        if (l.Wkt.Length > 0)
        {
            using var srs = GdalSpatialReference.FromUserInput(l.Wkt);
            column["crs"] = JsonNode.Parse(srs.ToProjJson());
            epsg = srs.Epsg;
        }
        var bands = new JsonArray();
        for (int b = 0; b < l.Bands; b++)
            bands.Add(new JsonObject { ["name"] = l.Descriptions[b].Length > 0 ? l.Descriptions[b] : $"emb_{b:D4}", ["data_type"] = l.DataType.ToLowerInvariant() });
        var assets = new JsonObject
        {
            ["mosaic"] = new JsonObject { ["href"] = "mosaic.vrt", ["type"] = "application/xml", ["roles"] = new JsonArray("data"), ["title"] = "VRT mosaic, one band per embedding dimension" },
            ["geoparquet"] = new JsonObject { ["href"] = "parquet/", ["type"] = "application/vnd.apache.parquet", ["roles"] = new JsonArray("data"), ["title"] = "GeoParquet dataset, hive-partitioned by MGRS tile and unit (mgrs_tile=TILE/unit=KEY), one row per embedded tile" },
        };
        if (cog) assets["cog"] = new JsonObject { ["href"] = "mosaic.tif", ["type"] = "image/tiff; application=geotiff; profile=cloud-optimized", ["roles"] = new JsonArray("data", "overview") };
        var o = manifest.Options;
        var doc = new JsonObject
        {
            ["type"] = "Collection",
            ["stac_version"] = "1.0.0",
            ["id"] = "ssl4eco-embeddings-" + manifest.OptionsSha256[..8] + "-" + manifest.RecipeSha256[..Math.Min(8, manifest.RecipeSha256.Length)],
            ["description"] = $"SSL4Eco embeddings of {manifest.Units.Count} work units, merged with the rule '{WorkManifest.OverlapRule}'.",
            ["license"] = "other",
            ["extent"] = new JsonObject
            {
                ["spatial"] = new JsonObject { ["bbox"] = new JsonArray(bbox.DeepClone()) },
                ["temporal"] = new JsonObject { ["interval"] = new JsonArray(new JsonArray(null, null)) },
            },
            ["summaries"] = new JsonObject
            {
                ["ssl4eco:model"] = manifest.Model,
                ["ssl4eco:recipe_sha256"] = manifest.RecipeSha256,
                ["ssl4eco:options"] = o.ToCanonicalText(),
                ["ssl4eco:options_sha256"] = manifest.OptionsSha256,
                ["ssl4eco:overlap_rule"] = WorkManifest.OverlapRule,
                ["ssl4eco:units"] = manifest.Units.Count,
                ["proj:epsg"] = epsg,
                ["proj:shape"] = new JsonArray(l.Height, l.Width),
                ["proj:transform"] = new JsonArray(t.PixelWidth, t.RowRotation, t.OriginX, t.ColumnRotation, t.PixelHeight, t.OriginY),
                ["raster:bands"] = bands,
            },
            ["geoparquet:geo"] = new JsonObject { ["version"] = "1.0.0", ["primary_column"] = "geometry", ["columns"] = new JsonObject { ["geometry"] = column } },
            ["assets"] = assets,
            ["links"] = new JsonArray(),
        };
        return doc.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }
}

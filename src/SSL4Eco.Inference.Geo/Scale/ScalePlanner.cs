using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using SSL4Eco.Gdal;
using SSL4Eco.Inference.Geo.Rasters;
using SSL4Eco.Inference.Geo.Tiling;

namespace SSL4Eco.Inference.Geo.Scale;

/// <summary>
/// Turns inputs into a <see cref="WorkManifest"/>: raster files, folders of rasters (sorted by name), text files listing one
/// raster per line, and STAC items or item collections saved as JSON (one unit per item: its first GeoTIFF asset, or the asset
/// named by <c>stacAsset</c>; relative hrefs resolve against the JSON's folder; <c>s3://</c>, <c>gs://</c>, <c>az://</c> and
/// <c>https://</c> hrefs become GDAL virtual paths). With <c>blockTiles</c>, every raster is cut into blocks of
/// blockTiles × blockTiles tiles of the map's own <see cref="TileGrid"/>: block edges stay on the stride grid, so the blocks'
/// maps put side by side are the map of the whole raster. With <c>mgrsTiles</c> (an MGRS tile list), only the scenes of those
/// Sentinel-2 tiles are planned: a STAC item's tile comes from <c>s2:mgrs_tile</c> (or <c>mgrs:utm_zone</c> +
/// <c>mgrs:latitude_band</c> + <c>mgrs:grid_square</c>), a file's from the <c>_T31UES_</c>-style tile in its name; a listed
/// tile that matches no scene is refused (a typo would otherwise leave a hole in the product).
/// </summary>
/// <remarks>Stateless; thread-safe.</remarks>
public static partial class ScalePlanner
{
    /// <summary>Plans the manifest; see the type remarks.</summary>
    /// <param name="inputs">Rasters, folders, .txt lists and STAC .json files, in priority order (the first wins where units overlap).</param>
    /// <param name="outputRoot">Where unit outputs go (local folder or object URL).</param>
    /// <param name="model">The model's name (recorded).</param>
    /// <param name="recipeSha256">The model's input recipe fingerprint.</param>
    /// <param name="modelTileSize">The model's input size (the tile when <see cref="ScaleMapOptions.TileSize"/> is null).</param>
    /// <param name="options">Map options.</param>
    /// <param name="blockTiles">Tiles per block side, or null for one unit per raster.</param>
    /// <param name="stacAsset">STAC asset name, or null for the first GeoTIFF asset.</param>
    /// <param name="mgrsTiles">MGRS tiles (e.g. <c>31UES</c>) to keep, or null for every scene.</param>
    public static WorkManifest Plan(IReadOnlyList<string> inputs, string outputRoot, string model, string recipeSha256, int modelTileSize,
        ScaleMapOptions options, int? blockTiles = null, string? stacAsset = null, IReadOnlyCollection<string>? mgrsTiles = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(outputRoot);
        if (inputs.Count == 0) throw new ArgumentException("no inputs to plan; give rasters, folders of rasters, a .txt list or a STAC item collection (.json).");
        if (blockTiles is < 1) throw new ArgumentException($"--block-tiles must be at least 1, got {blockTiles}.");
        if (options.RasterType != Outputs.EmbeddingRasterType.Float32)
            throw new ArgumentException($"--dtype {options.RasterType} is not supported for planned runs yet (their mosaic is a VRT of float32 rasters); plan with --dtype float32.");
        int tile = options.TileSize ?? modelTileSize, stride = options.Stride ?? tile;
        if (blockTiles is not null && stride > tile)
            throw new ArgumentException($"--block-tiles needs a stride no larger than the tile (got stride {stride}, tile {tile}): with gaps between tiles a one-tile block would get other pixel sizes; use whole scenes or a smaller stride.");
        var scenes = new List<(string Path, string Name, string? Mgrs)>();
        foreach (var input in inputs) scenes.AddRange(Expand(input, stacAsset));
        if (mgrsTiles is not null) scenes = KeepTiles(scenes, mgrsTiles);
        var units = new List<WorkUnit>();
        foreach (var (path, name, _) in scenes)
        {
            string stem = Safe(name);
            if (blockTiles is not int b) { units.Add(new WorkUnit(units.Count, $"u{units.Count:D6}-{stem}", path, null)); continue; }
            int width, height;
            using (var ds = GdalDataset.Open(path)) (width, height) = (ds.Width, ds.Height);
            var grid = new TileGrid(width, height, tile, stride);
            for (int r0 = 0; r0 < grid.Rows; r0 += b)
                for (int c0 = 0; c0 < grid.Columns; c0 += b)
                {
                    int nr = Math.Min(b, grid.Rows - r0), nc = Math.Min(b, grid.Columns - c0);
                    var w = new PixelWindow(c0 * stride, r0 * stride, (nc - 1) * stride + grid.TileWidth, (nr - 1) * stride + grid.TileHeight);
                    units.Add(new WorkUnit(units.Count, FormattableString.Invariant($"u{units.Count:D6}-{stem}-r{r0:D5}c{c0:D5}"), path, w));
                }
        }
        return new WorkManifest { OutputRoot = GdalVsi.ToGdalPath(outputRoot), Model = model, RecipeSha256 = recipeSha256, Options = options, Units = units };
    }

    /// <summary>
    /// Reads an MGRS tile list given on a command line: a <c>.txt</c> file with one tile per line (blank lines and <c>#</c>
    /// comments skipped) or a comma-separated list; null stays null (every scene).
    /// </summary>
    public static IReadOnlyList<string>? ParseTileList(string? listOrFile)
    {
        if (listOrFile is null) return null;
        var items = File.Exists(listOrFile)
            ? File.ReadAllLines(listOrFile).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#'))
            : listOrFile.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        return items.ToList();
    }

    /// <summary>The scenes of the listed MGRS tiles, in input order; every listed tile must match a scene.</summary>
    private static List<(string Path, string Name, string? Mgrs)> KeepTiles(List<(string Path, string Name, string? Mgrs)> scenes, IReadOnlyCollection<string> tiles)
    {
        var wanted = new HashSet<string>(StringComparer.Ordinal);
        foreach (var t in tiles)
        {
            var tile = t.Trim().ToUpperInvariant().TrimStart('T');
            if (!MgrsTile().IsMatch(tile)) throw new ArgumentException($"'{t}' is not an MGRS tile id; write tiles like 31UES (zone 01-60, latitude band, two-letter square).");
            wanted.Add(tile);
        }
        if (wanted.Count == 0) throw new ArgumentException("the MGRS tile list is empty; list tiles like 31UES, or leave the option out to plan every scene.");
        var kept = scenes.Where(s => s.Mgrs is { } m && wanted.Contains(m)).ToList();
        var missing = wanted.Where(t => !kept.Any(s => s.Mgrs == t)).Order(StringComparer.Ordinal).ToList();
        if (missing.Count > 0)
            throw new ArgumentException($"MGRS tile{(missing.Count > 1 ? "s" : "")} {string.Join(", ", missing)} match{(missing.Count > 1 ? "" : "es")} no input scene (scene tiles come from STAC 's2:mgrs_tile' or a '_T31UES_'-style file name); add the scenes or drop the tile{(missing.Count > 1 ? "s" : "")}.");
        return kept;
    }

    /// <summary>The MGRS tile in a Sentinel-2 file or item name (<c>…_T31UES_…</c>, <c>S2B_31UES_…</c>), or null.</summary>
    internal static string? TileInName(string name)
    {
        var m = MgrsInName().Match(name);
        return m.Success ? m.Groups[1].Value.ToUpperInvariant() : null;
    }

    private static IEnumerable<(string Path, string Name, string? Mgrs)> Expand(string input, string? stacAsset)
    {
        var gdalPath = GdalVsi.ToGdalPath(input);
        if (GdalVsi.IsVirtual(gdalPath)) return [(gdalPath, Stem(gdalPath), TileInName(Stem(gdalPath)))];
        if (Directory.Exists(input))
        {
            var found = RasterFiles.InFolder(input);
            if (found.Count == 0) throw new ArgumentException($"the input folder '{input}' holds no raster ({string.Join(", ", RasterFiles.Extensions)}).");
            return found.Select(f => (Path.GetFullPath(f), Stem(f), TileInName(Stem(f))));
        }
        if (!File.Exists(input)) throw new FileNotFoundException($"the input '{input}' does not exist; give rasters, folders, a .txt list or a STAC .json.");
        var ext = Path.GetExtension(input).ToLowerInvariant();
        if (ext == ".txt")
            return File.ReadAllLines(input).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#'))
                .SelectMany(l => Expand(Path.IsPathRooted(l) || l.Contains("://", StringComparison.Ordinal) ? l : Path.Combine(Path.GetDirectoryName(Path.GetFullPath(input))!, l), stacAsset)).ToList();
        if (ext is ".json" or ".geojson") return Stac(input, stacAsset);
        return [(Path.GetFullPath(input), Stem(input), TileInName(Stem(input)))];
    }

    /// <summary>One (href, item id) per STAC item of an item collection (or a single item) saved as JSON.</summary>
    private static List<(string Path, string Name, string? Mgrs)> Stac(string file, string? assetName)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(File.ReadAllBytes(file)); }
        catch (JsonException e) { throw new ArgumentException($"'{file}' is not JSON ({e.Message.Split('\n')[0]}); give a STAC item collection saved as JSON.", e); }
        using (doc)
        {
            var root = doc.RootElement;
            IEnumerable<JsonElement> items = root.TryGetProperty("features", out var f) && f.ValueKind == JsonValueKind.Array ? f.EnumerateArray()
                : root.TryGetProperty("assets", out _) ? [root]
                : throw new ArgumentException($"'{file}' is neither a STAC item collection (no 'features') nor a STAC item (no 'assets').");
            var list = new List<(string, string, string?)>();
            var folder = Path.GetDirectoryName(Path.GetFullPath(file))!;
            int n = 0;
            foreach (var item in items)
            {
                string id = item.TryGetProperty("id", out var idEl) && idEl.ValueKind == JsonValueKind.String ? idEl.GetString()! : $"item{n}";
                n++;
                if (!item.TryGetProperty("assets", out var assets) || assets.ValueKind != JsonValueKind.Object)
                    throw new ArgumentException($"STAC item '{id}' in '{file}' has no assets.");
                JsonElement? asset = null;
                foreach (var a in assets.EnumerateObject())
                {
                    if (assetName is not null ? a.Name == assetName
                        : a.Value.TryGetProperty("type", out var t) && t.GetString() is { } type && type.Contains("tiff", StringComparison.OrdinalIgnoreCase))
                    { asset = a.Value; break; }
                }
                if (asset is not { } chosen || !chosen.TryGetProperty("href", out var href) || href.GetString() is not { Length: > 0 } h)
                    throw new ArgumentException(assetName is null
                        ? $"STAC item '{id}' in '{file}' has no GeoTIFF asset (type image/tiff…); name the asset with --stac-asset."
                        : $"STAC item '{id}' in '{file}' has no asset '{assetName}' with an href (assets: {string.Join(", ", assets.EnumerateObject().Select(a => a.Name))}).");
                var path = GdalVsi.ToGdalPath(h);
                if (path == h && !Path.IsPathRooted(h)) path = Path.GetFullPath(Path.Combine(folder, h));
                list.Add((path, id, ItemTile(item) ?? TileInName(id)));
            }
            if (list.Count == 0) throw new ArgumentException($"the STAC item collection '{file}' has no items.");
            return list;
        }
    }

    private static string? ItemTile(JsonElement item)
    {
        if (!item.TryGetProperty("properties", out var p) || p.ValueKind != JsonValueKind.Object) return null;
        string? Str(string key) => p.TryGetProperty(key, out var v) ? v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Number => v.GetInt32().ToString("D2", CultureInfo.InvariantCulture),
            _ => null,
        } : null;
        if (Str("s2:mgrs_tile") is { } tile) return tile.Trim().ToUpperInvariant().TrimStart('T');
        return Str("mgrs:utm_zone") is { } zone && Str("mgrs:latitude_band") is { } band && Str("mgrs:grid_square") is { } square
            ? (zone.PadLeft(2, '0') + band + square).ToUpperInvariant()
            : null;
    }

    private static string Stem(string path) => Path.GetFileNameWithoutExtension(path.TrimEnd('/'));

    private static string Safe(string name)
    {
        var s = Unsafe().Replace(name, "_");
        return s.Length > 80 ? s[..80] : s.Length == 0 ? "input" : s;
    }

    [GeneratedRegex("^(0[1-9]|[1-5][0-9]|60)[C-HJ-NP-X][A-HJ-NP-Z][A-HJ-NP-V]$")]
    private static partial Regex MgrsTile();

    [GeneratedRegex("(?:^|[_-])T?((?:0[1-9]|[1-5][0-9]|60)[C-HJ-NP-X][A-HJ-NP-Z][A-HJ-NP-V])(?:[_.-]|$)", RegexOptions.IgnoreCase)]
    private static partial Regex MgrsInName();

    [GeneratedRegex("[^A-Za-z0-9._-]")]
    private static partial Regex Unsafe();
}

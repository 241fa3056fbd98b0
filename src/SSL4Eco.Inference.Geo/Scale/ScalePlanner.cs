using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using SSL4Eco.Inference.Geo.Gdal;
using SSL4Eco.Inference.Geo.Rasters;
using SSL4Eco.Inference.Geo.Tiling;

namespace SSL4Eco.Inference.Geo.Scale;

/// <summary>
/// Turns inputs into a <see cref="WorkManifest"/>: raster files, folders of rasters (sorted by name), text files listing one
/// raster per line, and STAC items or item collections saved as JSON (one unit per item: its first GeoTIFF asset, or the asset
/// named by <c>stacAsset</c>; relative hrefs resolve against the JSON's folder; <c>s3://</c>, <c>gs://</c>, <c>az://</c> and
/// <c>https://</c> hrefs become GDAL virtual paths). With <c>blockTiles</c>, every raster is cut into blocks of
/// blockTiles × blockTiles tiles of the map's own <see cref="TileGrid"/>: block edges stay on the stride grid, so the blocks'
/// maps put side by side are the map of the whole raster.
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
    public static WorkManifest Plan(IReadOnlyList<string> inputs, string outputRoot, string model, string recipeSha256, int modelTileSize,
        ScaleMapOptions options, int? blockTiles = null, string? stacAsset = null)
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
        var scenes = new List<(string Path, string Name)>();
        foreach (var input in inputs) scenes.AddRange(Expand(input, stacAsset));
        var units = new List<WorkUnit>();
        foreach (var (path, name) in scenes)
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

    private static IEnumerable<(string Path, string Name)> Expand(string input, string? stacAsset)
    {
        var gdalPath = GdalVsi.ToGdalPath(input);
        if (GdalVsi.IsVirtual(gdalPath)) return [(gdalPath, Stem(gdalPath))];
        if (Directory.Exists(input))
        {
            var found = RasterFiles.InFolder(input);
            if (found.Count == 0) throw new ArgumentException($"the input folder '{input}' holds no raster ({string.Join(", ", RasterFiles.Extensions)}).");
            return found.Select(f => (Path.GetFullPath(f), Stem(f)));
        }
        if (!File.Exists(input)) throw new FileNotFoundException($"the input '{input}' does not exist; give rasters, folders, a .txt list or a STAC .json.");
        var ext = Path.GetExtension(input).ToLowerInvariant();
        if (ext == ".txt")
            return File.ReadAllLines(input).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#'))
                .SelectMany(l => Expand(Path.IsPathRooted(l) || l.Contains("://", StringComparison.Ordinal) ? l : Path.Combine(Path.GetDirectoryName(Path.GetFullPath(input))!, l), stacAsset)).ToList();
        if (ext is ".json" or ".geojson") return Stac(input, stacAsset);
        return [(Path.GetFullPath(input), Stem(input))];
    }

    /// <summary>One (href, item id) per STAC item of an item collection (or a single item) saved as JSON.</summary>
    private static List<(string Path, string Name)> Stac(string file, string? assetName)
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
            var list = new List<(string, string)>();
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
                list.Add((path, id));
            }
            if (list.Count == 0) throw new ArgumentException($"the STAC item collection '{file}' has no items.");
            return list;
        }
    }

    private static string Stem(string path) => Path.GetFileNameWithoutExtension(path.TrimEnd('/'));

    private static string Safe(string name)
    {
        var s = Unsafe().Replace(name, "_");
        return s.Length > 80 ? s[..80] : s.Length == 0 ? "input" : s;
    }

    [GeneratedRegex("[^A-Za-z0-9._-]")]
    private static partial Regex Unsafe();
}

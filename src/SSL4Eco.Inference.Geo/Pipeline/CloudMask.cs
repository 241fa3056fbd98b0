using System.Globalization;
using NetTopologySuite.Geometries;
using SSL4Eco.Gdal;
using SSL4Eco.Inference.Geo.Tiling;

namespace SSL4Eco.Inference.Geo.Pipeline;

/// <summary>
/// A cloud mask (e.g. Sentinel-2 SCL at 20 m) read through its own georeferencing onto the scene's pixel grid: GDAL warps
/// it lazily (<c>gdalwarp -r near -te … -ts … -t_srs …</c>, nearest neighbour, so class values stay class values; a mask
/// in another CRS is reprojected), and each tile reads the same window of the warped mask as of the scene. A mask
/// without a CRS is taken to be in the scene's CRS; a mask without a geotransform, a scene that is not north-up, or a
/// mask that does not cover the area to map is refused (<see cref="EnsureCovers"/>).
/// </summary>
/// <remarks>Not thread-safe: one per reader thread (it holds GDAL datasets).</remarks>
internal sealed class CloudMask : IDisposable
{
    private readonly GdalDataset _source;
    private readonly GdalDataset _onGrid;

    private CloudMask(GdalDataset source, GdalDataset onGrid)
    {
        _source = source;
        _onGrid = onGrid;
    }

    /// <summary>Opens <paramref name="maskPath"/> warped onto the pixel grid of <paramref name="scene"/>.</summary>
    /// <exception cref="ArgumentException">The mask or the scene cannot be placed (no geotransform, not north-up).</exception>
    public static CloudMask Open(string maskPath, GdalDataset scene)
    {
        ArgumentNullException.ThrowIfNull(scene);
        var source = GdalDataset.Open(maskPath);
        try
        {
            var (minX, minY, maxX, maxY) = SceneBounds(scene, maskPath);
            MaskTransform(source, maskPath);
            var (sourceCrs, targetCrs) = Crs(source, scene);
            var args = new List<string> { "-r", "near", "-te", Text(minX), Text(minY), Text(maxX), Text(maxY),
                "-ts", Text(scene.Width), Text(scene.Height) };
            if (sourceCrs.Length > 0) args.AddRange(["-s_srs", sourceCrs, "-t_srs", targetCrs]);
            return new CloudMask(source, GdalDataset.Warp(source, args));
        }
        catch
        {
            source.Dispose();
            throw;
        }
    }

    /// <summary>The mask's first band over <paramref name="window"/> of the scene grid (one value per scene pixel).</summary>
    public void Read(PixelWindow window, Span<float> values) => _onGrid.Band(1).Read(window, values);

    /// <summary>
    /// Refuses (one-line <see cref="ArgumentException"/> naming both extents and the fix) a mask that does not cover every
    /// pixel centre of the tiles to map, so no tile is silently judged on a mask that is not there.
    /// </summary>
    public static void EnsureCovers(string maskPath, string scenePath, IReadOnlyList<Tile> tiles)
    {
        if (tiles.Count == 0) return;
        int x0 = tiles.Min(t => t.Window.X), y0 = tiles.Min(t => t.Window.Y);
        int x1 = tiles.Max(t => t.Window.X + t.Window.Width), y1 = tiles.Max(t => t.Window.Y + t.Window.Height);
        using var scene = GdalDataset.Open(scenePath);
        using var mask = GdalDataset.Open(maskPath);
        SceneBounds(scene, maskPath);
        var maskGt = MaskTransform(mask, maskPath);
        var sceneGt = scene.GeoTransform!.Value;
        Geometry footprint = Outline(maskGt, mask.Width, mask.Height);
        var (sourceCrs, targetCrs) = Crs(mask, scene);
        if (sourceCrs.Length > 0)
        {
            using var from = GdalSpatialReference.FromUserInput(sourceCrs);
            using var to = GdalSpatialReference.FromUserInput(targetCrs);
            if (!from.IsSame(to)) footprint = TileGrid.Reproject(footprint, from, to);
        }
        // Nearest neighbour gives a scene pixel the mask value under its centre: every centre must lie on the mask.
        var (ax, ay) = sceneGt.PixelToGeo(x0 + 0.5, y0 + 0.5);
        var (bx, by) = sceneGt.PixelToGeo(x1 - 0.5, y1 - 0.5);
        if (footprint.Covers(footprint.Factory.ToGeometry(new Envelope(ax, bx, ay, by)))) return;
        bool whole = x0 == 0 && y0 == 0 && x1 == scene.Width && y1 == scene.Height;
        var area = Outline(sceneGt, x1 - x0, y1 - y0, x0, y0).EnvelopeInternal;
        throw new ArgumentException(
            $"The cloud mask '{maskPath}' ({Extent(footprint.EnvelopeInternal)}) does not cover the {(whole ? "scene" : "tiles to map of")} '{scenePath}' " +
            $"({Extent(area)}{(targetCrs.Length > 0 ? ", in the scene's CRS" : "")}); give a mask of the same area (e.g. the SCL band of the same Sentinel-2 product) " +
            "or limit the map to the area the mask covers with --roi.");
    }

    private static (double MinX, double MinY, double MaxX, double MaxY) SceneBounds(GdalDataset scene, string maskPath)
    {
        var gt = scene.GeoTransform
            ?? throw new ArgumentException($"The scene '{scene.Path}' has no geotransform, so the cloud mask '{maskPath}' cannot be placed on it; use a georeferenced scene.");
        if (gt.RowRotation != 0 || gt.ColumnRotation != 0 || gt.PixelWidth <= 0 || gt.PixelHeight >= 0)
            throw new ArgumentException($"The scene '{scene.Path}' is not north-up (rotated or flipped geotransform), so the cloud mask '{maskPath}' cannot be warped onto it; warp the scene north-up first (gdalwarp).");
        return (gt.OriginX, gt.OriginY + scene.Height * gt.PixelHeight, gt.OriginX + scene.Width * gt.PixelWidth, gt.OriginY);
    }

    private static GeoTransform MaskTransform(GdalDataset mask, string maskPath) =>
        mask.GeoTransform ?? throw new ArgumentException(
            $"The cloud mask '{maskPath}' has no geotransform, so it cannot be placed on the scene; give a georeferenced mask (e.g. the SCL band of the same Sentinel-2 product).");

    /// <summary>Source and target CRS for the warp: a mask or scene without a CRS is taken to be in the other's ("" when neither has one).</summary>
    private static (string Source, string Target) Crs(GdalDataset mask, GdalDataset scene)
    {
        string m = mask.ProjectionWkt, s = scene.ProjectionWkt;
        return (m.Length > 0 ? m : s, s.Length > 0 ? s : m);
    }

    /// <summary>The outline of pixels [c0, c0 + width] × [r0, r0 + height] through <paramref name="gt"/>, 32 points per edge (so it reprojects faithfully).</summary>
    private static Polygon Outline(GeoTransform gt, double width, double height, double c0 = 0, double r0 = 0)
    {
        const int n = 32;
        var ring = new List<Coordinate>(4 * n + 1);
        (double C, double R)[] corners = [(c0, r0), (c0 + width, r0), (c0 + width, r0 + height), (c0, r0 + height)];
        for (int e = 0; e < 4; e++)
        {
            var (ca, ra) = corners[e];
            var (cb, rb) = corners[(e + 1) % 4];
            for (int i = 0; i < n; i++)
            {
                var (x, y) = gt.PixelToGeo(ca + (cb - ca) * i / n, ra + (rb - ra) * i / n);
                ring.Add(new Coordinate(x, y));
            }
        }
        ring.Add(ring[0].Copy());
        return new GeometryFactory().CreatePolygon([.. ring]);
    }

    private static string Extent(Envelope e) => FormattableString.Invariant($"x {e.MinX:0.###}..{e.MaxX:0.###}, y {e.MinY:0.###}..{e.MaxY:0.###}");

    private static string Text(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    public void Dispose()
    {
        _onGrid.Dispose();
        _source.Dispose();
    }
}

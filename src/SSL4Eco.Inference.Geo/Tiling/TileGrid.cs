using NetTopologySuite.Geometries;
using NetTopologySuite.Geometries.Prepared;
using NetTopologySuite.IO;
using SSL4Eco.Gdal;

namespace SSL4Eco.Inference.Geo.Tiling;

/// <summary>One tile of a <see cref="TileGrid"/>: its grid cell, its pixel window and its georeferenced footprint.</summary>
/// <param name="Row">Grid row (0-based).</param>
/// <param name="Col">Grid column (0-based).</param>
/// <param name="Window">Pixel window in the raster.</param>
/// <param name="Footprint">Footprint polygon in the raster CRS (pixel corners through the geotransform).</param>
/// <remarks>Immutable; thread-safe.</remarks>
public sealed record Tile(int Row, int Col, PixelWindow Window, Polygon Footprint);

/// <summary>
/// Maps a raster to square tiles of <see cref="TileSize"/> pixels every <see cref="Stride"/> pixels, and owns every
/// tile → location question: a tile's pixel window, its georeferenced footprint and centre, and the geotransform of the
/// tile map (<see cref="OutputTransform"/>: one output pixel per tile, centred on the tile's centre). Along each axis
/// tile <c>i</c> starts at pixel <c>i·stride</c> and the tile count is <c>floor((extent − size) / stride) + 1</c>: only
/// whole tiles inside the raster, never a tile shifted off the regular grid (a shifted last tile could not sit under its
/// output pixel). The pixels after the last tile (fewer than one stride) are left out; <see cref="Coverage"/> says which
/// pixels the tiles cover. A raster smaller than a tile along an axis gets one tile of the raster's size along that axis
/// (the model's spatial policy then upsamples it). A region of interest (pixel window and/or polygon in the raster CRS)
/// skips tiles that do not intersect it; the grid itself (rows, columns, output transform) never changes with the ROI,
/// so maps of different ROIs align.
/// </summary>
/// <remarks>Immutable after construction; thread-safe.</remarks>
public sealed class TileGrid
{
    private static readonly GeometryFactory Factory = new();
    private readonly IPreparedGeometry? _roi;

    /// <summary>Creates a grid; throws <see cref="ArgumentOutOfRangeException"/> for non-positive sizes.</summary>
    /// <param name="rasterWidth">Raster columns.</param>
    /// <param name="rasterHeight">Raster rows.</param>
    /// <param name="tileSize">Tile size in pixels (usually the model's input size).</param>
    /// <param name="stride">Step between tiles in pixels; null = <paramref name="tileSize"/>.</param>
    /// <param name="transform">Raster geotransform; null = pixel coordinates (identity with +1 rows downwards).</param>
    /// <param name="roiWindow">Optional pixel-window ROI.</param>
    /// <param name="roi">Optional polygon ROI in the raster CRS.</param>
    public TileGrid(int rasterWidth, int rasterHeight, int tileSize, int? stride = null, GeoTransform? transform = null,
        PixelWindow? roiWindow = null, Geometry? roi = null)
    {
        if (rasterWidth <= 0 || rasterHeight <= 0) throw new ArgumentOutOfRangeException(nameof(rasterWidth), $"Raster size must be positive, got {rasterWidth}x{rasterHeight}.");
        if (tileSize <= 0) throw new ArgumentOutOfRangeException(nameof(tileSize), $"Tile size must be positive, got {tileSize}.");
        int s = stride ?? tileSize;
        if (s <= 0) throw new ArgumentOutOfRangeException(nameof(stride), $"Stride must be positive, got {s}.");
        if (roiWindow is { } rw && (rw.Width <= 0 || rw.Height <= 0))
            throw new ArgumentOutOfRangeException(nameof(roiWindow), $"ROI window {rw} is empty.");
        RasterWidth = rasterWidth;
        RasterHeight = rasterHeight;
        TileSize = tileSize;
        Stride = s;
        Transform = transform ?? new GeoTransform(0, 1, 0, 0, 0, 1);
        TileWidth = Math.Min(tileSize, rasterWidth);
        TileHeight = Math.Min(tileSize, rasterHeight);
        Columns = Count(rasterWidth, tileSize, s);
        Rows = Count(rasterHeight, tileSize, s);
        RoiWindow = roiWindow;
        Roi = roi;
        _roi = roi is null ? null : NetTopologySuite.Geometries.Prepared.PreparedGeometryFactory.Prepare(roi);
    }

    /// <summary>A grid over an open dataset, using its size and geotransform.</summary>
    public static TileGrid For(GdalDataset dataset, int tileSize, int? stride = null, PixelWindow? roiWindow = null, Geometry? roi = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        return new TileGrid(dataset.Width, dataset.Height, tileSize, stride, dataset.GeoTransform, roiWindow, roi);
    }

    /// <summary>Parses an ROI polygon from WKT or a GeoJSON geometry (text starting with '{').</summary>
    public static Geometry ParseRoi(string text)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(text);
        var wkt = text.TrimStart().StartsWith('{') ? OgrGeometryText.GeoJsonToWkt(text) : text;
        try { return new WKTReader().Read(wkt); }
        catch (ParseException e) { throw new ArgumentException($"ROI is neither valid WKT nor a GeoJSON geometry: {e.Message}", nameof(text), e); }
    }

    /// <summary>Reprojects a geometry (copy) from <paramref name="source"/> to <paramref name="target"/> CRS with OSR.</summary>
    public static Geometry Reproject(Geometry geometry, GdalSpatialReference source, GdalSpatialReference target)
    {
        ArgumentNullException.ThrowIfNull(geometry);
        var copy = geometry.Copy();
        var coords = copy.Coordinates;
        var x = coords.Select(c => c.X).ToArray();
        var y = coords.Select(c => c.Y).ToArray();
        source.Transform(target, x, y);
        int i = 0;
        copy.Apply(new CoordinateSetter(x, y, () => i++));
        copy.GeometryChanged();
        return copy;
    }

    private sealed class CoordinateSetter(double[] x, double[] y, Func<int> next) : ICoordinateSequenceFilter
    {
        public bool Done => false;
        public bool GeometryChanged => true;
        public void Filter(CoordinateSequence seq, int i)
        {
            int k = next();
            seq.SetX(i, x[k]);
            seq.SetY(i, y[k]);
        }
    }

    internal static int Count(int extent, int size, int stride) => extent <= size ? 1 : (extent - size) / stride + 1;

    /// <summary>
    /// Output pixel size along an axis, in input pixels: the stride, except along an axis with a single tile, where the
    /// spacing of tiles means nothing and the pixel is no larger than the tile (so the map stays within the raster).
    /// </summary>
    private static int Step(int count, int tileExtent, int stride) => count == 1 ? Math.Min(stride, tileExtent) : stride;

    /// <summary>Raster columns.</summary>
    public int RasterWidth { get; }
    /// <summary>Raster rows.</summary>
    public int RasterHeight { get; }
    /// <summary>Requested tile size.</summary>
    public int TileSize { get; }
    /// <summary>Stride in pixels.</summary>
    public int Stride { get; }
    /// <summary>Actual tile width (= TileSize unless the raster is narrower).</summary>
    public int TileWidth { get; }
    /// <summary>Actual tile height (= TileSize unless the raster is shorter).</summary>
    public int TileHeight { get; }
    /// <summary>Tile columns.</summary>
    public int Columns { get; }
    /// <summary>Tile rows.</summary>
    public int Rows { get; }
    /// <summary>Raster geotransform.</summary>
    public GeoTransform Transform { get; }
    /// <summary>Pixel-window ROI, if any.</summary>
    public PixelWindow? RoiWindow { get; }
    /// <summary>Polygon ROI in the raster CRS, if any.</summary>
    public Geometry? Roi { get; }

    /// <summary>
    /// Geotransform of the tile map (one output pixel per tile): pixel (row, col) is centred on the centre of tile
    /// (row, col)'s footprint, and the pixel size is stride × input pixel size (along an axis with a single tile, the
    /// smaller of stride and tile). So with stride &lt; tile the map's origin lies (tile − stride) / 2 input pixels inside
    /// the raster's origin, and with stride ≤ tile the map's bounds lie within the raster (with stride &gt; tile the pixels
    /// are larger than the tiles, so the outer pixels reach (stride − tile) / 2 input pixels beyond the outer tiles).
    /// </summary>
    public GeoTransform OutputTransform
    {
        get
        {
            int sx = Step(Columns, TileWidth, Stride), sy = Step(Rows, TileHeight, Stride);
            // Input-pixel position of the output origin: tile (0,0)'s centre minus half an output pixel.
            var (x, y) = Transform.PixelToGeo((TileWidth - sx) / 2.0, (TileHeight - sy) / 2.0);
            var t = Transform;
            return new GeoTransform(x, t.PixelWidth * sx, t.RowRotation * sy, y, t.ColumnRotation * sx, t.PixelHeight * sy);
        }
    }

    /// <summary>The pixels the tiles cover: from the origin to the end of the last tile along each axis.</summary>
    public PixelWindow Coverage => new(0, 0, (Columns - 1) * Stride + TileWidth, (Rows - 1) * Stride + TileHeight);

    /// <summary>The pixel window of grid cell (row, col): it starts at (col·stride, row·stride).</summary>
    public PixelWindow WindowOf(int row, int col)
    {
        if ((uint)row >= (uint)Rows || (uint)col >= (uint)Columns)
            throw new ArgumentOutOfRangeException(nameof(row), $"Tile ({row},{col}) is outside the {Rows}x{Columns} grid.");
        return new PixelWindow(col * Stride, row * Stride, TileWidth, TileHeight);
    }

    /// <summary>The georeferenced centre of tile (row, col)'s footprint, which is also the centre of output pixel (row, col).</summary>
    public (double X, double Y) CentreOf(int row, int col)
    {
        var w = WindowOf(row, col);
        return Transform.PixelToGeo(w.X + w.Width / 2.0, w.Y + w.Height / 2.0);
    }

    /// <summary>The footprint polygon (raster CRS) of a pixel window.</summary>
    public Polygon FootprintOf(PixelWindow w)
    {
        var (x0, y0) = Transform.PixelToGeo(w.X, w.Y);
        var (x1, y1) = Transform.PixelToGeo(w.X + w.Width, w.Y);
        var (x2, y2) = Transform.PixelToGeo(w.X + w.Width, w.Y + w.Height);
        var (x3, y3) = Transform.PixelToGeo(w.X, w.Y + w.Height);
        return Factory.CreatePolygon([new(x0, y0), new(x1, y1), new(x2, y2), new(x3, y3), new(x0, y0)]);
    }

    /// <summary>Tile (row, col).</summary>
    public Tile TileAt(int row, int col)
    {
        var w = WindowOf(row, col);
        return new Tile(row, col, w, FootprintOf(w));
    }

    /// <summary>Whether a tile intersects the ROI (always true without ROI).</summary>
    public bool IsInRoi(Tile tile)
    {
        ArgumentNullException.ThrowIfNull(tile);
        if (RoiWindow is { } r)
        {
            var w = tile.Window;
            if (w.X >= r.X + r.Width || r.X >= w.X + w.Width || w.Y >= r.Y + r.Height || r.Y >= w.Y + w.Height) return false;
        }
        return _roi is null || _roi.Intersects(tile.Footprint);
    }

    /// <summary>Tiles in row-major order, skipping those entirely outside the ROI.</summary>
    public IEnumerable<Tile> Tiles()
    {
        for (int r = 0; r < Rows; r++)
            for (int c = 0; c < Columns; c++)
            {
                var t = TileAt(r, c);
                if (IsInRoi(t)) yield return t;
            }
    }
}

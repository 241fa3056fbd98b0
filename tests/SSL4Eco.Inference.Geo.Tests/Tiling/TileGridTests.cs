using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using NetTopologySuite.Geometries;
using SSL4Eco.Gdal;
using SSL4Eco.Inference.Geo.Tiling;

namespace SSL4Eco.Inference.Geo.Tests.Tiling;

public class TileGridTests
{
    private static (int W, int H, int Size, int Stride) Norm(PositiveInt w, PositiveInt h, PositiveInt size, PositiveInt stride)
    {
        int s = w.Get % 60 + 1, sz = size.Get % 25 + 1;
        return (s, h.Get % 60 + 1, sz, stride.Get % sz + 1);
    }

    /// <summary>A geotransform from generated numbers: any origin, pixel sizes 0.5..60, north-up (dy &lt; 0) or not, optional rotation.</summary>
    private static GeoTransform Transform(int ox, int oy, int px, int py, bool northUp, int rotation) =>
        new(ox * 10.5, 0.5 + px % 120 * 0.5, rotation % 3 * 0.25, oy * 10.25, -(rotation % 5) * 0.125, (northUp ? -1 : 1) * (0.5 + py % 120 * 0.5));

    private static bool Close(double a, double b) => Math.Abs(a - b) <= 1e-9 * Math.Max(1, Math.Abs(a));

    // The defining property of the tile map: output pixel (r, c) is centred on tile (r, c)'s footprint, for stride = tile,
    // stride < tile, strides that do not divide the tile, strides above it, north-up and south-up, rotated transforms and
    // ROI windows at any offset (the ROI never moves the grid).
    [Property(MaxTest = 300)]
    public bool Every_output_pixel_is_centred_on_its_tile_footprint(PositiveInt w, PositiveInt h, PositiveInt size, PositiveInt stride,
        int ox, int oy, PositiveInt px, PositiveInt py, bool northUp, NonNegativeInt rotation, NonNegativeInt roiX, NonNegativeInt roiY)
    {
        var (W, H, S, _) = Norm(w, h, size, stride);
        int St = stride.Get % (2 * S) + 1;
        var gt = Transform(ox, oy, px.Get, py.Get, northUp, rotation.Get);
        var roi = new PixelWindow(roiX.Get % W, roiY.Get % H, 1 + roiX.Get % 7, 1 + roiY.Get % 5);
        var grid = new TileGrid(W, H, S, St, gt);
        var withRoi = new TileGrid(W, H, S, St, gt, roiWindow: roi);
        if (withRoi.OutputTransform != grid.OutputTransform || (withRoi.Rows, withRoi.Columns) != (grid.Rows, grid.Columns)) return false;
        var o = grid.OutputTransform;
        foreach (var t in withRoi.Tiles())
        {
            var (cx, cy) = o.PixelToGeo(t.Col + 0.5, t.Row + 0.5);
            var centroid = t.Footprint.Centroid;
            var (gx, gy) = grid.CentreOf(t.Row, t.Col);
            if (!Close(cx, centroid.X) || !Close(cy, centroid.Y) || !Close(cx, gx) || !Close(cy, gy)) return false;
        }
        // Pixel size: stride x input pixel (the tile's size along an axis with a single tile, when smaller than the stride).
        int sx = grid.Columns == 1 ? Math.Min(St, grid.TileWidth) : St, sy = grid.Rows == 1 ? Math.Min(St, grid.TileHeight) : St;
        return Close(o.PixelWidth, gt.PixelWidth * sx) && Close(o.PixelHeight, gt.PixelHeight * sy)
               && Close(o.RowRotation, gt.RowRotation * sy) && Close(o.ColumnRotation, gt.ColumnRotation * sx);
    }

    [Property(MaxTest = 300)]
    public bool Whole_tiles_on_the_stride_grid_leave_less_than_one_stride_uncovered(PositiveInt w, PositiveInt h, PositiveInt size, PositiveInt stride)
    {
        var (W, H, S, _) = Norm(w, h, size, stride);
        int St = stride.Get % (2 * S) + 1;
        var grid = new TileGrid(W, H, S, St);
        bool ok = grid.Columns == (W <= S ? 1 : (W - S) / St + 1) && grid.Rows == (H <= S ? 1 : (H - S) / St + 1);
        foreach (var t in grid.Tiles())
            ok &= t.Window == new PixelWindow(t.Col * St, t.Row * St, Math.Min(S, W), Math.Min(S, H)) && t.Window.IsInside(W, H);
        var c = grid.Coverage;
        ok &= c.X == 0 && c.Y == 0 && c.Width <= W && c.Height <= H && W - c.Width < St && H - c.Height < St;
        // With stride <= tile the tiles cover every pixel up to Coverage.
        if (St <= S)
        {
            var covered = new bool[W * H];
            foreach (var t in grid.Tiles())
                for (int y = t.Window.Y; y < t.Window.Y + t.Window.Height; y++)
                    for (int x = t.Window.X; x < t.Window.X + t.Window.Width; x++) covered[y * W + x] = true;
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++) ok &= covered[y * W + x] == (x < c.Width && y < c.Height);
        }
        return ok;
    }

    // The map's bounds (what gdalinfo shows as corners) lie within the raster whenever stride <= tile, for any axis-aligned transform.
    [Property(MaxTest = 300)]
    public bool The_map_lies_within_the_raster_when_stride_is_at_most_the_tile(PositiveInt w, PositiveInt h, PositiveInt size, PositiveInt stride,
        int ox, int oy, PositiveInt px, PositiveInt py, bool northUp)
    {
        var (W, H, S, St) = Norm(w, h, size, stride);
        var gt = Transform(ox, oy, px.Get, py.Get, northUp, 0);
        var grid = new TileGrid(W, H, S, St, gt);
        var (mapCol0, mapRow0) = gt.GeoToPixel(grid.OutputTransform.OriginX, grid.OutputTransform.OriginY);
        var (x1, y1) = grid.OutputTransform.PixelToGeo(grid.Columns, grid.Rows);
        var (mapCol1, mapRow1) = gt.GeoToPixel(x1, y1);
        const double eps = 1e-6;
        return mapCol0 >= -eps && mapRow0 >= -eps && mapCol1 <= W + eps && mapRow1 <= H + eps && mapCol0 <= mapCol1 && mapRow0 <= mapRow1;
    }

    [Fact]
    public void Raster_smaller_than_a_tile_gives_one_tile_of_raster_size_under_one_centred_pixel()
    {
        var g = new TileGrid(100, 50, 224, null, new GeoTransform(1000, 10, 0, 2000, 0, -10));
        var t = Assert.Single(g.Tiles());
        Assert.Equal(new PixelWindow(0, 0, 100, 50), t.Window);
        Assert.Equal(new GeoTransform(1000, 1000, 0, 2000, 0, -500), g.OutputTransform);   // the raster itself
    }

    [Fact]
    public void Tile_224_stride_32_on_the_448_px_sample_puts_each_pixel_over_its_tile_and_inside_the_scene()
    {
        // The case: 448 x 448 px at 10 m from (600000, 5200000); before, the map started at the scene's corner, 96 px
        // north-west of each tile's centre, and ended at 602560 E although the tiles reach 604480 E.
        var g = new TileGrid(448, 448, 224, 32, new GeoTransform(600000, 10, 0, 5200000, 0, -10));
        Assert.Equal((8, 8), (g.Rows, g.Columns));
        Assert.Equal(new GeoTransform(600960, 320, 0, 5199040, 0, -320), g.OutputTransform);
        Assert.Equal((601120.0, 5198560.0), g.CentreOf(1, 0));                        // tile (1,0): pixels x 0..224, y 32..256
        Assert.Equal((601120.0, 5198560.0), g.OutputTransform.PixelToGeo(0.5, 1.5));  // output pixel (1,0)'s centre
        Assert.Equal(new PixelWindow(0, 0, 448, 448), g.Coverage);
        var (right, bottom) = g.OutputTransform.PixelToGeo(g.Columns, g.Rows);
        Assert.Equal((603520.0, 5196480.0), (right, bottom));   // 96 px inside the scene on every side
    }

    [Fact]
    public void Odd_size_500x333_with_224_tiles_keeps_whole_tiles_on_the_stride_grid()
    {
        var g = new TileGrid(500, 333, 224, 224, new GeoTransform(500000, 10, 0, 5200000, 0, -10));
        Assert.Equal((1, 2), (g.Rows, g.Columns)); // floor((500-224)/224)+1 = 2, floor((333-224)/224)+1 = 1
        Assert.Equal(new PixelWindow(224, 0, 224, 224), g.WindowOf(0, 1));
        Assert.Equal(new PixelWindow(0, 0, 448, 224), g.Coverage);
        Assert.Equal(new GeoTransform(500000, 2240, 0, 5200000, 0, -2240), g.OutputTransform);
        var fp = g.TileAt(0, 1).Footprint.EnvelopeInternal;
        Assert.Equal((502240.0, 504480.0, 5197760.0, 5200000.0), (fp.MinX, fp.MaxX, fp.MinY, fp.MaxY));
        Assert.Throws<ArgumentOutOfRangeException>(() => g.WindowOf(1, 0));
    }

    [Fact]
    public void Roi_polygon_and_window_skip_tiles_entirely_outside()
    {
        var gt = new GeoTransform(0, 10, 0, 1000, 0, -10);
        // Polygon covering only pixel columns 0..15, rows 0..15 (x 0..150, y 850..1000): tiles of 10 px at (0,0),(0,1),(1,0),(1,1).
        var roi = TileGrid.ParseRoi("POLYGON((1 999, 150 999, 150 850, 1 850, 1 999))");
        var g = new TileGrid(100, 100, 10, 10, gt, roi: roi);
        Assert.Equal([(0, 0), (0, 1), (1, 0), (1, 1)], g.Tiles().Select(t => (t.Row, t.Col)).ToArray());
        var gj = TileGrid.ParseRoi("""{"type":"Polygon","coordinates":[[[1,999],[150,999],[150,850],[1,850],[1,999]]]}""");
        Assert.True(gj.EqualsTopologically(roi));
        var gw = new TileGrid(100, 100, 10, 10, gt, roiWindow: new PixelWindow(95, 0, 5, 1));
        Assert.Equal([(0, 9)], gw.Tiles().Select(t => (t.Row, t.Col)).ToArray());
        Assert.Throws<ArgumentException>(() => TileGrid.ParseRoi("POLYGON((oops"));
        Assert.Throws<GdalException>(() => TileGrid.ParseRoi("{\"type\":\"Nope\"}"));
    }

    [Fact]
    public void Roi_reprojection_from_wgs84_to_utm_matches_osr()
    {
        using var wgs = GdalSpatialReference.FromEpsg(4326);
        using var utm = GdalSpatialReference.FromEpsg(32632);
        var p = TileGrid.Reproject(new GeometryFactory().CreatePoint(new Coordinate(9, 0)), wgs, utm);
        Assert.Equal(500000, p.Coordinate.X, 6);
        Assert.Equal(0, p.Coordinate.Y, 6);
    }
}

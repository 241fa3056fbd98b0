using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using NetTopologySuite.Geometries;
using SSL4Eco.Inference.Geo.Gdal;
using SSL4Eco.Inference.Geo.Tiling;

namespace SSL4Eco.Inference.Geo.Tests.Tiling;

public class TileGridTests
{
    private static (int W, int H, int Size, int Stride) Norm(PositiveInt w, PositiveInt h, PositiveInt size, PositiveInt stride)
    {
        int s = w.Get % 60 + 1, sz = size.Get % 25 + 1;
        return (s, h.Get % 60 + 1, sz, stride.Get % sz + 1);
    }

    [Property(MaxTest = 200)]
    public bool Every_pixel_is_covered_when_stride_is_at_most_size(PositiveInt w, PositiveInt h, PositiveInt size, PositiveInt stride)
    {
        var (W, H, S, St) = Norm(w, h, size, stride);
        var grid = new TileGrid(W, H, S, St);
        var covered = new bool[W * H];
        foreach (var t in grid.Tiles())
            for (int y = t.Window.Y; y < t.Window.Y + t.Window.Height; y++)
                for (int x = t.Window.X; x < t.Window.X + t.Window.Width; x++) covered[y * W + x] = true;
        return covered.All(c => c);
    }

    [Property(MaxTest = 200)]
    public bool Windows_are_inside_have_tile_size_and_respect_stride(PositiveInt w, PositiveInt h, PositiveInt size, PositiveInt stride)
    {
        var (W, H, S, St) = Norm(w, h, size, stride);
        var grid = new TileGrid(W, H, S, St);
        bool ok = grid.Columns == (W <= S ? 1 : (int)Math.Ceiling((W - S) / (double)St) + 1)
                  && grid.Rows == (H <= S ? 1 : (int)Math.Ceiling((H - S) / (double)St) + 1);
        foreach (var t in grid.Tiles())
        {
            ok &= t.Window.IsInside(W, H) && t.Window.Width == Math.Min(S, W) && t.Window.Height == Math.Min(S, H);
            if (t.Col < grid.Columns - 1) ok &= t.Window.X == t.Col * St;
            if (t.Row < grid.Rows - 1) ok &= t.Window.Y == t.Row * St;
            if (t.Col == grid.Columns - 1) ok &= t.Window.X + t.Window.Width == W;
            if (t.Row == grid.Rows - 1) ok &= t.Window.Y + t.Window.Height == H;
        }
        return ok;
    }

    [Fact]
    public void Raster_smaller_than_a_tile_gives_one_tile_of_raster_size()
    {
        var g = new TileGrid(100, 50, 224);
        var t = Assert.Single(g.Tiles());
        Assert.Equal(new PixelWindow(0, 0, 100, 50), t.Window);
    }

    [Fact]
    public void Odd_size_500x333_with_224_tiles_snaps_the_last_row_and_column()
    {
        var g = new TileGrid(500, 333, 224, 224, new GeoTransform(500000, 10, 0, 5200000, 0, -10));
        Assert.Equal((2, 3), (g.Rows, g.Columns)); // ceil((500-224)/224)+1 = 3, ceil((333-224)/224)+1 = 2
        Assert.Equal(new PixelWindow(276, 109, 224, 224), g.WindowOf(1, 2));
        Assert.Equal(new GeoTransform(500000, 2240, 0, 5200000, 0, -2240), g.OutputTransform);
        var fp = g.TileAt(0, 1).Footprint.EnvelopeInternal;
        Assert.Equal((502240.0, 504480.0, 5197760.0, 5200000.0), (fp.MinX, fp.MaxX, fp.MinY, fp.MaxY));
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

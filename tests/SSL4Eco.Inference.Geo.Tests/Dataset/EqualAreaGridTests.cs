using System.Globalization;
using FsCheck.Xunit;
using SSL4Eco.Inference.Geo.Dataset;
using SSL4Eco.Gdal;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Inference.Geo.Tests.Dataset;

/// <summary>Issue #16: the equal-area grid's spacing and equal-area property, and its count over a land polygon read through OGR.</summary>
public class EqualAreaGridTests
{
    private const double R = EqualAreaGrid.EarthRadius;

    private static double Haversine(double lon1, double lat1, double lon2, double lat2)
    {
        double p1 = lat1 * Math.PI / 180, p2 = lat2 * Math.PI / 180, dp = p2 - p1, dl = (lon2 - lon1) * Math.PI / 180;
        double a = Math.Sin(dp / 2) * Math.Sin(dp / 2) + Math.Cos(p1) * Math.Cos(p2) * Math.Sin(dl / 2) * Math.Sin(dl / 2);
        return 2 * R * Math.Asin(Math.Sqrt(a));
    }

    /// <summary>Neighbours along a row and along a meridian are the spacing apart (great-circle, within 0.5 %) below 80° latitude.</summary>
    [Property(MaxTest = 200)]
    public bool Neighbours_are_one_spacing_apart(ushort spacingSeed, ushort rowSeed, ushort colSeed)
    {
        double s = 5000 + spacingSeed % 95000; // 5 … 100 km
        var grid = new EqualAreaGrid(s);
        int row = rowSeed % grid.Rows;
        var a = grid.At(row, colSeed % grid.Columns(row));
        if (Math.Abs(a.Latitude) > 80 || row + 1 >= grid.Rows) return true;
        var east = grid.At(row, (a.Column + 1) % grid.Columns(row));
        double along = Haversine(a.Longitude, a.Latitude, east.Longitude, east.Latitude);
        double meridian = (grid.RowLatitude(row + 1) - grid.RowLatitude(row)) * Math.PI / 180 * R;
        // Along the parallel the chord is slightly shorter than the arc 2πR cos φ / n; both must be ≈ s.
        return Math.Abs(along / s - 1) < 0.005 && Math.Abs(meridian / s - 1) < 0.005;
    }

    /// <summary>Every cell has the area s² (1 ± 1/(2 n)) and the cells tile the whole sphere: Σ = 4πR².</summary>
    [Property(MaxTest = 30)]
    public bool Cells_are_equal_area_and_tile_the_sphere(ushort spacingSeed)
    {
        double s = 10000 + spacingSeed % 490000;
        var grid = new EqualAreaGrid(s);
        double total = 0;
        for (int row = 0; row < grid.Rows; row++)
        {
            int n = grid.Columns(row);
            double cell = grid.CellArea(row);
            if (n > 1 && Math.Abs(cell / (s * s) - 1) > 1.0 / (2 * n) + 1e-9) return false;
            total += cell * n;
        }
        return Math.Abs(total / (4 * Math.PI * R * R) - 1) < 1e-12;
    }

    /// <summary>The count in a large latitude/longitude box (≥ 2000 expected points) is within 1 % of its exact area / s².</summary>
    [Property(MaxTest = 40)]
    public bool Count_in_a_box_matches_its_area(ushort a, ushort b, ushort c, ushort d)
    {
        double s = 23000;
        double south = -60 + a % 100, height = 20 + b % 20, west = -170 + c % 200, width = 40 + d % 60;
        double north = Math.Min(80, south + height), east = Math.Min(180, west + width);
        double area = R * R * (east - west) * Math.PI / 180 * (Math.Sin(north * Math.PI / 180) - Math.Sin(south * Math.PI / 180));
        double expected = area / (s * s);
        if (expected < 2000) return true;
        int count = new EqualAreaGrid(s).Within(west, south, east, north).Count();
        return Math.Abs(count / expected - 1) < 0.01;
    }

    [Fact]
    public void Ids_are_stable_and_round_trip()
    {
        var grid = new EqualAreaGrid(23000);
        Assert.Equal(870, grid.Rows); // round(π × 6371007.181 / 23000)
        var all = grid.Within(-180, -90, 180, 90).ToList();
        Assert.Equal(all.Count, all.Select(l => l.Id).Distinct().Count());
        foreach (var l in all.Where((_, i) => i % 997 == 0)) Assert.Equal(l, grid.FromId(l.Id));
        // Land is ~29 % of 510.1 M km²: the paper's 254,403 locations ≈ 148.9 M km² / 23² km².
        Assert.InRange(all.Count, 4 * Math.PI * R * R / (23000.0 * 23000) * 0.999, 4 * Math.PI * R * R / (23000.0 * 23000) * 1.001);
        Assert.Throws<ArgumentOutOfRangeException>(() => new EqualAreaGrid(10));
        Assert.Throws<ArgumentOutOfRangeException>(() => grid.At(870, 0));
    }

    /// <summary>
    /// A 23 km grid over a land polygon (GeoJSON, read through OGR): the count is within 1 % of the polygon's area / 23², the area
    /// measured independently by python-gdal (the polygon densified in longitude/latitude, projected to a Lambert azimuthal
    /// equal-area projection on the same sphere).
    /// </summary>
    [Fact]
    public void A_23_km_grid_over_a_land_polygon_has_area_over_spacing_squared_points()
    {
        using var dir = new TempDir();
        var geojson = dir.File("land.geojson");
        File.WriteAllText(geojson, """
            {"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[
             [[-5,36],[10,35],[28,44],[24,58],[5,61],[-9,50],[-5,36]],
             [[5,45],[12,45],[12,50],[5,50],[5,45]]]}}]}
            """);
        var area = double.Parse(PythonOracle.Run("""
            from osgeo import ogr, osr
            ds = ogr.Open(sys.argv[1]); layer = ds.GetLayer(0); feature = layer.GetNextFeature(); g = feature.GetGeometryRef().Clone()
            g.Segmentize(0.01)
            src = osr.SpatialReference(); src.ImportFromEPSG(4326); src.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
            dst = osr.SpatialReference(); dst.ImportFromProj4('+proj=laea +lat_0=48 +lon_0=10 +R=6371007.181 +units=m')
            g.Transform(osr.CoordinateTransformation(src, dst)); print(repr(g.GetArea()))
            """, geojson).Trim(), CultureInfo.InvariantCulture);
        var polygons = OgrPolygons.Read(geojson);
        var grid = new EqualAreaGrid(23000);
        var (w, s, e, n) = polygons.Bounds;
        int count = grid.Within(w, s, e, n).Count(l => polygons.Contains(l.Longitude, l.Latitude));
        double expected = area / (23000.0 * 23000);
        Assert.InRange(expected, 5000, 20000); // a real test: thousands of points, the hole excluded
        Assert.InRange(count / expected, 0.99, 1.01);
    }
}

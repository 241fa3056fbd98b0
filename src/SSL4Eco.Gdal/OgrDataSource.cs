using System.Runtime.InteropServices;

namespace SSL4Eco.Gdal;

/// <summary>
/// The polygons of a vector layer (GeoPackage, GeoJSON, Shapefile, anything OGR reads) in WGS 84 longitude/latitude,
/// copied into managed memory so that point-in-polygon tests need no native handle. Curved geometries are linearised;
/// point and line features are ignored. A layer without a CRS is taken as WGS 84 longitude/latitude. Edges are straight
/// lines in longitude/latitude (GeoJSON's planar convention); the antimeridian is not handled specially.
/// </summary>
/// <remarks>Immutable after <see cref="Read"/>; thread-safe.</remarks>
public sealed class OgrPolygons
{
    /// <summary>One polygon: its rings (outer and holes) as longitude/latitude arrays, and its bounding box.</summary>
    internal sealed record Polygon(double[][] Xs, double[][] Ys, double West, double South, double East, double North);

    private OgrPolygons(IReadOnlyList<Polygon> polygons) => Polygons = polygons;

    /// <summary>The polygons.</summary>
    internal IReadOnlyList<Polygon> Polygons { get; }

    /// <summary>Bounding box of all polygons (west, south, east, north).</summary>
    public (double West, double South, double East, double North) Bounds =>
        (Polygons.Min(p => p.West), Polygons.Min(p => p.South), Polygons.Max(p => p.East), Polygons.Max(p => p.North));

    /// <summary>Whether (longitude, latitude) lies inside any polygon (even-odd rule within a polygon, so holes are outside).</summary>
    public bool Contains(double lon, double lat)
    {
        foreach (var p in Polygons)
        {
            if (lon < p.West || lon > p.East || lat < p.South || lat > p.North) continue;
            bool inside = false;
            for (int r = 0; r < p.Xs.Length; r++)
            {
                var xs = p.Xs[r];
                var ys = p.Ys[r];
                for (int i = 0, j = xs.Length - 1; i < xs.Length; j = i++)
                    if ((ys[i] > lat) != (ys[j] > lat) && lon < (xs[j] - xs[i]) * (lat - ys[i]) / (ys[j] - ys[i]) + xs[i]) inside = !inside;
            }
            if (inside) return true;
        }
        return false;
    }

    /// <summary>Reads the polygons of <paramref name="layerName"/> (null: the first layer) of <paramref name="path"/>.</summary>
    /// <exception cref="GdalException">OGR cannot open the file, the layer does not exist, a geometry cannot be reprojected, or the layer holds no polygon.</exception>
    public static OgrPolygons Read(string path, string? layerName = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        GdalLibrary.EnsureInitialized();
        const uint vector = 0x04, verboseError = 0x40;
        GdalNative.CPLErrorReset();
        var ds = GdalNative.GDALOpenEx(path, vector | verboseError, IntPtr.Zero, IntPtr.Zero, IntPtr.Zero);
        if (ds == IntPtr.Zero) throw GdalLibrary.LastError($"Opening vector file '{path}'");
        using var owner = new GdalDatasetHandle(ds);
        IntPtr layer;
        if (layerName is null)
        {
            if (OgrNative.GDALDatasetGetLayerCount(ds) < 1) throw new GdalException($"'{path}' holds no vector layer.");
            layer = OgrNative.GDALDatasetGetLayer(ds, 0);
        }
        else
        {
            layer = OgrNative.GDALDatasetGetLayerByName(ds, layerName);
            if (layer == IntPtr.Zero)
            {
                var names = Enumerable.Range(0, OgrNative.GDALDatasetGetLayerCount(ds))
                    .Select(i => Marshal.PtrToStringUTF8(OgrNative.OGR_L_GetName(OgrNative.GDALDatasetGetLayer(ds, i))) ?? "");
                throw new GdalException($"'{path}' has no layer '{layerName}' (layers: {string.Join(", ", names)}).");
            }
        }
        var layerSrs = OgrNative.OGR_L_GetSpatialRef(layer);
        using var wgs84 = GdalSpatialReference.FromEpsg(4326);
        GdalNative.OSRSetAxisMappingStrategy(wgs84.Handle, 0); // traditional GIS order: x = longitude
        var polygons = new List<Polygon>();
        OgrNative.OGR_L_ResetReading(layer);
        for (var f = OgrNative.OGR_L_GetNextFeature(layer); f != IntPtr.Zero; f = OgrNative.OGR_L_GetNextFeature(layer))
        {
            try
            {
                var g = OgrNative.OGR_F_GetGeometryRef(f);
                if (g == IntPtr.Zero) continue;
                var linear = OgrNative.OGR_G_GetLinearGeometry(g, 0, IntPtr.Zero);
                if (linear == IntPtr.Zero) continue;
                try
                {
                    if (layerSrs != IntPtr.Zero && OgrNative.OGR_G_TransformTo(linear, wgs84.Handle) != 0)
                        throw GdalLibrary.LastError($"Reprojecting a geometry of '{path}' to WGS 84");
                    Collect(linear, polygons);
                }
                finally { OgrNative.OGR_G_DestroyGeometry(linear); }
            }
            finally { OgrNative.OGR_F_Destroy(f); }
        }
        if (polygons.Count == 0) throw new GdalException($"The layer of '{path}' holds no polygon: give a polygon layer (land areas).");
        return new OgrPolygons(polygons);
    }

    private static void Collect(IntPtr g, List<Polygon> into)
    {
        int type = OgrNative.OGR_GT_Flatten(OgrNative.OGR_G_GetGeometryType(g));
        if (type is OgrNative.WkbMultiPolygon or OgrNative.WkbGeometryCollection)
        {
            for (int i = 0; i < OgrNative.OGR_G_GetGeometryCount(g); i++) Collect(OgrNative.OGR_G_GetGeometryRef(g, i), into);
            return;
        }
        if (type != OgrNative.WkbPolygon) return;
        int rings = OgrNative.OGR_G_GetGeometryCount(g);
        var xs = new double[rings][];
        var ys = new double[rings][];
        double w = double.MaxValue, s = double.MaxValue, e = double.MinValue, n = double.MinValue;
        for (int r = 0; r < rings; r++)
        {
            var ring = OgrNative.OGR_G_GetGeometryRef(g, r);
            int count = OgrNative.OGR_G_GetPointCount(ring);
            xs[r] = new double[count];
            ys[r] = new double[count];
            for (int i = 0; i < count; i++)
            {
                double x = xs[r][i] = OgrNative.OGR_G_GetX(ring, i), y = ys[r][i] = OgrNative.OGR_G_GetY(ring, i);
                w = Math.Min(w, x); e = Math.Max(e, x); s = Math.Min(s, y); n = Math.Max(n, y);
            }
        }
        if (rings > 0 && xs[0].Length >= 3) into.Add(new Polygon(xs, ys, w, s, e, n));
    }
}

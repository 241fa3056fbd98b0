using System.Runtime.InteropServices;

namespace SSL4Eco.Gdal;

/// <summary>Owns an OGRSpatialReferenceH (OSRDestroySpatialReference on release).</summary>
internal sealed class SpatialReferenceHandle : SafeHandle
{
    public SpatialReferenceHandle(IntPtr h) : base(IntPtr.Zero, true) => SetHandle(h);
    public override bool IsInvalid => handle == IntPtr.Zero;
    protected override bool ReleaseHandle() { GdalNative.OSRDestroySpatialReference(handle); return true; }
}

/// <summary>
/// A coordinate reference system (OGR/OSR). Axis order is always the traditional GIS order (x = easting/longitude,
/// y = northing/latitude).
/// </summary>
/// <remarks>Not thread-safe; use one instance per thread. Dispose to free the native object.</remarks>
public sealed class GdalSpatialReference : IDisposable
{
    private readonly SpatialReferenceHandle _handle;

    private GdalSpatialReference(IntPtr h)
    {
        _handle = new SpatialReferenceHandle(h);
        GdalNative.OSRSetAxisMappingStrategy(h, 0); // OAMS_TRADITIONAL_GIS_ORDER
    }

    internal static GdalSpatialReference CloneOf(IntPtr srs) => new(GdalNative.OSRClone(srs));

    /// <summary>From any definition OSR understands: "EPSG:32632", WKT, PROJ string, PROJJSON.</summary>
    public static GdalSpatialReference FromUserInput(string definition)
    {
        ArgumentException.ThrowIfNullOrEmpty(definition);
        GdalLibrary.EnsureInitialized();
        var h = GdalNative.OSRNewSpatialReference(null);
        var srs = new GdalSpatialReference(h);
        GdalNative.CPLErrorReset();
        if (GdalNative.OSRSetFromUserInput(h, definition) != 0)
        {
            var e = GdalLibrary.LastError($"Parsing the coordinate reference system '{Shorten(definition)}'");
            srs.Dispose();
            throw e;
        }
        return srs;
    }

    /// <summary>From an EPSG code.</summary>
    public static GdalSpatialReference FromEpsg(int code)
    {
        GdalLibrary.EnsureInitialized();
        var srs = new GdalSpatialReference(GdalNative.OSRNewSpatialReference(null));
        GdalNative.CPLErrorReset();
        if (GdalNative.OSRImportFromEPSG(srs.Handle, code) != 0)
        {
            var e = GdalLibrary.LastError($"Importing EPSG:{code}");
            srs.Dispose();
            throw e;
        }
        return srs;
    }

    internal IntPtr Handle
    {
        get
        {
            ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
            return _handle.DangerousGetHandle();
        }
    }

    /// <summary>WKT (WKT1 as OSRExportToWkt gives it).</summary>
    public string ToWkt()
    {
        GdalNative.CPLErrorReset();
        if (GdalNative.OSRExportToWkt(Handle, out var p) != 0) { GdalNative.VSIFree(p); throw GdalLibrary.LastError("Exporting WKT"); }
        return GdalLibrary.TakeString(p) ?? "";
    }

    /// <summary>PROJJSON (as used by GeoParquet's <c>crs</c>).</summary>
    public string ToProjJson()
    {
        GdalNative.CPLErrorReset();
        if (GdalNative.OSRExportToPROJJSON(Handle, out var p, IntPtr.Zero) != 0) { GdalNative.VSIFree(p); throw GdalLibrary.LastError("Exporting PROJJSON"); }
        return GdalLibrary.TakeString(p) ?? "";
    }

    /// <summary>The EPSG code when the CRS is (or can be identified as) an EPSG one, else null.</summary>
    public int? Epsg
    {
        get
        {
            var name = Marshal.PtrToStringUTF8(GdalNative.OSRGetAuthorityName(Handle, null));
            if (name is null) { GdalNative.OSRAutoIdentifyEPSG(Handle); name = Marshal.PtrToStringUTF8(GdalNative.OSRGetAuthorityName(Handle, null)); }
            var code = Marshal.PtrToStringUTF8(GdalNative.OSRGetAuthorityCode(Handle, null));
            return string.Equals(name, "EPSG", StringComparison.OrdinalIgnoreCase) && int.TryParse(code, out int c) ? c : null;
        }
    }

    /// <summary>Whether both describe the same CRS.</summary>
    public bool IsSame(GdalSpatialReference other) => GdalNative.OSRIsSame(Handle, other.Handle) != 0;

    /// <summary>Transforms points in place from this CRS to <paramref name="target"/> (x/y in traditional GIS order).</summary>
    public unsafe void Transform(GdalSpatialReference target, Span<double> x, Span<double> y)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (x.Length != y.Length) throw new ArgumentException($"x has {x.Length} values, y has {y.Length}.");
        GdalNative.CPLErrorReset();
        var ct = GdalNative.OCTNewCoordinateTransformation(Handle, target.Handle);
        if (ct == IntPtr.Zero) throw GdalLibrary.LastError("Creating a coordinate transformation");
        try
        {
            fixed (double* px = x)
            fixed (double* py = y)
                if (GdalNative.OCTTransform(ct, x.Length, px, py, null) == 0) throw GdalLibrary.LastError("Transforming coordinates");
        }
        finally { GdalNative.OCTDestroyCoordinateTransformation(ct); }
    }

    private static string Shorten(string s) => s.Length <= 60 ? s : s[..60] + "…";

    /// <summary>Frees the native object.</summary>
    public void Dispose() => _handle.Dispose();
}

using System.Runtime.InteropServices;

namespace SSL4Eco.Gdal;

/// <summary>
/// Process-wide GDAL state: loads the native library (the path in <see cref="LibraryEnvironmentVariable"/>, else the first
/// GDAL 3.x this platform has: libgdal.so.NN newest first, libgdal.so, gdal.dll/gdal3NN.dll, libgdal[.NN].dylib), registers all drivers once and installs a quiet error handler so GDAL's
/// messages surface as <see cref="GdalException"/> instead of being printed.
/// </summary>
/// <remarks>
/// Thread-safe: initialisation is lazy and happens once. GDAL datasets themselves are NOT thread-safe: open one
/// <see cref="GdalDataset"/> per thread.
/// </remarks>
public static class GdalLibrary
{
    /// <summary>Environment variable holding an explicit path (or name) of the GDAL shared library, tried first.</summary>
    public const string LibraryEnvironmentVariable = "SSL4ECO_GDAL_LIBRARY";

    private static readonly Lazy<string> Init = new(Initialize, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>GDAL's release name (e.g. "3.6.2"); loads and initialises GDAL.</summary>
    public static string Version => Init.Value;

    /// <summary>Loads GDAL and registers the drivers if not done yet. Throws <see cref="DllNotFoundException"/> naming the paths tried.</summary>
    public static void EnsureInitialized() => _ = Init.Value;

    /// <summary>The library name or path that was loaded (e.g. "libgdal.so.32"); loads and initialises GDAL.</summary>
    public static string LoadedFrom
    {
        get { EnsureInitialized(); return ResolvedName(); }
    }

    /// <summary>Whether GDAL is loadable on this machine (does not throw).</summary>
    public static bool IsAvailable
    {
        get
        {
            try { EnsureInitialized(); return true; }
            catch (DllNotFoundException) { return false; }
            catch (EntryPointNotFoundException) { return false; }
        }
    }

    /// <summary>Whether a GDAL driver with this short name (e.g. "COG", "GTiff", "Parquet") is registered.</summary>
    public static bool HasDriver(string name)
    {
        EnsureInitialized();
        return GdalNative.GDALGetDriverByName(name) != IntPtr.Zero;
    }

    /// <summary>GDAL block cache used unless the <c>GDAL_CACHEMAX</c> environment variable sets another (256 MiB).</summary>
    internal const long DefaultCacheBytes = 256L << 20;

    /// <summary>GDAL's current block-cache limit in bytes.</summary>
    internal static long CacheMaxBytes
    {
        get { EnsureInitialized(); return GdalNative.GDALGetCacheMax64(); }
    }

    private static string Initialize()
    {
        GdalNative.InstallResolver();
        GdalNative.GDALAllRegister();
        // GDAL's block cache defaults to 5 % of RAM and grows with the raster read; bound it (GDAL_CACHEMAX still wins).
        if (Environment.GetEnvironmentVariable("GDAL_CACHEMAX") is null) GdalNative.GDALSetCacheMax64(DefaultCacheBytes);
        if (NativeLibrary.TryLoad(ResolvedName(), typeof(GdalLibrary).Assembly, null, out var lib)
            && NativeLibrary.TryGetExport(lib, "CPLQuietErrorHandler", out var quiet))
            GdalNative.CPLSetErrorHandler(quiet);
        return Marshal.PtrToStringUTF8(GdalNative.GDALVersionInfo("RELEASE_NAME")) ?? "unknown";
    }

    private static string ResolvedName()
    {
        foreach (var c in GdalNative.Candidates())
            if (NativeLibrary.TryLoad(c, typeof(GdalLibrary).Assembly, null, out var h)) { NativeLibrary.Free(h); return c; }
        return GdalNative.Candidates()[0];
    }

    /// <summary>Throws a <see cref="GdalException"/> with GDAL's last message for <paramref name="operation"/>.</summary>
    internal static GdalException LastError(string operation)
    {
        var msg = Marshal.PtrToStringUTF8(GdalNative.CPLGetLastErrorMsg());
        int no = GdalNative.CPLGetLastErrorNo();
        return new GdalException(string.IsNullOrWhiteSpace(msg) ? $"{operation} failed (GDAL gave no message)." : $"{operation} failed: {msg}", no);
    }

    /// <summary>Throws when a CPLErr return code is CE_Failure (3) or CE_Fatal (4).</summary>
    internal static void Check(int cplErr, string operation)
    {
        if (cplErr >= 3) throw LastError(operation);
    }

    /// <summary>Reads and frees a GDAL-allocated string.</summary>
    internal static string? TakeString(IntPtr p)
    {
        if (p == IntPtr.Zero) return null;
        try { return Marshal.PtrToStringUTF8(p); }
        finally { GdalNative.VSIFree(p); }
    }

    /// <summary>Reads a NULL-terminated char** list that GDAL owns.</summary>
    internal static List<string> ReadStringList(IntPtr list)
    {
        var result = new List<string>();
        if (list == IntPtr.Zero) return result;
        for (int i = 0; ; i++)
        {
            var p = Marshal.ReadIntPtr(list, i * IntPtr.Size);
            if (p == IntPtr.Zero) break;
            result.Add(Marshal.PtrToStringUTF8(p) ?? "");
        }
        return result;
    }
}

/// <summary>A NULL-terminated UTF-8 "KEY=VALUE" list (GDAL char**) allocated for one call.</summary>
internal sealed class NativeStringList : IDisposable
{
    private readonly IntPtr[] _strings;
    public IntPtr Pointer { get; }

    public NativeStringList(IReadOnlyDictionary<string, string>? options)
        : this(options?.Select(kv => $"{kv.Key}={kv.Value}").ToList())
    {
    }

    /// <summary>A list of plain strings, e.g. the arguments of a GDAL utility (<c>GDALWarpAppOptionsNew</c>).</summary>
    public NativeStringList(IReadOnlyList<string>? items)
    {
        if (items is null || items.Count == 0) { _strings = []; Pointer = IntPtr.Zero; return; }
        _strings = items.Select(Marshal.StringToCoTaskMemUTF8).ToArray();
        Pointer = Marshal.AllocCoTaskMem(IntPtr.Size * (_strings.Length + 1));
        for (int i = 0; i < _strings.Length; i++) Marshal.WriteIntPtr(Pointer, i * IntPtr.Size, _strings[i]);
        Marshal.WriteIntPtr(Pointer, _strings.Length * IntPtr.Size, IntPtr.Zero);
    }

    public void Dispose()
    {
        foreach (var s in _strings) Marshal.FreeCoTaskMem(s);
        if (Pointer != IntPtr.Zero) Marshal.FreeCoTaskMem(Pointer);
    }
}

/// <summary>Geometry text conversions done by OGR.</summary>
/// <remarks>Stateless and thread-safe.</remarks>
public static class OgrGeometryText
{
    /// <summary>Converts a GeoJSON geometry object (not a Feature) to WKT with OGR; throws <see cref="GdalException"/> on bad input.</summary>
    public static string GeoJsonToWkt(string geoJson)
    {
        ArgumentException.ThrowIfNullOrEmpty(geoJson);
        GdalLibrary.EnsureInitialized();
        GdalNative.CPLErrorReset();
        var g = GdalNative.OGR_G_CreateGeometryFromJson(geoJson);
        if (g == IntPtr.Zero) throw GdalLibrary.LastError("Parsing a GeoJSON geometry");
        try
        {
            if (GdalNative.OGR_G_ExportToWkt(g, out var wkt) != 0) throw GdalLibrary.LastError("Exporting a geometry to WKT");
            return GdalLibrary.TakeString(wkt) ?? "";
        }
        finally { GdalNative.OGR_G_DestroyGeometry(g); }
    }
}

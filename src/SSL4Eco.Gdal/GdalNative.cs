using System.Reflection;
using System.Runtime.InteropServices;

namespace SSL4Eco.Gdal;

/// <summary>Raw GDAL/OGR/CPL C API entry points (GDAL 3.6 ABI). Callers go through <see cref="GdalLibrary"/> first.</summary>
internal static partial class GdalNative
{
    internal const string Lib = "gdal";

    [LibraryImport(Lib)] internal static partial void GDALAllRegister();
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] internal static partial IntPtr GDALVersionInfo(string request);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial IntPtr GDALOpenEx(string path, uint flags, IntPtr allowedDrivers, IntPtr openOptions, IntPtr siblingFiles);
    [LibraryImport(Lib)] internal static partial int GDALClose(IntPtr dataset);
    [LibraryImport(Lib)] internal static partial int GDALGetRasterXSize(IntPtr dataset);
    [LibraryImport(Lib)] internal static partial int GDALGetRasterYSize(IntPtr dataset);
    [LibraryImport(Lib)] internal static partial int GDALGetRasterCount(IntPtr dataset);
    [LibraryImport(Lib)] internal static partial IntPtr GDALGetRasterBand(IntPtr dataset, int band);
    [LibraryImport(Lib)] internal static partial IntPtr GDALGetDescription(IntPtr obj);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] internal static partial void GDALSetDescription(IntPtr obj, string description);
    [LibraryImport(Lib)] internal static partial int GDALGetRasterDataType(IntPtr band);
    [LibraryImport(Lib)] internal static partial double GDALGetRasterNoDataValue(IntPtr band, out int success);
    [LibraryImport(Lib)] internal static partial int GDALSetRasterNoDataValue(IntPtr band, double value);
    [LibraryImport(Lib)] internal static partial int GDALDeleteRasterNoDataValue(IntPtr band);
    [LibraryImport(Lib)] internal static unsafe partial int GDALGetGeoTransform(IntPtr dataset, double* transform);
    [LibraryImport(Lib)] internal static unsafe partial int GDALSetGeoTransform(IntPtr dataset, double* transform);
    [LibraryImport(Lib)] internal static partial IntPtr GDALGetProjectionRef(IntPtr dataset);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] internal static partial int GDALSetProjection(IntPtr dataset, string wkt);
    [LibraryImport(Lib)] internal static partial IntPtr GDALGetSpatialRef(IntPtr dataset);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] internal static partial IntPtr GDALGetMetadataItem(IntPtr obj, string name, string? domain);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] internal static partial int GDALSetMetadataItem(IntPtr obj, string name, string? value, string? domain);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] internal static partial IntPtr GDALGetMetadata(IntPtr obj, string? domain);
    [LibraryImport(Lib)] internal static unsafe partial int GDALDatasetRasterIOEx(IntPtr dataset, int rw, int x, int y, int w, int h, void* buffer,
        int bufW, int bufH, int bufType, int bandCount, int* bandMap, long pixelSpace, long lineSpace, long bandSpace, GdalRasterIOExtraArg* extra);
    [LibraryImport(Lib)] internal static unsafe partial int GDALRasterIOEx(IntPtr band, int rw, int x, int y, int w, int h, void* buffer,
        int bufW, int bufH, int bufType, long pixelSpace, long lineSpace, GdalRasterIOExtraArg* extra);
    [LibraryImport(Lib)] internal static partial void GDALGetBlockSize(IntPtr band, out int x, out int y);
    [LibraryImport(Lib)] internal static partial int GDALGetMaskFlags(IntPtr band);
    [LibraryImport(Lib)] internal static partial IntPtr GDALGetMaskBand(IntPtr band);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] internal static partial IntPtr GDALGetDriverByName(string name);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial IntPtr GDALCreate(IntPtr driver, string path, int x, int y, int bands, int type, IntPtr options);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial IntPtr GDALCreateCopy(IntPtr driver, string path, IntPtr source, int strict, IntPtr options, IntPtr progress, IntPtr progressData);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static unsafe partial int GDALBuildOverviews(IntPtr dataset, string resampling, int overviewCount, int* overviews, int bandCount, int* bands, IntPtr progress, IntPtr progressData);
    [LibraryImport(Lib)] internal static partial void GDALFlushCache(IntPtr dataset);
    [LibraryImport(Lib)] internal static partial IntPtr GDALWarpAppOptionsNew(IntPtr argv, IntPtr optionsForBinary);
    [LibraryImport(Lib)] internal static partial IntPtr GDALTranslateOptionsNew(IntPtr argv, IntPtr optionsForBinary);
    [LibraryImport(Lib)] internal static partial void GDALTranslateOptionsFree(IntPtr options);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial IntPtr GDALTranslate(string destination, IntPtr source, IntPtr options, out int usageError);
    [LibraryImport(Lib)] internal static partial void GDALWarpAppOptionsFree(IntPtr options);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    internal static unsafe partial IntPtr GDALWarp(string destination, IntPtr destinationDataset, int sourceCount, IntPtr* sources, IntPtr options, out int usageError);

    [LibraryImport(Lib)] internal static partial void CPLErrorReset();
    [LibraryImport(Lib)] internal static partial void GDALSetCacheMax64(long bytes);
    [LibraryImport(Lib)] internal static partial long GDALGetCacheMax64();
    [LibraryImport(Lib)] internal static partial IntPtr CPLGetLastErrorMsg();
    [LibraryImport(Lib)] internal static partial int CPLGetLastErrorNo();
    [LibraryImport(Lib)] internal static partial int CPLGetLastErrorType();
    [LibraryImport(Lib)] internal static partial IntPtr CPLSetErrorHandler(IntPtr handler);
    [LibraryImport(Lib)] internal static partial void VSIFree(IntPtr p);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] internal static partial IntPtr OSRNewSpatialReference(string? wkt);
    [LibraryImport(Lib)] internal static partial IntPtr OSRClone(IntPtr srs);
    [LibraryImport(Lib)] internal static partial void OSRDestroySpatialReference(IntPtr srs);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] internal static partial int OSRSetFromUserInput(IntPtr srs, string definition);
    [LibraryImport(Lib)] internal static partial int OSRImportFromEPSG(IntPtr srs, int code);
    [LibraryImport(Lib)] internal static partial int OSRExportToWkt(IntPtr srs, out IntPtr wkt);
    [LibraryImport(Lib)] internal static partial int OSRExportToPROJJSON(IntPtr srs, out IntPtr json, IntPtr options);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] internal static partial IntPtr OSRGetAuthorityName(IntPtr srs, string? key);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] internal static partial IntPtr OSRGetAuthorityCode(IntPtr srs, string? key);
    [LibraryImport(Lib)] internal static partial int OSRAutoIdentifyEPSG(IntPtr srs);
    [LibraryImport(Lib)] internal static partial int OSRIsSame(IntPtr a, IntPtr b);
    [LibraryImport(Lib)] internal static partial void OSRSetAxisMappingStrategy(IntPtr srs, int strategy);
    [LibraryImport(Lib)] internal static partial IntPtr OCTNewCoordinateTransformation(IntPtr source, IntPtr target);
    [LibraryImport(Lib)] internal static partial void OCTDestroyCoordinateTransformation(IntPtr transform);
    [LibraryImport(Lib)] internal static unsafe partial int OCTTransform(IntPtr transform, int count, double* x, double* y, double* z);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] internal static partial IntPtr OGR_G_CreateGeometryFromJson(string json);
    [LibraryImport(Lib)] internal static partial int OGR_G_ExportToWkt(IntPtr geometry, out IntPtr wkt);
    [LibraryImport(Lib)] internal static partial void OGR_G_DestroyGeometry(IntPtr geometry);

    private static int _resolverInstalled;

    /// <summary>Installs the native library resolver for the "gdal" name (once per process).</summary>
    internal static void InstallResolver()
    {
        if (Interlocked.Exchange(ref _resolverInstalled, 1) != 0) return;
        NativeLibrary.SetDllImportResolver(typeof(GdalNative).Assembly, Resolve);
    }

    /// <summary>
    /// The names tried, in order: the path in <see cref="GdalLibrary.LibraryEnvironmentVariable"/>, then this platform's
    /// names of GDAL 3.x (Linux sonames libgdal.so.26 … .40 newest first, and the unversioned development link; Windows
    /// gdal.dll and gdal3NN.dll; macOS libgdal.dylib and libgdal.NN.dylib).
    /// </summary>
    internal static IReadOnlyList<string> Candidates()
    {
        var list = new List<string>();
        var env = Environment.GetEnvironmentVariable(GdalLibrary.LibraryEnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(env)) list.Add(env);
        // GDAL 3.0 had soname 26; each minor release adds one (3.6 → 32, 3.8 → 34, 3.10 → 36). Probe well beyond today.
        var sonames = Enumerable.Range(26, 15).Reverse();
        if (OperatingSystem.IsWindows())
            list.AddRange(["gdal.dll", .. Enumerable.Range(0, 15).Reverse().Select(m => $"gdal3{m:00}.dll")]);
        else if (OperatingSystem.IsMacOS())
            list.AddRange(["libgdal.dylib", .. sonames.Select(n => $"libgdal.{n}.dylib")]);
        else
            list.AddRange([.. sonames.Select(n => $"libgdal.so.{n}"), "libgdal.so"]);
        return list;
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? path)
    {
        if (name != Lib) return IntPtr.Zero;
        foreach (var candidate in Candidates())
            if (NativeLibrary.TryLoad(candidate, assembly, path, out var handle)) return handle;
        throw new DllNotFoundException(
            $"GDAL 3.x was not found (tried {Candidates()[0]} … {Candidates()[^1]}): {GdalInstallHint.ForThisMachine()}, " +
            $"or set {GdalLibrary.LibraryEnvironmentVariable} to the full path of the GDAL shared library.");
    }
}

/// <summary>The install command for GDAL's shared library on the running operating system.</summary>
internal static class GdalInstallHint
{
    /// <summary>The hint for this machine (reads /etc/os-release on Linux).</summary>
    public static string ForThisMachine()
    {
        if (OperatingSystem.IsWindows()) return "install GDAL (OSGeo4W, conda-forge 'libgdal' or the GISInternals build) and put its bin folder on PATH";
        if (OperatingSystem.IsMacOS()) return "install GDAL with 'brew install gdal' (or conda-forge 'libgdal')";
        string osRelease = "";
        try { osRelease = File.ReadAllText("/etc/os-release"); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        return ForLinux(osRelease);
    }

    /// <summary>The hint for a Linux distribution described by the text of its /etc/os-release.</summary>
    public static string ForLinux(string osRelease)
    {
        var fields = osRelease.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split('=', 2)).Where(kv => kv.Length == 2)
            .GroupBy(kv => kv[0].Trim()).ToDictionary(g => g.Key, g => g.First()[1].Trim().Trim('"'));
        string id = fields.GetValueOrDefault("ID", ""), version = fields.GetValueOrDefault("VERSION_ID", "");
        var like = (id + " " + fields.GetValueOrDefault("ID_LIKE", "")).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        // Debian and Ubuntu name the runtime package after the soname; the releases we know, and a search otherwise.
        string? debianPackage = (id, version) switch
        {
            ("debian", "11") => "libgdal28",
            ("debian", "12") => "libgdal32",
            ("debian", "13") => "libgdal36",
            ("ubuntu", "22.04") => "libgdal30",
            ("ubuntu", "24.04") => "libgdal34",
            _ => null,
        };
        if (debianPackage is not null) return $"install it with 'apt install {debianPackage}'";
        if (like.Contains("debian") || like.Contains("ubuntu"))
            return "install your release's libgdalNN package ('apt-cache search --names-only ^libgdal[0-9]' lists it, e.g. 'apt install libgdal32' on Debian 12)";
        if (like.Contains("fedora") || like.Contains("rhel") || like.Contains("centos")) return "install it with 'dnf install gdal-libs' (EPEL on RHEL)";
        if (like.Contains("alpine")) return "install it with 'apk add gdal'";
        if (like.Contains("arch")) return "install it with 'pacman -S gdal'";
        if (like.Contains("suse") || like.Contains("opensuse")) return "install it with 'zypper install gdal'";
        return "install GDAL 3.x's shared library with your distribution's package manager (or conda-forge 'libgdal')";
    }
}

/// <summary>GDALRasterIOExtraArg, version 1 layout.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct GdalRasterIOExtraArg
{
    public int Version;
    public int ResampleAlg;
    public IntPtr Progress;
    public IntPtr ProgressData;
    public int FloatingPointWindowValidity;
    public double XOff, YOff, XSize, YSize;

    public static GdalRasterIOExtraArg Create(GdalResampling resampling) => new() { Version = 1, ResampleAlg = (int)resampling };
}

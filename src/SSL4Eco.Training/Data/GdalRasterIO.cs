using System.Runtime.InteropServices;

namespace SSL4Eco.Training.Data;

/// <summary>
/// Reads and writes uint16 multi-band GeoTIFFs through the system GDAL (libgdal.so.32 on Debian 12).
/// SEAM: a minimal P/Invoke used until the project's GDAL binding (SSL4Eco.Inference.Geo.Gdal, branch wip/geo) is
/// merged; replace the bodies of <see cref="ReadUInt16"/> and <see cref="WriteUInt16"/> with that binding then.
/// GDAL datasets are opened and closed within each call, so concurrent calls on different threads are safe.
/// </summary>
internal static partial class GdalRasterIO
{
    private const string Lib = "libgdal.so.32";
    private static readonly Lazy<bool> Registered = new(() => { GDALAllRegister(); CPLSetErrorHandler(CPLQuietErrorHandlerPtr()); return true; });

    /// <summary>Reads every band of a raster as uint16 [bands, height, width].</summary>
    /// <exception cref="InvalidDataException">GDAL cannot open or read the file (the message carries GDAL's).</exception>
    public static (ushort[] Data, int Bands, int Height, int Width) ReadUInt16(string path)
    {
        _ = Registered.Value;
        nint ds = GDALOpen(path, 0);
        if (ds == 0) throw new InvalidDataException($"GDAL cannot open '{path}': {LastError()}");
        try
        {
            int w = GDALGetRasterXSize(ds), h = GDALGetRasterYSize(ds), n = GDALGetRasterCount(ds);
            var data = new ushort[(long)n * h * w];
            unsafe
            {
                fixed (ushort* p = data)
                {
                    int err = GDALDatasetRasterIO(ds, 0, 0, 0, w, h, p, w, h, 2, n, null, 2, 2L * w, 2L * w * h);
                    if (err >= 3) throw new InvalidDataException($"GDAL cannot read the pixels of '{path}': {LastError()}");
                }
            }
            return (data, n, h, w);
        }
        finally { GDALClose(ds); }
    }

    /// <summary>Writes a uint16 [bands, height, width] GeoTIFF (DEFLATE) with a UTM 10 m geotransform.</summary>
    public static void WriteUInt16(string path, ReadOnlySpan<ushort> data, int bands, int height, int width, double originX, double originY, int epsg)
    {
        _ = Registered.Value;
        if (data.Length != (long)bands * height * width) throw new ArgumentException("Data length does not match bands×height×width.");
        nint drv = GDALGetDriverByName("GTiff");
        if (drv == 0) throw new InvalidOperationException("GDAL has no GTiff driver.");
        nint opt = CSLSetNameValue(0, "COMPRESS", "DEFLATE");
        nint ds = GDALCreate(drv, path, width, height, bands, 2, opt);
        CSLDestroy(opt);
        if (ds == 0) throw new IOException($"GDAL cannot create '{path}': {LastError()}");
        try
        {
            double[] gt = [originX, 10, 0, originY, 0, -10];
            unsafe
            {
                fixed (double* g = gt) GDALSetGeoTransform(ds, g);
                nint srs = OSRNewSpatialReference(null);
                OSRImportFromEPSG(srs, epsg);
                OSRExportToWkt(srs, out nint wkt);
                GDALSetProjection(ds, Marshal.PtrToStringUTF8(wkt)!);
                VSIFree(wkt);
                OSRDestroySpatialReference(srs);
                fixed (ushort* p = data)
                {
                    int err = GDALDatasetRasterIO(ds, 1, 0, 0, width, height, p, width, height, 2, bands, null, 2, 2L * width, 2L * width * height);
                    if (err >= 3) throw new IOException($"GDAL cannot write '{path}': {LastError()}");
                }
            }
        }
        finally { GDALClose(ds); }
    }

    private static string LastError() => Marshal.PtrToStringUTF8(CPLGetLastErrorMsg()) ?? "unknown error";

    [LibraryImport(Lib)] private static partial void GDALAllRegister();
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] private static partial nint GDALOpen(string path, int access);
    [LibraryImport(Lib)] private static partial void GDALClose(nint ds);
    [LibraryImport(Lib)] private static partial int GDALGetRasterXSize(nint ds);
    [LibraryImport(Lib)] private static partial int GDALGetRasterYSize(nint ds);
    [LibraryImport(Lib)] private static partial int GDALGetRasterCount(nint ds);
    [LibraryImport(Lib)] private static unsafe partial int GDALDatasetRasterIO(nint ds, int rw, int x, int y, int w, int h, void* buf, int bw, int bh, int type, int bandCount, int* bandMap, long pixelSpace, long lineSpace, long bandSpace);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] private static partial nint GDALGetDriverByName(string name);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] private static partial nint GDALCreate(nint drv, string path, int w, int h, int bands, int type, nint options);
    [LibraryImport(Lib)] private static unsafe partial int GDALSetGeoTransform(nint ds, double* gt);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] private static partial int GDALSetProjection(nint ds, string wkt);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] private static partial nint CSLSetNameValue(nint list, string name, string value);
    [LibraryImport(Lib)] private static partial void CSLDestroy(nint list);
    [LibraryImport(Lib)] private static unsafe partial nint OSRNewSpatialReference(byte* wkt);
    [LibraryImport(Lib)] private static partial int OSRImportFromEPSG(nint srs, int epsg);
    [LibraryImport(Lib)] private static partial int OSRExportToWkt(nint srs, out nint wkt);
    [LibraryImport(Lib)] private static partial void OSRDestroySpatialReference(nint srs);
    [LibraryImport(Lib)] private static partial void VSIFree(nint p);
    [LibraryImport(Lib)] private static partial nint CPLGetLastErrorMsg();
    [LibraryImport(Lib)] private static partial nint CPLSetErrorHandler(nint handler);

    private static nint CPLQuietErrorHandlerPtr()
    {
        var lib = NativeLibrary.Load(Lib);
        return NativeLibrary.GetExport(lib, "CPLQuietErrorHandler");
    }
}

using System.Runtime.InteropServices;

namespace SSL4Eco.Gdal;

/// <summary>Raw OGR C API entry points (GDAL 3.6 ABI) for reading vector layers; callers go through <see cref="GdalLibrary"/> first.</summary>
internal static partial class OgrNative
{
    [LibraryImport(GdalNative.Lib)] internal static partial int GDALDatasetGetLayerCount(IntPtr dataset);
    [LibraryImport(GdalNative.Lib)] internal static partial IntPtr GDALDatasetGetLayer(IntPtr dataset, int index);
    [LibraryImport(GdalNative.Lib, StringMarshalling = StringMarshalling.Utf8)] internal static partial IntPtr GDALDatasetGetLayerByName(IntPtr dataset, string name);
    [LibraryImport(GdalNative.Lib)] internal static partial IntPtr OGR_L_GetName(IntPtr layer);
    [LibraryImport(GdalNative.Lib)] internal static partial void OGR_L_ResetReading(IntPtr layer);
    [LibraryImport(GdalNative.Lib)] internal static partial IntPtr OGR_L_GetNextFeature(IntPtr layer);
    [LibraryImport(GdalNative.Lib)] internal static partial IntPtr OGR_L_GetSpatialRef(IntPtr layer);
    [LibraryImport(GdalNative.Lib)] internal static partial IntPtr OGR_F_GetGeometryRef(IntPtr feature);
    [LibraryImport(GdalNative.Lib)] internal static partial void OGR_F_Destroy(IntPtr feature);
    [LibraryImport(GdalNative.Lib)] internal static partial IntPtr OGR_G_Clone(IntPtr geometry);
    [LibraryImport(GdalNative.Lib)] internal static partial int OGR_G_TransformTo(IntPtr geometry, IntPtr srs);
    [LibraryImport(GdalNative.Lib)] internal static partial IntPtr OGR_G_GetLinearGeometry(IntPtr geometry, double maxAngleStepDegrees, IntPtr options);
    [LibraryImport(GdalNative.Lib)] internal static partial int OGR_G_GetGeometryType(IntPtr geometry);
    [LibraryImport(GdalNative.Lib)] internal static partial int OGR_GT_Flatten(int type);
    [LibraryImport(GdalNative.Lib)] internal static partial int OGR_G_GetGeometryCount(IntPtr geometry);
    [LibraryImport(GdalNative.Lib)] internal static partial IntPtr OGR_G_GetGeometryRef(IntPtr geometry, int index);
    [LibraryImport(GdalNative.Lib)] internal static partial int OGR_G_GetPointCount(IntPtr geometry);
    [LibraryImport(GdalNative.Lib)] internal static partial double OGR_G_GetX(IntPtr geometry, int index);
    [LibraryImport(GdalNative.Lib)] internal static partial double OGR_G_GetY(IntPtr geometry, int index);
    [LibraryImport(GdalNative.Lib)] internal static partial void OGR_G_DestroyGeometry(IntPtr geometry);

    /// <summary>OGRwkbGeometryType values (flattened) used here.</summary>
    internal const int WkbPolygon = 3, WkbMultiPolygon = 6, WkbGeometryCollection = 7;
}

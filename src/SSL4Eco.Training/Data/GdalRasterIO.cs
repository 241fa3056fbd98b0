using SSL4Eco.Gdal;

namespace SSL4Eco.Training.Data;

/// <summary>
/// Reads and writes uint16 multi-band GeoTIFFs through the project's GDAL binding (<see cref="GdalDataset"/>).
/// A dataset is opened and closed within each call, so concurrent calls on different threads are safe.
/// </summary>
internal static class GdalRasterIO
{
    /// <summary>Reads every band of a raster as uint16 [bands, height, width], with the bands' descriptions ("" where none).</summary>
    /// <exception cref="InvalidDataException">GDAL cannot open or read the file (the message carries GDAL's).</exception>
    public static (ushort[] Data, int Bands, int Height, int Width, string[] Descriptions) ReadUInt16(string path)
    {
        try
        {
            using var ds = GdalDataset.Open(path);
            int w = ds.Width, h = ds.Height, n = ds.BandCount;
            var data = new ushort[(long)n * h * w];
            ds.Read(new PixelWindow(0, 0, w, h), data);
            var descriptions = Enumerable.Range(1, n).Select(i => ds.Band(i).Description.Trim()).ToArray();
            return (data, n, h, w, descriptions);
        }
        catch (GdalException e)
        {
            throw new InvalidDataException($"GDAL cannot read '{path}': {e.Message}", e);
        }
    }

    /// <summary>Writes a uint16 [bands, height, width] GeoTIFF (DEFLATE) with a north-up 10 m geotransform in the given EPSG code.</summary>
    public static void WriteUInt16(string path, ReadOnlySpan<ushort> data, int bands, int height, int width, double originX, double originY, int epsg)
    {
        if (data.Length != (long)bands * height * width) throw new ArgumentException("Data length does not match bands×height×width.");
        using var ds = GdalDataset.Create("GTiff", path, width, height, bands, GdalDataType.UInt16,
            new Dictionary<string, string> { ["COMPRESS"] = "DEFLATE" });
        ds.GeoTransform = new GeoTransform(originX, 10, 0, originY, 0, -10);
        using (var srs = GdalSpatialReference.FromEpsg(epsg)) ds.ProjectionWkt = srs.ToWkt();
        ds.Write(new PixelWindow(0, 0, width, height), data);
    }
}

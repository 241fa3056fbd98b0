using SSL4Eco.Gdal;

namespace SSL4Eco.Inference.Geo.Dataset;

/// <summary>Reads the pixel values of every band of a raster at WGS 84 longitude/latitude points (nearest pixel).</summary>
/// <remarks>Not thread-safe (owns a GDAL dataset).</remarks>
internal sealed class RasterSampler : IDisposable
{
    private readonly GdalDataset _ds;
    private readonly GeoTransform _gt;
    private readonly GdalSpatialReference? _srs;
    private readonly GdalSpatialReference _wgs84;
    private readonly double?[] _noData;

    public RasterSampler(string path)
    {
        _ds = GdalDataset.Open(path);
        _gt = _ds.GeoTransform ?? throw new GdalException($"'{path}' has no geotransform: give a georeferenced raster.");
        _srs = _ds.SpatialReference;
        _wgs84 = GdalSpatialReference.FromEpsg(4326);
        _noData = Enumerable.Range(1, _ds.BandCount).Select(b => _ds.Band(b).NoData).ToArray();
    }

    /// <summary>Number of bands.</summary>
    public int BandCount => _noData.Length;

    /// <summary>The values of every band at the point (NaN for nodata); null when the point is outside the raster.</summary>
    public double[]? Sample(double lon, double lat)
    {
        Span<double> x = [lon], y = [lat];
        if (_srs is not null) _wgs84.Transform(_srs, x, y);
        var (col, row) = _gt.GeoToPixel(x[0], y[0]);
        int c = (int)Math.Floor(col), r = (int)Math.Floor(row);
        if (c < 0 || r < 0 || c >= _ds.Width || r >= _ds.Height) return null;
        var v = new float[_noData.Length];
        _ds.Read(new PixelWindow(c, r, 1, 1), v);
        var result = new double[v.Length];
        for (int b = 0; b < v.Length; b++) result[b] = _noData[b] is { } nd && v[b] == (float)nd ? double.NaN : v[b];
        return result;
    }

    public void Dispose()
    {
        _wgs84.Dispose();
        _srs?.Dispose();
        _ds.Dispose();
    }
}

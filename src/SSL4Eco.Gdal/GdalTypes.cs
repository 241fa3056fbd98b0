namespace SSL4Eco.Gdal;

/// <summary>GDAL pixel data types (GDALDataType values of GDAL 3.6). GDAL 3.6 has no Float16 (it arrived in 3.11).</summary>
public enum GdalDataType
{
    /// <summary>Unknown or unsupported.</summary>
    Unknown = 0,
    /// <summary>8-bit unsigned.</summary>
    Byte = 1,
    /// <summary>16-bit unsigned.</summary>
    UInt16 = 2,
    /// <summary>16-bit signed.</summary>
    Int16 = 3,
    /// <summary>32-bit unsigned.</summary>
    UInt32 = 4,
    /// <summary>32-bit signed.</summary>
    Int32 = 5,
    /// <summary>32-bit float.</summary>
    Float32 = 6,
    /// <summary>64-bit float.</summary>
    Float64 = 7,
    /// <summary>64-bit unsigned (GDAL 3.5+).</summary>
    UInt64 = 12,
    /// <summary>64-bit signed (GDAL 3.5+).</summary>
    Int64 = 13,
}

/// <summary>Resampling used when a RasterIO buffer size differs from the window size (GDALRIOResampleAlg).</summary>
public enum GdalResampling
{
    /// <summary>Nearest neighbour.</summary>
    Nearest = 0,
    /// <summary>Bilinear.</summary>
    Bilinear = 1,
    /// <summary>Cubic convolution.</summary>
    Cubic = 2,
    /// <summary>Cubic B-spline.</summary>
    CubicSpline = 3,
    /// <summary>Lanczos windowed sinc.</summary>
    Lanczos = 4,
    /// <summary>Average.</summary>
    Average = 5,
    /// <summary>Mode.</summary>
    Mode = 6,
}

/// <summary>How a dataset is opened.</summary>
public enum GdalAccess
{
    /// <summary>Read-only.</summary>
    ReadOnly = 0,
    /// <summary>Read and write.</summary>
    Update = 1,
}

/// <summary>GDAL mask flags (GMF_*).</summary>
[Flags]
public enum GdalMaskFlags
{
    /// <summary>No flag: the mask is an explicit mask band.</summary>
    None = 0,
    /// <summary>GMF_ALL_VALID: every pixel valid.</summary>
    AllValid = 0x01,
    /// <summary>GMF_PER_DATASET: the mask is shared by all bands.</summary>
    PerDataset = 0x02,
    /// <summary>GMF_ALPHA: the mask comes from an alpha band.</summary>
    Alpha = 0x04,
    /// <summary>GMF_NODATA: the mask comes from the nodata value.</summary>
    NoData = 0x08,
}

/// <summary>A rectangular pixel window: column offset, row offset, width and height.</summary>
/// <param name="X">First column.</param>
/// <param name="Y">First row.</param>
/// <param name="Width">Columns.</param>
/// <param name="Height">Rows.</param>
/// <remarks>Immutable and thread-safe.</remarks>
public readonly record struct PixelWindow(int X, int Y, int Width, int Height)
{
    /// <summary>Number of pixels.</summary>
    public long Area => (long)Width * Height;

    /// <summary>Whether the window lies within a raster of the given size.</summary>
    public bool IsInside(int rasterWidth, int rasterHeight) =>
        X >= 0 && Y >= 0 && Width > 0 && Height > 0 && X + Width <= rasterWidth && Y + Height <= rasterHeight;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the window when it is not inside the raster.</summary>
    public void EnsureInside(int rasterWidth, int rasterHeight)
    {
        if (!IsInside(rasterWidth, rasterHeight))
            throw new ArgumentOutOfRangeException(nameof(PixelWindow), $"Window {this} is not inside the {rasterWidth}x{rasterHeight} raster.");
    }
}

/// <summary>
/// A GDAL affine geotransform: <c>Xgeo = OriginX + col·PixelWidth + row·RowRotation</c>,
/// <c>Ygeo = OriginY + col·ColumnRotation + row·PixelHeight</c> (PixelHeight is negative for north-up rasters).
/// </summary>
/// <remarks>Immutable and thread-safe.</remarks>
public readonly record struct GeoTransform(double OriginX, double PixelWidth, double RowRotation, double OriginY, double ColumnRotation, double PixelHeight)
{
    /// <summary>From GDAL's six-element array.</summary>
    internal static GeoTransform FromArray(ReadOnlySpan<double> t)
    {
        if (t.Length != 6) throw new ArgumentException($"A geotransform has 6 coefficients, got {t.Length}.");
        return new(t[0], t[1], t[2], t[3], t[4], t[5]);
    }

    /// <summary>GDAL's six-element array.</summary>
    public double[] ToArray() => [OriginX, PixelWidth, RowRotation, OriginY, ColumnRotation, PixelHeight];

    /// <summary>Georeferenced coordinates of a (fractional) pixel position (col, row).</summary>
    public (double X, double Y) PixelToGeo(double col, double row) =>
        (OriginX + col * PixelWidth + row * RowRotation, OriginY + col * ColumnRotation + row * PixelHeight);

    /// <summary>Fractional pixel position of a georeferenced point; throws when the transform is not invertible.</summary>
    public (double Col, double Row) GeoToPixel(double x, double y)
    {
        double det = PixelWidth * PixelHeight - RowRotation * ColumnRotation;
        if (det == 0) throw new InvalidOperationException("The geotransform is not invertible.");
        double dx = x - OriginX, dy = y - OriginY;
        return ((dx * PixelHeight - dy * RowRotation) / det, (dy * PixelWidth - dx * ColumnRotation) / det);
    }
}

using System.Runtime.InteropServices;

namespace SSL4Eco.Gdal;

/// <summary>Owns a GDALDatasetH; <c>GDALClose</c> on release (which also flushes written data).</summary>
internal sealed class GdalDatasetHandle : SafeHandle
{
    public GdalDatasetHandle(IntPtr handle) : base(IntPtr.Zero, true) => SetHandle(handle);
    public override bool IsInvalid => handle == IntPtr.Zero;
    protected override bool ReleaseHandle() => GdalNative.GDALClose(handle) < 3;
}

/// <summary>
/// A GDAL raster dataset (any driver, any path GDAL understands, including <c>/vsizip/</c>, <c>/vsicurl/</c> and <c>/vsimem/</c>).
/// </summary>
/// <remarks>
/// NOT thread-safe: GDAL dataset handles must not be shared between threads. Open one dataset per thread (each reader
/// of the map pipeline opens its own). Dispose to close the file; written data is flushed on dispose.
/// </remarks>
public sealed class GdalDataset : IDisposable
{
    private readonly GdalDatasetHandle _handle;

    private GdalDataset(IntPtr handle, string path)
    {
        _handle = new GdalDatasetHandle(handle);
        Path = path;
    }

    /// <summary>Opens a raster; throws <see cref="GdalException"/> with GDAL's message (e.g. file not found, not recognised).</summary>
    /// <param name="path">File name or GDAL virtual path.</param>
    /// <param name="access">Read-only or update.</param>
    /// <param name="openOptions">Driver open options (KEY=VALUE), or null.</param>
    public static GdalDataset Open(string path, GdalAccess access = GdalAccess.ReadOnly, IReadOnlyDictionary<string, string>? openOptions = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        GdalLibrary.EnsureInitialized();
        using var opts = new NativeStringList(openOptions);
        const uint raster = 0x02, verboseError = 0x40;
        GdalNative.CPLErrorReset();
        var h = GdalNative.GDALOpenEx(path, (uint)access | raster | verboseError, IntPtr.Zero, opts.Pointer, IntPtr.Zero);
        if (h == IntPtr.Zero) throw GdalLibrary.LastError($"Opening raster '{path}'");
        return new GdalDataset(h, path);
    }

    /// <summary>
    /// A virtual (VRT) dataset warping <paramref name="source"/> as the <c>gdalwarp</c> utility would with
    /// <paramref name="arguments"/> (e.g. <c>-r near -te … -ts … -t_srs …</c>; <c>-of VRT</c> is added), computed lazily as
    /// windows are read. The source must stay open until the result is disposed.
    /// </summary>
    /// <exception cref="GdalException">GDAL refuses the arguments or cannot warp the source (GDAL's message).</exception>
    public static unsafe GdalDataset Warp(GdalDataset source, IReadOnlyList<string> arguments)
    {
        ArgumentNullException.ThrowIfNull(source);
        GdalLibrary.EnsureInitialized();
        using var args = new NativeStringList(["-of", "VRT", .. arguments]);
        GdalNative.CPLErrorReset();
        var options = GdalNative.GDALWarpAppOptionsNew(args.Pointer, IntPtr.Zero);
        if (options == IntPtr.Zero) throw GdalLibrary.LastError($"Preparing to warp '{source.Path}'");
        try
        {
            var src = source.Handle;
            var h = GdalNative.GDALWarp("", IntPtr.Zero, 1, &src, options, out _);
            if (h == IntPtr.Zero) throw GdalLibrary.LastError($"Warping '{source.Path}'");
            return new GdalDataset(h, source.Path + " (warped)");
        }
        finally { GdalNative.GDALWarpAppOptionsFree(options); }
    }

    /// <summary>
    /// Writes <paramref name="source"/> to <paramref name="destination"/> as the <c>gdal_translate</c> utility would with
    /// <paramref name="arguments"/> (e.g. <c>-of VRT -srcwin X Y W H</c>), and closes the result.
    /// </summary>
    /// <exception cref="GdalException">GDAL refuses the arguments or cannot write the destination (GDAL's message).</exception>
    public static void Translate(GdalDataset source, string destination, IReadOnlyList<string> arguments)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentException.ThrowIfNullOrEmpty(destination);
        ArgumentNullException.ThrowIfNull(arguments);
        GdalLibrary.EnsureInitialized();
        using var args = new NativeStringList(arguments);
        GdalNative.CPLErrorReset();
        var options = GdalNative.GDALTranslateOptionsNew(args.Pointer, IntPtr.Zero);
        if (options == IntPtr.Zero) throw GdalLibrary.LastError($"Preparing to translate '{source.Path}'");
        try
        {
            var h = GdalNative.GDALTranslate(destination, source.Handle, options, out _);
            if (h == IntPtr.Zero) throw GdalLibrary.LastError($"Translating '{source.Path}' to '{destination}'");
            GdalNative.GDALClose(h);
        }
        finally { GdalNative.GDALTranslateOptionsFree(options); }
    }

    /// <summary>Creates a new raster with a driver that supports <c>Create</c> (e.g. GTiff, MEM).</summary>
    public static GdalDataset Create(string driver, string path, int width, int height, int bandCount, GdalDataType type,
        IReadOnlyDictionary<string, string>? creationOptions = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(driver);
        ArgumentNullException.ThrowIfNull(path);
        if (width <= 0 || height <= 0 || bandCount <= 0)
            throw new ArgumentOutOfRangeException(nameof(width), $"Raster size must be positive, got {width}x{height}x{bandCount}.");
        var drv = Driver(driver);
        using var opts = new NativeStringList(creationOptions);
        GdalNative.CPLErrorReset();
        var h = GdalNative.GDALCreate(drv, path, width, height, bandCount, (int)type, opts.Pointer);
        if (h == IntPtr.Zero) throw GdalLibrary.LastError($"Creating {driver} raster '{path}'");
        return new GdalDataset(h, path);
    }

    /// <summary>Copies this dataset to a new file with a driver's <c>CreateCopy</c> (e.g. COG, PNG); returns the new dataset.</summary>
    public GdalDataset CreateCopy(string driver, string path, IReadOnlyDictionary<string, string>? creationOptions = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(driver);
        ArgumentNullException.ThrowIfNull(path);
        var drv = Driver(driver);
        using var opts = new NativeStringList(creationOptions);
        GdalNative.CPLErrorReset();
        var h = GdalNative.GDALCreateCopy(drv, path, Handle, 0, opts.Pointer, IntPtr.Zero, IntPtr.Zero);
        if (h == IntPtr.Zero) throw GdalLibrary.LastError($"Copying '{Path}' to {driver} '{path}'");
        return new GdalDataset(h, path);
    }

    private static IntPtr Driver(string name)
    {
        GdalLibrary.EnsureInitialized();
        var drv = GdalNative.GDALGetDriverByName(name);
        if (drv == IntPtr.Zero) throw new GdalException($"GDAL driver '{name}' is not available in GDAL {GdalLibrary.Version}.");
        return drv;
    }

    internal IntPtr Handle
    {
        get
        {
            ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
            return _handle.DangerousGetHandle();
        }
    }

    /// <summary>The path the dataset was opened or created with.</summary>
    public string Path { get; }

    /// <summary>Columns.</summary>
    public int Width => GdalNative.GDALGetRasterXSize(Handle);

    /// <summary>Rows.</summary>
    public int Height => GdalNative.GDALGetRasterYSize(Handle);

    /// <summary>Number of bands.</summary>
    public int BandCount => GdalNative.GDALGetRasterCount(Handle);

    /// <summary>Band <paramref name="index"/>, 1-based as in GDAL.</summary>
    public GdalBand Band(int index)
    {
        if (index < 1 || index > BandCount)
            throw new ArgumentOutOfRangeException(nameof(index), $"Band {index} does not exist; '{Path}' has {BandCount} bands (1-based).");
        var b = GdalNative.GDALGetRasterBand(Handle, index);
        if (b == IntPtr.Zero) throw GdalLibrary.LastError($"Getting band {index} of '{Path}'");
        return new GdalBand(this, b, index);
    }

    /// <summary>The geotransform, or null when the dataset has none.</summary>
    public unsafe GeoTransform? GeoTransform
    {
        get
        {
            double* t = stackalloc double[6];
            GdalNative.CPLErrorReset();
            return GdalNative.GDALGetGeoTransform(Handle, t) == 0 ? Gdal.GeoTransform.FromArray(new ReadOnlySpan<double>(t, 6)) : null;
        }
        set
        {
            if (value is null) throw new ArgumentNullException(nameof(value), "A geotransform cannot be removed.");
            double* t = stackalloc double[6];
            value.Value.ToArray().CopyTo(new Span<double>(t, 6));
            GdalLibrary.Check(GdalNative.GDALSetGeoTransform(Handle, t), $"Setting the geotransform of '{Path}'");
        }
    }

    /// <summary>The projection as WKT ("" when none).</summary>
    public string ProjectionWkt
    {
        get => Marshal.PtrToStringUTF8(GdalNative.GDALGetProjectionRef(Handle)) ?? "";
        set => GdalLibrary.Check(GdalNative.GDALSetProjection(Handle, value ?? ""), $"Setting the projection of '{Path}'");
    }

    /// <summary>The spatial reference (a copy the caller owns), or null when the dataset has none.</summary>
    public GdalSpatialReference? SpatialReference
    {
        get
        {
            var srs = GdalNative.GDALGetSpatialRef(Handle);
            return srs == IntPtr.Zero ? null : GdalSpatialReference.CloneOf(srs);
        }
    }

    /// <summary>A metadata item of the dataset, or null.</summary>
    public string? GetMetadataItem(string name, string? domain = null) =>
        Marshal.PtrToStringUTF8(GdalNative.GDALGetMetadataItem(Handle, name, domain));

    /// <summary>Sets a metadata item of the dataset.</summary>
    public void SetMetadataItem(string name, string value, string? domain = null) =>
        GdalLibrary.Check(GdalNative.GDALSetMetadataItem(Handle, name, value, domain), $"Setting metadata '{name}' on '{Path}'");

    /// <summary>All KEY=VALUE metadata items of a domain (default domain when null).</summary>
    public IReadOnlyDictionary<string, string> GetMetadata(string? domain = null) => GdalBand.ParseMetadata(GdalNative.GDALGetMetadata(Handle, domain));

    /// <summary>
    /// Reads a window of several bands into a band-major float buffer <c>[bands, bufferHeight, bufferWidth]</c>,
    /// resampling with <paramref name="resampling"/> when the buffer size differs from the window size.
    /// </summary>
    /// <param name="window">Source window in pixels.</param>
    /// <param name="destination">At least bands × bufferWidth × bufferHeight values.</param>
    /// <param name="bands">1-based band indexes, or null for all bands in order.</param>
    /// <param name="bufferWidth">Buffer columns (0 = window width).</param>
    /// <param name="bufferHeight">Buffer rows (0 = window height).</param>
    /// <param name="resampling">Resampling when the sizes differ.</param>
    public void Read(PixelWindow window, Span<float> destination, IReadOnlyList<int>? bands = null, int bufferWidth = 0, int bufferHeight = 0,
        GdalResampling resampling = GdalResampling.Nearest) =>
        ReadOrWrite<float>(false, window, destination, bands, bufferWidth, bufferHeight, resampling, GdalDataType.Float32);

    /// <summary>As <see cref="Read(PixelWindow, Span{float}, IReadOnlyList{int}?, int, int, GdalResampling)"/>, into 16-bit unsigned values.</summary>
    public void Read(PixelWindow window, Span<ushort> destination, IReadOnlyList<int>? bands = null, int bufferWidth = 0, int bufferHeight = 0,
        GdalResampling resampling = GdalResampling.Nearest) =>
        ReadOrWrite<ushort>(false, window, destination, bands, bufferWidth, bufferHeight, resampling, GdalDataType.UInt16);

    /// <summary>Writes a band-major float buffer <c>[bands, window.Height, window.Width]</c> into a window.</summary>
    public void Write(PixelWindow window, ReadOnlySpan<float> source, IReadOnlyList<int>? bands = null) =>
        ReadOrWrite<float>(true, window, MemoryMarshal.CreateSpan(ref MemoryMarshal.GetReference(source), source.Length), bands, 0, 0,
            GdalResampling.Nearest, GdalDataType.Float32);

    /// <summary>Writes a band-major 16-bit buffer <c>[bands, window.Height, window.Width]</c> into a window.</summary>
    public void Write(PixelWindow window, ReadOnlySpan<ushort> source, IReadOnlyList<int>? bands = null) =>
        ReadOrWrite<ushort>(true, window, MemoryMarshal.CreateSpan(ref MemoryMarshal.GetReference(source), source.Length), bands, 0, 0,
            GdalResampling.Nearest, GdalDataType.UInt16);

    /// <summary>
    /// Writes a pixel-interleaved buffer <c>[window.Height, window.Width, BandCount]</c> (all bands of a pixel together, the
    /// layout of an embedding map) into a window; <typeparamref name="T"/> must have the size of <paramref name="bufferType"/>
    /// (e.g. <see cref="float"/> and <see cref="GdalDataType.Float32"/>, <see cref="byte"/> and <see cref="GdalDataType.Byte"/>).
    /// </summary>
    /// <exception cref="ArgumentException">The buffer is too small, or <typeparamref name="T"/> does not fit <paramref name="bufferType"/>.</exception>
    public unsafe void WriteInterleaved<T>(PixelWindow window, ReadOnlySpan<T> source, GdalDataType bufferType) where T : unmanaged
    {
        if (SizeOf(bufferType) != sizeof(T))
            throw new ArgumentException($"A {typeof(T).Name} buffer cannot be written as GDAL {bufferType} ({SizeOf(bufferType)} bytes a value).", nameof(bufferType));
        window.EnsureInside(Width, Height);
        int bands = BandCount;
        long needed = (long)bands * window.Width * window.Height;
        if (source.Length < needed)
            throw new ArgumentException($"Buffer holds {source.Length} values; {window.Height} x {window.Width} x {bands} bands = {needed} needed.", nameof(source));
        var map = Enumerable.Range(1, bands).ToArray();
        var extra = GdalRasterIOExtraArg.Create(GdalResampling.Nearest);
        long size = sizeof(T);
        GdalNative.CPLErrorReset();
        fixed (T* p = source)
        fixed (int* m = map)
        {
            int err = GdalNative.GDALDatasetRasterIOEx(Handle, 1, window.X, window.Y, window.Width, window.Height, p, window.Width, window.Height,
                (int)bufferType, bands, m, size * bands, size * bands * window.Width, size, &extra);
            GdalLibrary.Check(err, $"Writing window {window} of '{Path}'");
        }
    }

    private static int SizeOf(GdalDataType type) => type switch
    {
        GdalDataType.Byte => 1,
        GdalDataType.UInt16 or GdalDataType.Int16 => 2,
        GdalDataType.UInt32 or GdalDataType.Int32 or GdalDataType.Float32 => 4,
        GdalDataType.Float64 or GdalDataType.UInt64 or GdalDataType.Int64 => 8,
        _ => 0,
    };

    private unsafe void ReadOrWrite<T>(bool write, PixelWindow window, Span<T> buffer, IReadOnlyList<int>? bands, int bufW, int bufH,
        GdalResampling resampling, GdalDataType type) where T : unmanaged
    {
        window.EnsureInside(Width, Height);
        if (bufW == 0) bufW = window.Width;
        if (bufH == 0) bufH = window.Height;
        if (bufW < 0 || bufH < 0) throw new ArgumentOutOfRangeException(nameof(bufW), $"Buffer size must be positive, got {bufW}x{bufH}.");
        int count = BandCount;
        int[] map = bands is null ? Enumerable.Range(1, count).ToArray() : bands.ToArray();
        foreach (var b in map)
            if (b < 1 || b > count) throw new ArgumentOutOfRangeException(nameof(bands), $"Band {b} does not exist; '{Path}' has {count} bands (1-based).");
        long needed = (long)map.Length * bufW * bufH;
        if (buffer.Length < needed)
            throw new ArgumentException($"Buffer holds {buffer.Length} values; {map.Length} bands x {bufH} x {bufW} = {needed} needed.", nameof(buffer));
        var extra = GdalRasterIOExtraArg.Create(resampling);
        GdalNative.CPLErrorReset();
        fixed (T* p = buffer)
        fixed (int* m = map)
        {
            int err = GdalNative.GDALDatasetRasterIOEx(Handle, write ? 1 : 0, window.X, window.Y, window.Width, window.Height, p, bufW, bufH,
                (int)type, map.Length, m, 0, 0, 0, &extra);
            GdalLibrary.Check(err, $"{(write ? "Writing" : "Reading")} window {window} of '{Path}'");
        }
    }

    /// <summary>Builds overviews (e.g. resampling "AVERAGE", levels 2, 4, 8) for all bands.</summary>
    public unsafe void BuildOverviews(string resampling, IReadOnlyList<int> levels)
    {
        ArgumentNullException.ThrowIfNull(levels);
        var l = levels.ToArray();
        fixed (int* p = l)
            GdalLibrary.Check(GdalNative.GDALBuildOverviews(Handle, resampling, l.Length, p, 0, null, IntPtr.Zero, IntPtr.Zero),
                $"Building overviews of '{Path}'");
    }

    /// <summary>Flushes pending writes to disk.</summary>
    public void FlushCache() => GdalNative.GDALFlushCache(Handle);

    /// <summary>Closes the dataset.</summary>
    public void Dispose() => _handle.Dispose();
}

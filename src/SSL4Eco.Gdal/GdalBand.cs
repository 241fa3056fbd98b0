using System.Runtime.InteropServices;

namespace SSL4Eco.Gdal;

/// <summary>One band of a <see cref="GdalDataset"/> (owned by it: valid while the dataset is open).</summary>
/// <remarks>Not thread-safe, like its dataset.</remarks>
public sealed class GdalBand
{
    private readonly GdalDataset _dataset;
    private readonly IntPtr _band;

    internal GdalBand(GdalDataset dataset, IntPtr band, int index)
    {
        _dataset = dataset;
        _band = band;
        Index = index;
    }

    private IntPtr H
    {
        get
        {
            _ = _dataset.Handle; // throws when the dataset was disposed
            return _band;
        }
    }

    /// <summary>1-based band index (0 for a mask band).</summary>
    public int Index { get; }

    /// <summary>The band description (e.g. "B4"); "" when none.</summary>
    public string Description
    {
        get => Marshal.PtrToStringUTF8(GdalNative.GDALGetDescription(H)) ?? "";
        set => GdalNative.GDALSetDescription(H, value ?? "");
    }

    /// <summary>Pixel data type.</summary>
    public GdalDataType DataType => (GdalDataType)GdalNative.GDALGetRasterDataType(H);

    /// <summary>The nodata value, or null when none is set.</summary>
    public double? NoData
    {
        get
        {
            double v = GdalNative.GDALGetRasterNoDataValue(H, out int ok);
            return ok != 0 ? v : null;
        }
        set
        {
            if (value is null) GdalLibrary.Check(GdalNative.GDALDeleteRasterNoDataValue(H), $"Removing nodata of band {Index}");
            else GdalLibrary.Check(GdalNative.GDALSetRasterNoDataValue(H, value.Value), $"Setting nodata of band {Index}");
        }
    }

    /// <summary>Natural block size (columns, rows).</summary>
    public (int Width, int Height) BlockSize
    {
        get
        {
            GdalNative.GDALGetBlockSize(H, out int x, out int y);
            return (x, y);
        }
    }

    /// <summary>Mask flags (GMF_*).</summary>
    public GdalMaskFlags MaskFlags => (GdalMaskFlags)GdalNative.GDALGetMaskFlags(H);

    /// <summary>The mask band (0 = invalid, non-zero = valid).</summary>
    public GdalBand MaskBand
    {
        get
        {
            var m = GdalNative.GDALGetMaskBand(H);
            if (m == IntPtr.Zero) throw GdalLibrary.LastError($"Getting the mask of band {Index}");
            return new GdalBand(_dataset, m, 0);
        }
    }

    /// <summary>A metadata item of the band, or null.</summary>
    public string? GetMetadataItem(string name, string? domain = null) => Marshal.PtrToStringUTF8(GdalNative.GDALGetMetadataItem(H, name, domain));

    /// <summary>Sets a metadata item of the band.</summary>
    public void SetMetadataItem(string name, string value, string? domain = null) =>
        GdalLibrary.Check(GdalNative.GDALSetMetadataItem(H, name, value, domain), $"Setting metadata '{name}' on band {Index}");

    /// <summary>All metadata items of a domain.</summary>
    public IReadOnlyDictionary<string, string> GetMetadata(string? domain = null) => ParseMetadata(GdalNative.GDALGetMetadata(H, domain));

    /// <summary>Reads a window into a <c>[bufferHeight, bufferWidth]</c> float buffer, resampling when sizes differ.</summary>
    public void Read(PixelWindow window, Span<float> destination, int bufferWidth = 0, int bufferHeight = 0, GdalResampling resampling = GdalResampling.Nearest) =>
        Io(false, window, destination, bufferWidth, bufferHeight, resampling, GdalDataType.Float32);

    /// <summary>Reads a window into a <c>[bufferHeight, bufferWidth]</c> byte buffer (e.g. a mask band).</summary>
    public void Read(PixelWindow window, Span<byte> destination, int bufferWidth = 0, int bufferHeight = 0, GdalResampling resampling = GdalResampling.Nearest) =>
        Io(false, window, destination, bufferWidth, bufferHeight, resampling, GdalDataType.Byte);

    /// <summary>Writes a <c>[window.Height, window.Width]</c> float buffer.</summary>
    public void Write(PixelWindow window, ReadOnlySpan<float> source) =>
        Io(true, window, MemoryMarshal.CreateSpan(ref MemoryMarshal.GetReference(source), source.Length), 0, 0, GdalResampling.Nearest, GdalDataType.Float32);

    private unsafe void Io<T>(bool write, PixelWindow window, Span<T> buffer, int bufW, int bufH, GdalResampling resampling, GdalDataType type) where T : unmanaged
    {
        window.EnsureInside(_dataset.Width, _dataset.Height);
        if (bufW == 0) bufW = window.Width;
        if (bufH == 0) bufH = window.Height;
        long needed = (long)bufW * bufH;
        if (buffer.Length < needed) throw new ArgumentException($"Buffer holds {buffer.Length} values; {bufH} x {bufW} = {needed} needed.", nameof(buffer));
        var extra = GdalRasterIOExtraArg.Create(resampling);
        GdalNative.CPLErrorReset();
        fixed (T* p = buffer)
        {
            int err = GdalNative.GDALRasterIOEx(H, write ? 1 : 0, window.X, window.Y, window.Width, window.Height, p, bufW, bufH, (int)type, 0, 0, &extra);
            GdalLibrary.Check(err, $"{(write ? "Writing" : "Reading")} window {window} of band {Index} of '{_dataset.Path}'");
        }
    }

    internal static IReadOnlyDictionary<string, string> ParseMetadata(IntPtr list)
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var item in GdalLibrary.ReadStringList(list))
        {
            int eq = item.IndexOf('=');
            if (eq > 0) d[item[..eq]] = item[(eq + 1)..];
            else d[item] = "";
        }
        return d;
    }
}

using SSL4Eco.Gdal;

namespace SSL4Eco.Inference.Geo.Outputs;

/// <summary>
/// Reads an embedding raster written by <see cref="CogMapWriter"/> row by row as float32 embeddings, whatever its encoding:
/// float32 and float16 (GDAL returns float32) as stored, int8 dequantised with its per-pixel scale raster
/// (<c>ssl4eco.scale_file</c>). A pixel is nodata when every band holds the band nodata value.
/// </summary>
/// <remarks>Not thread-safe (one GDAL dataset).</remarks>
internal sealed class EmbeddingRasterReader : IDisposable
{
    private readonly GdalDataset _ds;
    private readonly GdalDataset? _scale;
    private readonly double? _noData;
    private float[] _bandMajor = [];
    private float[] _scales = [];

    public EmbeddingRasterReader(string path)
    {
        _ds = GdalDataset.Open(path);
        try
        {
            // Only a raster that 'map' wrote is an embedding map: a scene's bands are not embedding dimensions.
            if (_ds.GetMetadataItem(CogMapWriter.RasterTypeKey) is null)
                throw new InvalidDataException(
                    $"'{path}' is not an embedding map: it lacks the {CogMapWriter.RasterTypeKey} metadata that 'ssl4eco map' writes (it has {_ds.BandCount} band(s) of {_ds.Band(1).DataType}); make an embedding map from it with 'ssl4eco map' first.");
            _noData = _ds.Band(1).NoData;
            if (_ds.GetMetadataItem(CogMapWriter.RasterTypeKey) == "int8")
            {
                var name = _ds.GetMetadataItem(CogMapWriter.ScaleFileKey)
                    ?? throw new InvalidDataException($"'{path}' is an int8 embedding map without the {CogMapWriter.ScaleFileKey} metadata item naming its scale raster.");
                var scalePath = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".", name);
                if (!File.Exists(scalePath))
                    throw new FileNotFoundException($"The scale raster '{scalePath}' of the int8 embedding map '{path}' is missing.", scalePath);
                _scale = GdalDataset.Open(scalePath);
                if (_scale.Width != _ds.Width || _scale.Height != _ds.Height)
                    throw new InvalidDataException($"The scale raster '{scalePath}' is {_scale.Width}x{_scale.Height}; the map '{path}' is {_ds.Width}x{_ds.Height}.");
            }
        }
        catch
        {
            _ds.Dispose();
            throw;
        }
    }

    public int Dim => _ds.BandCount;
    public int Width => _ds.Width;
    public int Height => _ds.Height;
    public GdalDataset Dataset => _ds;

    /// <summary>Reads <paramref name="count"/> pixels of row <paramref name="y"/> from column <paramref name="x"/>: pixel-major <c>[count, dim]</c> values and nodata flags.</summary>
    public void Read(int y, int x, int count, Span<float> pixels, Span<bool> isNoData)
    {
        int dim = Dim;
        if (_bandMajor.Length < dim * count) _bandMajor = new float[dim * count];
        _ds.Read(new PixelWindow(x, y, count, 1), _bandMajor);   // band-major [dim, count]
        if (_scale is not null)
        {
            if (_scales.Length < count) _scales = new float[count];
            _scale.Read(new PixelWindow(x, y, count, 1), _scales);
        }
        for (int p = 0; p < count; p++)
        {
            var px = pixels.Slice(p * dim, dim);
            for (int d = 0; d < dim; d++) px[d] = _bandMajor[d * count + p];
            if (_scale is null)
            {
                isNoData[p] = _noData is double nd && px.IndexOfAnyExcept((float)nd) < 0;
                continue;
            }
            // GDAL 3.6 returns a SIGNEDBYTE band's bytes as 0..255.
            for (int d = 0; d < dim; d++) if (px[d] > 127) px[d] -= 256;
            isNoData[p] = px.IndexOfAnyExcept((float)CogMapWriter.Int8NoData) < 0;
            if (!isNoData[p]) System.Numerics.Tensors.TensorPrimitives.Multiply(px, _scales[p], px);
        }
    }

    public void Dispose()
    {
        _ds.Dispose();
        _scale?.Dispose();
    }
}

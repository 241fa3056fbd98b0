using SSL4Eco.Gdal;
using SSL4Eco.Inference.Geo.Tiling;
using SSL4Eco.Inference.Preprocessing;

namespace SSL4Eco.Inference.Geo.Pipeline;

/// <summary>A tile read from the raster: its patch (null when skipped) and valid fraction.</summary>
internal sealed record TileRead(Tile Tile, int Index, Patch? Patch, double ValidFraction, Exception? Error = null);

/// <summary>
/// Reads tiles of one raster with its own GDAL dataset (and cloud mask dataset): values, validity and fill. Values are passed
/// on as stored, with the raster's processing baseline: the model's <see cref="InputRecipe"/> decides harmonisation.
/// </summary>
/// <remarks>Not thread-safe: one per reader thread.</remarks>
internal sealed class TileReader : IDisposable
{
    private readonly GdalDataset _ds;
    private readonly CloudMask? _cloud;
    private readonly HashSet<int> _cloudValues;
    private readonly MapRequest _request;
    private readonly string[] _names;
    private readonly int[] _bands;
    private readonly Rasters.PixelValidity _validity;
    private readonly Rasters.NoDataPolicy _policy;
    private readonly double? _baseline;
    private readonly DateOnly? _date;
    private readonly System.Collections.Concurrent.ConcurrentBag<float[]>? _pool;
    private bool[] _valid = [];

    /// <summary>A tile-data array of exactly <paramref name="length"/> values, reused from the pool when one is free.</summary>
    private float[] RentData(int length)
    {
        if (_pool is not null)
            for (int tries = 0; tries < 4 && _pool.TryTake(out var a); tries++)
                if (a.Length == length) return a;
        return new float[length];
    }

    /// <param name="request">The map request.</param>
    /// <param name="recipe">The model's input recipe: only the bands it reads (<see cref="InputRecipe.BandsToRead"/>) are read,
    /// each found exactly once by name. Null reads every described band.</param>
    /// <param name="dataPool">Tile-data arrays handed back after embedding (1.8 MB each at 9 × 224², so reuse spares the large-object heap).</param>
    public TileReader(MapRequest request, InputRecipe? recipe = null, System.Collections.Concurrent.ConcurrentBag<float[]>? dataPool = null)
    {
        _request = request;
        _pool = dataPool;
        _ds = GdalDataset.Open(request.InputPath);
        try
        {
            // Only the bands the recipe reads, each found exactly once by name (a duplicated or undescribed one is refused).
            (_names, _bands) = Rasters.PatchReader.ResolveBands(_ds, request.InputBands, recipe);
            _validity = new Rasters.PixelValidity(_ds, _bands);
            _policy = new Rasters.NoDataPolicy { MinValidFraction = request.MinValidFraction };
            _baseline = Rasters.PatchReader.ReadBaseline(_ds);
            _date = request.Date ?? Rasters.PatchReader.ReadDate(_ds);
            _cloudValues = [.. request.CloudMaskValues];
            if (request.CloudMaskPath is not null) _cloud = CloudMask.Open(request.CloudMaskPath, _ds);
        }
        catch
        {
            _ds.Dispose();
            throw;
        }
    }

    public IReadOnlyList<string> BandNames => _names;
    public double? ProcessingBaseline => _baseline;
    public DateOnly? Date => _date;

    public TileRead Read(Tile tile, int index)
    {
        var w = tile.Window;
        int plane = w.Width * w.Height;
        var data = RentData(_bands.Length * plane);
        _ds.Read(w, data, _bands);
        if (_valid.Length != plane) _valid = new bool[plane];
        var valid = _valid;
        Array.Fill(valid, true);
        _validity.Mark(w, data, valid);
        if (_cloud is not null) ApplyCloudMask(w, valid);
        double fraction = Rasters.PixelValidity.Fraction(valid);
        if (!_policy.Accepts(fraction)) return new TileRead(tile, index, null, fraction);
        Rasters.PixelValidity.Fill(data.AsSpan(0, _bands.Length * plane), _bands.Length, valid);
        return new TileRead(tile, index, new Patch(_names, w.Height, w.Width, data) { Date = _date, ProcessingBaseline = _baseline }, fraction);
    }

    // The mask is warped onto the scene grid (CloudMask), so the tile's own window is read.
    private void ApplyCloudMask(PixelWindow w, bool[] valid)
    {
        var buf = new float[w.Width * w.Height];
        _cloud!.Read(w, buf);
        for (int i = 0; i < buf.Length; i++)
            if (_cloudValues.Contains((int)buf[i])) valid[i] = false;
    }

    public void Dispose()
    {
        _cloud?.Dispose();
        _ds.Dispose();
    }
}

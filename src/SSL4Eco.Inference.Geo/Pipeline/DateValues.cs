using SSL4Eco.Inference.Arrays;
using SSL4Eco.Inference.Geo.Outputs;

namespace SSL4Eco.Inference.Geo.Pipeline;

/// <summary>The per-date <c>.npy</c> maps, read in pieces; which tiles are nodata on which date.</summary>
internal sealed class DateValues : IDisposable
{
    private readonly List<(Stream Data, long Start)> _files = [];
    public int Dim { get; }
    public int Dates => _files.Count;
    public bool[][] IsNoData { get; }

    public DateValues(IReadOnlyList<string> paths, int tiles, int dim, float noData)
    {
        Dim = dim;
        try
        {
            foreach (var p in paths)
            {
                var (data, shape) = NpyFile.OpenSingle(p);
                _files.Add((data, data.Position));
                if (shape.Length != 3 || (long)shape[0] * shape[1] != tiles || shape[2] != dim)
                    throw new InvalidDataException($"'{p}' has shape ({string.Join(", ", shape)}); {tiles} tiles x {dim} expected.");
            }
            // A tile is nodata on a date when every value is the nodata value (one streaming pass per date).
            IsNoData = new bool[paths.Count][];
            var tile = new float[dim];
            for (int d = 0; d < paths.Count; d++)
            {
                IsNoData[d] = new bool[tiles];
                for (int k = 0; k < tiles; k++)
                {
                    Read(d, k, 1, tile);
                    IsNoData[d][k] = tile.AsSpan().IndexOfAnyExcept(noData) < 0;
                }
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public void Read(int date, int firstTile, int count, Span<float> destination)
    {
        var (data, start) = _files[date];
        data.Position = start + (long)firstTile * Dim * sizeof(float);
        data.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(destination[..(count * Dim)]));
    }

    public void Dispose()
    {
        foreach (var (data, _) in _files) data.Dispose();
    }
}

/// <summary>The values of one date (nodata tiles hold the nodata value, as the per-date npy does).</summary>
internal sealed class OneDateValues(DateValues dates, int date) : IEmbeddingValues
{
    public void Read(int firstTile, int count, Span<float> destination) => dates.Read(date, firstTile, count, destination);
}

/// <summary>Mean or concatenation of the dates, computed per piece as the writers ask for it.</summary>
internal sealed class AggregatedValues(DateValues dates, DateAggregation aggregation, bool[] noData, float noDataValue) : IEmbeddingValues
{
    private float[] _buffer = [];

    public void Read(int firstTile, int count, Span<float> destination)
    {
        int dim = dates.Dim, t = dates.Dates, outDim = aggregation == DateAggregation.Mean ? dim : dim * t;
        if (_buffer.Length < count * dim) _buffer = new float[count * dim];
        var acc = aggregation == DateAggregation.Mean ? new double[count * dim] : null;
        var counts = new int[count];
        for (int d = 0; d < t; d++)
        {
            var part = _buffer.AsSpan(0, count * dim);
            dates.Read(d, firstTile, count, part);
            for (int i = 0; i < count; i++)
            {
                int k = firstTile + i;
                if (dates.IsNoData[d][k]) continue;
                var src = part.Slice(i * dim, dim);
                if (acc is null) src.CopyTo(destination.Slice(i * outDim + d * dim, dim));
                else
                {
                    counts[i]++;
                    for (int j = 0; j < dim; j++) acc[i * dim + j] += src[j];
                }
            }
        }
        for (int i = 0; i < count; i++)
        {
            var dst = destination.Slice(i * outDim, outDim);
            if (noData[firstTile + i]) { dst.Fill(noDataValue); continue; }
            if (acc is not null)
                for (int j = 0; j < dim; j++) dst[j] = (float)(acc[i * dim + j] / counts[i]);
        }
    }
}

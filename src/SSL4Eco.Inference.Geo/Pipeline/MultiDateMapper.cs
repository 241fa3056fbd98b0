using Microsoft.Extensions.Logging;
using SSL4Eco.Inference.Arrays;
using SSL4Eco.Inference.Embedding;
using SSL4Eco.Gdal;
using SSL4Eco.Inference.Geo.Outputs;
using SSL4Eco.Inference.Geo.Tiling;

namespace SSL4Eco.Inference.Geo.Pipeline;

/// <summary>How the maps of several dates are combined.</summary>
public enum DateAggregation
{
    /// <summary>Only per-date outputs.</summary>
    None,
    /// <summary>Per tile, the mean over the dates where the tile is valid (nodata when valid on no date).</summary>
    Mean,
    /// <summary>Per tile, the date embeddings concatenated in date order (dim × dates; nodata when any date is nodata).</summary>
    Concat,
}

/// <summary>One date of a multi-date input: the date and its raster (or <c>BandStack</c> VRT).</summary>
/// <param name="Date">Acquisition date.</param>
/// <param name="Path">Raster path.</param>
/// <remarks>Immutable; thread-safe.</remarks>
public sealed record DatedInput(DateOnly Date, string Path);

/// <summary>
/// The per-date results and the files written for all dates together: the aggregated map, or with
/// <see cref="DateAggregation.None"/> only the all-dates GeoParquet table (when GeoParquet is asked for).
/// </summary>
/// <param name="PerDate">Results of each date, in date order.</param>
/// <param name="AggregatedFiles">Files of the aggregated map or the all-dates table.</param>
/// <remarks>Immutable; thread-safe.</remarks>
public sealed record MultiDateResult(IReadOnlyList<MapResult> PerDate, IReadOnlyList<string> AggregatedFiles);

/// <summary>
/// Maps several dates of the same grid: each date goes through <see cref="EmbeddingMapper"/> to <c>prefix_yyyyMMdd.*</c> (with
/// its own resume state), then the dates are aggregated into <c>prefix.*</c> (the outputs of the request). With
/// <see cref="DateAggregation.None"/> and GeoParquet asked for, <c>prefix.parquet</c> holds one row per tile and date. All
/// dates must have the same raster size and geotransform.
/// </summary>
/// <remarks>Stateless and thread-safe (dates run one after another).</remarks>
public static class MultiDateMapper
{
    /// <summary>Runs every date, then aggregates; see the type remarks.</summary>
    /// <param name="request">Template request: its <see cref="MapRequest.InputPath"/> and <see cref="MapRequest.Date"/> are replaced per date.</param>
    /// <param name="inputs">Dates and rasters (at least one; dates distinct).</param>
    /// <param name="aggregation">Aggregation.</param>
    /// <param name="model">Encoder.</param>
    /// <param name="progress">Progress of the date being mapped.</param>
    /// <param name="logger">Logger.</param>
    /// <param name="cancellationToken">Cancellation.</param>
    public static async Task<MultiDateResult> RunAsync(MapRequest request, IReadOnlyList<DatedInput> inputs, DateAggregation aggregation,
        IEmbeddingModel model, IProgress<MapProgress>? progress = null, ILogger? logger = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(model);
        if (inputs.Count == 0) throw new ArgumentException("Multi-date mapping needs at least one dated input.", nameof(inputs));
        if (inputs.Select(i => i.Date).Distinct().Count() != inputs.Count) throw new ArgumentException("Multi-date inputs repeat a date.", nameof(inputs));
        var ordered = inputs.OrderBy(i => i.Date).ToList();
        request.Validate();
        // Every date's outputs and the aggregated outputs are checked against every input before any work, and the
        // aggregated prefix is locked for the whole run (each date's prefix is locked by its own EmbeddingMapper run).
        var aggregatedOutputs = EmbeddingMapper.OutputsOf(request);
        var dateOutputs = ordered.Select(i => EmbeddingMapper.OutputsOf(request with { OutputPrefix = DatePrefix(request.OutputPrefix, i.Date), Outputs = request.Outputs | MapOutputs.Npy })).ToList();
        Files.OutputGuard.Check(ordered.Select(i => (string?)i.Path).Append(request.CloudMaskPath),
            aggregatedOutputs.Files.Concat(dateOutputs.SelectMany(d => d.Files)), aggregatedOutputs.Folders.Concat(dateOutputs.SelectMany(d => d.Folders)));
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(request.OutputPrefix))!);
        using var outputLock = Files.OutputLock.Acquire(request.OutputPrefix);
        GeoTransform? gt0 = null;
        (int W, int H) size0 = default;
        GdalSpatialReference? crs0 = null;
        try
        {
            foreach (var i in ordered)
            {
                using var ds = GdalDataset.Open(i.Path);
                using var crs = ds.SpatialReference;
                if (i == ordered[0]) { gt0 = ds.GeoTransform; size0 = (ds.Width, ds.Height); crs0 = ds.SpatialReference; }
                else if ((ds.Width, ds.Height) != size0 || ds.GeoTransform != gt0)
                    throw new ArgumentException($"'{i.Path}' ({i.Date:yyyy-MM-dd}) is not on the grid of '{ordered[0].Path}'; all dates must share raster size and geotransform.");
                // The same numbers in another CRS are another place: the dates would be combined tile by tile across it.
                else if ((crs is null) != (crs0 is null) || (crs is not null && !crs.IsSame(crs0!)))
                    throw new ArgumentException($"'{i.Path}' ({i.Date:yyyy-MM-dd}) is in another CRS than '{ordered[0].Path}'; all dates must share the CRS (warp them onto one grid first, e.g. gdalwarp -t_srs).");
            }
        }
        finally { crs0?.Dispose(); }
        // The per-date npy maps feed the aggregation and the all-dates GeoParquet table.
        bool table = request.Outputs.HasFlag(MapOutputs.GeoParquet);
        var outputs = aggregation == DateAggregation.None && !table ? request.Outputs : request.Outputs | MapOutputs.Npy;
        var results = new List<MapResult>();
        foreach (var i in ordered)
        {
            var r = request with { InputPath = i.Path, Date = i.Date, OutputPrefix = DatePrefix(request.OutputPrefix, i.Date), Outputs = outputs };
            results.Add(await EmbeddingMapper.RunAsync(r, model, progress, logger, cancellationToken).ConfigureAwait(false));
        }
        if (aggregation == DateAggregation.None && !table) return new MultiDateResult(results, []);

        int dim = model.Contract.EmbeddingDim, n = results[0].Rows * results[0].Columns, t = ordered.Count;
        float nd = request.NoDataValue;
        var valid = ordered.Select(i => NpyFile.ReadDouble(DatePrefix(request.OutputPrefix, i.Date) + ".valid.npy").Data).ToList();
        using var dates = new DateValues(ordered.Select(i => DatePrefix(request.OutputPrefix, i.Date) + ".npy").ToList(), n, dim, nd);
        string wkt;
        TileGrid grid;
        using (var ds = GdalDataset.Open(ordered[0].Path))
        {
            wkt = ds.ProjectionWkt;
            grid = TileGrid.For(ds, request.TileSize ?? model.Contract.InputSize, request.Stride, request.RoiWindow);
        }
        var md = new Dictionary<string, string>((model.Recipe with { Harmonize = request.Harmonize }).ToMetadata())
        {
            ["ssl4eco.dates"] = string.Join(',', ordered.Select(i => i.Date.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture))),
            ["ssl4eco.date_aggregation"] = aggregation.ToString().ToLowerInvariant(),
            ["ssl4eco.software"] = "SSL4Eco.NET " + EmbeddingMapper.SoftwareVersion,
        };
        var allTiles = Enumerable.Range(0, n).ToHashSet();
        var files = new List<string>();
        if (aggregation == DateAggregation.None)
        {
            // One table, one row per tile and date: what GeoPandas users load at once.
            var perDate = ordered.Select((input, d) => new EmbeddingMap(grid, wkt, dim, new OneDateValues(dates, d), valid[d], dates.IsNoData[d], nd, [], input.Date, md)).ToList();
            files.Add(await GeoParquetMapWriter.WriteAsync(request.OutputPrefix + ".parquet", perDate, allTiles, cancellationToken).ConfigureAwait(false));
            return new MultiDateResult(results, files);
        }

        int outDim = aggregation == DateAggregation.Mean ? dim : dim * t;
        var fraction = new double[n];
        var noData = new bool[n];
        for (int k = 0; k < n; k++)
        {
            var validDates = Enumerable.Range(0, t).Where(d => !dates.IsNoData[d][k]).ToList();
            if (aggregation == DateAggregation.Mean)
            {
                noData[k] = validDates.Count == 0;
                fraction[k] = validDates.Count == 0 ? 0 : validDates.Max(d => valid[d][k]);
            }
            else
            {
                noData[k] = validDates.Count < t;
                fraction[k] = Enumerable.Range(0, t).Min(d => valid[d][k]);
            }
        }
        var map = new EmbeddingMap(grid, wkt, outDim, new AggregatedValues(dates, aggregation, noData, nd), fraction, noData, nd, [], null, md);
        if (request.Outputs.HasFlag(MapOutputs.Cog)) files.AddRange(CogMapWriter.Write(request.OutputPrefix + ".tif", map, request.RasterType, cancellationToken));
        if (request.Outputs.HasFlag(MapOutputs.Npy)) files.AddRange(NpyMapWriter.Write(request.OutputPrefix, map));
        if (table) files.Add(await GeoParquetMapWriter.WriteAsync(request.OutputPrefix + ".parquet", map, allTiles, cancellationToken).ConfigureAwait(false));
        return new MultiDateResult(results, files);
    }

    /// <summary>The output prefix of one date: <c>prefix_yyyyMMdd</c>.</summary>
    public static string DatePrefix(string prefix, DateOnly date) =>
        prefix + "_" + date.ToString("yyyyMMdd", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The per-date <c>.npy</c> maps, read in pieces; which tiles are nodata on which date.</summary>
    private sealed class DateValues : IDisposable
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
    private sealed class OneDateValues(DateValues dates, int date) : IEmbeddingValues
    {
        public void Read(int firstTile, int count, Span<float> destination) => dates.Read(date, firstTile, count, destination);
    }

    /// <summary>Mean or concatenation of the dates, computed per piece as the writers ask for it.</summary>
    private sealed class AggregatedValues(DateValues dates, DateAggregation aggregation, bool[] noData, float noDataValue) : IEmbeddingValues
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
}

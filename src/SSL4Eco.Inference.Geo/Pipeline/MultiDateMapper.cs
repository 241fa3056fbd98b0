using Microsoft.Extensions.Logging;
using SSL4Eco.Inference.Arrays;
using SSL4Eco.Inference.Embedding;
using SSL4Eco.Gdal;
using SSL4Eco.Inference.Geo.Outputs;

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
/// <param name="Aggregated">Outputs of the aggregated map or the all-dates table.</param>
/// <remarks>Immutable; thread-safe.</remarks>
public sealed record MultiDateResult(IReadOnlyList<MapResult> PerDate, IReadOnlyList<MapOutput> Aggregated)
{
    /// <summary>Every output of the run: each date's, then the aggregated ones.</summary>
    public IReadOnlyList<MapOutput> Outputs => [.. PerDate.SelectMany(r => r.Outputs), .. Aggregated];
}

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
        var dateOutputs = ordered.Select(i => EmbeddingMapper.OutputsOf(request with { OutputPrefix = DatePrefix(request.OutputPrefix, i.Date), Formats = MapWriters.With(request.Formats, NpyMapWriter.FormatName) })).ToList();
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
        bool table = MapWriters.Asks(request.Formats, GeoParquetMapWriter.FormatName);
        var formats = aggregation == DateAggregation.None && !table ? request.Formats : MapWriters.With(request.Formats, NpyMapWriter.FormatName);
        var results = new List<MapResult>();
        foreach (var i in ordered)
        {
            var r = request with { InputPath = i.Path, Date = i.Date, OutputPrefix = DatePrefix(request.OutputPrefix, i.Date), Formats = formats };
            results.Add(await EmbeddingMapper.RunAsync(r, model, progress, logger, cancellationToken).ConfigureAwait(false));
        }
        if (aggregation == DateAggregation.None && !table) return new MultiDateResult(results, []);

        int dim = model.Contract.EmbeddingDim, n = results[0].Rows * results[0].Columns, t = ordered.Count;
        var valid = ordered.Select(i => NpyFile.ReadDouble(DatePrefix(request.OutputPrefix, i.Date) + ".valid.npy").Data).ToList();
        using var dates = new DateValues(ordered.Select(i => DatePrefix(request.OutputPrefix, i.Date) + ".npy").ToList(), n, dim, request.NoDataValue);
        var plan = MapPlan.ForDates(request, ordered, aggregation, model);
        if (aggregation == DateAggregation.None)
        {
            // One table, one row per tile and date: what GeoPandas users load at once.
            var perDate = ordered.Select((input, d) => plan.Map(dim, new OneDateValues(dates, d), valid[d], dates.IsNoData[d], input.Date)).ToList();
            var path = await GeoParquetMapWriter.WriteAsync(request.OutputPrefix + ".parquet", perDate, plan.TileIndices, cancellationToken).ConfigureAwait(false);
            return new MultiDateResult(results, [new MapOutput(GeoParquetMapWriter.FormatName, MapOutputRole.Embeddings, path)]);
        }

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
        int outDim = aggregation == DateAggregation.Mean ? dim : dim * t;
        var map = plan.Map(outDim, new AggregatedValues(dates, aggregation, noData, request.NoDataValue), fraction, noData, null);
        return new MultiDateResult(results, await plan.WriteAsync(map, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>The output prefix of one date: <c>prefix_yyyyMMdd</c>.</summary>
    public static string DatePrefix(string prefix, DateOnly date) =>
        prefix + "_" + date.ToString("yyyyMMdd", System.Globalization.CultureInfo.InvariantCulture);
}

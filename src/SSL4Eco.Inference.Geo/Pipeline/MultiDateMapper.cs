using Microsoft.Extensions.Logging;
using SSL4Eco.Inference.Arrays;
using SSL4Eco.Inference.Embedding;
using SSL4Eco.Inference.Geo.Gdal;
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

/// <summary>The per-date results and the aggregated files (empty for <see cref="DateAggregation.None"/>).</summary>
/// <param name="PerDate">Results of each date, in date order.</param>
/// <param name="AggregatedFiles">Files of the aggregated map.</param>
/// <remarks>Immutable; thread-safe.</remarks>
public sealed record MultiDateResult(IReadOnlyList<MapResult> PerDate, IReadOnlyList<string> AggregatedFiles);

/// <summary>
/// Maps several dates of the same grid: each date goes through <see cref="EmbeddingMapper"/> to <c>prefix_yyyyMMdd.*</c> (with
/// its own resume state), then the dates are aggregated into <c>prefix.*</c> (the outputs of the request). All dates must have the
/// same raster size and geotransform.
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
        GeoTransform? gt0 = null;
        (int W, int H) size0 = default;
        foreach (var i in ordered)
        {
            using var ds = GdalDataset.Open(i.Path);
            if (gt0 is null) { gt0 = ds.GeoTransform; size0 = (ds.Width, ds.Height); }
            else if ((ds.Width, ds.Height) != size0 || ds.GeoTransform != gt0)
                throw new ArgumentException($"'{i.Path}' ({i.Date:yyyy-MM-dd}) is not on the grid of '{ordered[0].Path}'; all dates must share raster size and geotransform.");
        }
        var outputs = aggregation == DateAggregation.None ? request.Outputs : request.Outputs | MapOutputs.Npy;
        var results = new List<MapResult>();
        foreach (var i in ordered)
        {
            var r = request with { InputPath = i.Path, Date = i.Date, OutputPrefix = DatePrefix(request.OutputPrefix, i.Date), Outputs = outputs };
            results.Add(await EmbeddingMapper.RunAsync(r, model, progress, logger, cancellationToken).ConfigureAwait(false));
        }
        if (aggregation == DateAggregation.None) return new MultiDateResult(results, []);

        int dim = model.Contract.EmbeddingDim, n = results[0].Rows * results[0].Columns, t = ordered.Count;
        var maps = ordered.Select(i => NpyFile.ReadSingle(DatePrefix(request.OutputPrefix, i.Date) + ".npy").Data).ToList();
        var valid = ordered.Select(i => NpyFile.ReadDouble(DatePrefix(request.OutputPrefix, i.Date) + ".valid.npy").Data).ToList();
        float nd = request.NoDataValue;
        bool IsNd(int date, int tile) => maps[date][(long)tile * dim] == nd && maps[date].AsSpan(tile * dim, dim).IndexOfAnyExcept(nd) < 0;
        int outDim = aggregation == DateAggregation.Mean ? dim : dim * t;
        var values = new float[(long)n * outDim];
        var fraction = new double[n];
        var noData = new bool[n];
        for (int k = 0; k < n; k++)
        {
            var dst = values.AsSpan(k * outDim, outDim);
            if (aggregation == DateAggregation.Mean)
            {
                int count = 0;
                var acc = new double[dim];
                for (int d = 0; d < t; d++)
                {
                    if (IsNd(d, k)) continue;
                    count++;
                    fraction[k] = Math.Max(fraction[k], valid[d][k]);
                    var src = maps[d].AsSpan(k * dim, dim);
                    for (int j = 0; j < dim; j++) acc[j] += src[j];
                }
                if (count == 0) { dst.Fill(nd); noData[k] = true; }
                else for (int j = 0; j < dim; j++) dst[j] = (float)(acc[j] / count);
            }
            else
            {
                noData[k] = Enumerable.Range(0, t).Any(d => IsNd(d, k));
                fraction[k] = Enumerable.Range(0, t).Min(d => valid[d][k]);
                if (noData[k]) dst.Fill(nd);
                else for (int d = 0; d < t; d++) maps[d].AsSpan(k * dim, dim).CopyTo(dst.Slice(d * dim, dim));
            }
        }
        string wkt;
        TileGrid grid;
        using (var ds = GdalDataset.Open(ordered[0].Path))
        {
            wkt = ds.ProjectionWkt;
            grid = TileGrid.For(ds, request.TileSize ?? model.Contract.InputSize, request.Stride, request.RoiWindow);
        }
        var md = new Dictionary<string, string>(model.Contract.ToMetadata())
        {
            ["ssl4eco.dates"] = string.Join(',', ordered.Select(i => i.Date.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture))),
            ["ssl4eco.date_aggregation"] = aggregation.ToString().ToLowerInvariant(),
            ["ssl4eco.software"] = "SSL4Eco.NET " + EmbeddingMapper.SoftwareVersion,
        };
        var map = new EmbeddingMap(grid, wkt, outDim, values, fraction, noData, nd, [], null, md);
        var files = new List<string>();
        if (request.Outputs.HasFlag(MapOutputs.Cog)) files.Add(CogMapWriter.Write(request.OutputPrefix + ".tif", map));
        if (request.Outputs.HasFlag(MapOutputs.Npy)) files.AddRange(NpyMapWriter.Write(request.OutputPrefix, map));
        if (request.Outputs.HasFlag(MapOutputs.GeoParquet))
            files.Add(await GeoParquetMapWriter.WriteAsync(request.OutputPrefix + ".parquet", map, Enumerable.Range(0, n).ToHashSet(), cancellationToken).ConfigureAwait(false));
        return new MultiDateResult(results, files);
    }

    /// <summary>The output prefix of one date: <c>prefix_yyyyMMdd</c>.</summary>
    public static string DatePrefix(string prefix, DateOnly date) =>
        prefix + "_" + date.ToString("yyyyMMdd", System.Globalization.CultureInfo.InvariantCulture);
}

using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SSL4Eco.Inference.Embedding;
using SSL4Eco.Inference.Files;
using SSL4Eco.Gdal;
using SSL4Eco.Inference.Geo.Outputs;
using SSL4Eco.Inference.Preprocessing;

namespace SSL4Eco.Inference.Geo.Pipeline;

/// <summary>
/// Turns a raster into an embedding map: a plan (tile grid, ROI tiles, resume facts, metadata) → read (readers, one GDAL
/// dataset each) → embed (batches of the model's <see cref="IEmbeddingModel.BatchSize"/> through
/// <see cref="IEmbeddingModel.EmbedBatch(IReadOnlyList{Patch}, Span{float}, CancellationToken)"/>) → record (every finished tile
/// in a resume state) → the outputs asked for (COG, npy + JSON, GeoParquet: the registered writers), each written to a
/// temporary path and renamed on success.
/// </summary>
/// <remarks>
/// Thread-safe: every call is independent (two concurrent runs must use different output prefixes). Stages are connected by
/// bounded channels of <see cref="MapRequest.QueueCapacity"/> tiles, so memory stays bounded whatever the raster size.
/// Cancellation stops the run after flushing finished tiles; rerunning the same request resumes without recomputing them, and
/// the final files are byte-identical to an uninterrupted run. A rerun resumes only a state made from the same input (size, time
/// and a sample of its content), grid, validity rules and <see cref="IEmbeddingModel.Recipe"/> (scaling, harmonisation, bands,
/// weights); otherwise see <see cref="MapRequest.OnMismatch"/>. When a batch throws (or a tile cannot be read), its tiles stay
/// pending, the other tiles are kept, and the run ends with a <see cref="MapIncompleteException"/> naming how many failed and why,
/// without writing final outputs; a rerun retries them. An <see cref="ArgumentException"/> from the model (e.g. a band the
/// contract needs is missing) is a configuration error and stops the run. Before any work, every output is checked against the
/// inputs (<see cref="OutputGuard"/>) and the output prefix is locked (<see cref="OutputLock"/>): a second run on the same
/// prefix is refused at once.
/// </remarks>
public static class EmbeddingMapper
{
    /// <summary>Software version recorded in output metadata.</summary>
    public static string SoftwareVersion { get; } =
        typeof(EmbeddingMapper).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    /// <summary>Runs the map; see the type remarks.</summary>
    /// <exception cref="ArgumentException">The request is invalid (message names the option).</exception>
    /// <exception cref="GdalException">The input cannot be opened or read.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; the resume state is kept.</exception>
    /// <exception cref="MapIncompleteException">Some tiles failed; no final output was written, the rest is kept for a rerun.</exception>
    /// <exception cref="ResumeMismatchException">An unfinished run of this output was made differently and <see cref="MapRequest.OnMismatch"/> is Refuse.</exception>
    /// <exception cref="IOException">Another run holds the output's lock.</exception>
    public static async Task<MapResult> RunAsync(MapRequest request, IEmbeddingModel model, IProgress<MapProgress>? progress = null,
        ILogger? logger = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(model);
        request.Validate();
        model.Contract.Validate();
        if (model.BatchSize is < 1 or > EncoderOptions.MaxBatchSize)
            throw new ArgumentException($"Batch size (--batch-size, IEmbeddingModel.BatchSize) must be 1 to {EncoderOptions.MaxBatchSize}, got {model.BatchSize}.");
        logger ??= NullLogger.Instance;
        var (outputFiles, outputFolders) = OutputsOf(request);
        OutputGuard.Check([request.InputPath, request.CloudMaskPath], outputFiles, outputFolders);
        var outDir = Path.GetDirectoryName(Path.GetFullPath(request.OutputPrefix));
        if (outDir is not null) Directory.CreateDirectory(outDir);
        using var outputLock = OutputLock.Acquire(request.OutputPrefix);

        var plan = MapPlan.ForRaster(request, model, logger);
        int dim = model.Contract.EmbeddingDim;
        using var state = MapState.Open(request.OutputPrefix, plan.Facts, plan.GridTiles, dim, request.Resume, request.OnMismatch, request.NoDataValue, out var restarted);
        if (restarted.Count > 0)
            logger.LogWarning("Starting afresh: the unfinished run in {Folder} was made with a different {What}; its state was removed.", state.Folder, string.Join(", ", restarted));
        var pending = plan.Tiles.Where(t => state.Status[plan.Index(t)] == TileStatus.Pending).ToList();
        var tally = new MapTally(plan.Tiles.Count, plan.Tiles.Count - pending.Count, progress);
        if (tally.Resumed > 0) logger.LogInformation("Resuming: {Resumed} of {Total} tiles already done.", tally.Resumed, tally.Total);
        tally.Report();

        await MapStages.RunAsync(plan, state, pending, model, tally, logger, cancellationToken).ConfigureAwait(false);

        var final = tally.Progress;
        if (final.Failed > 0)
        {
            logger.LogInformation("{Failed} tiles failed; the resume state in {Folder} is kept so a rerun retries them.", final.Failed, state.Folder);
            throw new MapIncompleteException(final, tally.Reasons);
        }
        var map = plan.Map(dim, state, state.ValidFraction, [.. state.Status.Select(s => s != TileStatus.Embedded)], plan.Date);
        var outputs = await plan.WriteAsync(map, cancellationToken).ConfigureAwait(false);
        state.Delete();
        logger.LogInformation("Map done: {Done} tiles ({Embedded} embedded, {Skipped} nodata, {Resumed} resumed).", final.Completed, final.Embedded, final.Skipped, final.Resumed);
        return new MapResult(final, plan.Grid.Rows, plan.Grid.Columns, dim, outputs);
    }

    /// <summary>
    /// The files and folders a run of <paramref name="request"/> writes or removes: the outputs it asks for (an int8 map's
    /// scale raster included), the lock file and the resume folder.
    /// </summary>
    public static (IReadOnlyList<string> Files, IReadOnlyList<string> Folders) OutputsOf(MapRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var p = request.OutputPrefix;
        var files = new List<string> { OutputLock.PathFor(p) };
        foreach (var writer in MapPlan.WritersFor(request.Formats)) files.AddRange(writer.FilesFor(p, request.RasterType));
        return (files, [p + ".ssl4eco-partial"]);
    }
}

using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SSL4Eco.Inference.Embedding;
using SSL4Eco.Inference.Files;
using SSL4Eco.Gdal;
using SSL4Eco.Inference.Geo.Outputs;
using SSL4Eco.Inference.Geo.Tiling;
using SSL4Eco.Inference.Preprocessing;

namespace SSL4Eco.Inference.Geo.Pipeline;

/// <summary>
/// Turns a raster into an embedding map: tile grid → readers (one GDAL dataset each) → batched <see cref="IEmbeddingModel.EmbedBatch(IReadOnlyList{Patch}, Span{float}, CancellationToken)"/>
/// → a writer that records every finished tile in a resume state → final outputs (COG, npy + JSON, GeoParquet), each written to a
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

    /// <summary>How often the resume state is forced to disk (fsync) during a run.</summary>
    private static readonly TimeSpan SyncInterval = TimeSpan.FromSeconds(5);

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
        logger ??= NullLogger.Instance;
        var (outputFiles, outputFolders) = OutputsOf(request);
        OutputGuard.Check([request.InputPath, request.CloudMaskPath], outputFiles, outputFolders);
        var outDir = Path.GetDirectoryName(Path.GetFullPath(request.OutputPrefix));
        if (outDir is not null) Directory.CreateDirectory(outDir);
        using var outputLock = OutputLock.Acquire(request.OutputPrefix);

        int dim = model.Contract.EmbeddingDim;
        int tileSize = request.TileSize ?? model.Contract.InputSize;
        TileGrid grid;
        string wkt;
        string[] bandNames;
        DateOnly? date;
        bool harmonized;
        using (var probe = new TileReader(request, model.Contract.Bands))
        {
            bandNames = [.. probe.BandNames];
            date = probe.Date;
            harmonized = probe.Harmonizes;
        }
        using (var ds = GdalDataset.Open(request.InputPath))
        {
            wkt = ds.ProjectionWkt;
            NetTopologySuite.Geometries.Geometry? roi = null;
            if (request.Roi is not null)
            {
                roi = TileGrid.ParseRoi(request.Roi);
                if (request.RoiCrs is not null)
                {
                    using var from = GdalSpatialReference.FromUserInput(request.RoiCrs);
                    using var to = ds.SpatialReference
                        ?? throw new ArgumentException($"MapRequest.RoiCrs is set but '{request.InputPath}' has no CRS to reproject the ROI into.");
                    roi = TileGrid.Reproject(roi, from, to);
                }
            }
            grid = TileGrid.For(ds, tileSize, request.Stride, request.RoiWindow, roi);
        }
        var tiles = grid.Tiles().ToList();
        if (tiles.Count == 0)
        {
            var t = grid.Transform;
            double x1 = t.OriginX + grid.RasterWidth * t.PixelWidth, y1 = t.OriginY + grid.RasterHeight * t.PixelHeight;
            throw new ArgumentException(FormattableString.Invariant(
                $"The ROI does not overlap '{request.InputPath}' ({grid.RasterWidth} x {grid.RasterHeight} pixels; extent x {Math.Min(t.OriginX, x1):0.###} to {Math.Max(t.OriginX, x1):0.###}, y {Math.Min(t.OriginY, y1):0.###} to {Math.Max(t.OriginY, y1):0.###} in the raster CRS); give an ROI inside it."));
        }
        if (request.CloudMaskPath is not null) CloudMask.EnsureCovers(request.CloudMaskPath, request.InputPath, tiles);
        if (grid.Coverage.Width < grid.RasterWidth || grid.Coverage.Height < grid.RasterHeight)
            logger.LogInformation("The tiles cover {Width} x {Height} of the {RasterWidth} x {RasterHeight} pixels: the last columns/rows, less than one stride, are left out (a stride dividing size - tile covers all).",
                grid.Coverage.Width, grid.Coverage.Height, grid.RasterWidth, grid.RasterHeight);
        if (tiles.Count > MapRequest.ManyTiles)
            logger.LogWarning("{Tiles} tiles of {Tile} px (stride {Stride}) to embed: this takes long; a larger --tile/--stride or an --roi makes fewer.",
                tiles.Count, grid.TileSize, grid.Stride);
        int tileCount = grid.Rows * grid.Columns;
        var recipe = model.Recipe with { Harmonize = request.Harmonize, InputBands = bandNames };
        var facts = new Dictionary<string, string>(recipe.ToMetadata(), StringComparer.Ordinal)
        {
            ["input.path"] = Path.GetFullPath(request.InputPath),
            ["input.identity"] = MapState.InputIdentity(request.InputPath),
            ["cloud_mask.identity"] = request.CloudMaskPath is null ? "none" : MapState.InputIdentity(request.CloudMaskPath),
            ["cloud_mask.values"] = string.Join(',', request.CloudMaskValues),
            ["grid"] = FormattableString.Invariant($"{grid.RasterWidth}x{grid.RasterHeight} tile {grid.TileSize} stride {grid.Stride} {grid.Rows}x{grid.Columns} ({tiles.Count} tiles)"),
            ["min_valid_fraction"] = request.MinValidFraction.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
            ["roi"] = FormattableString.Invariant($"{request.Roi} {request.RoiCrs} {request.RoiWindow}"),
        };
        facts.Remove("ssl4eco.recipe_sha256"); // the items themselves are compared, so a mismatch names what differs
        using var state = MapState.Open(request.OutputPrefix, facts, tileCount, dim, request.Resume, request.OnMismatch, request.NoDataValue, out var restarted);
        if (restarted.Count > 0)
            logger.LogWarning("Starting afresh: the unfinished run in {Folder} was made with a different {What}; its state was removed.", state.Folder, string.Join(", ", restarted));
        int Index(Tile t) => t.Row * grid.Columns + t.Col;
        var pending = tiles.Where(t => state.Status[Index(t)] == TileStatus.Pending).ToList();
        int resumed = tiles.Count - pending.Count;
        int completed = resumed, skipped = 0, failed = 0;
        // Failures are grouped by their message with numbers (windows, offsets) masked; each group shows its first message.
        var reasons = new System.Collections.Concurrent.ConcurrentDictionary<string, (string First, int Count)>(StringComparer.Ordinal);
        void Failed(string reason, int count) => reasons.AddOrUpdate(System.Text.RegularExpressions.Regex.Replace(reason, "[0-9]+", "#"),
            (reason.Length > 300 ? reason[..300] + "…" : reason, count), (_, g) => (g.First, g.Count + count));
        if (resumed > 0) logger.LogInformation("Resuming: {Resumed} of {Total} tiles already done.", resumed, tiles.Count);
        progress?.Report(new MapProgress(completed, tiles.Count, skipped, failed, resumed));

        var reads = Channel.CreateBounded<TileRead>(new BoundedChannelOptions(request.QueueCapacity) { SingleReader = true });
        var results = Channel.CreateBounded<(TileRead Read, float[]? Embedding, bool Failed)>(
            new BoundedChannelOptions(request.QueueCapacity) { SingleReader = true });
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var ct = linked.Token;

        // Tile-data arrays go back to the readers once their batch is embedded (bounded by the queues).
        var dataPool = new System.Collections.Concurrent.ConcurrentBag<float[]>();
        var readers = Enumerable.Range(0, request.ReaderCount).Select(k => Task.Run(async () =>
        {
            using var reader = new TileReader(request, model.Contract.Bands, dataPool);
            // Each reader takes whole tile rows (row % readers == k) so its reads stay block-aligned and cache-friendly.
            foreach (var t in pending.Where(t => t.Row % request.ReaderCount == k))
            {
                ct.ThrowIfCancellationRequested();
                TileRead r;
                try { r = reader.Read(t, Index(t)); }
                catch (GdalException e)
                {
                    logger.LogDebug(e, "Reading tile row {Row}, col {Col} failed; it stays pending for a rerun.", t.Row, t.Col);
                    Failed("reading the input failed: " + FirstLine(e.Message), 1);
                    r = new TileRead(t, Index(t), null, 0, e);
                }
                await reads.Writer.WriteAsync(r, ct);
            }
        }, ct)).ToArray();
        var readersDone = Task.WhenAll(readers).ContinueWith(t => reads.Writer.TryComplete(t.Exception?.GetBaseException()), TaskScheduler.Default);

        // Batching, then EmbedConcurrency workers embedding batches side by side (each a blocking EmbedBatch call).
        var batches = Channel.CreateBounded<List<TileRead>>(new BoundedChannelOptions(1) { SingleWriter = true });
        var batcher = Task.Run(async () =>
        {
            try
            {
                // Once every worker has its first batch, (EmbedConcurrency − 1) batches' worth of tiles are held back, so that
                // when reading ends the remaining tiles are split among all workers instead of the last batch running alone on
                // part of the cores.
                int size = request.BatchSize, workers = request.EmbedConcurrency, started = 0;
                var pending = new List<TileRead>(size * workers);
                await foreach (var r in reads.Reader.ReadAllAsync(ct))
                {
                    if (r.Patch is null) { await results.Writer.WriteAsync((r, null, r.Error is not null), ct); continue; }
                    pending.Add(r);
                    if (pending.Count < (started < workers ? size : size * workers)) continue;
                    started++;
                    await batches.Writer.WriteAsync(pending.GetRange(0, size), ct);
                    pending.RemoveRange(0, size);
                }
                for (int parts = Math.Min(workers, pending.Count), p = 0, start = 0; p < parts; p++)
                {
                    int n = (pending.Count - start) / (parts - p);
                    await batches.Writer.WriteAsync(pending.GetRange(start, n), ct);
                    start += n;
                }
                batches.Writer.TryComplete();
            }
            catch (Exception e)
            {
                batches.Writer.TryComplete(e);
                throw;
            }
        }, ct);
        // Embedding vectors travel to the writer in arrays it hands back (no allocation per tile once the queues are full).
        var vectorPool = new System.Collections.Concurrent.ConcurrentBag<float[]>();
        var embedders = Enumerable.Range(0, request.EmbedConcurrency).Select(_ => Task.Run(async () =>
        {
            var batchOutput = new float[request.BatchSize * dim];
            await foreach (var batch in batches.Reader.ReadAllAsync(ct))
            {
                bool ok = false;
                try
                {
                    model.EmbedBatch(batch.Select(b => b.Patch!).ToList(), batchOutput.AsSpan(0, batch.Count * dim), ct);
                    ok = true;
                }
                catch (Exception e) when (e is not OperationCanceledException and not ArgumentException)
                {
                    logger.LogDebug(e, "Embedding a batch of {Count} tiles failed (first tile row {Row}, col {Col}); they stay pending for a rerun.",
                        batch.Count, batch[0].Tile.Row, batch[0].Tile.Col);
                    Failed("embedding failed: " + FirstLine(e.Message), batch.Count);
                }
                for (int i = 0; i < batch.Count; i++)
                {
                    float[]? vector = null;
                    if (ok)
                    {
                        if (!vectorPool.TryTake(out vector)) vector = new float[dim];
                        batchOutput.AsSpan(i * dim, dim).CopyTo(vector);
                    }
                    await results.Writer.WriteAsync((batch[i], vector, !ok), ct);
                }
                foreach (var b in batch) dataPool.Add(b.Patch!.Data);
            }
        }, ct)).ToArray();
        var embedder = Task.WhenAll(embedders.Append(batcher));
        _ = embedder.ContinueWith(t => results.Writer.TryComplete(t.Exception?.GetBaseException()), TaskScheduler.Default);

        var writer = Task.Run(async () =>
        {
            // Tile data reaches the OS as it is recorded (a killed run resumes); fsync, which only matters for power loss,
            // runs at most every few seconds so it does not stall the writer once per batch.
            var sinceSync = System.Diagnostics.Stopwatch.StartNew();
            try
            {
                await foreach (var (r, emb, fail) in results.Reader.ReadAllAsync(CancellationToken.None))
                {
                    if (fail) failed++;
                    else if (emb is null) { state.Record(r.Index, default, TileStatus.NoData, r.ValidFraction); skipped++; }
                    else
                    {
                        if (!AllFinite(emb))
                        {
                            logger.LogDebug("The model returned NaN/Inf for tile row {Row}, col {Col}; it stays pending for a rerun.", r.Tile.Row, r.Tile.Col);
                            Failed("the model returned NaN or infinite values", 1);
                            failed++;
                        }
                        else state.Record(r.Index, emb, TileStatus.Embedded, r.ValidFraction);
                        vectorPool.Add(emb);
                    }
                    completed++;
                    if (sinceSync.Elapsed >= SyncInterval) { state.Flush(); sinceSync.Restart(); }
                    progress?.Report(new MapProgress(completed, tiles.Count, skipped, failed, resumed));
                }
            }
            finally { state.Flush(); }
        }, CancellationToken.None);

        // The first stage that faults cancels the others, so no stage stays blocked on a full or abandoned queue.
        foreach (var stage in readers.Concat(embedders).Append(batcher).Append(writer))
            _ = stage.ContinueWith(t => { if (t.IsFaulted) linked.Cancel(); }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        try
        {
            await Task.WhenAll(readersDone, embedder, writer).ConfigureAwait(false);
            await Task.WhenAll(readers).ConfigureAwait(false);
        }
        catch
        {
            linked.Cancel();
            reads.Writer.TryComplete();
            await readersDone.ConfigureAwait(false); // never faults; readers have stopped and closed their datasets
            try { await writer.ConfigureAwait(false); }
            catch (Exception e) { logger.LogDebug(e, "Writer stopped after a failure in another stage."); }
            cancellationToken.ThrowIfCancellationRequested();
            var fault = readers.Concat(embedders).Append(batcher).Where(t => t.IsFaulted).Select(t => t.Exception!.GetBaseException())
                .FirstOrDefault(e => e is not OperationCanceledException);
            if (fault is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(fault);
            throw;
        }

        var final = new MapProgress(completed, tiles.Count, skipped, failed, resumed);
        if (failed > 0)
        {
            logger.LogInformation("{Failed} tiles failed; the resume state in {Folder} is kept so a rerun retries them.", failed, state.Folder);
            throw new MapIncompleteException(final, [.. reasons.Values.OrderByDescending(g => g.Count).ThenBy(g => g.First, StringComparer.Ordinal)
                .Select(g => (g.First, g.Count))]);
        }
        var map = new EmbeddingMap(grid, wkt, dim, state, state.ValidFraction, [.. state.Status.Select(s => s != TileStatus.Embedded)],
            request.NoDataValue, bandNames, date, MetadataFor(request, recipe, date, harmonized));
        var files = new List<string>();
        if (request.Outputs.HasFlag(MapOutputs.Cog)) files.AddRange(CogMapWriter.Write(request.OutputPrefix + ".tif", map, request.RasterType, cancellationToken));
        if (request.Outputs.HasFlag(MapOutputs.Npy)) files.AddRange(NpyMapWriter.Write(request.OutputPrefix, map));
        if (request.Outputs.HasFlag(MapOutputs.GeoParquet))
            files.Add(await GeoParquetMapWriter.WriteAsync(request.OutputPrefix + ".parquet", map, includeRoiOnly: tiles.Select(Index).ToHashSet(), cancellationToken).ConfigureAwait(false));
        state.Delete();
        logger.LogInformation("Map done: {Done} tiles ({Embedded} embedded, {Skipped} nodata, {Resumed} resumed).", completed, final.Embedded, skipped, resumed);
        return new MapResult(final, grid.Rows, grid.Columns, dim, files);
    }

    private static bool AllFinite(float[] values)
    {
        foreach (var v in values) if (!float.IsFinite(v)) return false;
        return true;
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
        if (request.Outputs.HasFlag(MapOutputs.Cog))
        {
            files.Add(p + ".tif");
            if (request.RasterType == EmbeddingRasterType.Int8) files.Add(CogMapWriter.ScalePath(p + ".tif"));
        }
        if (request.Outputs.HasFlag(MapOutputs.Npy)) files.AddRange([p + ".npy", p + ".valid.npy", p + ".json"]);
        if (request.Outputs.HasFlag(MapOutputs.GeoParquet)) files.Add(p + ".parquet");
        return (files, [p + ".ssl4eco-partial"]);
    }

    private static string FirstLine(string message)
    {
        return message.Split('\n', 2)[0].Trim();
    }

    private static Dictionary<string, string> MetadataFor(MapRequest r, InputRecipe recipe, DateOnly? date, bool harmonized)
    {
        var md = new Dictionary<string, string>(recipe.ToMetadata())
        {
            ["ssl4eco.tile_size"] = (r.TileSize ?? recipe.Contract.InputSize).ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["ssl4eco.stride"] = (r.Stride ?? r.TileSize ?? recipe.Contract.InputSize).ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["ssl4eco.harmonized"] = harmonized ? "true" : "false",
            ["ssl4eco.min_valid_fraction"] = r.MinValidFraction.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
            ["ssl4eco.software"] = "SSL4Eco.NET " + SoftwareVersion,
        };
        if (date is not null) md["ssl4eco.date"] = date.Value.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        return md;
    }
}

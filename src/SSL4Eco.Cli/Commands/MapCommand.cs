using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Spectre.Console;
using SSL4Eco.Inference.Geo.Outputs;
using SSL4Eco.Inference.Geo.Pipeline;
using SSL4Eco.Inference.Geo.Rasters;
using SSL4Eco.Inference.Embedding;
using SSL4Eco.Inference.Heads;
using SSL4Eco.Inference.Geo.Previews;
using SSL4Eco.Inference.Preprocessing;
using SSL4Eco.Gdal;
using SSL4Eco.Inference.Files;

namespace SSL4Eco.Cli.Commands;

/// <summary>
/// <c>ssl4eco map INPUT... --model M --output OUT(.tif|.parquet|.npy)</c>: streams rasters of any size through the encoder,
/// one embedding per tile, georeferenced; several inputs are dates of one grid (per-date outputs and/or an aggregate).
/// </summary>
internal static partial class MapCommand
{
    public static Command Create()
    {
        var inputs = new Argument<string[]>("inputs") { Description = "Input rasters (GeoTIFF/COG/JP2/VRT or GDAL /vsi… paths) or folders of them; several = several dates of one grid.", Arity = ArgumentArity.ZeroOrMore };
        var output = new Option<FileInfo>("--output", "-o") { Description = "Embedding map: .tif (COG, one band per dimension), .parquet (GeoParquet, one row per tile) or .npy (+ .json sidecar)." };
        var tile = new Option<int?>("--tile") { Description = "Tile size in pixels (default: the model's input size, 224)." };
        var stride = new Option<int?>("--stride") { Description = "Stride in pixels (default = tile; smaller = overlap). The output pixel is stride × input pixel, centred on its tile's centre." };
        var roi = new Option<string?>("--roi") { Description = "Region of interest: 'x,y,width,height' in pixels, or a WKT/GeoJSON polygon (in the raster CRS unless --roi-crs)." };
        var roiCrs = new Option<string?>("--roi-crs") { Description = "CRS of a polygon ROI, e.g. EPSG:4326." };
        var bands = new Option<string?>("--bands") { Description = "Band names of the inputs in file order when they have no band descriptions." };
        var cloudMask = new Option<string?>("--cloud-mask") { Description = "A georeferenced cloud mask covering the scene (Sentinel-2 SCL by default; any resolution or CRS, warped onto the scene grid with nearest neighbour)." };
        var cloudValues = new Option<string?>("--cloud-values") { Description = "Mask values that are invalid (default 3,8,9,10 = SCL cloud shadow, clouds, cirrus; use 1 for a 0/1 mask)." };
        var minValid = new Option<double>("--min-valid") { Description = "Tiles with a smaller valid fraction are written as nodata.", DefaultValueFactory = _ => 0.5 };
        var aggregate = new Option<DateAggregation>("--aggregate") { Description = "Several dates: None (per date; a .parquet output also gets one table with a row per tile and date), Mean or Concat.", DefaultValueFactory = _ => DateAggregation.Mean };
        var dates = new Option<string?>("--dates") { Description = "Acquisition dates of the inputs (yyyy-MM-dd, comma-separated); default: read from a yyyyMMdd in each file name." };
        var preview = new Option<FileInfo?>("--preview") { Description = "Write a quick-look PNG: the first three principal components of the map beside a true-colour view." };
        var restart = new Option<bool>("--restart") { Description = "Ignore the resume state of an interrupted run and start over." };
        var head = new Option<FileInfo?>("--head") { Description = "A trained head (JSON from 'ssl4eco probe --save-head'): also write PREFIX.prediction.tif, one band per output." };
        var dtype = new Option<EmbeddingRasterType>("--dtype") { Description = "Value type of the .tif map: Float32, Float16 (half the size) or Int8 (a quarter, with a per-pixel scale in PREFIX.scale.tif).", DefaultValueFactory = _ => EmbeddingRasterType.Float32 };
        var embedConcurrency = new Option<int?>("--embed-concurrency") { Description = "Batches embedded side by side (default: 2 on CPU, each on half the cores, so reading tiles never stalls inference; 1 on GPU providers)." };
        var tinyTiles = new Option<bool>("--allow-tiny-tiles") { Description = $"Accept a --tile under {MapRequest.MinTileSize} px (many tiles, little content each)." };
        var onMismatch = new Option<ResumeMismatch>("--on-mismatch") { Description = "When an unfinished run of this output was made with other settings, weights or input: Refuse (default; says what differs) or Restart (discard it and start afresh).", DefaultValueFactory = _ => ResumeMismatch.Refuse };
        var readers = new Option<int>("--readers") { Description = "Reader threads (each opens its own GDAL dataset).", DefaultValueFactory = _ => 1 };
        var encoder = new EncoderCliOptions();
        var command = new Command("map", "Map rasters of any size to georeferenced embeddings (tiles, bounded memory, resumable).")
            { inputs, output, tile, stride, roi, roiCrs, bands, cloudMask, cloudValues, minValid, aggregate, dates, preview, restart, onMismatch, readers, head, dtype, embedConcurrency, tinyTiles };
        encoder.AddTo(command);
        var planned = new MapManifestRun();
        planned.AddTo(command);
        command.SetAction((parse, ct) => CliRunner.RunAsync(async token =>
        {
            if (parse.GetValue(planned.Manifest) is not null)
            {
                if (parse.GetValue(output) is not null) throw new ArgumentException("--manifest writes where the manifest says (its output root); drop --output.");
                var settings = new MapRequest
                {
                    InputPath = "manifest", OutputPrefix = "manifest", BatchSize = parse.GetValue(encoder.BatchSize), ReaderCount = parse.GetValue(readers),
                    EmbedConcurrency = encoder.Budget(parse, parse.GetValue(embedConcurrency)).EmbedConcurrency,
                };
                settings.Validate();
                return await planned.RunAsync(parse, parse.GetValue(inputs)!, encoder, settings, token).ConfigureAwait(false);
            }
            if (parse.GetValue(inputs) is not { Length: > 0 }) throw new ArgumentException("no input raster given; give INPUT... (or --manifest M --shard i/n for a planned map); see 'ssl4eco map --help'.");
            var paths = ExpandFolders(parse.GetValue(inputs)!);
            var outFile = parse.GetValue(output) ?? throw new ArgumentException("--output is required (e.g. -o map.tif); see 'ssl4eco map --help'.");
            var ext = outFile.Extension.ToLowerInvariant();
            var outputs = ext switch
            {
                ".tif" or ".tiff" => MapOutputs.Cog,
                ".parquet" => MapOutputs.GeoParquet,
                ".npy" => MapOutputs.Npy,
                _ => throw new ArgumentException($"Unknown map output '{outFile.Extension}' (use .tif, .parquet or .npy)."),
            };
            var previewFile = parse.GetValue(preview);
            var headFile = parse.GetValue(head);
            if (previewFile is not null || headFile is not null) outputs |= MapOutputs.Cog;
            var roiOption = parse.GetValue(roi);
            var (roiWindow, roiText) = ParseRoi(roiOption);
            var request = new MapRequest
            {
                InputPath = paths[0],
                OutputPrefix = Path.Combine(outFile.DirectoryName!, Path.GetFileNameWithoutExtension(outFile.Name)),
                InputBands = Split(parse.GetValue(bands)),
                Outputs = outputs,
                RasterType = parse.GetValue(dtype),
                TileSize = parse.GetValue(tile),
                AllowTinyTiles = parse.GetValue(tinyTiles),
                Stride = parse.GetValue(stride),
                RoiWindow = roiWindow,
                Roi = roiText,
                RoiCrs = parse.GetValue(roiCrs),
                CloudMaskPath = parse.GetValue(cloudMask),
                CloudMaskValues = Split(parse.GetValue(cloudValues))?.Select(v => int.Parse(v, CultureInfo.InvariantCulture)).ToArray() ?? [3, 8, 9, 10],
                MinValidFraction = parse.GetValue(minValid),
                Harmonize = parse.GetValue(encoder.Harmonize),
                BatchSize = parse.GetValue(encoder.BatchSize),
                ReaderCount = parse.GetValue(readers),
                EmbedConcurrency = encoder.Budget(parse, parse.GetValue(embedConcurrency)).EmbedConcurrency,
                Resume = !parse.GetValue(restart),
                OnMismatch = parse.GetValue(onMismatch),
            };
            request.Validate();
            // Every output (the map's files, the resume folder, the preview and the prediction raster) is checked against
            // every input before any work; the library checks its own outputs again, so this adds the CLI's side outputs.
            var mapOutputs = EmbeddingMapper.OutputsOf(request);
            var predictionFile = headFile is null ? null : request.OutputPrefix + ".prediction.tif";
            OutputGuard.Check(
                paths.Select(p => (string?)p).Append(request.CloudMaskPath).Append(headFile?.FullName).Append(roiOption is not null && File.Exists(roiOption) ? roiOption : null),
                mapOutputs.Files.Append(previewFile?.FullName).Append(predictionFile), mapOutputs.Folders);
            var linearHead = headFile is null ? null : LinearHead.Load(headFile.FullName);
            Directory.CreateDirectory(outFile.DirectoryName!);
            // The pipeline removes the baseline offset as it reads (request.Harmonize) and marks those tiles, so the encoder
            // (same mode) never removes it twice.
            using var model = await encoder.OpenAsync(parse, token, concurrentCallers: request.EmbedConcurrency).ConfigureAwait(false);
            var files = new List<string>();
            try
            {
                await WithProgressAsync(async progress =>
                {
                    if (paths.Length == 1)
                    {
                        var result = await EmbeddingMapper.RunAsync(request, model, progress, ConsoleLogging.Logger, token).ConfigureAwait(false);
                        files.AddRange(result.Files);
                        Console.WriteLine(Summary(result));
                    }
                    else
                    {
                        var dated = DatedInputs(paths, parse.GetValue(dates));
                        var result = await MultiDateMapper.RunAsync(request, dated, parse.GetValue(aggregate), model, progress, ConsoleLogging.Logger, token).ConfigureAwait(false);
                        foreach (var (r, d) in result.PerDate.Zip(dated.OrderBy(d => d.Date))) Console.WriteLine($"{d.Date:yyyy-MM-dd}: {Summary(r)}");
                        files.AddRange(result.PerDate.SelectMany(r => r.Files));
                        files.AddRange(result.AggregatedFiles);
                    }
                }).ConfigureAwait(false);
            }
            catch (ResumeMismatchException e)
            {
                throw new ArgumentException($"the unfinished run in '{e.Folder}' was made with a different {string.Join(", ", e.Differences)}; resuming would mix two runs. " +
                    "Pass --on-mismatch restart (or --restart) to discard it and start afresh, or rerun with the original settings.", e);
            }
            foreach (var f in files) Console.WriteLine($"wrote {f}");
            if (linearHead is not null)
            {
                var map = EmbeddingRaster(files);
                var predictions = predictionFile!;
                PredictionMap.Write(map, linearHead, predictions, token);
                Console.WriteLine($"wrote {predictions} ({linearHead.Task}: {string.Join(",", linearHead.OutputNames)})");
            }
            if (previewFile is not null)
            {
                var map = EmbeddingRaster(files);
                Console.WriteLine($"wrote {MapPreview.Write(map, paths[0], previewFile.FullName, inputBands: request.InputBands)}");
            }
            return 0;
        }, ct));
        return command;
    }

    private static async Task WithProgressAsync(Func<IProgress<MapProgress>, Task> run)
    {
        var clock = Stopwatch.StartNew();
        if (!Console.IsErrorRedirected && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive)
        {
            await AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                .StartAsync(async ctx =>
                {
                    var task = ctx.AddTask("tiles", maxValue: 1);
                    await run(new InlineProgress<MapProgress>(p =>
                    {
                        task.MaxValue = Math.Max(1, p.Total);
                        task.Value = p.Completed;
                        task.Description = FormattableString.Invariant($"tiles {p.Completed}/{p.Total} ({(p.Completed - p.Resumed) / Math.Max(1e-9, clock.Elapsed.TotalSeconds):F1}/s)");
                    })).ConfigureAwait(false);
                }).ConfigureAwait(false);
            return;
        }
        long last = 0;
        await run(new InlineProgress<MapProgress>(p =>
        {
            if (clock.ElapsedMilliseconds - last < 2000 && p.Completed < p.Total) return;
            last = clock.ElapsedMilliseconds;
            double rate = (p.Completed - p.Resumed) / Math.Max(1e-9, clock.Elapsed.TotalSeconds);
            int left = p.Total - p.Completed;
            Console.Error.WriteLine(FormattableString.Invariant($"tiles {p.Completed}/{p.Total}, {rate:F1} tiles/s, ETA {(rate > 0 ? TimeSpan.FromSeconds(left / rate) : TimeSpan.Zero):hh\\:mm\\:ss}"));
        })).ConfigureAwait(false);
    }

    /// <summary>One line of counts that add up to the tile count.</summary>
    private static string Summary(MapResult r) => FormattableString.Invariant(
        $"{r.Rows} x {r.Columns} tiles, {r.EmbeddingDim} dims: {r.Progress.Total} tiles = {r.Progress.Embedded} embedded + {r.Progress.Skipped} nodata + {r.Progress.Resumed} resumed from an earlier run");

    /// <summary>The (last, i.e. aggregated when several dates) embedding raster among the files a run wrote.</summary>
    private static string EmbeddingRaster(IEnumerable<string> files) =>
        files.LastOrDefault(f => f.EndsWith(".tif", StringComparison.OrdinalIgnoreCase) && !f.EndsWith(".prediction.tif", StringComparison.OrdinalIgnoreCase)
            && !f.EndsWith(".scale.tif", StringComparison.OrdinalIgnoreCase))
        ?? throw new InvalidOperationException("No embedding raster was written (the preview and --head need one).");

    /// <summary>A folder stands for the rasters in it (<see cref="RasterFiles.InFolder"/>), e.g. one file per date.</summary>
    private static string[] ExpandFolders(string[] inputs)
    {
        var paths = new List<string>();
        foreach (var input in inputs)
        {
            if (!Directory.Exists(input)) { paths.Add(input); continue; }
            var found = RasterFiles.InFolder(input);
            if (found.Count == 0) throw new ArgumentException($"The input folder '{input}' holds no raster ({string.Join(", ", RasterFiles.Extensions)}).");
            paths.AddRange(found);
        }
        return [.. paths];
    }

    private static IReadOnlyList<string>? Split(string? text) =>
        text?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

    private static (PixelWindow? Window, string? Polygon) ParseRoi(string? roi)
    {
        if (string.IsNullOrWhiteSpace(roi)) return (null, null);
        var parts = roi.Split(',');
        if (parts.Length == 4 && parts.All(p => int.TryParse(p.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out _)))
        {
            var v = parts.Select(p => int.Parse(p.Trim(), CultureInfo.InvariantCulture)).ToArray();
            return (new PixelWindow(v[0], v[1], v[2], v[3]), null);
        }
        return (null, File.Exists(roi) ? File.ReadAllText(roi) : roi);
    }

    private static List<DatedInput> DatedInputs(string[] paths, string? dates)
    {
        var given = Split(dates);
        if (given is not null && given.Count != paths.Length)
            throw new ArgumentException($"--dates lists {given.Count} dates for {paths.Length} inputs.");
        return paths.Select((p, i) =>
        {
            if (given is not null) return new DatedInput(DateOnly.ParseExact(given[i], "yyyy-MM-dd", CultureInfo.InvariantCulture), p);
            var m = DateInName().Match(Path.GetFileName(p));
            if (!m.Success || !DateOnly.TryParseExact(m.Value, "yyyyMMdd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d))
                throw new ArgumentException($"No date (yyyyMMdd) in the file name '{Path.GetFileName(p)}'; give --dates.");
            return new DatedInput(d, p);
        }).ToList();
    }

    [GeneratedRegex(@"(19|20)\d{6}")]
    private static partial Regex DateInName();
}

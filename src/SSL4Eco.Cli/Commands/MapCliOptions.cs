using System.CommandLine;
using System.Globalization;
using SSL4Eco.Inference.Embedding;
using SSL4Eco.Inference.Geo.Outputs;
using SSL4Eco.Inference.Geo.Pipeline;
using SSL4Eco.Inference.Preprocessing;

namespace SSL4Eco.Cli.Commands;

/// <summary>The options of <c>ssl4eco map</c> and how they become a <see cref="MapRequest"/>.</summary>
internal sealed class MapCliOptions
{
    public Argument<string[]> Inputs { get; } = new("inputs") { Description = "Input rasters (GeoTIFF/COG/JP2/VRT or GDAL /vsi… paths) or folders of them; several = several dates of one grid.", Arity = ArgumentArity.ZeroOrMore };
    public Option<FileInfo> Output { get; } = new("--output", "-o") { Description = "Embedding map: .tif (COG, one band per dimension), .parquet (GeoParquet, one row per tile) or .npy (+ .json sidecar)." };
    public Option<int?> Tile { get; } = new("--tile") { Description = "Tile size in pixels (default: the model's input size, 224)." };
    public Option<int?> Stride { get; } = new("--stride") { Description = "Stride in pixels (default = tile; smaller = overlap). The output pixel is stride × input pixel, centred on its tile's centre." };
    public Option<string?> Roi { get; } = new("--roi") { Description = "Region of interest: 'x,y,width,height' in pixels, or a WKT/GeoJSON polygon (in the raster CRS unless --roi-crs)." };
    public Option<string?> RoiCrs { get; } = new("--roi-crs") { Description = "CRS of a polygon ROI, e.g. EPSG:4326." };
    public Option<string?> Bands { get; } = new("--bands") { Description = "Band names of the inputs in file order when they have no band descriptions." };
    public Option<string?> CloudMask { get; } = new("--cloud-mask") { Description = "A georeferenced cloud mask covering the scene (Sentinel-2 SCL by default; any resolution or CRS, warped onto the scene grid with nearest neighbour)." };
    public Option<string?> CloudValues { get; } = new("--cloud-values") { Description = "Mask values that are invalid (default 3,8,9,10 = SCL cloud shadow, clouds, cirrus; use 1 for a 0/1 mask)." };
    public Option<double> MinValid { get; } = new("--min-valid") { Description = "Tiles with a smaller valid fraction are written as nodata.", DefaultValueFactory = _ => 0.5 };
    public Option<DateAggregation> Aggregate { get; } = new("--aggregate") { Description = "Several dates: None (per date; a .parquet output also gets one table with a row per tile and date), Mean or Concat.", DefaultValueFactory = _ => DateAggregation.Mean };
    public Option<string?> Dates { get; } = new("--dates") { Description = "Acquisition dates of the inputs (yyyy-MM-dd, comma-separated); default: read from a yyyyMMdd in each file name." };
    public Option<FileInfo?> Preview { get; } = new("--preview") { Description = "Write a quick-look PNG: the first three principal components of the map beside a true-colour view." };
    public Option<bool> Restart { get; } = new("--restart") { Description = "Ignore the resume state of an interrupted run and start over." };
    public Option<FileInfo?> Head { get; } = new("--head") { Description = "A trained head (JSON from 'ssl4eco probe --save-head'): also write PREFIX.prediction.tif, one band per output." };
    public Option<EmbeddingRasterType> Dtype { get; } = new("--dtype") { Description = "Value type of the .tif map: Float32, Float16 (half the size) or Int8 (a quarter, with a per-pixel scale in PREFIX.scale.tif).", DefaultValueFactory = _ => EmbeddingRasterType.Float32 };
    public Option<int?> EmbedConcurrency { get; } = new("--embed-concurrency") { Description = "Batches embedded side by side (default: 2 on CPU, each on half the cores, so reading tiles never stalls inference; 1 on GPU providers)." };
    public Option<bool> TinyTiles { get; } = new("--allow-tiny-tiles") { Description = $"Accept a --tile under {MapRequest.MinTileSize} px (many tiles, little content each)." };
    public Option<ResumeMismatch> OnMismatch { get; } = new("--on-mismatch") { Description = "When an unfinished run of this output was made with other settings, weights or input: Refuse (default; says what differs) or Restart (discard it and start afresh).", DefaultValueFactory = _ => ResumeMismatch.Refuse };
    public Option<int> Readers { get; } = new("--readers") { Description = "Reader threads (each opens its own GDAL dataset).", DefaultValueFactory = _ => 1 };
    public EncoderCliOptions Encoder { get; } = new();
    public MapManifestRun Planned { get; } = new();

    public void AddTo(Command command)
    {
        command.Arguments.Add(Inputs);
        foreach (var o in new Option[] { Output, Tile, Stride, Roi, RoiCrs, Bands, CloudMask, CloudValues, MinValid, Aggregate, Dates, Preview, Restart, OnMismatch, Readers, Head, Dtype, EmbedConcurrency, TinyTiles })
            command.Options.Add(o);
        Encoder.AddTo(command);
        Planned.AddTo(command);
    }

    /// <summary>
    /// The settings every map of this command line shares (the manifest form takes nothing else); the batch size, which the
    /// encoder owns, is checked here too, so a bad value is refused before any output or model is touched.
    /// </summary>
    public MapRequest Settings(ParseResult parse, string input, string prefix)
    {
        new EncoderOptions { BatchSize = parse.GetValue(Encoder.BatchSize) }.Validate();
        return new()
        {
            InputPath = input, OutputPrefix = prefix, ReaderCount = parse.GetValue(Readers),
            EmbedConcurrency = Encoder.Budget(parse, parse.GetValue(EmbedConcurrency)).EmbedConcurrency,
        };
    }

    /// <summary>The request of a map of <paramref name="input"/> to <paramref name="output"/> (a preview or a head also needs the COG).</summary>
    public MapRequest Request(ParseResult parse, string input, FileInfo output)
    {
        var (prefix, format) = MapInputs.Output(output.FullName);
        var (window, polygon) = MapInputs.ParseRoi(parse.GetValue(Roi));
        return Settings(parse, input, prefix) with
        {
            InputBands = Split(parse.GetValue(Bands)),
            Formats = parse.GetValue(Preview) is not null || parse.GetValue(Head) is not null ? [.. new[] { format, "cog" }.Distinct()] : [format],
            RasterType = parse.GetValue(Dtype), TileSize = parse.GetValue(Tile), AllowTinyTiles = parse.GetValue(TinyTiles), Stride = parse.GetValue(Stride),
            RoiWindow = window, Roi = polygon, RoiCrs = parse.GetValue(RoiCrs),
            CloudMaskPath = parse.GetValue(CloudMask),
            CloudMaskValues = Split(parse.GetValue(CloudValues))?.Select(v => int.Parse(v, CultureInfo.InvariantCulture)).ToArray() ?? [3, 8, 9, 10],
            MinValidFraction = parse.GetValue(MinValid),
            Resume = !parse.GetValue(Restart), OnMismatch = parse.GetValue(OnMismatch),
        };
    }

    /// <summary>Runs the map (one input) or the maps of several dates with progress, prints the counts, returns the files written.</summary>
    public async Task<IReadOnlyList<MapOutput>> RunAsync(ParseResult parse, MapRequest request, IReadOnlyList<string> paths, IEmbeddingModel model, CancellationToken token)
    {
        var outputs = new List<MapOutput>();
        try
        {
            await MapProgressDisplay.RunAsync(async progress =>
            {
                if (paths.Count == 1)
                {
                    var result = await EmbeddingMapper.RunAsync(request, model, progress, ConsoleLogging.Logger, token).ConfigureAwait(false);
                    outputs.AddRange(result.Outputs);
                    Console.WriteLine(MapProgressDisplay.Summary(result));
                    return;
                }
                var dated = MapInputs.Dated(paths, parse.GetValue(Dates));
                var multi = await MultiDateMapper.RunAsync(request, dated, parse.GetValue(Aggregate), model, progress, ConsoleLogging.Logger, token).ConfigureAwait(false);
                foreach (var (r, d) in multi.PerDate.Zip(dated.OrderBy(d => d.Date))) Console.WriteLine($"{d.Date:yyyy-MM-dd}: {MapProgressDisplay.Summary(r)}");
                outputs.AddRange(multi.Outputs);
            }).ConfigureAwait(false);
        }
        catch (ResumeMismatchException e)
        {
            throw new ArgumentException($"the unfinished run in '{e.Folder}' was made with a different {string.Join(", ", e.Differences)}; resuming would mix two runs. " +
                "Pass --on-mismatch restart (or --restart) to discard it and start afresh, or rerun with the original settings.", e);
        }
        return outputs;
    }

    private static string[]? Split(string? text) => text?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
}

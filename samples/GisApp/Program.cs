// SSL4Eco.NET from a GIS application, without the CLI:
//   dotnet run --project samples/GisApp -- SCENE.tif MODEL OUTPUT_PREFIX [PATCH.tif]
// MODEL is a registry id (e.g. seco-eco, downloaded and converted once), a .ckpt/.pth checkpoint or an .onnx file.
// Writes OUTPUT_PREFIX.tif (float16 embedding COG) and .parquet (GeoParquet), then, given a patch, a similarity raster
// of the map to that patch. Ctrl-C stops cleanly (exit 130); running it again resumes where it stopped. Tiles that could
// not be read or embedded end the run with exit 1, naming why; the finished tiles are kept and a rerun retries the rest.
using Microsoft.Extensions.Logging;
using SSL4Eco.Inference.Conversion;
using SSL4Eco.Inference.Embedding;
using SSL4Eco.Inference.Geo.Outputs;
using SSL4Eco.Inference.Geo.Pipeline;
using SSL4Eco.Inference.Geo.Rasters;
using SSL4Eco.Inference.Geo.Similarity;

if (args.Length < 3)
{
    Console.Error.WriteLine("usage: ssl4eco-gis-sample SCENE.tif MODEL OUTPUT_PREFIX [PATCH.tif]");
    return 2;
}
string scene = args[0], modelName = args[1], prefix = args[2];
using var loggers = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Information));
var logger = loggers.CreateLogger("gis-sample");
using var cts = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); };

try
{
    return await RunAsync();
}
catch (OperationCanceledException) when (cts.IsCancellationRequested)
{
    Console.Error.WriteLine("cancelled; the finished tiles are kept and running the same command again resumes where it stopped.");
    return 130;
}
catch (MapIncompleteException e)
{
    Console.Error.WriteLine("error: " + e.Message);
    return 1;
}
catch (ResumeMismatchException e)
{
    Console.Error.WriteLine($"error: the unfinished run in '{e.Folder}' was made with a different {string.Join(", ", e.Differences)}; delete that folder to start afresh, or rerun with the original settings.");
    return 1;
}

async Task<int> RunAsync()
{
    // 1. The model: resolved to a local ONNX file (download + pure .NET conversion happen once, then come from the cache).
    var onnx = await ModelLocator.ResolveAsync(modelName, cancellationToken: cts.Token);

    // 2. The encoder: thread-safe, so the pipeline runs batches side by side; the library's compute budget says how many
    //    and with how many threads each (on the CPU: two, each on half the cores).
    var budget = ComputeBudget.For(ExecutionProvider.Cpu);
    using var encoder = SeCoEcoEncoder.Open(onnx, new EncoderOptions
    {
        BatchSize = 8,
        IntraOpThreads = budget.IntraOpThreads,
        Logger = logger,
    });
    logger.LogInformation("Model {Model}: {Bands} bands, {Dim}-d embeddings, provider {Provider}",
        encoder.Contract.ModelId, string.Join(",", encoder.Contract.Bands), encoder.Contract.EmbeddingDim, encoder.ActiveProvider);

    // 3. The map: streamed tile by tile in bounded memory, georeferenced like the scene, resumable.
    var request = new MapRequest
    {
        InputPath = scene,
        OutputPrefix = prefix,
        Formats = ["cog", "geoparquet"],
        RasterType = EmbeddingRasterType.Float16,
        Stride = 112,
        EmbedConcurrency = budget.EmbedConcurrency,
    };
    var progress = new Progress<MapProgress>(p =>
    {
        if (p.Completed == p.Total || p.Completed % 16 == 0) logger.LogInformation("{Done}/{Total} tiles", p.Completed, p.Total);
    });
    var result = await EmbeddingMapper.RunAsync(request, encoder, progress, logger, cts.Token);
    foreach (var file in result.Files) Console.WriteLine($"wrote {file}");

    // 4. "Where else does it look like this patch?": embed one patch file and compare it with every map pixel.
    if (args.Length > 3)
    {
        var patch = PatchReader.Read(args[3]);
        var query = encoder.Embed(patch);
        SimilarityMap.Write(prefix + ".tif", query, prefix + ".similarity.tif", cts.Token);
        Console.WriteLine($"wrote {prefix}.similarity.tif");
    }
    return 0;
}

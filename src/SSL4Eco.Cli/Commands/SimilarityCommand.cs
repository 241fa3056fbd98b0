using System.CommandLine;
using System.Globalization;
using SSL4Eco.Inference.Files;
using SSL4Eco.Inference.Geo.Rasters;
using SSL4Eco.Inference.Geo.Similarity;

namespace SSL4Eco.Cli.Commands;

/// <summary><c>ssl4eco similarity MAP.tif --query ROW,COL | PATCH.tif --output SIM.tif</c>: a cosine-similarity raster.</summary>
internal static class SimilarityCommand
{
    public static Command Create()
    {
        var map = new Argument<FileInfo>("map") { Description = "Embedding map raster written by 'ssl4eco map' (.tif)." };
        var query = new Option<string>("--query") { Description = "'ROW,COL' of a map pixel, or a patch raster to embed with --model.", Required = true };
        var output = new Option<FileInfo>("--output", "-o") { Description = "Similarity GeoTIFF (one float32 band, same grid and CRS).", Required = true };
        var encoder = new EncoderCliOptions();
        var command = new Command("similarity", "Write a raster of the cosine similarity between every pixel of an embedding map and a query.") { map, query, output };
        encoder.AddTo(command);
        command.SetAction((parse, ct) => CliRunner.RunAsync(async token =>
        {
            var mapPath = parse.GetValue(map)!.FullName;
            var q = parse.GetValue(query)!;
            var outPath = parse.GetValue(output)!.FullName;
            OutputGuard.Check([mapPath, File.Exists(q) ? q : null], [outPath]);
            float[] vector;
            var parts = q.Split(',');
            if (parts.Length == 2 && int.TryParse(parts[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var row)
                && int.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var col))
                vector = SimilarityMap.PixelEmbedding(mapPath, row, col);
            else if (File.Exists(q))
            {
                using var model = await encoder.OpenAsync(parse, token).ConfigureAwait(false);
                vector = model.Embed(QueryPatch.Read(q, model));
            }
            else throw new ArgumentException($"Query '{q}' is neither 'ROW,COL' nor an existing patch file.");
            SimilarityMap.Write(mapPath, vector, outPath, token);
            Console.WriteLine($"wrote {outPath}");
            return 0;
        }, ct));
        return command;
    }
}

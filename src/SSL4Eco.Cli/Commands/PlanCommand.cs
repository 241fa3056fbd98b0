using System.CommandLine;
using System.Globalization;
using SSL4Eco.Inference.Files;
using SSL4Eco.Inference.Geo.Pipeline;
using SSL4Eco.Inference.Geo.Scale;

namespace SSL4Eco.Cli.Commands;

/// <summary>
/// <c>ssl4eco plan INPUT... --output-root ROOT -o manifest.json</c>: work units (scenes, STAC items, or blocks of a huge raster
/// on the tile grid) plus the map options and the model's recipe fingerprint, as a manifest that
/// <c>ssl4eco map --manifest M --shard i/n</c> runs and <c>ssl4eco merge</c> merges.
/// </summary>
internal static class PlanCommand
{
    public static Command Create()
    {
        var inputs = new Argument<string[]>("inputs") { Description = "Rasters (paths or s3:// gs:// az:// https:// /vsi… URLs), folders of rasters, .txt lists (one per line) or STAC item collections saved as .json; earlier inputs win where scenes overlap.", Arity = ArgumentArity.OneOrMore };
        var output = new Option<FileInfo>("--output", "-o") { Description = "The manifest to write (JSON).", Required = true };
        var root = new Option<string>("--output-root") { Description = "Where the shards write their unit outputs: a folder or an object URL (s3://bucket/prefix, gs://…, az://…, /vsis3/…).", Required = true };
        var tile = new Option<int?>("--tile") { Description = "Tile size in pixels (default: the model's input size)." };
        var stride = new Option<int?>("--stride") { Description = "Stride in pixels (default = tile)." };
        var bands = new Option<string?>("--bands") { Description = "Band names of the inputs in file order when they have no band descriptions." };
        var minValid = new Option<double>("--min-valid") { Description = "Tiles with a smaller valid fraction are nodata.", DefaultValueFactory = _ => 0.5 };
        var blockTiles = new Option<int?>("--block-tiles") { Description = "Cut every raster into blocks of N x N tiles on the tile grid (one unit each); default: one unit per raster." };
        var stacAsset = new Option<string?>("--stac-asset") { Description = "STAC asset to map (default: the first GeoTIFF asset of each item)." };
        var mgrs = new Option<string?>("--mgrs-tiles") { Description = "Plan only these Sentinel-2 MGRS tiles: a comma-separated list (31UES,32TNT) or a .txt file with one tile per line." };
        var encoder = new EncoderCliOptions();
        var command = new Command("plan", "Plan a sharded map: a manifest of work units for 'ssl4eco map --manifest M --shard i/n' and 'ssl4eco merge'.")
            { inputs, output, root, tile, stride, bands, minValid, blockTiles, stacAsset, mgrs };
        encoder.AddTo(command);
        command.SetAction((parse, ct) => CliRunner.RunAsync(async token =>
        {
            var options = new ScaleMapOptions
            {
                TileSize = parse.GetValue(tile),
                Stride = parse.GetValue(stride),
                InputBands = parse.GetValue(bands)?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries),
                MinValidFraction = parse.GetValue(minValid),
            };
            // The map's own validation of the same options, before the model is loaded.
            new MapRequest { InputPath = "x", OutputPrefix = "x", TileSize = options.TileSize, Stride = options.Stride, MinValidFraction = options.MinValidFraction }.Validate();
            var outFile = parse.GetValue(output)!;
            OutputGuard.Check(parse.GetValue(inputs)!.Select(p => (string?)p), [outFile.FullName]);
            using var model = await encoder.OpenAsync(parse, token).ConfigureAwait(false);
            var manifest = ScalePlanner.Plan(parse.GetValue(inputs)!, parse.GetValue(root)!, parse.GetValue(encoder.Model)!, ShardRunner.RecipeSha256(model),
                model.Contract.InputSize, options, parse.GetValue(blockTiles), parse.GetValue(stacAsset), ScalePlanner.ParseTileList(parse.GetValue(mgrs)));
            AtomicFile.Write(outFile.FullName, s => s.Write(manifest.ToJson()), token);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"wrote {outFile.FullName}: {manifest.Units.Count} units; run 'ssl4eco map --manifest {outFile.Name} --shard i/n' for i = 0..n-1 (unit k belongs to shard k mod n), then 'ssl4eco merge {outFile.Name}'."));
            return 0;
        }, ct));
        return command;
    }
}

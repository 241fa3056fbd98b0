using System.CommandLine;
using SSL4Eco.Inference.Geo.Scale;

namespace SSL4Eco.Cli.Commands;

/// <summary>
/// <c>ssl4eco merge MANIFEST [-o PRODUCT] [--cog]</c>: one VRT mosaic (optionally a COG with overviews), one hive-partitioned
/// GeoParquet dataset and a STAC-style collection JSON from the unit outputs of a finished manifest.
/// </summary>
internal static class MergeCommand
{
    public static Command Create()
    {
        var manifest = new Argument<string>("manifest") { Description = "The manifest written by 'ssl4eco plan' (a file or an object URL)." };
        var output = new Option<string?>("--output", "-o") { Description = "Product folder or object URL (default: OUTPUT_ROOT/product)." };
        var cog = new Option<bool>("--cog") { Description = "Also write mosaic.tif, a Cloud-Optimised GeoTIFF with overviews." };
        var work = new Option<string?>("--work") { Description = "Local scratch folder (default: the system's temporary folder)." };
        var command = new Command("merge", "Merge the shards of a planned map into one product: VRT (+COG) mosaic, partitioned GeoParquet, STAC-style JSON.")
            { manifest, output, cog, work };
        command.SetAction((parse, ct) => CliRunner.RunAsync(async token =>
        {
            var m = WorkManifest.Load(parse.GetValue(manifest)!);
            var result = await ProductMerger.MergeAsync(m, parse.GetValue(output), parse.GetValue(work) ?? Path.Combine(Path.GetTempPath(), "ssl4eco-work"),
                parse.GetValue(cog), token).ConfigureAwait(false);
            Console.WriteLine($"wrote {result.Vrt}");
            if (result.Cog is not null) Console.WriteLine($"wrote {result.Cog}");
            Console.WriteLine($"wrote {result.ParquetRoot} ({result.Rows} rows, one partition per unit)");
            Console.WriteLine($"wrote {result.Collection}");
            return 0;
        }, ct));
        return command;
    }
}

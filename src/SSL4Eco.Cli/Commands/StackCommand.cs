using System.CommandLine;
using SSL4Eco.Inference.Geo.Rasters;

namespace SSL4Eco.Cli.Commands;

/// <summary>
/// <c>ssl4eco stack BAND_FILES... -o SCENE.vrt [--bands B2,B3,…] [--baseline 04.00] [--date yyyy-MM-dd]</c>: single-band
/// files of one date (Sentinel-2 SAFE JP2s, per-band COGs) become one multi-band VRT on the finest grid, 20/60 m bands
/// resampled bilinearly, band names as descriptions — an input for <c>map</c> and <c>embed</c>.
/// </summary>
internal static class StackCommand
{
    public static Command Create()
    {
        var files = new Argument<string[]>("files") { Description = "Single-band rasters of one date (any GDAL path), e.g. R10m/*_B0[2348]_10m.jp2 R20m/*_B{05,06,07,8A,11,12}_20m.jp2 (each band once).", Arity = ArgumentArity.OneOrMore };
        var output = new Option<FileInfo>("--output", "-o") { Description = "The VRT to write.", Required = true };
        var bands = new Option<string?>("--bands") { Description = "Band names of the files in order; default: read from each file name (…_B8A_20m.jp2, B02.tif, nir08.tif)." };
        var baseline = new Option<string?>("--baseline") { Description = "Processing baseline to record (e.g. 04.00, from the SAFE's MTD_MSIL2A.xml), so 'map --harmonize Auto' can remove the offset." };
        var date = new Option<string?>("--date") { Description = "Acquisition date to record (yyyy-MM-dd); default: from the file names when they agree." };
        var command = new Command("stack", "Stack single-band files of one date (10/20/60 m) into one multi-band VRT for 'map' and 'embed'.")
            { files, output, bands, baseline, date };
        command.SetAction(parse => CliRunner.Run(() =>
        {
            var paths = parse.GetValue(files)!;
            var stack = BandStack.Named(paths, parse.GetValue(bands)?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries));
            var metadata = BandStack.SceneMetadata(paths, parse.GetValue(baseline), parse.GetValue(date) is { } d ? AcquisitionDate.Parse(d, "--date") : null);
            Directory.CreateDirectory(parse.GetValue(output)!.DirectoryName!);
            var vrt = BandStack.WriteVrt(stack, parse.GetValue(output)!.FullName, metadata: metadata);
            Console.WriteLine($"wrote {vrt}: {string.Join(", ", stack.Select(s => s.Band))}{(metadata.TryGetValue("DATE", out var day) ? " (" + day + ")" : "")}");
            return 0;
        }));
        return command;
    }
}

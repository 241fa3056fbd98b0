using System.CommandLine;
using SSL4Eco.Inference.Geo.Rasters;
using SSL4Eco.Inference.Files;
using SSL4Eco.Inference.Geo.Tables;
using SSL4Eco.Inference.Heads;

namespace SSL4Eco.Cli.Commands;

/// <summary><c>ssl4eco embed FILE... --model M --output OUT(.npy|.csv|.parquet)</c>: one patch per file.</summary>
internal static class EmbedCommand
{
    public static Command Create()
    {
        var files = new Argument<FileInfo[]>("files") { Description = "Patch rasters (GeoTIFF or any GDAL format), one patch each.", Arity = ArgumentArity.OneOrMore };
        var output = new Option<FileInfo>("--output", "-o") { Description = "Embeddings: .npy (float32 [N, D], rows in input order), .csv or .parquet.", Required = true };
        var bands = new Option<string?>("--bands") { Description = "Band names of the files, in file order, when the files carry no band descriptions (e.g. B2,B3,B4,B8)." };
        var head = new Option<FileInfo?>("--head") { Description = "A trained head (JSON from 'ssl4eco probe --save-head'); its predictions are written to --predictions." };
        var predictions = new Option<FileInfo?>("--predictions") { Description = "Where to write the head's predictions [N, outputs] (.npy, .csv, .parquet)." };
        var minValid = new Option<double>("--min-valid") { Description = "Patches with a smaller valid fraction (GDAL nodata/mask, NaN) are not embedded, as 'map' treats tiles; invalid pixels of the others are filled with the band mean.", DefaultValueFactory = _ => NoDataPolicy.Default.MinValidFraction };
        var skipNoData = new Option<bool>("--skip-nodata") { Description = "Leave patches under --min-valid out of the output (each is named) and exit 0; without it such a patch stops the run with exit 1 and nothing is written." };
        var encoder = new EncoderCliOptions();
        var command = new Command("embed", "Embed patch files with the encoder; each file is one patch (centre crop / upscale as the model was trained).") { files, output, bands, head, predictions, minValid, skipNoData };
        encoder.AddTo(command);
        command.SetAction((parse, ct) => CliRunner.RunAsync(async token =>
        {
            var inputs = parse.GetValue(files)!;
            var outPath = parse.GetValue(output)!.FullName;
            var (headFile, predictionFile) = (parse.GetValue(head), parse.GetValue(predictions));
            if ((headFile is null) != (predictionFile is null))
                throw new ArgumentException("--head and --predictions go together.");
            // Every output is checked before any patch is embedded: a known table format, and never one of the inputs.
            foreach (var o in new[] { outPath, predictionFile?.FullName }.OfType<string>()) EmbeddingTable.CheckFormat(o);
            OutputGuard.Check(inputs.Select(f => (string?)f.FullName).Append(headFile?.FullName), [outPath, predictionFile?.FullName]);
            foreach (var o in new[] { outPath, predictionFile?.FullName }.OfType<string>()) Directory.CreateDirectory(Path.GetDirectoryName(o)!);
            var linearHead = headFile is null ? null : LinearHead.Load(headFile.FullName);
            var bandNames = parse.GetValue(bands)?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            var policy = new NoDataPolicy { MinValidFraction = parse.GetValue(minValid) };
            policy.Validate();
            // Files are read side by side and batches embedded side by side, each batch on its share of the cores.
            var budget = encoder.Budget(parse, embedConcurrency: null);
            using var model = await encoder.OpenAsync(parse, token, concurrentCallers: budget.EmbedConcurrency).ConfigureAwait(false);
            var skipped = parse.GetValue(skipNoData) ? new List<ValidPatch>() : null;
            var table = PatchFolderEmbeddings.EmbedFiles(inputs.Select(f => f.FullName).ToList(), model, bandNames, model.Options.BatchSize,
                new InlineProgress<int>(n => Console.Error.Write($"\rembedded {n}/{inputs.Length}")), policy, skipped, token, budget);
            Console.Error.WriteLine();
            foreach (var s in skipped ?? [])
                Console.Error.WriteLine(FormattableString.Invariant($"skipped {s.Source}: valid fraction {s.ValidFraction:0.###} < {policy.MinValidFraction:0.###} (nodata)"));
            if (table.Rows == 0) throw new ArgumentException($"None of the {inputs.Length} patches has enough valid pixels (--min-valid {policy.MinValidFraction}); nothing was written.");
            await table.WriteAsync(outPath, token).ConfigureAwait(false);
            Console.WriteLine($"wrote {outPath} ({table.Rows} x {model.Contract.EmbeddingDim}{(table.Rows < inputs.Length ? $", {inputs.Length - table.Rows} nodata patch(es) skipped" : "")}, model {model.Contract.ModelId}, provider {model.ActiveProvider})");
            if (linearHead is not null)
            {
                await table.Predict(linearHead).WriteAsync(predictionFile!.FullName, token).ConfigureAwait(false);
                Console.WriteLine($"wrote {predictionFile.FullName} ({linearHead.Task}: {string.Join(",", linearHead.OutputNames)})");
            }
            return 0;
        }, ct));
        return command;
    }
}

using System.CommandLine;
using SSL4Eco.Inference.Geo.Rasters;
using SSL4Eco.Inference.Geo.Tables;
using SSL4Eco.Inference.Preprocessing;

namespace SSL4Eco.Cli.Commands;

/// <summary><c>ssl4eco embed FILE... --model M --output OUT(.npy|.csv|.parquet)</c>: one patch per file.</summary>
internal static class EmbedCommand
{
    public static Command Create()
    {
        var files = new Argument<FileInfo[]>("files") { Description = "Patch rasters (GeoTIFF or any GDAL format), one patch each.", Arity = ArgumentArity.OneOrMore };
        var output = new Option<FileInfo>("--output", "-o") { Description = "Embeddings: .npy (float32 [N, D], rows in input order), .csv or .parquet.", Required = true };
        var bands = new Option<string?>("--bands") { Description = "Band names of the files, in file order, when the files carry no band descriptions (e.g. B2,B3,B4,B8)." };
        var encoder = new EncoderCliOptions();
        var command = new Command("embed", "Embed patch files with the encoder; each file is one patch (centre crop / upscale as the model was trained).") { files, output, bands };
        encoder.AddTo(command);
        command.SetAction((parse, ct) => CliRunner.RunAsync(async token =>
        {
            var inputs = parse.GetValue(files)!;
            var outPath = parse.GetValue(output)!.FullName;
            var bandNames = parse.GetValue(bands)?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            using var model = await encoder.OpenAsync(parse, token).ConfigureAwait(false);
            int dim = model.Contract.EmbeddingDim, batch = model.Options.BatchSize;
            var values = new float[inputs.Length * dim];
            for (int start = 0; start < inputs.Length; start += batch)
            {
                token.ThrowIfCancellationRequested();
                var chunk = inputs.Skip(start).Take(batch).Select(f => Read(f, bandNames)).ToList();
                model.EmbedBatch(chunk, token).CopyTo(values, start * dim);
                Console.Error.Write($"\rembedded {Math.Min(start + batch, inputs.Length)}/{inputs.Length}");
            }
            Console.Error.WriteLine();
            var table = new EmbeddingTable(inputs.Select(f => f.Name).ToArray(), values, dim);
            await table.WriteAsync(outPath, token).ConfigureAwait(false);
            Console.WriteLine($"wrote {outPath} ({inputs.Length} x {dim}, model {model.Contract.ModelId}, provider {model.ActiveProvider})");
            return 0;
        }, ct));
        return command;
    }

    private static Patch Read(FileInfo file, IReadOnlyList<string>? bands)
    {
        try
        {
            return PatchReader.Read(file.FullName, bands);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new InvalidDataException($"{file.Name}: {e.Message}", e);
        }
    }
}

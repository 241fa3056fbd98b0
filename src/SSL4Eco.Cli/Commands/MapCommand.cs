using System.CommandLine;
using SSL4Eco.Inference.Files;
using SSL4Eco.Inference.Geo.Outputs;
using SSL4Eco.Inference.Geo.Pipeline;
using SSL4Eco.Inference.Geo.Previews;
using SSL4Eco.Inference.Heads;

namespace SSL4Eco.Cli.Commands;

/// <summary>
/// <c>ssl4eco map INPUT... --model M --output OUT(.tif|.parquet|.npy)</c>: streams rasters of any size through the encoder,
/// one embedding per tile, georeferenced; several inputs are dates of one grid (per-date outputs and/or an aggregate).
/// </summary>
internal static class MapCommand
{
    public static Command Create()
    {
        var o = new MapCliOptions();
        var command = new Command("map", "Map rasters of any size to georeferenced embeddings (tiles, bounded memory, resumable).");
        o.AddTo(command);
        command.SetAction((parse, ct) => CliRunner.RunAsync(async token =>
        {
            if (parse.GetValue(o.Planned.Manifest) is not null) return await o.Planned.RunAsync(parse, o, token).ConfigureAwait(false);
            if (parse.GetValue(o.Inputs) is not { Length: > 0 }) throw new ArgumentException("no input raster given; give INPUT... (or --manifest M --shard i/n for a planned map); see 'ssl4eco map --help'.");
            var paths = MapInputs.ExpandFolders(parse.GetValue(o.Inputs)!);
            var outFile = parse.GetValue(o.Output) ?? throw new ArgumentException("--output is required (e.g. -o map.tif); see 'ssl4eco map --help'.");
            var (previewFile, headFile, roi) = (parse.GetValue(o.Preview), parse.GetValue(o.Head), parse.GetValue(o.Roi));
            var request = o.Request(parse, paths[0], outFile);
            request.Validate();
            // Every output (the map's files, the resume folder, the preview and the prediction raster) is checked against
            // every input before any work; the library checks its own outputs again, so this adds the CLI's side outputs.
            var (mapFiles, mapFolders) = EmbeddingMapper.OutputsOf(request);
            var predictionFile = headFile is null ? null : request.OutputPrefix + ".prediction.tif";
            OutputGuard.Check(paths.Append(request.CloudMaskPath).Append(headFile?.FullName).Append(roi is not null && File.Exists(roi) ? roi : null),
                mapFiles.Append(previewFile?.FullName).Append(predictionFile), mapFolders);
            var linearHead = headFile is null ? null : LinearHead.Load(headFile.FullName);
            Directory.CreateDirectory(outFile.DirectoryName!);
            // --harmonize reaches the model's input recipe (EncoderOptions.Harmonize): tiles are read as stored, with their baseline.
            using var model = await o.Encoder.OpenAsync(parse, token, concurrentCallers: request.EmbedConcurrency).ConfigureAwait(false);
            var outputs = await o.RunAsync(parse, request, paths, model, token).ConfigureAwait(false);
            foreach (var f in outputs) Console.WriteLine($"wrote {f.Path}");
            if (linearHead is not null)
            {
                PredictionMap.Write(MapInputs.EmbeddingRaster(outputs), linearHead, predictionFile!, token);
                Console.WriteLine($"wrote {predictionFile} ({linearHead.Task}: {string.Join(",", linearHead.OutputNames)})");
            }
            if (previewFile is not null)
                Console.WriteLine($"wrote {MapPreview.Write(MapInputs.EmbeddingRaster(outputs), paths[0], previewFile.FullName, inputBands: request.InputBands)}");
            return 0;
        }, ct));
        return command;
    }
}

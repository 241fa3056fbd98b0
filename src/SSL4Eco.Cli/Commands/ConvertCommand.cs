using System.CommandLine;
using SSL4Eco.Inference.Conversion;
using SSL4Eco.Inference.Files;
using SSL4Eco.Inference.Heads;
using SSL4Eco.Inference.Models;
using SSL4Eco.Inference.Onnx;

namespace SSL4Eco.Cli.Commands;

/// <summary><c>ssl4eco convert CHECKPOINT --output MODEL.onnx</c>.</summary>
internal static class ConvertCommand
{
    public static Command Create()
    {
        var checkpoint = new Argument<FileInfo>("checkpoint") { Description = "PyTorch checkpoint: official SSL4Eco .ckpt, TorchGeo .pth, or a MoCo-style state dict." };
        var output = new Option<FileInfo>("--output", "-o") { Description = "ONNX file to write (written to a temporary file, renamed on success).", Required = true };
        var head = new Option<FileInfo?>("--head") { Description = "Append a trained head (JSON from 'ssl4eco probe --save-head'): the model then outputs 'embedding' and 'prediction'." };
        var contract = new ContractOptions();
        var raw = new RawInputOptions();
        var command = new Command("convert", "Convert a PyTorch checkpoint into a self-describing ONNX encoder (pure .NET; the checkpoint's code is never executed).") { checkpoint, output, head };
        raw.AddTo(command);
        contract.AddTo(command);
        command.SetAction((parse, ct) => CliRunner.RunAsync(token =>
        {
            var src = parse.GetValue(checkpoint)!;
            var dst = parse.GetValue(output)!;
            var headFile = parse.GetValue(head);
            var rawForm = raw.Read(parse);
            // With a head or a raw input form, the bare encoder is staged under a temporary name of the library's own pattern (a killed run's is removed later).
            var encoderPath = headFile is null && rawForm is null ? dst.FullName : AtomicFile.TemporaryPathFor(dst.FullName);
            var headPath = headFile is null ? null : rawForm is null ? dst.FullName : AtomicFile.TemporaryPathFor(dst.FullName);
            OutputGuard.Check([src.FullName, headFile?.FullName], [dst.FullName, encoderPath == dst.FullName ? null : encoderPath]);
            var linearHead = headFile is null ? null : LinearHead.Load(headFile.FullName);
            ConversionResult result;
            try
            {
                result = CheckpointConverter.Convert(src.FullName, encoderPath, contract.Read(parse), cancellationToken: token);
                var staged = encoderPath;
                if (linearHead is not null)
                {
                    HeadOnnxFusion.Append(encoderPath, linearHead, headPath!);
                    staged = headPath!;
                    result = result with { OnnxPath = dst.FullName };
                    Console.WriteLine($"appended head {headFile!.Name} ({linearHead.Task}, {linearHead.Outputs} outputs) as output 'prediction'");
                }
                if (rawForm is not null)
                {
                    result = result with { OnnxPath = dst.FullName, Contract = OnnxInputPreprocessing.Convert(staged, dst.FullName, rawForm, cancellationToken: token) };
                    Console.WriteLine($"preprocessing in the graph: input '{OnnxInputPreprocessing.RawInputName}' {RawInputForm.SampleTypeName(rawForm.SampleType)} [N, {rawForm.Bands.Count}, {rawForm.Height}, {rawForm.Width}] ({string.Join(",", rawForm.Bands)}) + '{OnnxInputPreprocessing.HarmonizeOffsetName}' [N]");
                }
            }
            finally
            {
                foreach (var temp in new[] { encoderPath, headPath })
                    if (temp is not null && temp != dst.FullName && File.Exists(temp)) File.Delete(temp);
            }
            var c = result.Contract;
            Console.WriteLine($"wrote {result.OnnxPath}");
            Console.WriteLine($"  layout {result.Layout}, {c.Channels} bands ({string.Join(",", c.Bands)}), x = DN / {c.Scaling.Divisor}, {ModelContract.SpatialName(c.Spatial)} {c.InputSize}, embedding {c.EmbeddingDim}");
            if (result.MatchedEntry is not null) Console.WriteLine($"  contract from registry entry '{result.MatchedEntry.Id}'");
            Console.WriteLine($"  source sha256 {c.SourceSha256}");
            return Task.FromResult(0);
        }, ct));
        return command;
    }
}

using System.CommandLine;
using SSL4Eco.Inference.Conversion;
using SSL4Eco.Inference.Files;
using SSL4Eco.Inference.Heads;
using SSL4Eco.Inference.Models;

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
        var command = new Command("convert", "Convert a PyTorch checkpoint into a self-describing ONNX encoder (pure .NET; the checkpoint's code is never executed).") { checkpoint, output, head };
        contract.AddTo(command);
        command.SetAction((parse, ct) => CliRunner.RunAsync(token =>
        {
            var src = parse.GetValue(checkpoint)!;
            var dst = parse.GetValue(output)!;
            var headFile = parse.GetValue(head);
            // With a head, the bare encoder is staged under a temporary name of the library's own pattern (a killed run's is removed later).
            var encoderPath = headFile is null ? dst.FullName : AtomicFile.TemporaryPathFor(dst.FullName);
            OutputGuard.Check([src.FullName, headFile?.FullName], [dst.FullName, headFile is null ? null : encoderPath]);
            var linearHead = headFile is null ? null : LinearHead.Load(headFile.FullName);
            ConversionResult result;
            try
            {
                result = CheckpointConverter.Convert(src.FullName, encoderPath, contract.Read(parse), cancellationToken: token);
                if (linearHead is not null)
                {
                    HeadOnnxFusion.Append(encoderPath, linearHead, dst.FullName);
                    result = result with { OnnxPath = dst.FullName };
                    Console.WriteLine($"appended head {headFile!.Name} ({linearHead.Task}, {linearHead.Outputs} outputs) as output 'prediction'");
                }
            }
            finally
            {
                if (linearHead is not null && File.Exists(encoderPath)) File.Delete(encoderPath);
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

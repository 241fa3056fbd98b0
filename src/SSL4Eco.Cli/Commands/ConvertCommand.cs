using System.CommandLine;
using SSL4Eco.Inference.Conversion;
using SSL4Eco.Inference.Models;

namespace SSL4Eco.Cli.Commands;

/// <summary><c>ssl4eco convert CHECKPOINT --output MODEL.onnx</c>.</summary>
internal static class ConvertCommand
{
    public static Command Create()
    {
        var checkpoint = new Argument<FileInfo>("checkpoint") { Description = "PyTorch checkpoint: official SSL4Eco .ckpt, TorchGeo .pth, or a MoCo-style state dict." };
        var output = new Option<FileInfo>("--output", "-o") { Description = "ONNX file to write (written to a temporary file, renamed on success).", Required = true };
        var contract = new ContractOptions();
        var command = new Command("convert", "Convert a PyTorch checkpoint into a self-describing ONNX encoder (pure .NET; the checkpoint's code is never executed).") { checkpoint, output };
        contract.AddTo(command);
        command.SetAction((parse, ct) => CliRunner.RunAsync(token =>
        {
            var src = parse.GetValue(checkpoint)!;
            var dst = parse.GetValue(output)!;
            var result = CheckpointConverter.Convert(src.FullName, dst.FullName, contract.Read(parse), cancellationToken: token);
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

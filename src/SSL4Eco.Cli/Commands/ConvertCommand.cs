using System.CommandLine;
using SSL4Eco.Inference.Conversion;
using SSL4Eco.Inference.Models;
using SSL4Eco.Inference.Onnx;

namespace SSL4Eco.Cli.Commands;

/// <summary><c>ssl4eco convert CHECKPOINT --output MODEL.onnx</c>: a <see cref="ModelBuild"/> run by <see cref="ModelBuilder"/>.</summary>
internal static class ConvertCommand
{
    public static Command Create()
    {
        var checkpoint = new Argument<FileInfo>("checkpoint") { Description = "PyTorch checkpoint: official SSL4Eco .ckpt, TorchGeo .pth, or a MoCo-style state dict." };
        var output = new Option<FileInfo>("--output", "-o") { Description = "ONNX file to write (written to a temporary file, renamed on success).", Required = true };
        var head = new Option<FileInfo?>("--head") { Description = "Append a trained head (JSON from 'ssl4eco probe --save-head'): the model then outputs 'embedding' and 'prediction'." };
        var contract = new ContractOptions();
        var quantize = new Option<string?>("--quantize") { Description = "Write a static int8 model (needs --calibration; see 'ssl4eco quantize')." };
        quantize.AcceptOnlyFromAmong("int8");
        var precision = new Option<string?>("--precision") { Description = "Write float32 (default) or float16 weights and arithmetic (float32 input/output; meant for GPU providers, no faster than float32 on the CPU)." };
        precision.AcceptOnlyFromAmong("float32", "float16", "fp32", "fp16");
        var calibration = new QuantizeCommand.CalibrationOptions();
        var raw = new RawInputOptions();
        var command = new Command("convert", "Convert a PyTorch checkpoint into a self-describing ONNX encoder (pure .NET; the checkpoint's code is never executed).") { checkpoint, output, head, quantize, precision };
        raw.AddTo(command);
        contract.AddTo(command);
        calibration.AddTo(command);
        command.SetAction((parse, ct) => CliRunner.RunAsync(token =>
        {
            bool int8 = parse.GetValue(quantize) is not null, fp16 = parse.GetValue(precision) is "float16" or "fp16";
            if (int8 && fp16) throw new ArgumentException("--quantize int8 and --precision float16 exclude each other; choose one.");
            if (!int8 && (parse.GetValue(calibration.Calibration)?.Length ?? 0) > 0) throw new ArgumentException("--calibration is only used with --quantize int8.");
            var request = new ModelBuild
            {
                CheckpointPath = parse.GetValue(checkpoint)!.FullName,
                OutputPath = parse.GetValue(output)!.FullName,
                Calibration = int8 ? calibration.Read(parse) : null,
                RawInput = raw.Read(parse),
                HeadPath = parse.GetValue(head)?.FullName,
                Contract = contract.Read(parse),
                Precision = int8 ? ModelPrecision.Int8 : fp16 ? ModelPrecision.Fp16 : ModelPrecision.Fp32,
            };
            var built = ModelBuilder.Build(request, new InlineProgress<ModelBuildStep>(s =>
            {
                if (s == ModelBuildStep.QuantizeInt8) QuantizeCommand.CalibrationOptions.PrintCalibrating(request.Calibration!);
            }), token);
            var (result, c) = (built.Conversion, built.Conversion.Contract);
            if (built.Head is { } h) Console.WriteLine($"appended head {Path.GetFileName(request.HeadPath)} ({h.Task}, {h.Outputs} outputs) as output 'prediction'");
            if (built.Quantization is { } q) QuantizeCommand.CalibrationOptions.PrintQuantized(q);
            if (fp16) Console.WriteLine("  float16 weights and arithmetic, float32 input and output");
            if (request.RawInput is { } r)
                Console.WriteLine($"preprocessing in the graph: input '{OnnxInputPreprocessing.RawInputName}' {RawInputForm.SampleTypeName(r.SampleType)} [N, {r.Bands.Count}, {r.Height}, {r.Width}] ({string.Join(",", r.Bands)}) + '{OnnxInputPreprocessing.HarmonizeOffsetName}' [N]");
            if (!int8) Console.WriteLine($"wrote {result.OnnxPath}");
            Console.WriteLine($"  layout {result.Layout}, {c.Channels} bands ({string.Join(",", c.Bands)}), x = DN / {c.Scaling.Divisor}, {ModelContract.SpatialName(c.Spatial)} {c.InputSize}, embedding {c.EmbeddingDim}");
            if (result.MatchedEntry is not null) Console.WriteLine($"  contract from registry entry '{result.MatchedEntry.Id}'");
            Console.WriteLine($"  source sha256 {c.SourceSha256}");
            return Task.FromResult(0);
        }, ct));
        return command;
    }
}

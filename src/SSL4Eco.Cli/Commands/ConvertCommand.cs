using System.CommandLine;
using SSL4Eco.Inference.Conversion;
using SSL4Eco.Inference.Files;
using SSL4Eco.Inference.Heads;
using SSL4Eco.Inference.Models;
using SSL4Eco.Inference.Onnx;
using SSL4Eco.Inference.Quantization;

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
            var src = parse.GetValue(checkpoint)!;
            var dst = parse.GetValue(output)!;
            var headFile = parse.GetValue(head);
            bool int8 = parse.GetValue(quantize) is not null;
            bool fp16 = parse.GetValue(precision) is "float16" or "fp16";
            if (int8 && fp16) throw new ArgumentException("--quantize int8 and --precision float16 exclude each other; choose one.");
            if (!int8 && (parse.GetValue(calibration.Calibration)?.Length ?? 0) > 0) throw new ArgumentException("--calibration is only used with --quantize int8.");
            var calibrationFiles = int8 ? calibration.Files(parse) : [];
            var rawForm = raw.Read(parse);
            var linearHead = headFile is null ? null : LinearHead.Load(headFile.FullName);

            // The steps (convert → head → int8/fp16 → raw input) each write the next file; every file but the last is staged
            // under a temporary name of the library's own pattern (a killed run's are removed later).
            int steps = 1 + (linearHead is null ? 0 : 1) + (int8 || fp16 ? 1 : 0) + (rawForm is null ? 0 : 1);
            var files = Enumerable.Range(0, steps).Select(i => i == steps - 1 ? dst.FullName : AtomicFile.TemporaryPathFor(dst.FullName)).ToArray();
            OutputGuard.Check(calibrationFiles.Prepend(src.FullName).Append(headFile?.FullName), files);
            ConversionResult result;
            int step = 0;
            try
            {
                result = CheckpointConverter.Convert(src.FullName, files[step], contract.Read(parse), cancellationToken: token);
                if (linearHead is not null)
                {
                    HeadOnnxFusion.Append(files[step], linearHead, files[++step]);
                    Console.WriteLine($"appended head {headFile!.Name} ({linearHead.Task}, {linearHead.Outputs} outputs) as output 'prediction'");
                }
                if (int8)
                {
                    var from = files[step];
                    result = result with { Contract = calibration.Run(parse, from, calibrationFiles, files[++step], token).Contract };
                }
                else if (fp16)
                {
                    var from = files[step];
                    result = result with { Contract = ModelQuantizer.ConvertToFloat16(from, files[++step], token) };
                    Console.WriteLine("  float16 weights and arithmetic, float32 input and output");
                }
                if (rawForm is not null)
                {
                    var from = files[step];
                    result = result with { Contract = OnnxInputPreprocessing.Convert(from, files[++step], rawForm, cancellationToken: token) };
                    Console.WriteLine($"preprocessing in the graph: input '{OnnxInputPreprocessing.RawInputName}' {RawInputForm.SampleTypeName(rawForm.SampleType)} [N, {rawForm.Bands.Count}, {rawForm.Height}, {rawForm.Width}] ({string.Join(",", rawForm.Bands)}) + '{OnnxInputPreprocessing.HarmonizeOffsetName}' [N]");
                }
                result = result with { OnnxPath = dst.FullName };
            }
            finally
            {
                foreach (var staged in files)
                    if (staged != dst.FullName && File.Exists(staged)) File.Delete(staged);
            }
            var c = result.Contract;
            if (!int8) Console.WriteLine($"wrote {result.OnnxPath}");
            Console.WriteLine($"  layout {result.Layout}, {c.Channels} bands ({string.Join(",", c.Bands)}), x = DN / {c.Scaling.Divisor}, {ModelContract.SpatialName(c.Spatial)} {c.InputSize}, embedding {c.EmbeddingDim}");
            if (result.MatchedEntry is not null) Console.WriteLine($"  contract from registry entry '{result.MatchedEntry.Id}'");
            Console.WriteLine($"  source sha256 {c.SourceSha256}");
            return Task.FromResult(0);
        }, ct));
        return command;
    }
}

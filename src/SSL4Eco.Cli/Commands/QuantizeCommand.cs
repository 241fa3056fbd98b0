using System.CommandLine;
using SSL4Eco.Inference.Geo.Rasters;
using SSL4Eco.Inference.Quantization;

namespace SSL4Eco.Cli.Commands;

/// <summary><c>ssl4eco quantize MODEL.onnx --calibration FILES-or-FOLDER --output MODEL.int8.onnx</c>.</summary>
internal static class QuantizeCommand
{
    /// <summary>The calibration options, shared with <c>convert --quantize int8</c>.</summary>
    internal sealed class CalibrationOptions
    {
        public Option<string[]> Calibration { get; } = new("--calibration")
        {
            Description = "Calibration patches: raster files (one patch each, read as 'embed' reads them) and/or folders of them; use patches like those the model will embed.",
            AllowMultipleArgumentsPerToken = true,
        };
        public Option<string> Method { get; } = new("--method") { Description = "Activation range calibration: percentile (default) or minmax.", DefaultValueFactory = _ => "percentile" };
        public Option<int?> Count { get; } = new("--count") { Description = "Use N calibration patches, evenly spaced over the sorted files (default: all; 32 are enough on our tests)." };
        public Option<string?> Bands { get; } = new("--calibration-bands") { Description = "Band names of the calibration files, in file order, when they carry no band descriptions (e.g. B2,B3,B4,B8)." };

        public void AddTo(Command command)
        {
            foreach (var o in new Option[] { Calibration, Method, Count, Bands }) command.Options.Add(o);
        }

        /// <summary>The calibration these options ask for (<see cref="CalibrationPatches.For"/>).</summary>
        public Int8Calibration Read(ParseResult parse) => CalibrationPatches.For(parse.GetValue(Calibration) ?? [], parse.GetValue(Count),
            parse.GetValue(Bands)?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries),
            new() { Method = Int8QuantizationOptions.ParseMethod(parse.GetValue(Method) ?? "percentile") });

        public static void PrintCalibrating(Int8Calibration c) =>
            Console.Error.WriteLine($"calibrating on {c.Files.Count} patch(es) ({Int8QuantizationOptions.MethodName(c.Options.Method)})");

        public static void PrintQuantized(QuantizationReport report)
        {
            var c = report.Calibration;
            Console.WriteLine($"wrote {report.OutputPath}");
            Console.WriteLine($"  int8: {report.QuantizedConvolutions} convolutions, {report.QuantizedAdds} residual additions, {report.QuantizedActivations} activations (u8 activations, s8 per-channel weights)");
            Console.WriteLine($"  calibration: {c.Count} patches, {c.Method}, sha256 {c.Sha256}");
        }
    }

    public static Command Create()
    {
        var model = new Argument<FileInfo>("model") { Description = "An fp32 ONNX encoder written by 'ssl4eco convert'." };
        var output = new Option<FileInfo>("--output", "-o") { Description = "The int8 ONNX file to write (written to a temporary file, renamed on success).", Required = true };
        var calibration = new CalibrationOptions();
        var command = new Command("quantize", "Quantise an fp32 encoder to static int8 (QDQ: u8 activations, s8 per-channel weights), calibrated on patches; ONNX Runtime's CPU provider runs it with int8 kernels.") { model, output };
        calibration.AddTo(command);
        command.SetAction((parse, ct) => CliRunner.RunAsync(token =>
        {
            var request = calibration.Read(parse);
            CalibrationOptions.PrintCalibrating(request);
            CalibrationOptions.PrintQuantized(request.Quantize(parse.GetValue(model)!.FullName, parse.GetValue(output)!.FullName, token));
            return Task.FromResult(0);
        }, ct));
        return command;
    }
}

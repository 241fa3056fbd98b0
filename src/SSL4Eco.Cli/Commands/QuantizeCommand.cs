using System.CommandLine;
using SSL4Eco.Inference.Files;
using SSL4Eco.Inference.Geo.Rasters;
using SSL4Eco.Inference.Models;
using SSL4Eco.Inference.Onnx;
using SSL4Eco.Inference.Preprocessing;
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
            command.Options.Add(Calibration);
            command.Options.Add(Method);
            command.Options.Add(Count);
            command.Options.Add(Bands);
        }

        /// <summary>The calibration files, sorted and evenly thinned to --count; one-line errors for missing or empty inputs.</summary>
        public IReadOnlyList<string> Files(ParseResult parse)
        {
            var given = parse.GetValue(Calibration) ?? [];
            if (given.Length == 0) throw new ArgumentException("int8 quantisation needs calibration patches: pass --calibration FILES-or-FOLDER (32 or more patches like those you will embed).");
            var files = new SortedSet<string>(StringComparer.Ordinal);
            foreach (var g in given)
            {
                var full = Path.GetFullPath(g);
                if (Directory.Exists(full))
                {
                    var inFolder = RasterFiles.InFolder(full);
                    if (inFolder.Count == 0)
                        throw new ArgumentException($"calibration folder '{g}' holds no raster files ({string.Join(", ", RasterFiles.Extensions)}); point --calibration at patch files.");
                    files.UnionWith(inFolder);
                }
                else if (File.Exists(full)) files.Add(full);
                else throw new ArgumentException($"calibration file '{g}' does not exist; check the path given to --calibration.");
            }
            var all = files.ToList();
            int? count = parse.GetValue(Count);
            if (count is null || count >= all.Count) return all;
            if (count < 1) throw new ArgumentException($"--count must be at least 1, got {count}.");
            return Enumerable.Range(0, count.Value).Select(i => all[(int)((long)i * all.Count / count.Value)]).ToList();
        }

        public Int8QuantizationOptions Options(ParseResult parse) =>
            new() { Method = Int8QuantizationOptions.ParseMethod(parse.GetValue(Method) ?? "percentile") };

        /// <summary>Quantises <paramref name="model"/> into <paramref name="output"/> and prints what was written.</summary>
        public QuantizationReport Run(ParseResult parse, string model, IReadOnlyList<string> files, string output, CancellationToken token)
        {
            var options = Options(parse);
            var contract = ModelContract.FromMetadata(OnnxModelFile.ReadMetadata(model).Metadata);
            var bands = parse.GetValue(Bands)?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            Console.Error.WriteLine($"calibrating on {files.Count} patch(es) ({Int8QuantizationOptions.MethodName(options.Method)})");
            var patches = files.Select(f =>
            {
                ValidPatch read;
                try { read = PatchReader.ReadValid(f, NoDataPolicy.Default, bands, InputRecipe.For(contract)); }
                catch (Exception e) when (e is not OperationCanceledException) { throw new InvalidDataException($"calibration patch {Path.GetFileName(f)}: {e.Message}", e); }
                return read.Patch ?? throw new InvalidDataException(FormattableString.Invariant(
                    $"calibration patch '{Path.GetFileName(f)}' is {(1 - read.ValidFraction) * 100:0}% nodata; leave it out of --calibration."));
            });
            var report = ModelQuantizer.QuantizeInt8(model, patches, output, options, token);
            var c = report.Calibration;
            Console.WriteLine($"wrote {report.OutputPath}");
            Console.WriteLine($"  int8: {report.QuantizedConvolutions} convolutions, {report.QuantizedAdds} residual additions, {report.QuantizedActivations} activations (u8 activations, s8 per-channel weights)");
            Console.WriteLine($"  calibration: {c.Count} patches, {c.Method}, sha256 {c.Sha256}");
            return report;
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
            var src = parse.GetValue(model)!;
            var dst = parse.GetValue(output)!;
            if (!src.Exists) throw new FileNotFoundException($"model '{src}' does not exist; give the fp32 ONNX file written by 'ssl4eco convert'.");
            var files = calibration.Files(parse);
            OutputGuard.Check(files.Prepend(src.FullName), [dst.FullName]);
            calibration.Run(parse, src.FullName, files, dst.FullName, token);
            return Task.FromResult(0);
        }, ct));
        return command;
    }
}

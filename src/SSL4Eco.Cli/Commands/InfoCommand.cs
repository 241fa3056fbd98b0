using System.CommandLine;
using SSL4Eco.Inference.Embedding;
using SSL4Eco.Inference.Models;
using SSL4Eco.Inference.Onnx;

namespace SSL4Eco.Cli.Commands;

/// <summary>
/// <c>ssl4eco info MODEL</c>: prints an ONNX model's metadata, inputs and outputs; <c>ssl4eco info --providers</c>: what
/// this install can run (ONNX Runtime, execution providers, CUDA driver/runtime, cuDNN, TensorRT) and what is missing.
/// </summary>
internal static partial class InfoCommand
{
    public static Command Create()
    {
        var model = new Argument<FileInfo?>("model") { Description = "An ONNX file written by 'ssl4eco convert'.", Arity = ArgumentArity.ZeroOrOne };
        var providers = new Option<bool>("--providers") { Description = "Instead of a model: list the execution providers this install can run and what each one is missing." };
        var command = new Command("info", "Print an ONNX model's metadata (bands, scaling, spatial policy, source), inputs and outputs; or, with --providers, what this install can run.") { model, providers };
        command.SetAction(parse => CliRunner.Run(() =>
        {
            if (parse.GetValue(providers))
            {
                if (parse.GetValue(model) is not null) throw new ArgumentException("give either a model or --providers, not both.");
                return PrintProviders(ProviderDiagnostics.Probe(), Console.Out);
            }
            var file = parse.GetValue(model) ?? throw new ArgumentException("give an ONNX model (ssl4eco info MODEL.onnx), or --providers to list what this install can run.");
            var info = OnnxModelFile.ReadMetadata(file.FullName);
            Console.WriteLine($"file:      {file.FullName}");
            Console.WriteLine($"producer:  {info.ProducerName} {info.ProducerVersion}");
            Console.WriteLine($"opset:     {info.OpsetVersion} (ir {info.IrVersion})");
            foreach (var i in info.Inputs) Console.WriteLine($"input:     {i.Name} {i.ElementType} {i.ShapeText}");
            foreach (var o in info.Outputs) Console.WriteLine($"output:    {o.Name} {o.ElementType} {o.ShapeText}");
            if (info.TryReadContract(out var problem) is not { } c)
                Console.WriteLine($"contract:  (none) {problem}");
            else
            {
                Console.WriteLine($"model id:  {c.ModelId} (version {c.Version})");
                Console.WriteLine($"bands:     {string.Join(", ", c.Bands)}");
                Console.WriteLine($"scaling:   x = (DN - {c.Scaling.Offset}) / {c.Scaling.Divisor}");
                Console.WriteLine($"spatial:   {ModelContract.SpatialName(c.Spatial)} to {c.InputSize}x{c.InputSize}");
                Console.WriteLine($"embedding: {c.EmbeddingDim}");
                Console.WriteLine($"precision: {ModelContract.PrecisionName(c.Precision)}" + (c.Calibration is { } cal ? $" (calibrated on {cal.Count} patches, {cal.Method}, sha256 {cal.Sha256})" : ""));
                if (c.RawInput is { } r)
                    Console.WriteLine($"raw input: {RawInputForm.SampleTypeName(r.SampleType)} [N, {r.Bands.Count}, {r.Height}, {r.Width}] ({string.Join(", ", r.Bands)}), preprocessed in the graph");
                if (c.Source is not null) Console.WriteLine($"source:    {c.Source}");
                if (c.SourceSha256 is not null) Console.WriteLine($"sha256:    {c.SourceSha256}");
            }
            foreach (var kv in info.ExtraMetadata) Console.WriteLine($"meta:      {kv.Key} = {kv.Value}");
            return 0;
        }));
        return command;
    }
}

using System.CommandLine;
using SSL4Eco.Inference.Embedding;
using SSL4Eco.Inference.Models;
using SSL4Eco.Inference.Onnx;

namespace SSL4Eco.Cli.Commands;

/// <summary>
/// <c>ssl4eco info MODEL</c>: prints an ONNX model's metadata, inputs and outputs; <c>ssl4eco info --providers</c>: what
/// this install can run (ONNX Runtime, execution providers, CUDA driver/runtime, cuDNN, TensorRT) and what is missing.
/// </summary>
internal static class InfoCommand
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
            try
            {
                var c = ModelContract.FromMetadata(info.Metadata);
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
            catch (ModelMetadataException e)
            {
                Console.WriteLine($"contract:  (none) {e.Message}");
            }
            var known = ModelContract.FromMetadataKeys;
            foreach (var kv in info.Metadata.Where(kv => !known.Contains(kv.Key)).OrderBy(kv => kv.Key, StringComparer.Ordinal))
                Console.WriteLine($"meta:      {kv.Key} = {kv.Value}");
            return 0;
        }));
        return command;
    }

    /// <summary>Writes the provider report in plain words; exit code 0 (the report is the answer, even when little can run).</summary>
    internal static int PrintProviders(ProviderReport r, TextWriter o)
    {
        o.WriteLine($"tool:          {ToolBuild.Name}");
        if (r.NativeVersion is null)
            o.WriteLine($"onnx runtime:  NOT LOADED ({r.NativeError}); {ToolBuild.ReinstallAdvice}");
        else
            o.WriteLine($"onnx runtime:  native {r.NativeVersion}, managed {r.ManagedVersion}" +
                        (r.VersionsAgree ? " (versions agree)" : $" (MISMATCH: {ToolBuild.ReinstallAdvice})"));
        if (OrtNativePath.Directory is { } dir) o.WriteLine($"native path:   {dir} (from {OrtNativePath.EnvironmentVariable})");
        o.WriteLine($"built with:    {(r.AvailableProviders.Count == 0 ? "(nothing)" : string.Join(", ", r.AvailableProviders))}");
        foreach (var c in r.Components)
            o.WriteLine($"{(c.Name + ": ").PadRight(15)}{(c.Found ? "found" : "missing")} ({string.Join(", ", c.Found ? c.Libraries : c.Missing)}{(c.Found ? "" : " not found")})" +
                        (c.Found ? "" : $"; {c.Remedy}"));
        // ONNX Runtime loads its CUDA provider library from the folder it was loaded from.
        string ortFolder = OrtNativePath.Directory ?? AppContext.BaseDirectory;
        string cudaProvider = OperatingSystem.IsWindows() ? "onnxruntime_providers_cuda.dll" : "libonnxruntime_providers_cuda.so";
        bool providerLibraryMissing = ToolBuild.IsGpu && r.IsBuiltWith(ExecutionProvider.Cuda) && !File.Exists(Path.Combine(ortFolder, cudaProvider));
        if (providerLibraryMissing) o.WriteLine($"cuda provider: missing ({cudaProvider} is not in {ortFolder}); {ToolBuild.ProviderLibraryAdvice}");
        foreach (var p in new[] { ExecutionProvider.Cpu, ExecutionProvider.Cuda, ExecutionProvider.TensorRT })
        {
            string verdict;
            if (p != ExecutionProvider.Cpu && providerLibraryMissing) verdict = "no: ONNX Runtime's CUDA provider library is missing (see above)";
            else if (r.CanRun(p)) verdict = "yes";
            else if (r.NativeVersion is null) verdict = "no: ONNX Runtime did not load";
            else if (!r.IsBuiltWith(p)) verdict = $"no: {ToolBuild.NotBuiltWithAdvice}";
            else verdict = "no: missing " + string.Join(", ", r.MissingFor(p).Select(c => c.Name)) + " (see above)";
            o.WriteLine($"--provider {p}:".PadRight(25) + verdict);
        }
        return 0;
    }
}

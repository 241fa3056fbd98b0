using SSL4Eco.Inference.Embedding;

namespace SSL4Eco.Cli.Commands;

/// <summary><c>ssl4eco info --providers</c>: the <see cref="ProviderReport"/> in plain words, with this tool's advice.</summary>
internal static partial class InfoCommand
{
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
        bool providerLibraryMissing = ToolBuild.IsGpu && r.IsCudaProviderLibraryMissing(ortFolder);
        if (providerLibraryMissing) o.WriteLine($"cuda provider: missing ({ProviderReport.CudaProviderLibraryName} is not in {ortFolder}); {ToolBuild.ProviderLibraryAdvice}");
        foreach (var p in new[] { ExecutionProvider.Cpu, ExecutionProvider.Cuda, ExecutionProvider.TensorRT })
            o.WriteLine($"--provider {p}:".PadRight(25) + r.StatusOf(p, providerLibraryMissing) switch
            {
                ProviderStatus.Runs => "yes",
                ProviderStatus.ProviderLibraryMissing => "no: ONNX Runtime's CUDA provider library is missing (see above)",
                ProviderStatus.RuntimeNotLoaded => "no: ONNX Runtime did not load",
                ProviderStatus.NotBuiltWith => $"no: {ToolBuild.NotBuiltWithAdvice}",
                _ => "no: missing " + string.Join(", ", r.MissingFor(p).Select(c => c.Name)) + " (see above)",
            });
        return 0;
    }
}

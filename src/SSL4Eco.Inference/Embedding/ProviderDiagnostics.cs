using System.Reflection;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;

namespace SSL4Eco.Inference.Embedding;

/// <summary>One native component an execution provider needs, and whether this machine has it.</summary>
/// <param name="Name">What it is in plain words, e.g. "cuDNN 9".</param>
/// <param name="Libraries">The shared libraries probed (all must load).</param>
/// <param name="Missing">The libraries that did not load (empty when <see cref="Found"/>).</param>
/// <param name="Remedy">What to install when it is missing.</param>
/// <remarks>Immutable; thread-safe.</remarks>
public sealed record NativeComponent(string Name, IReadOnlyList<string> Libraries, IReadOnlyList<string> Missing, string Remedy)
{
    /// <summary>Whether every library of the component loaded.</summary>
    public bool Found => Missing.Count == 0;
}

/// <summary>What this process can run: the ONNX Runtime it loaded, the providers it reports, and the GPU components found.</summary>
/// <param name="NativeVersion">The native ONNX Runtime's version, or null when it could not be loaded.</param>
/// <param name="ManagedVersion">The managed Microsoft.ML.OnnxRuntime assembly's version.</param>
/// <param name="NativeError">Why the native library could not be loaded, or null.</param>
/// <param name="AvailableProviders">The providers the native library was built with (ONNX Runtime's names).</param>
/// <param name="Components">The CUDA driver, CUDA runtime, cuDNN and TensorRT libraries (empty where CUDA does not exist, e.g. macOS).</param>
/// <remarks>Immutable; thread-safe.</remarks>
public sealed record ProviderReport(
    string? NativeVersion,
    string ManagedVersion,
    string? NativeError,
    IReadOnlyList<string> AvailableProviders,
    IReadOnlyList<NativeComponent> Components)
{
    /// <summary>Whether the native and managed ONNX Runtime versions are equal (a mismatch can crash at the first session).</summary>
    public bool VersionsAgree => NativeVersion is not null && string.Equals(NativeVersion, ManagedVersion, StringComparison.Ordinal);

    /// <summary>Whether the loaded ONNX Runtime was built with <paramref name="provider"/>.</summary>
    public bool IsBuiltWith(ExecutionProvider provider) => AvailableProviders.Contains(ExecutionProviders.OrtName(provider));

    /// <summary>The components <paramref name="provider"/> needs that this machine lacks (empty for the CPU).</summary>
    public IReadOnlyList<NativeComponent> MissingFor(ExecutionProvider provider)
    {
        var needed = provider switch
        {
            ExecutionProvider.Cuda => new[] { ProviderDiagnostics.CudaDriver, ProviderDiagnostics.CudaRuntime, ProviderDiagnostics.CuDnn },
            ExecutionProvider.TensorRT => new[] { ProviderDiagnostics.CudaDriver, ProviderDiagnostics.CudaRuntime, ProviderDiagnostics.CuDnn, ProviderDiagnostics.TensorRt },
            _ => [],
        };
        if (needed.Length > 0 && Components.Count == 0)
            return needed.Select(n => new NativeComponent(n, [], [n], "CUDA is not available on this operating system")).ToList();
        return Components.Where(c => needed.Contains(c.Name) && !c.Found).ToList();
    }

    /// <summary>Whether <paramref name="provider"/> can run here: the runtime loaded, was built with it, and nothing it needs is missing.</summary>
    public bool CanRun(ExecutionProvider provider) => NativeVersion is not null && IsBuiltWith(provider) && MissingFor(provider).Count == 0;

    /// <summary>The file name of ONNX Runtime's CUDA provider library on this platform (loaded from ONNX Runtime's own folder).</summary>
    public static string CudaProviderLibraryName => OperatingSystem.IsWindows() ? "onnxruntime_providers_cuda.dll" : "libonnxruntime_providers_cuda.so";

    /// <summary>
    /// Whether the runtime was built with CUDA but its CUDA provider library (<see cref="CudaProviderLibraryName"/>) is not in
    /// <paramref name="runtimeFolder"/>, the folder the native ONNX Runtime was loaded from: CUDA and TensorRT then cannot start.
    /// </summary>
    public bool IsCudaProviderLibraryMissing(string runtimeFolder)
    {
        ArgumentException.ThrowIfNullOrEmpty(runtimeFolder);
        return IsBuiltWith(ExecutionProvider.Cuda) && !File.Exists(Path.Combine(runtimeFolder, CudaProviderLibraryName));
    }

    /// <summary>
    /// Whether <paramref name="provider"/> can run here, or the first reason it cannot: the CUDA provider library is missing
    /// (<paramref name="cudaProviderLibraryMissing"/>, for every provider but the CPU), the runtime did not load, it was not
    /// built with the provider, or components are missing (<see cref="MissingFor"/>).
    /// </summary>
    public ProviderStatus StatusOf(ExecutionProvider provider, bool cudaProviderLibraryMissing = false) =>
        provider != ExecutionProvider.Cpu && cudaProviderLibraryMissing ? ProviderStatus.ProviderLibraryMissing
        : CanRun(provider) ? ProviderStatus.Runs
        : NativeVersion is null ? ProviderStatus.RuntimeNotLoaded
        : !IsBuiltWith(provider) ? ProviderStatus.NotBuiltWith
        : ProviderStatus.ComponentsMissing;
}

/// <summary>Whether an execution provider can run here, or the first reason it cannot (<see cref="ProviderReport.StatusOf"/>).</summary>
/// <remarks>An immutable enumeration; thread-safe.</remarks>
public enum ProviderStatus
{
    /// <summary>It can run.</summary>
    Runs,
    /// <summary>ONNX Runtime's CUDA provider library is missing from the runtime's folder.</summary>
    ProviderLibraryMissing,
    /// <summary>The native ONNX Runtime did not load.</summary>
    RuntimeNotLoaded,
    /// <summary>The loaded ONNX Runtime was not built with the provider.</summary>
    NotBuiltWith,
    /// <summary>Native components it needs are missing (<see cref="ProviderReport.MissingFor"/>).</summary>
    ComponentsMissing,
}

/// <summary>
/// Probes what this process can run: loads the native ONNX Runtime (its version and providers) and tries to load the
/// NVIDIA libraries the CUDA and TensorRT providers of ONNX Runtime 1.31 link against (CUDA 13, cuDNN 9, TensorRT 10).
/// Loading a library does not initialise a GPU; the handles are released after the probe.
/// </summary>
/// <remarks>Stateless; thread-safe.</remarks>
public static class ProviderDiagnostics
{
    internal const string CudaDriver = "CUDA driver";
    internal const string CudaRuntime = "CUDA 13 runtime";
    internal const string CuDnn = "cuDNN 9";
    internal const string TensorRt = "TensorRT 10";

    /// <summary>Probes this process and machine.</summary>
    public static ProviderReport Probe() => Probe(TryLoad, ProbeOnnxRuntime, OperatingSystem.IsWindows(), OperatingSystem.IsLinux());

    /// <summary>The probe with its effects injected (tests).</summary>
    internal static ProviderReport Probe(Func<string, bool> tryLoad, Func<(string? Version, IReadOnlyList<string> Providers, string? Error)> ort, bool windows, bool linux)
    {
        var (version, providers, error) = ort();
        var components = new List<NativeComponent>();
        if (windows || linux)
        {
            foreach (var (name, libs, remedy) in Catalogue(windows))
            {
                var missing = libs.Where(l => !tryLoad(l)).ToList();
                components.Add(new NativeComponent(name, libs, missing, remedy));
            }
        }
        return new ProviderReport(version, ManagedVersion(), error, providers, components);
    }

    /// <summary>The libraries ONNX Runtime 1.31's CUDA/TensorRT providers need, by platform (their sonames / DLL names).</summary>
    internal static IReadOnlyList<(string Name, string[] Libraries, string Remedy)> Catalogue(bool windows) => windows
        ?
        [
            (CudaDriver, ["nvcuda.dll"], "install the NVIDIA GPU driver"),
            (CudaRuntime, ["cudart64_13.dll", "cublas64_13.dll", "cublasLt64_13.dll", "curand64_10.dll"], "install the CUDA 13 toolkit (or its runtime) and put its bin folder on PATH"),
            (CuDnn, ["cudnn64_9.dll"], "install cuDNN 9 for CUDA 13 and put its bin folder on PATH"),
            (TensorRt, ["nvinfer_10.dll", "nvonnxparser_10.dll"], "install TensorRT 10 (only needed for --provider TensorRT)"),
        ]
        :
        [
            (CudaDriver, ["libcuda.so.1"], "install the NVIDIA GPU driver"),
            (CudaRuntime, ["libcudart.so.13", "libcublas.so.13", "libcublasLt.so.13", "libcurand.so.10"], "install the CUDA 13 runtime libraries (cuda-runtime/cuda-libraries 13) and make them visible to the loader (ldconfig or LD_LIBRARY_PATH)"),
            (CuDnn, ["libcudnn.so.9"], "install cuDNN 9 for CUDA 13 (libcudnn9-cuda-13) and make it visible to the loader"),
            (TensorRt, ["libnvinfer.so.10", "libnvonnxparser.so.10"], "install TensorRT 10 (only needed for --provider TensorRT)"),
        ];

    private static bool TryLoad(string library)
    {
        if (!NativeLibrary.TryLoad(library, out var handle)) return false;
        NativeLibrary.Free(handle);
        return true;
    }

    private static (string? Version, IReadOnlyList<string> Providers, string? Error) ProbeOnnxRuntime()
    {
        try
        {
            var env = OrtEnv.Instance();
            return (env.GetVersionString(), env.GetAvailableProviders(), null);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException
                                      or TypeInitializationException or OnnxRuntimeException)
        {
            var inner = e is TypeInitializationException { InnerException: { } i } ? i : e;
            return (null, [], inner.Message.Split('\n')[0].Trim());
        }
    }

    private static string ManagedVersion()
    {
        var asm = typeof(OrtEnv).Assembly;
        var informational = asm.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        if (informational is not null) return informational.Split('+')[0];
        var v = asm.GetName().Version;
        return v is null ? "unknown" : $"{v.Major}.{v.Minor}.{v.Build}";
    }
}

using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;

namespace SSL4Eco.Inference.Embedding;

/// <summary>
/// Thrown when the requested ONNX Runtime execution provider is not in the loaded native library, or is listed there but
/// cannot start (e.g. the CUDA provider without its CUDA/cuDNN libraries: <see cref="FailedLibrary"/> names the one that did not load).
/// </summary>
/// <remarks>Immutable; thread-safe.</remarks>
public sealed class ExecutionProviderUnavailableException : Exception
{
    /// <summary>Creates the exception; the message names the provider, the available ones and the package to add (or the library that failed to load and what to install).</summary>
    public ExecutionProviderUnavailableException(ExecutionProvider provider, IReadOnlyList<string> available, Exception? inner = null)
        : base(MessageFor(provider, available, inner), inner)
    {
        Provider = provider;
        Available = available;
        FailedLibrary = available.Contains(ExecutionProviders.OrtName(provider)) ? ExecutionProviders.FailedLibrary(inner?.Message) : null;
    }

    /// <summary>The provider that was requested.</summary>
    public ExecutionProvider Provider { get; }

    /// <summary>The providers the loaded native library reports.</summary>
    public IReadOnlyList<string> Available { get; }

    /// <summary>The shared library that failed to load when the provider is listed but could not start (e.g. <c>libcudnn.so.9</c>); null otherwise.</summary>
    public string? FailedLibrary { get; }

    /// <summary>What the provider needs installed beside ONNX Runtime (e.g. CUDA 13 and cuDNN 9 for CUDA).</summary>
    public string RequiredRuntime => ExecutionProviders.RuntimeFor(Provider);

    private static string MessageFor(ExecutionProvider provider, IReadOnlyList<string> available, Exception? inner)
    {
        if (available.Contains(ExecutionProviders.OrtName(provider)) && ExecutionProviders.FailedLibrary(inner?.Message) is { } lib)
            return $"Execution provider {provider} is in the loaded ONNX Runtime but could not start: {lib} failed to load. " +
                   $"Install {ExecutionProviders.RuntimeFor(provider)} and put its libraries on the library path, " +
                   "or set EncoderOptions.AllowCpuFallback to run on the CPU.";
        return $"Execution provider {provider} is not available in the loaded ONNX Runtime (available: {string.Join(", ", available)}). " +
               $"Reference the native package {ExecutionProviders.PackageFor(provider)} instead of Microsoft.ML.OnnxRuntime, " +
               "or set EncoderOptions.AllowCpuFallback to run on the CPU.";
    }
}

/// <summary>
/// Appends the requested execution provider to session options. The provider list of the loaded native library
/// (<see cref="OrtEnv.GetAvailableProviders"/>) is consulted first; appending can still fail in two ways when the
/// native package lacks the provider (<see cref="EntryPointNotFoundException"/> from the <c>_CUDA</c>-style entry
/// points, <see cref="OnnxRuntimeException"/> "Unknown provider name"): both become
/// <see cref="ExecutionProviderUnavailableException"/>, or a logged CPU fallback when allowed.
/// </summary>
internal static class ExecutionProviders
{
    /// <summary>The NuGet package that carries the provider's native library.</summary>
    public static string PackageFor(ExecutionProvider provider) => provider switch
    {
        ExecutionProvider.Cuda or ExecutionProvider.TensorRT => OperatingSystem.IsWindows() ? "Microsoft.ML.OnnxRuntime.Gpu.Windows" : "Microsoft.ML.OnnxRuntime.Gpu.Linux",
        ExecutionProvider.DirectML => "Microsoft.ML.OnnxRuntime.DirectML",
        ExecutionProvider.OpenVINO => "Intel.ML.OnnxRuntime.OpenVino",
        _ => "Microsoft.ML.OnnxRuntime",
    };

    /// <summary>What a listed provider needs beside ONNX Runtime (named in the error when one of its libraries fails to load).</summary>
    public static string RuntimeFor(ExecutionProvider provider) => provider switch
    {
        ExecutionProvider.Cuda => "CUDA 13 and cuDNN 9 (ONNX Runtime 1.31's GPU build; e.g. pip's nvidia-cuda-runtime, nvidia-cublas, nvidia-cufft, nvidia-curand and nvidia-cudnn packages for CUDA 13)",
        ExecutionProvider.TensorRT => "TensorRT 10 with CUDA 13 and cuDNN 9",
        ExecutionProvider.DirectML => "DirectML (DirectML.dll, part of Windows 10 1903 and later)",
        ExecutionProvider.OpenVINO => "the OpenVINO runtime",
        _ => "nothing",
    };

    /// <summary>
    /// The shared library named in ONNX Runtime's load failure (e.g. "libcublasLt.so.13: cannot open shared object file"),
    /// or null when the message names none.
    /// </summary>
    internal static string? FailedLibrary(string? message)
    {
        if (string.IsNullOrEmpty(message)) return null;
        var m = System.Text.RegularExpressions.Regex.Match(message, @"([\w.+-]+\.so(?:\.[0-9]+)*): cannot open shared object file");
        if (m.Success) return m.Groups[1].Value;
        m = System.Text.RegularExpressions.Regex.Match(message, @"([\w.+-]+\.(?:dll|dylib))", System.Text.RegularExpressions.RegexOptions.IgnoreCase);
        if (m.Success && message.Contains("load", StringComparison.OrdinalIgnoreCase)) return m.Groups[1].Value;
        m = System.Text.RegularExpressions.Regex.Match(message, @"Failed to load library ([\w.+-]+)");
        return m.Success ? m.Groups[1].Value : null;
    }

    /// <summary>ONNX Runtime's name for the provider, as <see cref="OrtEnv.GetAvailableProviders"/> lists it.</summary>
    public static string OrtName(ExecutionProvider provider) => provider switch
    {
        ExecutionProvider.Cuda => "CUDAExecutionProvider",
        ExecutionProvider.TensorRT => "TensorrtExecutionProvider",
        ExecutionProvider.DirectML => "DmlExecutionProvider",
        ExecutionProvider.OpenVINO => "OpenVINOExecutionProvider",
        _ => "CPUExecutionProvider",
    };

    /// <summary>
    /// Appends the provider of <paramref name="options"/> to <paramref name="session"/>; returns the provider actually used
    /// (<see cref="ExecutionProvider.Cpu"/> after a fallback). <paramref name="available"/> is injectable for tests.
    /// </summary>
    public static ExecutionProvider Configure(SessionOptions session, EncoderOptions options, IReadOnlyList<string>? available = null)
    {
        var provider = options.ExecutionProvider;
        if (provider == ExecutionProvider.Cpu) return provider;
        available ??= OrtEnv.Instance().GetAvailableProviders();
        Exception? failure = null;
        if (available.Contains(OrtName(provider)))
        {
            try
            {
                Append(session, provider, options);
                return provider;
            }
            catch (Exception e) when (e is EntryPointNotFoundException or OnnxRuntimeException or DllNotFoundException)
            {
                failure = e;
            }
        }
        var error = new ExecutionProviderUnavailableException(provider, available, failure);
        if (!options.AllowCpuFallback) throw error;
        options.Logger?.LogWarning(error, "{Provider} is unavailable; falling back to the CPU execution provider.", provider);
        return ExecutionProvider.Cpu;
    }

    /// <summary>Appends one provider through the managed API (throws as described on the class when it is missing).</summary>
    internal static void Append(SessionOptions session, ExecutionProvider provider, EncoderOptions options)
    {
        int deviceId = options.DeviceId;
        switch (provider)
        {
            case ExecutionProvider.Cuda:
                using (var cuda = new OrtCUDAProviderOptions())
                {
                    cuda.UpdateOptions(options.Cuda.ToProviderOptions(deviceId));
                    session.AppendExecutionProvider_CUDA(cuda);
                }
                break;
            case ExecutionProvider.TensorRT: session.AppendExecutionProvider_Tensorrt(deviceId); break;
            case ExecutionProvider.DirectML: session.AppendExecutionProvider_DML(deviceId); break;
            case ExecutionProvider.OpenVINO: session.AppendExecutionProvider_OpenVINO(deviceId == 0 ? "" : deviceId.ToString(System.Globalization.CultureInfo.InvariantCulture)); break;
            default: break;
        }
    }
}

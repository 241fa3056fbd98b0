using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;

namespace SSL4Eco.Inference.Embedding;

/// <summary>Thrown when the requested ONNX Runtime execution provider is not in the loaded native library.</summary>
/// <remarks>Immutable; thread-safe.</remarks>
public sealed class ExecutionProviderUnavailableException : Exception
{
    /// <summary>Creates the exception; the message names the provider, the available ones and the package to add.</summary>
    public ExecutionProviderUnavailableException(ExecutionProvider provider, IReadOnlyList<string> available, Exception? inner = null)
        : base($"Execution provider {provider} is not available in the loaded ONNX Runtime (available: {string.Join(", ", available)}). " +
               $"Reference the native package {ExecutionProviders.PackageFor(provider)} instead of Microsoft.ML.OnnxRuntime, " +
               "or set EncoderOptions.AllowCpuFallback to run on the CPU.", inner)
    {
        Provider = provider;
        Available = available;
    }

    /// <summary>The provider that was requested.</summary>
    public ExecutionProvider Provider { get; }

    /// <summary>The providers the loaded native library reports.</summary>
    public IReadOnlyList<string> Available { get; }
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
        ExecutionProvider.Cuda or ExecutionProvider.TensorRT => "Microsoft.ML.OnnxRuntime.Gpu",
        ExecutionProvider.DirectML => "Microsoft.ML.OnnxRuntime.DirectML",
        ExecutionProvider.OpenVINO => "Intel.ML.OnnxRuntime.OpenVino",
        _ => "Microsoft.ML.OnnxRuntime",
    };

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
                Append(session, provider, options.DeviceId);
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
    internal static void Append(SessionOptions session, ExecutionProvider provider, int deviceId)
    {
        switch (provider)
        {
            case ExecutionProvider.Cuda: session.AppendExecutionProvider_CUDA(deviceId); break;
            case ExecutionProvider.TensorRT: session.AppendExecutionProvider_Tensorrt(deviceId); break;
            case ExecutionProvider.DirectML: session.AppendExecutionProvider_DML(deviceId); break;
            case ExecutionProvider.OpenVINO: session.AppendExecutionProvider_OpenVINO(deviceId == 0 ? "" : deviceId.ToString(System.Globalization.CultureInfo.InvariantCulture)); break;
            default: break;
        }
    }
}

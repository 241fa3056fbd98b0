using System.Globalization;

namespace SSL4Eco.Inference.Embedding;

/// <summary>How cuDNN picks a convolution algorithm (ONNX Runtime's <c>cudnn_conv_algo_search</c>).</summary>
public enum CudnnConvolutionSearch
{
    /// <summary>Benchmark every algorithm on the first run of each shape (slowest start, fastest runs).</summary>
    Exhaustive,
    /// <summary>cuDNN's heuristics (fast start).</summary>
    Heuristic,
    /// <summary>The default algorithm (no search).</summary>
    Default,
}

/// <summary>How the CUDA memory arena grows (ONNX Runtime's <c>arena_extend_strategy</c>).</summary>
public enum ArenaExtendStrategy
{
    /// <summary>Double the arena at each extension (ONNX Runtime's default).</summary>
    NextPowerOfTwo,
    /// <summary>Grow by exactly what is requested (less memory, more extensions).</summary>
    SameAsRequested,
}

/// <summary>
/// Options of ONNX Runtime's CUDA execution provider (used when <see cref="EncoderOptions.ExecutionProvider"/> is
/// <see cref="ExecutionProvider.Cuda"/>; the device is <see cref="EncoderOptions.DeviceId"/>). Defaults are chosen for the
/// ResNet-50 encoder: TF32 off (parity), NHWC preferred and exhaustive algorithm search (on an H200 these two took fp32
/// from 7,003 to 8,032 images/s at batch 128, fp16 from 8,917 to 10,710).
/// </summary>
/// <remarks>Immutable and thread-safe.</remarks>
public sealed record CudaOptions
{
    /// <summary>The options used when none are given.</summary>
    public static CudaOptions Default { get; } = new();

    /// <summary>
    /// TensorFloat-32 convolutions and matrix products (ONNX Runtime's default is on). Off by default: with TF32 the embeddings
    /// of an H200 matched the CPU provider's at cosine 0.999995 (max relative error 3.2e-3); without it at cosine 1.0000000
    /// (3.4e-6). Turn it on for speed when that accuracy suffices.
    /// </summary>
    public bool UseTf32 { get; init; }

    /// <summary>Prefer NHWC (channels-last) kernels where the provider has them (<c>prefer_nhwc</c>). Default true.</summary>
    public bool PreferNhwc { get; init; } = true;

    /// <summary>cuDNN convolution algorithm search. Default <see cref="CudnnConvolutionSearch.Exhaustive"/>.</summary>
    public CudnnConvolutionSearch ConvolutionSearch { get; init; } = CudnnConvolutionSearch.Exhaustive;

    /// <summary>
    /// Capture the run as a CUDA graph and replay it (<c>enable_cuda_graph</c>). Needs fixed shapes and fixed buffers: the
    /// encoder then always runs full batches of <see cref="EncoderOptions.BatchSize"/> (a short last batch is padded) through
    /// one IO-bound buffer set, and runs one call at a time. Default off.
    /// </summary>
    public bool EnableCudaGraph { get; init; }

    /// <summary>Upper limit of the CUDA memory arena in bytes (<c>gpu_mem_limit</c>); 0 = no limit (the default).</summary>
    public long MemoryLimitBytes { get; init; }

    /// <summary>How the memory arena grows. Default <see cref="ArenaExtendStrategy.NextPowerOfTwo"/>.</summary>
    public ArenaExtendStrategy ArenaExtendStrategy { get; init; } = ArenaExtendStrategy.NextPowerOfTwo;

    /// <summary>Upload inputs from page-locked (pinned) host buffers (faster copies). Default true; falls back to ordinary memory when unavailable.</summary>
    public bool PinnedHostBuffers { get; init; } = true;

    /// <summary>Throws <see cref="ArgumentException"/> naming the field when an option is unusable.</summary>
    public void Validate()
    {
        if (!Enum.IsDefined(ConvolutionSearch))
            throw new ArgumentException($"{nameof(ConvolutionSearch)} has the undefined value {(int)ConvolutionSearch}.", nameof(ConvolutionSearch));
        if (!Enum.IsDefined(ArenaExtendStrategy))
            throw new ArgumentException($"{nameof(ArenaExtendStrategy)} has the undefined value {(int)ArenaExtendStrategy}.", nameof(ArenaExtendStrategy));
        if (MemoryLimitBytes < 0)
            throw new ArgumentException($"{nameof(MemoryLimitBytes)} must be 0 (no limit) or positive, got {MemoryLimitBytes}.", nameof(MemoryLimitBytes));
    }

    /// <summary>The options as ONNX Runtime's CUDA provider keys (<c>OrtCUDAProviderOptions.UpdateOptions</c>).</summary>
    internal Dictionary<string, string> ToProviderOptions(int deviceId)
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["device_id"] = deviceId.ToString(CultureInfo.InvariantCulture),
            ["use_tf32"] = UseTf32 ? "1" : "0",
            ["prefer_nhwc"] = PreferNhwc ? "1" : "0",
            ["cudnn_conv_algo_search"] = ConvolutionSearch switch
            {
                CudnnConvolutionSearch.Heuristic => "HEURISTIC",
                CudnnConvolutionSearch.Default => "DEFAULT",
                _ => "EXHAUSTIVE",
            },
            ["enable_cuda_graph"] = EnableCudaGraph ? "1" : "0",
            ["arena_extend_strategy"] = ArenaExtendStrategy == ArenaExtendStrategy.SameAsRequested ? "kSameAsRequested" : "kNextPowerOfTwo",
            ["do_copy_in_default_stream"] = "1",
        };
        if (MemoryLimitBytes > 0) d["gpu_mem_limit"] = MemoryLimitBytes.ToString(CultureInfo.InvariantCulture);
        return d;
    }
}

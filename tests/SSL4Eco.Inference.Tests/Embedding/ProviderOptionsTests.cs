using Microsoft.ML.OnnxRuntime;
using SSL4Eco.Inference.Embedding;

namespace SSL4Eco.Inference.Tests.Embedding;

/// <summary>CUDA provider options, the default GPU batch size and the errors when a provider's natives are missing (run on a CPU-only machine).</summary>
public class ProviderOptionsTests
{
    [Fact]
    public void Cuda_options_become_the_providers_keys()
    {
        var d = new CudaOptions().ToProviderOptions(deviceId: 1);
        Assert.Equal("1", d["device_id"]);
        Assert.Equal("0", d["use_tf32"]);          // parity first
        Assert.Equal("1", d["prefer_nhwc"]);
        Assert.Equal("EXHAUSTIVE", d["cudnn_conv_algo_search"]);
        Assert.Equal("0", d["enable_cuda_graph"]);
        Assert.Equal("kNextPowerOfTwo", d["arena_extend_strategy"]);
        Assert.False(d.ContainsKey("gpu_mem_limit"));
        var o = new CudaOptions { UseTf32 = true, PreferNhwc = false, ConvolutionSearch = CudnnConvolutionSearch.Heuristic, EnableCudaGraph = true,
            MemoryLimitBytes = 8L << 30, ArenaExtendStrategy = ArenaExtendStrategy.SameAsRequested }.ToProviderOptions(0);
        Assert.Equal(("1", "0", "HEURISTIC", "1", "8589934592", "kSameAsRequested"),
            (o["use_tf32"], o["prefer_nhwc"], o["cudnn_conv_algo_search"], o["enable_cuda_graph"], o["gpu_mem_limit"], o["arena_extend_strategy"]));
    }

    [Fact]
    public void Unusable_cuda_options_are_refused_by_name()
    {
        Assert.Equal("MemoryLimitBytes", Assert.Throws<ArgumentException>(() => new EncoderOptions { Cuda = new CudaOptions { MemoryLimitBytes = -1 } }.Validate()).ParamName);
        Assert.Equal("ConvolutionSearch", Assert.Throws<ArgumentException>(() => new EncoderOptions { Cuda = new CudaOptions { ConvolutionSearch = (CudnnConvolutionSearch)9 } }.Validate()).ParamName);
        Assert.Equal("Cuda", Assert.Throws<ArgumentNullException>(() => new EncoderOptions { Cuda = null! }.Validate()).ParamName);
    }

    [Fact]
    public void Gpu_providers_get_a_larger_default_batch()
    {
        Assert.Equal(8, EncoderOptions.For(ExecutionProvider.Cpu).BatchSize);
        Assert.Equal(64, EncoderOptions.For(ExecutionProvider.Cuda).BatchSize);
        Assert.Equal(ExecutionProvider.TensorRT, EncoderOptions.For(ExecutionProvider.TensorRT).ExecutionProvider);
        EncoderOptions.For(ExecutionProvider.DirectML).Validate();
    }

    [Theory]
    [InlineData("[ONNXRuntimeError] : 1 : FAIL : Failed to load library libonnxruntime_providers_cuda.so with error: libcublasLt.so.13: cannot open shared object file: No such file or directory", "libcublasLt.so.13")]
    [InlineData("Failed to load library libonnxruntime_providers_cuda.so with error: libcudnn.so.9: cannot open shared object file", "libcudnn.so.9")]
    [InlineData("LoadLibrary failed with error 126 \"\" when trying to load \"C:\\\\app\\\\onnxruntime_providers_cuda.dll\"", "onnxruntime_providers_cuda.dll")]
    [InlineData("Unknown provider name 'CUDA'", null)]
    [InlineData(null, null)]
    public void The_library_that_failed_to_load_is_found_in_onnx_runtimes_message(string? message, string? library) =>
        Assert.Equal(library, ExecutionProviders.FailedLibrary(message));

    [Fact]
    public void A_listed_provider_whose_libraries_are_missing_names_the_library_and_what_to_install()
    {
        var inner = new InvalidOperationException("Failed to load library libonnxruntime_providers_cuda.so with error: libcudnn.so.9: cannot open shared object file: No such file or directory");
        var e = new ExecutionProviderUnavailableException(ExecutionProvider.Cuda, ["CUDAExecutionProvider", "CPUExecutionProvider"], inner);
        Assert.Equal("libcudnn.so.9", e.FailedLibrary);
        Assert.Contains("libcudnn.so.9 failed to load", e.Message);
        Assert.Contains("cuDNN 9", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        // Not listed: the package to reference, not a library.
        var missing = new ExecutionProviderUnavailableException(ExecutionProvider.Cuda, ["CPUExecutionProvider"], inner);
        Assert.Null(missing.FailedLibrary);
        Assert.Contains(OperatingSystem.IsWindows() ? "Microsoft.ML.OnnxRuntime.Gpu.Windows" : "Microsoft.ML.OnnxRuntime.Gpu.Linux", missing.Message);
    }

    [Fact]
    public void Cuda_with_options_on_the_cpu_package_fails_clearly_or_falls_back()
    {
        // This machine's ONNX Runtime is the CPU build: appending CUDA (with its options object) cannot work.
        using var so = new SessionOptions();
        var options = new EncoderOptions { ExecutionProvider = ExecutionProvider.Cuda, Cuda = new CudaOptions { EnableCudaGraph = true } };
        var e = Assert.Throws<ExecutionProviderUnavailableException>(() => ExecutionProviders.Configure(so, options, ["CPUExecutionProvider", "CUDAExecutionProvider"]));
        Assert.Equal(ExecutionProvider.Cuda, e.Provider);
        Assert.DoesNotContain('\n', e.Message);
        using var so2 = new SessionOptions();
        Assert.Equal(ExecutionProvider.Cpu, ExecutionProviders.Configure(so2, options with { AllowCpuFallback = true }));
    }
}

using SSL4Eco.Inference.Embedding;
using SSL4Eco.Inference.Models;
using SSL4Eco.Inference.Onnx;
using SSL4Eco.Inference.Tests.Oracle;
using SSL4Eco.Inference.Tests.Quantization;

namespace SSL4Eco.Inference.Tests.Embedding;

/// <summary>
/// What <c>ssl4eco info</c> computes, as library answers: <see cref="ProviderReport.StatusOf"/> (the first reason a provider
/// cannot run), <see cref="ProviderReport.IsCudaProviderLibraryMissing"/>, and the contract and extra metadata of an ONNX file.
/// </summary>
public sealed class ProviderStatusTests
{
    private static readonly string[] CudaBuild = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"];

    private static ProviderReport Report(string? native, string[] providers, bool cudnn) => new(native, "1.31.0", native is null ? "not loaded" : null, providers,
    [
        new("CUDA driver", ["libcuda.so.1"], [], "install the driver"),
        new("CUDA 13 runtime", ["libcudart.so.13"], [], "install CUDA"),
        new("cuDNN 9", ["libcudnn.so.9"], cudnn ? [] : ["libcudnn.so.9"], "install cuDNN"),
        new("TensorRT 10", ["libnvinfer.so.10"], [], "install TensorRT"),
    ]);

    [Theory]
    [InlineData("1.31.0", true, true, false, ExecutionProvider.Cuda, ProviderStatus.Runs)]
    [InlineData("1.31.0", true, false, false, ExecutionProvider.Cuda, ProviderStatus.ComponentsMissing)]
    [InlineData("1.31.0", true, false, false, ExecutionProvider.Cpu, ProviderStatus.Runs)]
    [InlineData("1.31.0", false, true, false, ExecutionProvider.TensorRT, ProviderStatus.NotBuiltWith)]
    [InlineData(null, true, true, false, ExecutionProvider.Cuda, ProviderStatus.RuntimeNotLoaded)]
    [InlineData(null, true, true, false, ExecutionProvider.Cpu, ProviderStatus.RuntimeNotLoaded)]
    [InlineData("1.31.0", true, true, true, ExecutionProvider.TensorRT, ProviderStatus.ProviderLibraryMissing)]
    [InlineData("1.31.0", true, true, true, ExecutionProvider.Cpu, ProviderStatus.Runs)]
    public void StatusOf_gives_the_first_reason_a_provider_cannot_run(string? native, bool cudaBuild, bool cudnn, bool libraryMissing,
        ExecutionProvider provider, ProviderStatus expected)
    {
        var report = Report(native, cudaBuild ? CudaBuild : ["CPUExecutionProvider"], cudnn);
        Assert.Equal(expected, report.StatusOf(provider, libraryMissing));
    }

    [Fact]
    public void The_cuda_provider_library_is_missing_only_for_a_cuda_build_without_it_in_the_runtime_folder()
    {
        using var dir = new TempDir();
        var cuda = Report("1.31.0", CudaBuild, true);
        Assert.True(cuda.IsCudaProviderLibraryMissing(dir.Path));
        Assert.False(Report("1.31.0", ["CPUExecutionProvider"], true).IsCudaProviderLibraryMissing(dir.Path));
        File.WriteAllText(dir.File(ProviderReport.CudaProviderLibraryName), "");
        Assert.False(cuda.IsCudaProviderLibraryMissing(dir.Path));
        Assert.Equal(OperatingSystem.IsWindows() ? "onnxruntime_providers_cuda.dll" : "libonnxruntime_providers_cuda.so", ProviderReport.CudaProviderLibraryName);
    }

    [Fact]
    public void Model_info_reads_the_contract_or_says_why_not_and_lists_the_other_metadata_by_key()
    {
        var metadata = new Dictionary<string, string>(SyntheticSentinel2.Contract.ToMetadata()) { ["z.key"] = "1", ["a.key"] = "2" };
        var info = new OnnxModelInfo(metadata, 8, 17, "p", "1", "", [], []);
        var contract = info.TryReadContract(out var problem);
        Assert.Null(problem);
        Assert.Equal(SyntheticSentinel2.Contract.Bands, contract!.Bands);
        Assert.Equal(["a.key", "z.key"], info.ExtraMetadata.Select(kv => kv.Key));

        var bare = info with { Metadata = new Dictionary<string, string> { ["producer.note"] = "x" } };
        Assert.Null(bare.TryReadContract(out problem));
        Assert.False(string.IsNullOrWhiteSpace(problem));
        Assert.Equal(["producer.note"], bare.ExtraMetadata.Select(kv => kv.Key));
    }
}

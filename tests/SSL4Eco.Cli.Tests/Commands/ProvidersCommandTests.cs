using System.Diagnostics;
using SSL4Eco.Cli.Commands;
using SSL4Eco.Inference.Embedding;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Cli.Tests.Commands;

[Collection(CliCollection.Name)]
public sealed class ProvidersCommandTests
{
    /// <summary>The CPU tool on this machine: ONNX Runtime 1.31.1 native and managed, CPU only, CUDA advice names the GPU tool.</summary>
    [Fact]
    public void InfoProviders_CpuBuild_SaysCpuRunsAndCudaNeedsTheGpuTool()
    {
        var (exit, stdout, stderr) = CliHarness.Run("info", "--providers");
        Assert.True(exit == 0, stderr);
        Assert.Contains("onnx runtime:  native 1.31.1, managed 1.31.1 (versions agree)", stdout);
        Assert.Contains("built with:    CPUExecutionProvider", stdout);
        Assert.Matches(@"--provider Cpu:\s+yes", stdout);
        Assert.Matches(@"--provider Cuda:\s+no: this is the CPU build of ssl4eco; for CUDA install the GPU tool: .*SSL4Eco\.Cli\.Gpu", stdout);
        // Independent reference for the driver line: the dynamic loader's own cache.
        bool hasLibcuda = LdconfigHas("libcuda.so.1");
        Assert.Contains(hasLibcuda ? "CUDA driver:   found (libcuda.so.1)" : "CUDA driver:   missing (libcuda.so.1 not found); install the NVIDIA GPU driver", stdout);
        Assert.Equal("", stderr);
    }

    [Fact]
    public void InfoProviders_WithAModelToo_IsAOneLineError()
    {
        var (exit, _, stderr) = CliHarness.Run("info", "m.onnx", "--providers");
        Assert.Equal(1, exit);
        Assert.Equal("error: give either a model or --providers, not both.", stderr.Trim());
    }

    [Fact]
    public void Info_WithoutModelOrProviders_NamesBoth()
    {
        var (exit, _, stderr) = CliHarness.Run("info");
        Assert.Equal(1, exit);
        Assert.Equal("error: give an ONNX model (ssl4eco info MODEL.onnx), or --providers to list what this install can run.", stderr.Trim());
    }

    /// <summary>A CUDA-built runtime on a machine without cuDNN: the verdict names the missing library and what to install.</summary>
    [Fact]
    public void PrintProviders_CudaBuildWithoutCuDnn_NamesTheMissingComponent()
    {
        var report = new ProviderReport("1.31.0", "1.31.0", null, ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"],
        [
            new("CUDA driver", ["libcuda.so.1"], [], "install the NVIDIA GPU driver"),
            new("CUDA 13 runtime", ["libcudart.so.13"], [], "install CUDA"),
            new("cuDNN 9", ["libcudnn.so.9"], ["libcudnn.so.9"], "install cuDNN 9 for CUDA 13 (libcudnn9-cuda-13) and make it visible to the loader"),
            new("TensorRT 10", ["libnvinfer.so.10"], [], "install TensorRT 10"),
        ]);
        var o = new StringWriter();
        InfoCommand.PrintProviders(report, o);
        var text = o.ToString();
        Assert.Contains("cuDNN 9:       missing (libcudnn.so.9 not found); install cuDNN 9 for CUDA 13", text);
        Assert.Matches(@"--provider Cuda:\s+no: missing cuDNN 9 \(see above\)", text);
        Assert.Matches(@"--provider TensorRT:\s+no: missing cuDNN 9 \(see above\)", text);
        Assert.Matches(@"--provider Cpu:\s+yes", text);
    }

    [Fact]
    public void PrintProviders_NativeNotLoaded_SaysSoWithTheFix()
    {
        var report = new ProviderReport(null, "1.31.1", "Unable to load shared library 'onnxruntime'", [], []);
        var o = new StringWriter();
        InfoCommand.PrintProviders(report, o);
        Assert.Contains("onnx runtime:  NOT LOADED (Unable to load shared library 'onnxruntime'); reinstall with 'dotnet tool update -g SSL4Eco.Cli'", o.ToString());
        Assert.Matches(@"--provider Cpu:\s+no: ONNX Runtime did not load", o.ToString());
    }

    [Fact]
    public void OrtNativePath_FolderWithoutTheLibrary_IsRefusedNamingTheVariable()
    {
        using var dir = new TempDir();
        var problem = OrtNativePath.Install(dir.Path);
        Assert.Equal($"SSL4ECO_ORT_NATIVE_PATH is '{dir.Path}', which has no libonnxruntime.so; point it at the runtimes/<rid>/native folder of an ONNX Runtime 1.31 native package, or unset it.", problem);
        Assert.Null(OrtNativePath.Directory);
        Assert.Null(OrtNativePath.Install(""));
    }

    private static bool LdconfigHas(string soname)
    {
        var psi = new ProcessStartInfo("/sbin/ldconfig", "-p") { RedirectStandardOutput = true, UseShellExecute = false };
        using var p = Process.Start(psi)!;
        var text = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return text.Contains(soname + " ", StringComparison.Ordinal);
    }
}

using System.Diagnostics;
using SSL4Eco.Inference.Embedding;

namespace SSL4Eco.Inference.Tests.Embedding;

public sealed class ProviderDiagnosticsTests
{
    private static readonly string[] CudaBuild = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"];

    [Fact]
    public void Probe_EverythingLoads_CudaAndTensorRtRun()
    {
        var r = ProviderDiagnostics.Probe(_ => true, () => ("1.31.0", CudaBuild, null), windows: false, linux: true);
        Assert.True(r.CanRun(ExecutionProvider.Cuda));
        Assert.True(r.CanRun(ExecutionProvider.TensorRT));
        Assert.All(r.Components, c => Assert.True(c.Found));
    }

    [Fact]
    public void Probe_NoDriver_CudaCannotRunAndNamesTheDriver()
    {
        var r = ProviderDiagnostics.Probe(l => l != "libcuda.so.1", () => ("1.31.0", CudaBuild, null), windows: false, linux: true);
        Assert.False(r.CanRun(ExecutionProvider.Cuda));
        Assert.Equal(["CUDA driver"], r.MissingFor(ExecutionProvider.Cuda).Select(c => c.Name));
        Assert.True(r.CanRun(ExecutionProvider.Cpu));
    }

    [Fact]
    public void Probe_TensorRtMissing_OnlyTensorRtCannotRun()
    {
        var r = ProviderDiagnostics.Probe(l => !l.StartsWith("libnvinfer", StringComparison.Ordinal), () => ("1.31.0", CudaBuild, null), windows: false, linux: true);
        Assert.True(r.CanRun(ExecutionProvider.Cuda));
        Assert.False(r.CanRun(ExecutionProvider.TensorRT));
        Assert.Equal(["libnvinfer.so.10"], r.Components.Single(c => c.Name == "TensorRT 10").Missing);
    }

    [Fact]
    public void Probe_CpuBuild_CudaIsNotBuiltIn()
    {
        var r = ProviderDiagnostics.Probe(_ => true, () => ("1.31.1", ["CPUExecutionProvider"], null), windows: false, linux: true);
        Assert.False(r.IsBuiltWith(ExecutionProvider.Cuda));
        Assert.False(r.CanRun(ExecutionProvider.Cuda));
    }

    [Fact]
    public void Probe_MacOs_HasNoCudaComponentsAndCudaCannotRun()
    {
        var r = ProviderDiagnostics.Probe(_ => true, () => ("1.31.1", CudaBuild, null), windows: false, linux: false);
        Assert.Empty(r.Components);
        Assert.False(r.CanRun(ExecutionProvider.Cuda));
    }

    [Fact]
    public void Probe_WindowsNames()
    {
        var probed = new List<string>();
        ProviderDiagnostics.Probe(l => { probed.Add(l); return false; }, () => ("1.31.0", CudaBuild, null), windows: true, linux: false);
        Assert.Contains("nvcuda.dll", probed);
        Assert.Contains("cudnn64_9.dll", probed);
        Assert.Contains("cudart64_13.dll", probed);
    }

    [Fact]
    public void Probe_ThisProcess_ReportsTheCpuRuntimeWithEqualVersions()
    {
        var r = ProviderDiagnostics.Probe();
        Assert.Equal("1.31.1", r.NativeVersion);
        Assert.True(r.VersionsAgree, $"{r.NativeVersion} vs {r.ManagedVersion}");
        Assert.Contains("CPUExecutionProvider", r.AvailableProviders);
    }

    /// <summary>
    /// Independent reference: the libraries the probe names are exactly the NVIDIA ones that the 1.31.0 Linux CUDA and
    /// TensorRT provider libraries link against (their DT_NEEDED entries, read by binutils' readelf).
    /// </summary>
    [Fact]
    public void LinuxCatalogue_MatchesTheGpuPackagesElfNeeds()
    {
        var native = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages",
            "microsoft.ml.onnxruntime.gpu.linux", "1.31.0", "runtimes", "linux-x64", "native");
        Assert.True(Directory.Exists(native), $"restore src/SSL4Eco.Cli.Gpu first ({native} is missing)");
        var needed = new HashSet<string>();
        foreach (var lib in new[] { "libonnxruntime_providers_cuda.so", "libonnxruntime_providers_tensorrt.so" })
        {
            var psi = new ProcessStartInfo("readelf", ["-d", Path.Combine(native, lib)]) { RedirectStandardOutput = true, UseShellExecute = false };
            using var p = Process.Start(psi)!;
            foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(p.StandardOutput.ReadToEnd(), @"\(NEEDED\)\s+Shared library: \[([^\]]+)\]"))
                needed.Add(m.Groups[1].Value);
            p.WaitForExit();
        }
        var nvidia = needed.Where(n => n.StartsWith("libcu", StringComparison.Ordinal) || n.StartsWith("libnv", StringComparison.Ordinal)).Order().ToList();
        var probed = ProviderDiagnostics.Catalogue(windows: false).SelectMany(c => c.Libraries).Order().ToList();
        Assert.Equal(nvidia, probed);
    }
}

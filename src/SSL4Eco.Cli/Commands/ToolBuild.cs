namespace SSL4Eco.Cli.Commands;

/// <summary>
/// Which ssl4eco package this build is (the CPU tool SSL4Eco.Cli or the CUDA tool SSL4Eco.Cli.Gpu, which compiles the
/// same sources with SSL4ECO_GPU_TOOL defined), and the advice a tool user can act on.
/// </summary>
/// <remarks>Constants only; thread-safe.</remarks>
internal static class ToolBuild
{
#if SSL4ECO_GPU_TOOL
    public const bool IsGpu = true;
    public const string Name = "SSL4Eco.Cli.Gpu (ONNX Runtime with CUDA and TensorRT providers)";
    public const string ReinstallAdvice = "reinstall with 'dotnet tool update -g SSL4Eco.Cli.Gpu', or point " + OrtNativePath.EnvironmentVariable + " at the runtimes/<rid>/native folder of Microsoft.ML.OnnxRuntime.Gpu.Linux/.Gpu.Windows 1.31.0";
    public const string NotBuiltWithAdvice = "this provider is not in ONNX Runtime's CUDA build";
    public const string ProviderLibraryAdvice = "the linux-x64 GPU tool leaves ONNX Runtime's CUDA provider out (too large for a NuGet package): fetch it with 'dotnet new console -o ortgpu && dotnet add ortgpu package Microsoft.ML.OnnxRuntime.Gpu.Linux --version 1.31.0' and set " + OrtNativePath.EnvironmentVariable + "=~/.nuget/packages/microsoft.ml.onnxruntime.gpu.linux/1.31.0/runtimes/linux-x64/native";
#else
    public const bool IsGpu = false;
    public const string Name = "SSL4Eco.Cli (ONNX Runtime for the CPU)";
    public const string ReinstallAdvice = "reinstall with 'dotnet tool update -g SSL4Eco.Cli'";
    public const string ProviderLibraryAdvice = "";
    public const string NotBuiltWithAdvice = "this is the CPU build of ssl4eco; for CUDA install the GPU tool: 'dotnet tool uninstall -g SSL4Eco.Cli && dotnet tool install -g SSL4Eco.Cli.Gpu' (linux-x64, win-x64)";
#endif
}

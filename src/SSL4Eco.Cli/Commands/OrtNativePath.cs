using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;

namespace SSL4Eco.Cli.Commands;

/// <summary>
/// Lets a user run the tool on an ONNX Runtime native library of their choice: when <see cref="EnvironmentVariable"/>
/// names a folder (for instance the NuGet cache's
/// <c>microsoft.ml.onnxruntime.gpu.linux/1.31.0/runtimes/linux-x64/native</c>), the managed ONNX Runtime's
/// <c>onnxruntime</c> import resolves to the library in that folder instead of the one the tool carries. ONNX Runtime
/// loads its provider libraries (CUDA, TensorRT) from the folder it was loaded from, so the whole set comes from there.
/// </summary>
/// <remarks>Install once at start-up, before any ONNX Runtime call; thread-safe afterwards (read-only state).</remarks>
internal static class OrtNativePath
{
    public const string EnvironmentVariable = "SSL4ECO_ORT_NATIVE_PATH";

    /// <summary>The folder in use, or null when the variable is unset.</summary>
    public static string? Directory { get; private set; }

    /// <summary>The native library's file name on this platform.</summary>
    public static string LibraryFileName =>
        OperatingSystem.IsWindows() ? "onnxruntime.dll" : OperatingSystem.IsMacOS() ? "libonnxruntime.dylib" : "libonnxruntime.so";

    /// <summary>Installs the resolver when the variable is set; returns a one-line problem (and its fix) or null.</summary>
    public static string? Install() => Install(Environment.GetEnvironmentVariable(EnvironmentVariable));

    internal static string? Install(string? folder)
    {
        if (string.IsNullOrWhiteSpace(folder)) return null;
        var dir = Path.GetFullPath(folder);
        var library = Path.Combine(dir, LibraryFileName);
        if (!File.Exists(library))
            return $"{EnvironmentVariable} is '{folder}', which has no {LibraryFileName}; point it at the runtimes/<rid>/native folder of an ONNX Runtime 1.31 native package, or unset it.";
        Directory = dir;
        NativeLibrary.SetDllImportResolver(typeof(OrtEnv).Assembly, (name, _, _) =>
            name == "onnxruntime" && NativeLibrary.TryLoad(library, out var handle) ? handle : IntPtr.Zero);
        return null;
    }
}

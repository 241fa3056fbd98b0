using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using SSL4Eco.Training.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace SSL4Eco.Training.Native;

/// <summary>Whether libtorch may use oneDNN (mkldnn) for convolutions.</summary>
internal enum MkldnnMode
{
    /// <summary>On, except on CPUs where oneDNN's convolution backward is known to crash (<see cref="TorchBackend.KnownMkldnnHazard"/>).</summary>
    Auto,

    /// <summary>Always on (libtorch's default).</summary>
    On,

    /// <summary>Always off: convolutions use ATen's own kernels (im2col + GEMM).</summary>
    Off,
}

/// <summary>
/// Process-wide libtorch CPU backend settings. libtorch 2.10's bundled oneDNN 3.7.1 dies with SIGFPE in its brgemm
/// convolution backward-data primitive on AMD EPYC Zen 5 (CPU family 26) machines (issue #9); libtorch's global
/// switch <c>at::globalContext().setUserEnabledMkldnn(false)</c> (PyTorch's <c>torch.backends.mkldnn.enabled</c>)
/// routes convolutions (forward and backward) to ATen's own kernels instead. TorchSharp does not expose that switch,
/// so it is called here directly: the two members are exported, non-inline functions of libtorch_cpu.so, and on
/// x86-64 Linux (Itanium C++ ABI) a non-virtual member function is a C function taking <c>this</c> first.
/// </summary>
/// <remarks>
/// Thread safety: all members are static and thread-safe, but the setting is global to the process and read by libtorch
/// when an operation is dispatched: configure it before training starts, not while another thread runs convolutions.
/// </remarks>
internal static class TorchBackend
{
    /// <summary>The environment variable read by <see cref="ModeFromEnvironment"/>: on, off or auto.</summary>
    public const string EnvironmentVariable = "SSL4ECO_MKLDNN";

    private const string LibTorchCpu = "libtorch_cpu.so";
    private static readonly object Gate = new();
    private static bool _configured;

    [DllImport(LibTorchCpu, EntryPoint = "_ZN2at13globalContextEv")]
    private static extern IntPtr GlobalContext();

    [DllImport(LibTorchCpu, EntryPoint = "_ZN2at7Context20setUserEnabledMkldnnEb")]
    private static extern void SetUserEnabledMkldnn(IntPtr context, [MarshalAs(UnmanagedType.U1)] bool enabled);

    [DllImport(LibTorchCpu, EntryPoint = "_ZNK2at7Context17userEnabledMkldnnEv")]
    [return: MarshalAs(UnmanagedType.U1)]
    private static extern bool UserEnabledMkldnn(IntPtr context);

    /// <summary>Parses on/off/auto (also true/false, 1/0); null for anything else.</summary>
    public static MkldnnMode? ParseMode(string? text) => text?.Trim().ToLowerInvariant() switch
    {
        "auto" or "" => MkldnnMode.Auto,
        "on" or "true" or "1" => MkldnnMode.On,
        "off" or "false" or "0" => MkldnnMode.Off,
        _ => null,
    };

    /// <summary>The mode named by <see cref="EnvironmentVariable"/>, <see cref="MkldnnMode.Auto"/> when unset.</summary>
    /// <exception cref="ArgumentException">The variable holds something other than on, off or auto.</exception>
    public static MkldnnMode ModeFromEnvironment()
    {
        string? value = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (value is null) return MkldnnMode.Auto;
        return ParseMode(value) ?? throw new ArgumentException($"{EnvironmentVariable}='{value}' is not one of on, off, auto; set it to one of those or unset it.");
    }

    /// <summary>
    /// Why oneDNN must stay off on this CPU, or null when nothing is known against it: AMD CPU family 26 (Zen 5), where
    /// oneDNN 3.7.1's brgemm convolution backward-data dies with SIGFPE (issue #9).
    /// </summary>
    public static string? KnownMkldnnHazard()
    {
        if (!X86Base.IsSupported) return null;
        var (_, ebx, ecx, edx) = X86Base.CpuId(0, 0);
        Span<byte> vendor = stackalloc byte[12];
        BitConverter.TryWriteBytes(vendor, ebx);
        BitConverter.TryWriteBytes(vendor[4..], edx);
        BitConverter.TryWriteBytes(vendor[8..], ecx);
        var (eax1, _, _, _) = X86Base.CpuId(1, 0);
        int family = Family(eax1);
        return System.Text.Encoding.ASCII.GetString(vendor) == "AuthenticAMD" && family == 0x1A
            ? "AMD CPU family 26 (Zen 5), where libtorch's oneDNN convolution backward dies with SIGFPE"
            : null;
    }

    /// <summary>The CPU family from CPUID leaf 1 EAX (base family, plus the extended family when the base is 15).</summary>
    internal static int Family(int eax1)
    {
        int baseFamily = (eax1 >> 8) & 0xF;
        return baseFamily == 0xF ? baseFamily + ((eax1 >> 20) & 0xFF) : baseFamily;
    }

    /// <summary>Whether libtorch currently uses oneDNN for convolutions.</summary>
    /// <exception cref="PlatformNotSupportedException">This libtorch does not export the switch (not x86-64 Linux).</exception>
    public static bool MkldnnEnabled
    {
        get
        {
            EnsureTorchLoaded();
            try { return UserEnabledMkldnn(GlobalContext()); }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { throw Unsupported(e); }
        }
    }

    /// <summary>Turns oneDNN convolutions on or off for the whole process and marks the backend configured.</summary>
    /// <exception cref="PlatformNotSupportedException">This libtorch does not export the switch (not x86-64 Linux).</exception>
    public static void SetMkldnn(bool enabled)
    {
        EnsureTorchLoaded();
        lock (Gate)
        {
            try { SetUserEnabledMkldnn(GlobalContext(), enabled); }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { throw Unsupported(e); }
            _configured = true;
        }
    }

    /// <summary>Whether <paramref name="mode"/> asks for oneDNN on this CPU (Auto: unless <see cref="KnownMkldnnHazard"/> names a reason).</summary>
    public static bool Wanted(MkldnnMode mode) => mode switch { MkldnnMode.On => true, MkldnnMode.Off => false, _ => KnownMkldnnHazard() is null };

    /// <summary>
    /// Applies <paramref name="mode"/> (Auto: off where <see cref="KnownMkldnnHazard"/> says so, else on) and returns whether
    /// oneDNN is now on. Where the switch is not available (not x86-64 Linux), leaves libtorch as it is.
    /// </summary>
    public static bool Apply(MkldnnMode mode)
    {
        bool enable = Wanted(mode);
        try { SetMkldnn(enable); return enable; }
        catch (PlatformNotSupportedException) when (enable) { lock (Gate) _configured = true; return true; }
    }

    /// <summary>
    /// Applies the mode named by <see cref="EnvironmentVariable"/> (default auto) unless the process already chose one
    /// (e.g. the command line's <c>--mkldnn</c>). Called by the trainer before its first step.
    /// </summary>
    public static void EnsureConfigured()
    {
        lock (Gate)
        {
            if (_configured) return;
        }
        Apply(ModeFromEnvironment());
    }

    /// <summary>
    /// One training-shaped step on throwaway data: a ResNet-50 encoder (the trainer's convolutions: 7×7 stride 2, 1×1
    /// and 3×3 with and without stride) forward and backward on a batch of two. Meant to run in a child process so
    /// that a native crash (a signal) is observed by the parent instead of killing it.
    /// </summary>
    public static void SelfCheckStep(int channels, int imageSize)
    {
        using var scope = NewDisposeScope();
        using var encoder = new ResNet50Encoder(channels);
        encoder.train();
        var x = randn(2, channels, imageSize, imageSize);
        var loss = encoder.forward(x).pow(2).mean();
        loss.backward();
        double value = loss.item<float>();
        if (!double.IsFinite(value)) throw new InvalidOperationException($"The libtorch self-check gave a non-finite loss ({value}).");
    }

    private static void EnsureTorchLoaded() => _ = torch.get_num_threads();

    private static PlatformNotSupportedException Unsupported(Exception inner) =>
        new("This libtorch does not export at::Context::setUserEnabledMkldnn (only x86-64 Linux builds are known to).", inner);
}

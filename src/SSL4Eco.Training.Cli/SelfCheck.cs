using System.Globalization;
using System.Reflection;
using SSL4Eco.Training.Native;

namespace SSL4Eco.Training.Cli;

/// <summary>
/// Before training on the CPU, runs one training-shaped step (<see cref="TorchBackend.SelfCheckStep"/>) in a child
/// process (the hidden <c>self-check</c> command), so that a native crash in libtorch (issue #9: SIGFPE in oneDNN's
/// convolution backward on AMD Zen 5) is caught before the data loader starts: with oneDNN on and a crash, it checks
/// again with oneDNN off and trains that way; when that crashes too it stops with one line naming the signal.
/// </summary>
/// <remarks>Thread safety: static and stateless; call from one thread before training.</remarks>
internal static class SelfCheck
{
    internal const string CommandName = "self-check";

    /// <summary>
    /// Fault injection for the tests of this fallback (there is no CPU at hand that crashes on demand): "mkldnn" makes
    /// the child die with a real SIGFPE (an integer division by zero in native code) when oneDNN is on, "always" always.
    /// </summary>
    internal const string FaultVariable = "SSL4ECO_SELF_CHECK_FAULT";
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(5);

    /// <summary>Decides whether oneDNN stays on, writes a one-line note to stderr when it is turned off, and applies it.</summary>
    /// <exception cref="InvalidOperationException">The check failed in every allowed configuration (the message is the user's one line).</exception>
    public static void ChooseAndApply(MkldnnMode mode, int channels, int imageSize, int? threads)
    {
        string? hazard = TorchBackend.KnownMkldnnHazard();
        bool enable = TorchBackend.Wanted(mode);
        if (mode == MkldnnMode.Auto && hazard is not null)
            Console.Error.WriteLine($"note: libtorch's oneDNN convolutions are off on this CPU ({hazard}); --mkldnn on forces them.");

        var first = Run(enable, channels, imageSize, threads);
        if (first.Signal is { } signal && enable && mode == MkldnnMode.Auto)
        {
            var second = Run(false, channels, imageSize, threads);
            if (second.ExitCode == 0)
            {
                Console.Error.WriteLine($"note: libtorch's oneDNN convolutions died with {signal} in a one-step self-check; training with them off (as --mkldnn off), which is slower.");
                TorchBackend.SetMkldnn(false);
                return;
            }
            first = second;
            enable = false;
        }
        if (first.TimedOut)
            throw new InvalidOperationException($"the libtorch self-check (one ResNet-50 step) did not finish in {Timeout.TotalMinutes:F0} minutes; check that the machine is not overloaded, or set --threads.");
        if (first.Signal is { } s)
        {
            throw new InvalidOperationException(enable
                ? $"libtorch died with {s} in a one-step self-check (a ResNet-50 forward and backward) with oneDNN convolutions on; run with --mkldnn off (or SSL4ECO_MKLDNN=off)."
                : $"libtorch died with {s} in a one-step self-check (a ResNet-50 forward and backward) even with oneDNN convolutions off; try --threads 1 or --device cuda, and report the CPU (lscpu) in an issue.");
        }
        if (first.ExitCode != 0)
        {
            string last = first.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? $"exit code {first.ExitCode}";
            if (last.StartsWith("error: ", StringComparison.Ordinal)) last = last["error: ".Length..];
            throw new InvalidOperationException($"the libtorch self-check failed: {last}");
        }
        TorchBackend.SetMkldnn(enable);
    }

    /// <summary>The child side: apply the setting, run the step, print "ok".</summary>
    public static void RunInChild(bool mkldnn, int channels, int imageSize, int? threads)
    {
        if (threads is int t) TorchSharp.torch.set_num_threads(t);
        TorchBackend.SetMkldnn(mkldnn);
        string? fault = Environment.GetEnvironmentVariable(FaultVariable);
        if (fault == "always" || (fault == "mkldnn" && mkldnn)) NativeFault.DivideByZero();
        TorchBackend.SelfCheckStep(channels, imageSize);
        Console.WriteLine("ok");
    }

    private static ChildResult Run(bool mkldnn, int channels, int imageSize, int? threads)
    {
        var args = new List<string>
        {
            CommandName, "--mkldnn", mkldnn ? "on" : "off",
            "--channels", channels.ToString(CultureInfo.InvariantCulture), "--image-size", imageSize.ToString(CultureInfo.InvariantCulture),
        };
        if (threads is int t) { args.Add("--threads"); args.Add(t.ToString(CultureInfo.InvariantCulture)); }
        var psi = ChildProcess.Relaunch(Assembly.GetEntryAssembly() ?? typeof(SelfCheck).Assembly, args);
        psi.Environment.Remove("DOTNET_DbgEnableMiniDump");
        return ChildProcess.Run(psi, Timeout);
    }
}

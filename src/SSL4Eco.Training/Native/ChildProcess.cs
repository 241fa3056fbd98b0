using System.Diagnostics;
using System.Reflection;

namespace SSL4Eco.Training.Native;

/// <summary>How a child process ended.</summary>
/// <param name="ExitCode">The exit code; on Unix, 128 + N when a signal N killed it.</param>
/// <param name="Stdout">Everything it wrote to stdout.</param>
/// <param name="Stderr">Everything it wrote to stderr.</param>
/// <param name="TimedOut">Whether it was killed for running too long.</param>
internal sealed record ChildResult(int ExitCode, string Stdout, string Stderr, bool TimedOut)
{
    /// <summary>The name of the signal that killed it (e.g. SIGFPE), or null when it exited by itself.</summary>
    public string? Signal => TimedOut ? null : ChildProcess.SignalName(ExitCode);
}

/// <summary>
/// Runs native work in a child process so that a crash (a signal such as SIGFPE or SIGSEGV in libtorch) is observed
/// by the parent instead of killing it.
/// </summary>
/// <remarks>Thread safety: all members are static and thread-safe.</remarks>
internal static class ChildProcess
{
    private static readonly Dictionary<int, string> Signals = new()
    {
        [1] = "SIGHUP", [2] = "SIGINT", [3] = "SIGQUIT", [4] = "SIGILL", [5] = "SIGTRAP", [6] = "SIGABRT", [7] = "SIGBUS",
        [8] = "SIGFPE", [9] = "SIGKILL", [11] = "SIGSEGV", [13] = "SIGPIPE", [14] = "SIGALRM", [15] = "SIGTERM",
        [24] = "SIGXCPU", [25] = "SIGXFSZ", [31] = "SIGSYS",
    };

    /// <summary>
    /// The signal named by an exit code as .NET reports it for a child killed by a signal on Unix (128 + N), or null.
    /// </summary>
    public static string? SignalName(int exitCode) =>
        !OperatingSystem.IsWindows() && exitCode > 128 && Signals.TryGetValue(exitCode - 128, out var name) ? name : null;

    /// <summary>
    /// A start description that runs the current program again (the apphost, or <c>dotnet exec</c> with the entry
    /// assembly and its runtimeconfig/deps files when the current process is <c>dotnet</c>) with <paramref name="args"/>.
    /// </summary>
    public static ProcessStartInfo Relaunch(Assembly entry, IEnumerable<string> args)
    {
        string process = Environment.ProcessPath ?? throw new InvalidOperationException("The path of the running program is unknown.");
        string assembly = entry.Location;
        var psi = new ProcessStartInfo { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        if (Path.GetFileNameWithoutExtension(process) is "dotnet" || assembly.Length > 0 && !SameProgram(process, assembly))
        {
            psi.FileName = DotnetHost(process);
            psi.ArgumentList.Add("exec");
            string stem = Path.ChangeExtension(assembly, null);
            if (File.Exists(stem + ".runtimeconfig.json")) { psi.ArgumentList.Add("--runtimeconfig"); psi.ArgumentList.Add(stem + ".runtimeconfig.json"); }
            if (File.Exists(stem + ".deps.json")) { psi.ArgumentList.Add("--depsfile"); psi.ArgumentList.Add(stem + ".deps.json"); }
            psi.ArgumentList.Add(assembly);
        }
        else
        {
            psi.FileName = process;
        }
        foreach (var a in args) psi.ArgumentList.Add(a);
        return psi;
    }

    /// <summary>Starts the process, collects its output, and kills it (whole tree) after <paramref name="timeout"/>.</summary>
    public static ChildResult Run(ProcessStartInfo psi, TimeSpan timeout, Action<string>? onStdoutLine = null)
    {
        psi.UseShellExecute = false;
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        using var p = new Process { StartInfo = psi };
        var stdout = new System.Text.StringBuilder();
        var stderr = new System.Text.StringBuilder();
        p.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (stdout) stdout.AppendLine(e.Data);
            onStdoutLine?.Invoke(e.Data);
        };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (stderr) stderr.AppendLine(e.Data); };
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        bool timedOut = !p.WaitForExit(timeout);
        if (timedOut)
        {
            try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        }
        p.WaitForExit();
        lock (stdout) lock (stderr) return new ChildResult(p.ExitCode, stdout.ToString(), stderr.ToString(), timedOut);
    }

    private static bool SameProgram(string process, string assembly) =>
        string.Equals(Path.ChangeExtension(process, null), Path.ChangeExtension(assembly, null), StringComparison.Ordinal);

    private static string DotnetHost(string process)
    {
        if (Path.GetFileNameWithoutExtension(process) is "dotnet") return process;
        string? root = Environment.GetEnvironmentVariable("DOTNET_ROOT");
        string candidate = root is null ? "" : Path.Combine(root, OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet");
        return File.Exists(candidate) ? candidate : "dotnet";
    }
}

/// <summary>A real native crash on demand, for the tests of crash isolation and of the self-check's fallback.</summary>
/// <remarks>Thread safety: static and stateless.</remarks>
internal static class NativeFault
{
    /// <summary>
    /// Calls libc div(1, 0): an integer division by zero in native code, a hardware SIGFPE exactly like oneDNN's in
    /// issue #9 (a raise(SIGFPE) from managed code is ignored by the .NET runtime, so it would prove nothing).
    /// </summary>
    public static void DivideByZero(int zero = 0) => _ = Divide(1, zero);

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "div")]
    private static extern long Divide(int numerator, int denominator);
}

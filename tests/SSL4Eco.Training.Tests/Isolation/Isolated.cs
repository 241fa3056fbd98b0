using System.Reflection;
using System.Text;
using SSL4Eco.Training.Native;
using Xunit.Sdk;

namespace SSL4Eco.Training.Tests.Isolation;

/// <summary>How an isolated scenario ended.</summary>
public sealed record IsolatedResult(int ExitCode, string? Signal, bool TimedOut, bool Passed, string? LastStep, string? Failure, string Stdout, string Stderr)
{
    /// <summary>One message for a failed test: the signal and the last step, or the child's own failure.</summary>
    public string Describe(string scenario)
    {
        if (TimedOut) return $"isolated scenario {scenario} timed out after step '{LastStep ?? "(none)"}'.\n{Tail(Stderr)}";
        if (Signal is not null)
            return $"isolated scenario {scenario} died with {Signal} (exit {ExitCode}) after step '{LastStep ?? "(none)"}'; the other tests are unaffected.\n{Tail(Stderr)}";
        if (Failure is not null) return $"isolated scenario {scenario} failed after step '{LastStep ?? "(none)"}':\n{Failure}";
        return $"isolated scenario {scenario} exited with {ExitCode} after step '{LastStep ?? "(none)"}'.\n{Tail(Stdout)}\n{Tail(Stderr)}";
    }

    /// <summary>Every step the child recorded, one a line.</summary>
    public string LastStepsText() => string.Join('\n', Stdout.Split('\n').Where(l => l.StartsWith(Isolated.Marker + "step ", StringComparison.Ordinal)));

    private static string Tail(string text) => text.Length <= 4000 ? text : text[^4000..];
}

/// <summary>
/// Runs libtorch work (forward, backward, fit, export) in a child process: the test assembly re-launched with
/// <c>dotnet exec</c> (see <see cref="Program"/>) runs one static scenario method, so a native crash (a signal such as
/// SIGFPE) fails only that test, with the signal and the last <see cref="Step"/> in its message (issue #9).
/// The child inherits the environment plus <see cref="TorchBackend.EnvironmentVariable"/>=off when a one-time
/// preflight found that libtorch's oneDNN convolutions crash on this machine.
/// </summary>
public static class Isolated
{
    internal const string Marker = "@@isolated ";
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(15);
    private static readonly Lazy<string?> MkldnnOverride = new(Preflight);

    /// <summary>A note when the preflight turned oneDNN off for the children (null otherwise).</summary>
    public static string? PreflightNote { get; private set; }

    /// <summary>Whether children run with oneDNN as libtorch chooses (the preflight found no crash).</summary>
    public static bool MkldnnUsable => MkldnnOverride.Value is null;

    /// <summary>Runs <paramref name="type"/>.<paramref name="scenario"/>(string[] args) in a child; throws a test failure unless it passes.</summary>
    public static void Run(Type type, string scenario, params string[] args)
    {
        var result = Invoke(type, scenario, null, args);
        if (!result.Passed) throw new XunitException(result.Describe(type.Name + "." + scenario) + (PreflightNote is null ? "" : "\n" + PreflightNote));
    }

    /// <summary>Runs the scenario in a child and returns how it ended, without asserting.</summary>
    public static IsolatedResult Invoke(Type type, string scenario, IDictionary<string, string>? environment, params string[] args)
    {
        string? mkldnn = MkldnnOverride.Value;
        return InvokeRaw(type, scenario, env =>
        {
            if (mkldnn is not null && !env.ContainsKey(TorchBackend.EnvironmentVariable)) env[TorchBackend.EnvironmentVariable] = mkldnn;
            foreach (var (k, v) in environment ?? new Dictionary<string, string>()) env[k] = v;
        }, args);
    }

    /// <summary>Child side: records the step the scenario is at (reported if it dies).</summary>
    public static void Step(string name)
    {
        Console.Out.WriteLine(Marker + "step " + name.ReplaceLineEndings(" "));
        Console.Out.Flush();
    }

    private static IsolatedResult InvokeRaw(Type type, string scenario, Action<IDictionary<string, string?>> environment, string[] args)
    {
        var psi = ChildProcess.Relaunch(typeof(Isolated).Assembly, new[] { "isolated", type.FullName!, scenario }.Concat(args));
        environment(psi.Environment);
        string? lastStep = null;
        var result = ChildProcess.Run(psi, Timeout, line =>
        {
            if (line.StartsWith(Marker + "step ", StringComparison.Ordinal)) lastStep = line[(Marker.Length + 5)..];
        });
        bool passed = result.ExitCode == 0 && result.Stdout.Contains(Marker + "ok", StringComparison.Ordinal);
        string? failure = null;
        int start = result.Stdout.IndexOf(Marker + "fail-begin", StringComparison.Ordinal);
        if (start >= 0)
        {
            int from = result.Stdout.IndexOf('\n', start) + 1, end = result.Stdout.IndexOf(Marker + "fail-end", from, StringComparison.Ordinal);
            failure = result.Stdout[from..(end < 0 ? result.Stdout.Length : end)].TrimEnd();
        }
        return new IsolatedResult(result.ExitCode, result.Signal, result.TimedOut, passed, lastStep, failure, result.Stdout, result.Stderr);
    }

    /// <summary>
    /// Once per test run: a one-step ResNet-50 check with oneDNN as auto chooses; when it dies with a signal and passes
    /// with oneDNN off, the children run with oneDNN off (what 'ssl4eco-train fit' does too).
    /// </summary>
    private static string? Preflight()
    {
        if (Environment.GetEnvironmentVariable(TorchBackend.EnvironmentVariable) is not null) return null;
        var auto = InvokeRaw(typeof(Isolated), nameof(SelfCheckScenario), _ => { }, []);
        if (auto.Passed || auto.Signal is null) return null;
        var off = InvokeRaw(typeof(Isolated), nameof(SelfCheckScenario), env => env[TorchBackend.EnvironmentVariable] = "off", []);
        if (!off.Passed) return null;
        PreflightNote = $"note: libtorch's oneDNN convolutions died with {auto.Signal} in the preflight; the isolated scenarios ran with {TorchBackend.EnvironmentVariable}=off.";
        return "off";
    }

    internal static void SelfCheckScenario(string[] args)
    {
        TorchBackend.EnsureConfigured();
        TorchBackend.SelfCheckStep(9, 64);
    }

    /// <summary>Child entry: runs the scenario, prints the markers, returns the exit code.</summary>
    internal static int ChildMain(string[] args)
    {
        try
        {
            var type = typeof(Isolated).Assembly.GetType(args[1], throwOnError: true)!;
            var method = type.GetMethod(args[2], BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic)
                ?? throw new MissingMethodException(type.FullName, args[2]);
            Step("start " + type.Name + "." + method.Name);
            method.Invoke(null, [args[3..]]);
            Console.Out.WriteLine(Marker + "ok");
            return 0;
        }
        catch (Exception e)
        {
            var inner = e is TargetInvocationException { InnerException: { } i } ? i : e;
            var text = new StringBuilder().AppendLine(Marker + "fail-begin").AppendLine(inner.ToString()).AppendLine(Marker + "fail-end");
            Console.Out.Write(text.ToString());
            return 1;
        }
        finally { Console.Out.Flush(); }
    }
}

using SSL4Eco.Training.Native;

namespace SSL4Eco.Training.Tests.Isolation;

/// <summary>Proves the isolated runner: a native crash in a child fails only that scenario, naming the signal and the last step.</summary>
public sealed class IsolationTests
{
    [Fact]
    public void A_child_that_raises_SIGFPE_is_reported_with_the_signal_and_the_last_step()
    {
        var result = Isolated.Invoke(typeof(IsolationTests), nameof(RaiseFloatingPointException), null);
        Assert.False(result.Passed);
        Assert.Equal("SIGFPE", result.Signal);
        Assert.Equal(128 + 8, result.ExitCode);
        Assert.Equal("about to raise SIGFPE", result.LastStep);
        var message = result.Describe("RaiseFloatingPointException");
        Assert.Contains("SIGFPE", message);
        Assert.Contains("about to raise SIGFPE", message);
        // ...and Run turns it into a failure of this one test carrying that message.
        var e = Assert.ThrowsAny<Exception>(() => Isolated.Run(typeof(IsolationTests), nameof(RaiseFloatingPointException)));
        Assert.Contains("died with SIGFPE", e.Message);
    }

    [Fact]
    public void A_failing_assertion_in_a_child_comes_back_as_the_failure_message()
    {
        var e = Assert.ThrowsAny<Exception>(() => Isolated.Run(typeof(IsolationTests), nameof(FailAnAssertion), "42"));
        Assert.Contains("failed after step 'checking 42'", e.Message);
        Assert.Contains("the child saw 42", e.Message);
        Assert.DoesNotContain("SIG", e.Message);
    }

    [Fact]
    public void A_passing_child_passes_and_gets_its_arguments()
    {
        using var dir = new SSL4Eco.Inference.Tests.Oracle.TempDir();
        Isolated.Run(typeof(IsolationTests), nameof(WriteArgument), dir.File("out.txt"), "hello");
        Assert.Equal("hello", File.ReadAllText(dir.File("out.txt")));
    }

    [Fact]
    public void Exit_codes_of_signals_are_named()
    {
        Assert.Equal("SIGFPE", ChildProcess.SignalName(136));
        Assert.Equal("SIGSEGV", ChildProcess.SignalName(139));
        Assert.Equal("SIGABRT", ChildProcess.SignalName(134));
        Assert.Null(ChildProcess.SignalName(1));
        Assert.Null(ChildProcess.SignalName(0));
    }

    internal static void RaiseFloatingPointException(string[] args)
    {
        Isolated.Step("about to raise SIGFPE");
        NativeFault.DivideByZero(args.Length);
        Isolated.Step("after dividing by zero (unreachable)");
    }

    internal static void FailAnAssertion(string[] args)
    {
        Isolated.Step("checking " + args[0]);
        Assert.Fail("the child saw " + args[0]);
    }

    internal static void WriteArgument(string[] args) => File.WriteAllText(args[0], args[1]);
}

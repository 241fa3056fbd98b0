using SSL4Eco.Training.Native;
using SSL4Eco.Training.Tests.Isolation;
using SSL4Eco.Training.Tests.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace SSL4Eco.Training.Tests.Native;

/// <summary>
/// The oneDNN switch of issue #9: with oneDNN off, convolution forward and backward no longer reach oneDNN (its verbose
/// log names no convolution primitive) and one SeCo step still equals PyTorch.
/// </summary>
public sealed class TorchBackendTests
{
    [Fact]
    public void Off_routes_convolution_backward_away_from_oneDNN()
    {
        var verbose = new Dictionary<string, string> { ["ONEDNN_VERBOSE"] = "1" };
        var off = Isolated.Invoke(typeof(TorchBackendTests), nameof(ResNetShapedConvolutions), verbose, "off");
        Assert.True(off.Passed, off.Describe("ResNetShapedConvolutions off"));
        Assert.DoesNotContain(OneDnnLines(off.Stdout), l => l.Contains("convolution", StringComparison.Ordinal));
        if (!Isolated.MkldnnUsable) return; // oneDNN crashes here; the preflight turned it off (see its note).
        var on = Isolated.Invoke(typeof(TorchBackendTests), nameof(ResNetShapedConvolutions), verbose, "on");
        Assert.True(on.Passed, on.Describe("ResNetShapedConvolutions on"));
        // The control: the same run with oneDNN on does log its convolution primitives, backward-data included.
        Assert.Contains(OneDnnLines(on.Stdout), l => l.Contains("convolution", StringComparison.Ordinal) && l.Contains("backward_data", StringComparison.Ordinal));
    }

    [Fact]
    public void One_step_with_oneDNN_off_still_matches_PyTorch()
    {
        var result = Isolated.Invoke(typeof(SeCoLossOracleTests), nameof(SeCoLossOracleTests.OneStep),
            new Dictionary<string, string> { [TorchBackend.EnvironmentVariable] = "off" });
        Assert.True(result.Passed, result.Describe("OneStep with oneDNN off"));
        Assert.Contains("oneDNN convolutions off", result.LastStepsText());
    }

    [Fact]
    public void Cpu_family_includes_the_extended_family()
    {
        Assert.Equal(0x1A, TorchBackend.Family(0x00B40F40)); // AMD Zen 5 (family 15 + extended 11)
        Assert.Equal(0x19, TorchBackend.Family(0x00A10F11)); // AMD Zen 4
        Assert.Equal(6, TorchBackend.Family(0x00050657));    // Intel Xeon (Cascade Lake)
    }

    [Theory]
    [InlineData("on", "On")]
    [InlineData("OFF", "Off")]
    [InlineData("auto", "Auto")]
    [InlineData("0", "Off")]
    [InlineData("true", "On")]
    public void Modes_parse(string text, string expected) => Assert.Equal(expected, TorchBackend.ParseMode(text)?.ToString());

    [Fact]
    public void An_unknown_environment_value_names_the_variable_and_the_choices()
    {
        var result = Isolated.Invoke(typeof(TorchBackendTests), nameof(ReadEnvironment), new Dictionary<string, string> { [TorchBackend.EnvironmentVariable] = "fast" });
        Assert.Contains("SSL4ECO_MKLDNN='fast' is not one of on, off, auto", result.Failure);
        Assert.Null(TorchBackend.ParseMode("fast"));
    }

    internal static void ReadEnvironment(string[] args) => TorchBackend.ModeFromEnvironment();

    /// <summary>Child: convolutions shaped like ResNet-50's (7×7/2, 1×1/2 projection, 3×3/2), forward and backward with input gradients.</summary>
    internal static void ResNetShapedConvolutions(string[] args)
    {
        torch.set_num_threads(2);
        TorchBackend.SetMkldnn(args[0] == "on");
        Assert.Equal(args[0] == "on", TorchBackend.MkldnnEnabled);
        using var scope = NewDisposeScope();
        torch.manual_seed(3);
        var x = randn(2, 9, 64, 64).requires_grad_(true);
        var w1 = randn(64, 9, 7, 7).requires_grad_(true);
        var w2 = randn(128, 64, 1, 1).requires_grad_(true);
        var w3 = randn(128, 64, 3, 3).requires_grad_(true);
        var y = nn.functional.conv2d(x, w1, strides: [2, 2], padding: [3, 3]);
        var z = nn.functional.conv2d(y, w2, strides: [2, 2]) + nn.functional.conv2d(y, w3, strides: [2, 2], padding: [1, 1]);
        Isolated.Step("convolution backward");
        z.pow(2).mean().backward();
        Assert.True(x.grad is not null && w2.grad is not null);
    }

    private static IEnumerable<string> OneDnnLines(string stdout) =>
        stdout.Split('\n').Where(l => l.StartsWith("onednn_verbose", StringComparison.Ordinal) && l.Contains(",exec,", StringComparison.Ordinal));
}

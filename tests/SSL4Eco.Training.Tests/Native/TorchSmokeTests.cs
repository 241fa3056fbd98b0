using SSL4Eco.Training.Tests.Isolation;
using TorchSharp;
using static TorchSharp.torch;

namespace SSL4Eco.Training.Tests.Native;

/// <summary>Proves that the native libtorch loads (after the build's libstdc++ fix where needed) and computes.</summary>
public sealed class TorchSmokeTests
{
    [Fact]
    public void RandnConvForwardBackwardWork() => Isolated.Run(typeof(TorchSmokeTests), nameof(ConvForwardBackward));

    internal static void ConvForwardBackward(string[] args)
    {
        torch.set_num_threads(2);
        using var scope = torch.NewDisposeScope();
        torch.manual_seed(1);
        var x = torch.randn(2, 3, 8, 8);
        var w = torch.randn(4, 3, 3, 3).requires_grad_(true);
        var y = torch.nn.functional.conv2d(x, w, padding: [1, 1]);
        Assert.Equal(new long[] { 2, 4, 8, 8 }, y.shape);
        var loss = y.pow(2).sum();
        Isolated.Step("conv2d backward");
        loss.backward();
        Assert.NotNull(w.grad);
        // d/dw sum(y^2) = 2 * sum(y * dy/dw); check against the autograd-free identity <grad, w> = 2 * sum(y^2) (y is linear in w).
        double lhs = (w.grad! * w).sum().item<float>();
        double rhs = 2 * loss.item<float>();
        Assert.Equal(rhs, lhs, rhs * 1e-4);
    }
}

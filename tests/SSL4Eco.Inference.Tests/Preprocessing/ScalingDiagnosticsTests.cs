using SSL4Eco.Inference.Arrays;
using SSL4Eco.Inference.Checkpoints;
using SSL4Eco.Inference.Models;
using SSL4Eco.Inference.Preprocessing;
using SSL4Eco.Inference.Registry;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Inference.Tests.Preprocessing;

/// <summary>
/// PyTorch sets bn1's running statistics to conv1's actual output statistics on patches scaled with a known divisor
/// (as training would); the diagnostic must then rank that divisor first.
/// </summary>
public sealed class ScalingDiagnosticsTests
{
    private const string Script = """
import torch, numpy as np, sys, os
import resnet_fixture
torch.set_num_threads(2)
out, divisor = sys.argv[1], float(sys.argv[2])
rng = np.random.default_rng(1)
refl = rng.uniform(100, 4000, size=(3, 12, 256, 256)).astype(np.float32)
b4, b8 = refl[:, 3], refl[:, 7]
ndvi = (b8 - b4) / (b8 + b4 + np.float32(1e-5)); ndvi[ndvi < 0] = 0
raw = np.concatenate([refl, (ndvi * 10000).astype(np.uint16)[:, None].astype(np.float32)], axis=1)
np.save(os.path.join(out, 'patches.npy'), raw)
m = resnet_fixture.build(9)
x = torch.from_numpy(raw[:, [1, 2, 3, 4, 5, 6, 7, 8, 12]] / divisor)[:, :, 16:240, 16:240].float()
with torch.no_grad():
    y = m.conv1(x)
    m.bn1.running_mean.copy_(y.mean(dim=(0, 2, 3)))
    m.bn1.running_var.copy_(y.var(dim=(0, 2, 3)))
torch.save(m.state_dict(), os.path.join(out, 'model.pth'))
""";

    [Theory]
    [InlineData(255.0)]
    [InlineData(10000.0)]
    public void TheDivisorTrainingSaw_RanksFirst(double trueDivisor)
    {
        using var dir = new TempDir();
        PythonOracle.Run(Script, dir.Path, trueDivisor.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var weights = CheckpointLayouts.ReadEncoder(dir.File("model.pth")).Weights;
        var (raw, shape) = NpyFile.ReadSingle(dir.File("patches.npy"));
        string[] bands = ["B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B11", "B12", "NDVI"];
        int per = shape[1] * shape[2] * shape[3];
        var patches = Enumerable.Range(0, shape[0]).Select(i => new Patch(bands, shape[2], shape[3], raw.AsSpan(i * per, per).ToArray())).ToList();
        var contract = WeightsRegistry.Default["seco-eco"].Contract;

        var fits = ScalingDiagnostics.Compare(weights, contract, patches, [new InputScaling(255), new InputScaling(10000)]);

        Assert.Equal(trueDivisor, fits[0].Scaling.Divisor);
        Assert.True(fits[0].LogVarianceRatio < 0.05, $"best fit log-variance ratio {fits[0].LogVarianceRatio}");
        Assert.True(fits[1].LogVarianceRatio > 5, $"wrong fit log-variance ratio {fits[1].LogVarianceRatio}");
    }

    [Fact]
    public void NoPatches_IsAClearError()
    {
        var weights = new ResNet50Weights(ResNet50Weights.ExpectedShapes(9).ToDictionary(kv => kv.Key,
            kv => new TensorData(kv.Value, new float[kv.Value.Aggregate(1, (a, b) => a * b)])));
        var e = Assert.Throws<ArgumentException>(() => ScalingDiagnostics.Compare(weights, WeightsRegistry.Default["seco-eco"].Contract, [], [new InputScaling(255)]));
        Assert.Contains("at least one patch", e.Message);
    }
}

using SSL4Eco.Inference.Arrays;
using SSL4Eco.Inference.Tests.Oracle;
using SSL4Eco.Training.Augmentation;

namespace SSL4Eco.Training.Tests.Augmentation;

public sealed class SeasonalAugmentationTests
{
    private static float[] Image(int c, int h, int w, int seed)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, c * h * w).Select(_ => (float)(r.NextDouble() * 3000)).ToArray();
    }

    [Fact]
    public void CropResizeMatchesTorchBilinear()
    {
        using var dir = new TempDir();
        var img = Image(2, 20, 24, 1);
        var ours = SeasonalAugmentation.ResizeWindow(img, 2, 20, 24, 3, 5, 11, 14, 16);
        NpyFile.Write(dir.File("x.npy"), img, 2, 20, 24);
        PythonOracle.Run("""
import sys, numpy as np, torch, torch.nn.functional as F
d = sys.argv[1]
x = torch.from_numpy(np.load(d + '/x.npy'))[None, :, 3:14, 5:19]
np.save(d + '/y.npy', F.interpolate(x, size=(16, 16), mode='bilinear', align_corners=False)[0].numpy())
""", dir.Path);
        var expected = NpyFile.ReadSingle(dir.File("y.npy")).Data;
        for (int i = 0; i < ours.Length; i++) Assert.Equal(expected[i], ours[i], 0.05f);
    }

    [Fact]
    public void BlurMatchesOpenCvReflectedGaussian()
    {
        using var dir = new TempDir();
        var img = Image(1, 17, 19, 2);
        var ours = (float[])img.Clone();
        SeasonalAugmentation.GaussianBlur(ours, 1, 17, 19, 1.3);
        NpyFile.Write(dir.File("x.npy"), img, 17, 19);
        PythonOracle.Run("""
import sys, numpy as np, cv2
d = sys.argv[1]
x = np.load(d + '/x.npy')
r = int(np.ceil(3 * 1.3))
np.save(d + '/y.npy', cv2.GaussianBlur(x, (2 * r + 1, 2 * r + 1), 1.3, borderType=cv2.BORDER_REFLECT).astype(np.float32))
""", dir.Path);
        var expected = NpyFile.ReadSingle(dir.File("y.npy")).Data;
        for (int i = 0; i < ours.Length; i++) Assert.Equal(expected[i], ours[i], 0.05f);
    }

    [Fact]
    public void CropWindowsRespectScaleAndRatio()
    {
        var aug = new SeasonalAugmentation();
        var rng = new DeterministicRandom(9);
        for (int i = 0; i < 500; i++)
        {
            var (top, left, h, w) = aug.SampleCrop(256, 256, ref rng);
            Assert.InRange(top, 0, 256 - h);
            Assert.InRange(left, 0, 256 - w);
            double area = h * w / (256.0 * 256.0);
            Assert.InRange(area, 0.19, 1.0);
            Assert.InRange(w / (double)h, 0.74, 1.36);
        }
    }

    [Fact]
    public void GrayscaleSetsEveryChannelToTheChannelMean()
    {
        var aug = new SeasonalAugmentation(new AugmentationOptions { ColorJitterProbability = 1, JitterFactor = (1, 1), GrayscaleProbability = 1, BlurProbability = 0, FlipProbability = 0 });
        var img = Image(3, 8, 8, 3);
        var copy = (float[])img.Clone();
        var rng = new DeterministicRandom(1);
        aug.Augment(copy, 3, 8, 8, ref rng);
        for (int p = 0; p < 64; p++)
        {
            float mean = (img[p] + img[64 + p] + img[128 + p]) / 3;
            Assert.Equal(mean, copy[p], 0.05f);
            Assert.Equal(copy[p], copy[128 + p]);
        }
    }
}

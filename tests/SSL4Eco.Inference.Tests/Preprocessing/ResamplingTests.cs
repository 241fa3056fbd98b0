using SSL4Eco.Inference.Arrays;
using SSL4Eco.Inference.Models;
using SSL4Eco.Inference.Preprocessing;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Inference.Tests.Preprocessing;

/// <summary>
/// Resampling against OpenCV (cv2.resize INTER_CUBIC), PyTorch (F.interpolate bilinear) and Python's round().
/// Inputs are random float32 DN in [0, 10000) written by numpy; the oracle's output is compared with ours.
/// Tolerance: both sides sum 4 (bilinear: 2x2) float32 products per pass in different orders/with or without FMA;
/// each pass can differ by a few ulp of the magnitude (ulp(10000) ~ 0.001), so 0.01 absolute (1e-6 relative) is
/// tight while leaving room for the summation order.
/// </summary>
public class ResamplingTests
{
    private const float Tolerance = 0.01f;

    private static float[] Read(TempDir dir, string name) => NpyFile.ReadSingle(dir.File(name)).Data;

    [Fact]
    public void CubicResize_matches_cv2_INTER_CUBIC()
    {
        using var dir = new TempDir();
        var sizes = new[] { (17, 23), (100, 100), (223, 224), (5, 3) };
        PythonOracle.Run("""
            import numpy as np, cv2, sys, os
            d = sys.argv[1]
            rng = np.random.default_rng(7)
            for h, w in [(17, 23), (100, 100), (223, 224), (5, 3)]:
                a = (rng.random((h, w)) * 10000).astype(np.float32)
                np.save(os.path.join(d, f'in_{h}x{w}.npy'), a)
                np.save(os.path.join(d, f'out_{h}x{w}.npy'), cv2.resize(a, (224, 224), interpolation=cv2.INTER_CUBIC))
            """, dir.Path);
        foreach (var (h, w) in sizes)
        {
            var input = Read(dir, $"in_{h}x{w}.npy");
            var expected = Read(dir, $"out_{h}x{w}.npy");
            var actual = new float[224 * 224];
            Resampling.CubicResize(input, h, w, actual, 224, 224);
            AssertClose(expected, actual, Tolerance, $"{h}x{w}");
        }
    }

    [Fact]
    public void BilinearResize_matches_torch_interpolate()
    {
        using var dir = new TempDir();
        var sizes = new[] { (17, 23), (256, 256), (300, 200), (224, 224) };
        PythonOracle.Run("""
            import numpy as np, torch, sys, os
            torch.set_num_threads(2)
            import torch.nn.functional as F
            d = sys.argv[1]
            rng = np.random.default_rng(11)
            for h, w in [(17, 23), (256, 256), (300, 200), (224, 224)]:
                a = (rng.random((h, w)) * 10000).astype(np.float32)
                np.save(os.path.join(d, f'in_{h}x{w}.npy'), a)
                t = F.interpolate(torch.from_numpy(a)[None, None], size=(224, 224), mode='bilinear', align_corners=False, antialias=False)
                np.save(os.path.join(d, f'out_{h}x{w}.npy'), t[0, 0].numpy())
            """, dir.Path);
        foreach (var (h, w) in sizes)
        {
            var input = Read(dir, $"in_{h}x{w}.npy");
            var expected = Read(dir, $"out_{h}x{w}.npy");
            var actual = new float[224 * 224];
            Resampling.BilinearResize(input, h, w, actual, 224, 224);
            AssertClose(expected, actual, Tolerance, $"{h}x{w}");
        }
    }

    [Fact]
    public void CenterCropOffset_matches_python_round_half_to_even()
    {
        var sizes = new[] { 224, 225, 226, 227, 228, 229, 256, 300, 301 };
        var output = PythonOracle.Run("import sys\nprint(' '.join(str(int(round((int(s) - 224) / 2.))) for s in sys.argv[1:]))",
            sizes.Select(s => s.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray());
        var expected = output.Trim().Split(' ').Select(int.Parse).ToArray();
        Assert.Equal(expected, sizes.Select(s => Resampling.CenterCropOffset(s, 224)).ToArray());
    }

    [Fact]
    public void Official_policy_matches_cvtransforms_Resize_then_CenterCrop()
    {
        // The official pipeline for small patches: cvtransforms.Resize(224) (short side to 224, long side
        // int(224 * long / short), cv2 INTER_CUBIC), here followed by the centre crop (round half-to-even).
        // For large ones: CenterCrop(224). Sizes cover both, mixed and non-square cases.
        using var dir = new TempDir();
        var sizes = new[] { (17, 23), (223, 224), (300, 100), (227, 256), (225, 225) };
        PythonOracle.Run("""
            import numpy as np, cv2, sys, os
            d = sys.argv[1]
            S = 224
            rng = np.random.default_rng(3)
            def crop(a):
                h, w = a.shape[:2]
                i, j = int(round((h - S) / 2.)), int(round((w - S) / 2.))
                return a[i:i + S, j:j + S]
            for h, w in [(17, 23), (223, 224), (300, 100), (227, 256), (225, 225)]:
                a = (rng.random((h, w, 2)) * 10000).astype(np.float32)
                if h < S or w < S:
                    if w < h: ow, oh = S, int(S * h / w)
                    else: oh, ow = S, int(S * w / h)
                    a2 = cv2.resize(a, dsize=(ow, oh), interpolation=cv2.INTER_CUBIC)
                else:
                    a2 = a
                np.save(os.path.join(d, f'in_{h}x{w}.npy'), np.ascontiguousarray(a.transpose(2, 0, 1)))
                np.save(os.path.join(d, f'out_{h}x{w}.npy'), np.ascontiguousarray(crop(a2).transpose(2, 0, 1)))
            """, dir.Path);
        var contract = new ModelContract
        {
            Bands = ["B2", "B3"], Scaling = new InputScaling(1), Spatial = SpatialPolicy.CenterCropOrBicubicUpscale,
            InputSize = 224, EmbeddingDim = 4,
        };
        var pre = new PatchPreprocessor(contract, new PreprocessingOptions { Harmonize = HarmonizeMode.Off });
        foreach (var (h, w) in sizes)
        {
            var patch = new Patch(["B2", "B3"], h, w, Read(dir, $"in_{h}x{w}.npy"));
            AssertClose(Read(dir, $"out_{h}x{w}.npy"), pre.Preprocess(patch), Tolerance, $"{h}x{w}");
        }
    }

    internal static void AssertClose(float[] expected, ReadOnlySpan<float> actual, float tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        float worst = 0; int at = -1;
        for (int i = 0; i < expected.Length; i++)
        {
            float diff = Math.Abs(expected[i] - actual[i]);
            if (!(diff <= worst)) { worst = diff; at = i; }
        }
        Assert.True(worst <= tolerance, $"{what}: max abs diff {worst} at {at} (expected {(at >= 0 ? expected[at] : 0)}, got {(at >= 0 ? actual[at] : 0)}) exceeds {tolerance}.");
    }
}

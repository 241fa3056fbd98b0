using System.Numerics.Tensors;
using SSL4Eco.Inference.Numerics;
using SSL4Eco.Inference.Preprocessing;

namespace SSL4Eco.Inference.Tests.Preprocessing;

/// <summary>
/// The single-pass preprocessing kernels (<see cref="BandKernels"/>) against the multi-pass code they replaced in
/// <see cref="PatchPreprocessor"/> (kept here verbatim as the reference): bit-identical outputs and the same first
/// non-finite position, on random digital numbers, odd sizes (vector tails), every kind of non-finite value at every
/// position class, and the offset/divisor cases that skip a pass.
/// </summary>
public class BandKernelsTests
{
    /// <summary>The screen PatchPreprocessor used before: a sum and a max-magnitude, then a scalar search.</summary>
    private static int OldIndexOfNonFinite(ReadOnlySpan<float> values)
    {
        if (float.IsFinite(TensorPrimitives.Sum(values)) && float.IsFinite(TensorPrimitives.MaxMagnitude(values)))
            return -1;
        for (int i = 0; i < values.Length; i++)
            if (!float.IsFinite(values[i])) return i;
        return -1;
    }

    /// <summary>The crop-then-scale passes PatchPreprocessor used before (Resampling.CenterCrop, then Scale).</summary>
    private static void OldCropScale(ReadOnlySpan<float> band, int h, int w, Span<float> dst, int s, double offset, double divisor)
    {
        Resampling.CenterCrop(band, h, w, dst, s, s);
        if (offset != 0) TensorPrimitives.Subtract(dst, (float)offset, dst);
        if (divisor != 1) TensorPrimitives.Divide(dst, (float)divisor, dst);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(17)]
    [InlineData(255)]
    [InlineData(224 * 224)]
    [InlineData(300 * 257)]
    public void IndexOfNonFinite_matches_the_old_screen_for_every_kind_and_place_of_bad_value(int length)
    {
        var rng = new Random(length + 1);
        var values = new float[length];
        for (int i = 0; i < length; i++) values[i] = (float)(rng.NextDouble() * 20000 - 1000);
        Assert.Equal(-1, BandKernels.IndexOfNonFinite(values));
        if (length == 0) return; // the old screen threw on an empty span (TensorPrimitives.MaxMagnitude); no patch band is empty
        Assert.Equal(OldIndexOfNonFinite(values), BandKernels.IndexOfNonFinite(values));
        // Largest finite magnitudes: the old screen's sum overflows here and falls back to its loop; both still say "none".
        Array.Fill(values, float.MaxValue);
        values[0] = -float.MaxValue;
        Assert.Equal(-1, BandKernels.IndexOfNonFinite(values));
        Assert.Equal(OldIndexOfNonFinite(values), BandKernels.IndexOfNonFinite(values));
        var places = new[] { 0, length / 2, length - 1, Math.Max(0, length - 17) }.Distinct();
        foreach (var bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity, BitConverter.UInt32BitsToSingle(0xFFC0_0001) })
            foreach (int at in places)
            {
                for (int i = 0; i < length; i++) values[i] = (float)(rng.NextDouble() * 10000);
                values[at] = bad;
                if (at + 1 < length) values[length - 1] = float.NaN; // a later bad value must not hide the first
                Assert.Equal(at, BandKernels.IndexOfNonFinite(values));
                Assert.Equal(OldIndexOfNonFinite(values), BandKernels.IndexOfNonFinite(values));
            }
    }

    [Theory]
    [InlineData(224, 224, 224, 0.0, 255.0)]
    [InlineData(256, 256, 224, 0.0, 255.0)]
    [InlineData(300, 257, 224, 1000.0, 10000.0)]
    [InlineData(257, 300, 224, -3.5, 1.0)]
    [InlineData(231, 240, 224, 0.0, 1.0)]
    [InlineData(33, 40, 13, 0.25, 3.0)]
    [InlineData(264, 264, 224, 1e-50, 1.0000000000001)] // offsets/divisors that are 0/1 only in float32
    public void CenterCropScaled_is_bit_identical_to_crop_then_scale(int h, int w, int s, double offset, double divisor)
    {
        var rng = new Random(h * 1000 + w);
        var band = new float[h * w];
        for (int i = 0; i < band.Length; i++) band[i] = (float)Math.Round(rng.NextDouble() * 12000) * (i % 7 == 0 ? -1 : 1);
        band[0] = -0f;
        var expected = new float[s * s];
        var actual = new float[s * s];
        OldCropScale(band, h, w, expected, s, offset, divisor);
        BandKernels.CenterCropScaled(band, h, w, actual, s, s, (float)offset, (float)divisor);
        Assert.Equal(expected.Select(BitConverter.SingleToUInt32Bits), actual.Select(BitConverter.SingleToUInt32Bits));
    }

    [Fact]
    public void Preprocess_output_is_unchanged_by_the_fused_kernels()
    {
        // The whole preprocessor (crop path, NDVI derived) against the old passes, channel by channel.
        var contract = SSL4Eco.Inference.Registry.WeightsRegistry.Default.Entries.Single(e => e.Id == "seco-eco").Contract;
        var pre = new PatchPreprocessor(contract);
        int h = 260, w = 251, s = contract.InputSize;
        string[] names = ["B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A"];
        var rng = new Random(9);
        var data = new float[names.Length * h * w];
        for (int i = 0; i < data.Length; i++) data[i] = rng.Next(1, 9000);
        var patch = new Patch(names, h, w, data);
        var actual = pre.Preprocess(patch);
        var ndviRed = data.AsSpan(2 * h * w, h * w).ToArray();
        var ndvi = new float[h * w];
        PatchPreprocessor.ComputeNdvi(ndviRed, data.AsSpan(6 * h * w, h * w), ndvi);
        for (int c = 0; c < contract.Channels; c++)
        {
            int bi = Array.IndexOf(names, contract.Bands[c]);
            var band = bi >= 0 ? data.AsSpan(bi * h * w, h * w) : ndvi;
            var expected = new float[s * s];
            OldCropScale(band, h, w, expected, s, pre.Scaling.Offset, pre.Scaling.Divisor);
            Assert.Equal(expected.Select(BitConverter.SingleToUInt32Bits), actual.AsSpan(c * s * s, s * s).ToArray().Select(BitConverter.SingleToUInt32Bits));
        }
    }
}

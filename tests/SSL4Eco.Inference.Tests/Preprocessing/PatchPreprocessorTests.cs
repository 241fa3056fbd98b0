using SSL4Eco.Inference.Arrays;
using SSL4Eco.Inference.Models;
using SSL4Eco.Inference.Preprocessing;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Inference.Tests.Preprocessing;

public class PatchPreprocessorTests
{
    private static readonly string[] SecoEcoBands = ["B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "NDVI"];

    private static ModelContract Contract(IReadOnlyList<string> bands, int size = 16, double divisor = 255,
        SpatialPolicy spatial = SpatialPolicy.CenterCropOrBicubicUpscale) => new()
    {
        Bands = bands, Scaling = new InputScaling(divisor), Spatial = spatial, InputSize = size, EmbeddingDim = 4,
    };

    private static Patch RandomPatch(IReadOnlyList<string> bands, int h, int w, int seed, double? baseline = null)
    {
        var rng = new Random(seed);
        var data = new float[bands.Count * h * w];
        for (int i = 0; i < data.Length; i++) data[i] = rng.Next(0, 12000);
        return new Patch(bands, h, w, data) { ProcessingBaseline = baseline };
    }

    /// <summary>
    /// NDVI, harmonisation and scaling against numpy float32 exactly as SPEC.md / download_ssl4eco.py: the same IEEE
    /// float32 operations in the same order (no fused multiply-add on either side), so the result must be identical.
    /// The patch is larger than the input size so the centre crop (half-to-even offsets) is exercised too.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Ndvi_harmonisation_and_scaling_match_numpy(bool harmonize)
    {
        using var dir = new TempDir();
        const int h = 21, w = 19, s = 16;
        var patch = RandomPatch(["B8", "B4", "B3"], h, w, 5, harmonize ? 4.0 : 2.11);
        // Edge cases: both zero, equal, B8 < B4, values under the 1000 offset.
        patch.Data[0] = 0; patch.Data[h * w] = 0;
        patch.Data[1] = 500; patch.Data[h * w + 1] = 500;
        patch.Data[2] = 100; patch.Data[h * w + 2] = 9000;
        patch.Data[3] = 1001; patch.Data[h * w + 3] = 999;
        NpyFile.Write(dir.File("in.npy"), patch.Data, 3, h, w);
        PythonOracle.Run("""
            import numpy as np, sys, os
            d, harm = sys.argv[1], sys.argv[2] == '1'
            a = np.load(os.path.join(d, 'in.npy')).astype(np.float32)
            b8, b4, b3 = a[0], a[1], a[2]
            if harm:
                b8, b4, b3 = [np.maximum(x - np.float32(1000), np.float32(0)) for x in (b8, b4, b3)]
            nir, red = b8.astype(np.float32), b4.astype(np.float32)
            ndvi = (nir - red) / (nir + red + 0.00001)
            ndvi[ndvi < 0] = 0
            ndvi = (ndvi * 10000).astype(np.uint16).astype(np.float32)
            x = np.stack([b3, b4, ndvi])
            i, j = int(round((x.shape[1] - 16) / 2.)), int(round((x.shape[2] - 16) / 2.))
            x = x[:, i:i + 16, j:j + 16] / np.float32(255)
            np.save(os.path.join(d, 'out.npy'), np.ascontiguousarray(x.astype(np.float32)))
            """, dir.Path, harmonize ? "1" : "0");
        var pre = new PatchPreprocessor(Contract(["B3", "B4", "NDVI"], s), new PreprocessingOptions { Harmonize = HarmonizeMode.Auto });
        Assert.Equal(harmonize, pre.HarmonizesPatch(patch));
        var expected = NpyFile.ReadSingle(dir.File("out.npy")).Data;
        Assert.Equal(expected, pre.Preprocess(patch));
    }

    [Fact]
    public void Bands_are_selected_by_name_whatever_the_order_and_spelling()
    {
        var canonical = RandomPatch(SecoEcoBands, 20, 18, 1);
        int plane = 20 * 18;
        // Shuffle: reversed order, zero-padded / lower-case names, plus bands the model does not use.
        string[] names = ["SCL", "ndvi", "b8a", "B08", "B07", "B06", "B05", "B04", "B03", "B02", "B1"];
        int[] source = [-1, 8, 7, 6, 5, 4, 3, 2, 1, 0, -1];
        var data = new float[names.Length * plane];
        for (int i = 0; i < names.Length; i++)
            if (source[i] >= 0) canonical.Band(source[i]).CopyTo(data.AsSpan(i * plane, plane));
            else Array.Fill(data, 12345f, i * plane, plane);
        var shuffled = new Patch(names, 20, 18, data);
        var pre = new PatchPreprocessor(Contract(SecoEcoBands));
        Assert.Equal(pre.Preprocess(canonical), pre.Preprocess(shuffled));
    }

    /// <summary>Property: any permutation of the patch's bands (with an unused band mixed in) gives identical input.</summary>
    [FsCheck.Xunit.Property(MaxTest = 25)]
    public bool Any_band_permutation_gives_the_same_input(int seed)
    {
        string[] names = [.. SecoEcoBands[..8], "B11"];
        var patch = RandomPatch(names, 17, 16, seed);
        var order = Enumerable.Range(0, names.Length).ToArray();
        new Random(seed).Shuffle(order);
        int plane = 17 * 16;
        var data = new float[patch.Data.Length];
        for (int i = 0; i < order.Length; i++) patch.Band(order[i]).CopyTo(data.AsSpan(i * plane, plane));
        var shuffled = new Patch(order.Select(i => names[i]).ToArray(), 17, 16, data);
        var pre = new PatchPreprocessor(Contract(SecoEcoBands));
        return pre.Preprocess(patch).AsSpan().SequenceEqual(pre.Preprocess(shuffled));
    }

    [Theory]
    [InlineData("B08", "B8")]
    [InlineData("b8a", "B8A")]
    [InlineData("B02", "B2")]
    [InlineData(" ndvi ", "NDVI")]
    [InlineData("B10", "B10")]
    public void Band_names_are_canonicalised(string name, string expected) => Assert.Equal(expected, BandName.Canonical(name));

    [Fact]
    public void Harmonisation_follows_the_mode_and_leaves_ndvi_untouched()
    {
        var contract = Contract(["B4", "NDVI"], 8, 1);
        var data = new float[2 * 64];
        Array.Fill(data, 1500f, 0, 64);
        Array.Fill(data, 7000f, 64, 64);
        data[0] = 400; // below the offset → clamped at 0
        Patch Make(double? baseline) => new(["B4", "NDVI"], 8, 8, data) { ProcessingBaseline = baseline };

        var on = new PatchPreprocessor(contract, new PreprocessingOptions { Harmonize = HarmonizeMode.On }).Preprocess(Make(null));
        Assert.Equal(0f, on[0]);
        Assert.Equal(500f, on[1]);
        Assert.Equal(7000f, on[64]);
        var off = new PatchPreprocessor(contract, new PreprocessingOptions { Harmonize = HarmonizeMode.Off }).Preprocess(Make(5.0));
        Assert.Equal(data, off);
        var auto = new PatchPreprocessor(contract);
        Assert.Equal(on, auto.Preprocess(Make(4.0)));
        Assert.Equal(off, auto.Preprocess(Make(3.99)));
        Assert.Equal(off, auto.Preprocess(Make(null)));
    }

    [Fact]
    public void Scaling_override_replaces_the_contract_scaling()
    {
        var patch = RandomPatch(["B2"], 8, 8, 2);
        var pre = new PatchPreprocessor(Contract(["B2"], 8, 255), new PreprocessingOptions { ScalingOverride = new InputScaling(10000, 100) });
        var x = pre.Preprocess(patch);
        for (int i = 0; i < x.Length; i++) Assert.Equal((patch.Data[i] - 100f) / 10000f, x[i]);
    }

    [Fact]
    public void Missing_band_names_it_and_lists_what_the_patch_has()
    {
        var pre = new PatchPreprocessor(Contract(SecoEcoBands));
        var patch = RandomPatch(["B2", "B3", "B4", "B5", "B6", "B7", "B8", "NDVI"], 16, 16, 3);
        var e = Assert.Throws<ArgumentException>(() => pre.Preprocess(patch));
        Assert.Contains("'B8A'", e.Message);
        Assert.Contains("B2, B3, B4, B5, B6, B7, B8, NDVI", e.Message);
    }

    [Fact]
    public void Ndvi_that_cannot_be_derived_says_why()
    {
        var pre = new PatchPreprocessor(Contract(["B2", "NDVI"]));
        var e = Assert.Throws<ArgumentException>(() => pre.Preprocess(RandomPatch(["B2", "B4"], 16, 16, 3)));
        Assert.Contains("NDVI needs B4 and B8", e.Message);
    }

    [Fact]
    public void NaN_or_infinity_in_a_used_band_names_band_and_position()
    {
        var pre = new PatchPreprocessor(Contract(["B2", "NDVI"]));
        var patch = RandomPatch(["B2", "B4", "B8", "B11"], 16, 16, 3);
        patch.Data[3 * 256 + 5] = float.NaN; // unused band: ignored
        pre.Preprocess(patch);
        patch.Data[2 * 256 + 3 * 16 + 7] = float.PositiveInfinity; // B8, used for NDVI
        var e = Assert.Throws<ArgumentException>(() => pre.Preprocess(patch));
        Assert.Contains("'B8'", e.Message);
        Assert.Contains("row 3, column 7", e.Message);
    }

    [Fact]
    public void Size_and_destination_errors_are_clear()
    {
        var pre = new PatchPreprocessor(Contract(["B2"], 16), new PreprocessingOptions { MinimumPatchSide = 4 });
        var e = Assert.Throws<ArgumentException>(() => pre.Preprocess(RandomPatch(["B2"], 3, 40, 1)));
        Assert.Contains("3x40", e.Message);
        Assert.Throws<ArgumentException>(() => pre.Preprocess(RandomPatch(["B2"], 16, 16, 1), new float[10]));
        Assert.Throws<ArgumentException>(() => new PreprocessingOptions { MinimumPatchSide = 0 }.Validate());
        var dup = new Patch(["B2", "B02"], 16, 16, new float[512]);
        Assert.Contains("twice", Assert.Throws<ArgumentException>(() => pre.Preprocess(dup)).Message);
    }

    [Fact]
    public void Fills_a_batch_in_place_by_slices()
    {
        var pre = new PatchPreprocessor(Contract(SecoEcoBands, 16));
        var a = RandomPatch(SecoEcoBands, 30, 16, 1);
        var b = RandomPatch(SecoEcoBands, 10, 12, 2);
        var batch = new float[2 * pre.ValuesPerPatch];
        pre.Preprocess(a, batch.AsSpan(0, pre.ValuesPerPatch));
        pre.Preprocess(b, batch.AsSpan(pre.ValuesPerPatch));
        Assert.Equal(pre.Preprocess(a), batch[..pre.ValuesPerPatch]);
        Assert.Equal(pre.Preprocess(b), batch[pre.ValuesPerPatch..]);
    }

    [Fact]
    public void Upscaled_size_follows_cvtransforms_Resize()
    {
        Assert.Equal((224, 303), InputRecipe.UpscaledSize(17, 23, 224));
        Assert.Equal((672, 224), InputRecipe.UpscaledSize(300, 100, 224));
        Assert.Equal((224, 224), InputRecipe.UpscaledSize(100, 100, 224));
    }
}

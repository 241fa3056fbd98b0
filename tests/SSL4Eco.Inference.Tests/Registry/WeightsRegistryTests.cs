using SSL4Eco.Inference.Models;
using SSL4Eco.Inference.Registry;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Inference.Tests.Registry;

public sealed class WeightsRegistryTests
{
    [Fact]
    public void Default_registry_holds_the_three_spec_entries()
    {
        var r = WeightsRegistry.Default;
        Assert.Equal(["seco-eco", "torchgeo-seco-eco-ndvi", "torchgeo-seco-eco"], r.Entries.Select(e => e.Id));
        var official = r["seco-eco"];
        Assert.Equal(["B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "NDVI"], official.Contract.Bands);
        Assert.Equal(255, official.Contract.Scaling.Divisor);
        Assert.Equal(SpatialPolicy.CenterCropOrBicubicUpscale, official.Contract.Spatial);
        Assert.Equal("seco-eco", official.Contract.ModelId);
        Assert.Equal(12, r["torchgeo-seco-eco"].Contract.Channels);
        Assert.Equal(10000, r["TorchGeo-SeCo-Eco-NDVI"].Contract.Scaling.Divisor);
        Assert.Equal("65292b83", r["torchgeo-seco-eco-ndvi"].Sha256Prefix);
        Assert.Equal("90ec322f", r["torchgeo-seco-eco"].Sha256Prefix);
        foreach (var e in r.Entries)
        {
            Assert.EndsWith(e.FileName, e.Url.AbsolutePath);
            Assert.Contains("2504.18256", e.Citation);
            e.Contract.Validate();
            // the torch.hub convention: the 8 hex digits in the file name are the hash prefix
            if (e.Sha256Prefix is { } p) Assert.Contains("-" + p + ".pth", e.FileName);
        }
    }

    [Fact]
    public void Unknown_id_lists_the_known_ones()
    {
        var e = Assert.Throws<KeyNotFoundException>(() => WeightsRegistry.Default["nope"]);
        Assert.Contains("seco-eco", e.Message);
    }

    [Fact]
    public void Load_reads_a_registry_file_and_names_bad_fields()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("ok.json"), """
            {"models":[{"id":"m","url":"https://x.org/a/m.pth","bands":["B4","B8"],"scaling":{"divisor":10000},"spatial":"bilinear_resize"}]}
            """);
        var m = WeightsRegistry.Load(dir.File("ok.json"))["m"];
        Assert.Equal("m.pth", m.FileName);
        Assert.Equal(2, m.Contract.Channels);
        File.WriteAllText(dir.File("bad.json"), """
            {"models":[{"id":"m","url":"https://x.org/m.pth","bands":["B4"],"scaling":{"divisor":0},"spatial":"bilinear_resize"}]}
            """);
        var e = Assert.Throws<WeightsRegistryException>(() => WeightsRegistry.Load(dir.File("bad.json")));
        Assert.Contains("models[0] ('m')", e.Message);
        Assert.Contains("divisor", e.Message);
        File.WriteAllText(dir.File("bad2.json"), """{"models":[{"id":"m","url":"https://x.org/m.pth","sha256":"abc","bands":["B4"],"scaling":{"divisor":1},"spatial":"bilinear_resize"}]}""");
        Assert.Contains("sha256", Assert.Throws<WeightsRegistryException>(() => WeightsRegistry.Load(dir.File("bad2.json"))).Message);
    }

    [Fact]
    public void Default_cache_directory_follows_the_environment()
    {
        // Only checks the pure-path rules without mutating the process environment.
        var d = WeightsCache.DefaultCacheDirectory();
        var env = Environment.GetEnvironmentVariable(WeightsCache.CacheEnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(env)) Assert.Equal(env, d);
        else Assert.EndsWith("ssl4eco", d);
    }
}

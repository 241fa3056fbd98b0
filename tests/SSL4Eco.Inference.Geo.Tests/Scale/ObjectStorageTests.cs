using SSL4Eco.Gdal;
using SSL4Eco.Inference.Geo.Pipeline;
using SSL4Eco.Inference.Geo.Scale;
using SSL4Eco.Inference.Geo.Tests.Pipeline;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Inference.Geo.Tests.Scale;

/// <summary>
/// Object storage for real: a local s3rver reached through GDAL's /vsis3/ (AWS_S3_ENDPOINT, AWS_HTTPS=NO,
/// AWS_VIRTUAL_HOSTING=FALSE as environment variables, which GDAL reads as configuration options, and which the python
/// oracle inherits). One server per test; tests of this class run one at a time (the variables are process-wide).
/// </summary>
[Collection(nameof(ObjectStorageTests))]
[CollectionDefinition(nameof(ObjectStorageTests), DisableParallelization = true)]
public sealed class ObjectStorageTests
{
    private static S3rver Start()
    {
        var server = new S3rver();
        // .NET keeps its own copy of the environment on Unix (GDAL does not see it): GDAL gets configuration options, the python oracle the variables.
        foreach (var (k, v) in server.Environment)
        {
            Environment.SetEnvironmentVariable(k, v);
            GdalVsi.SetConfigOption(k, v);
        }
        GdalVsi.ClearCache();
        return server;
    }

    [S3Fact]
    public async Task Inputs_read_and_outputs_written_through_vsis3_merge_to_the_local_single_run()
    {
        using var server = Start();
        using var dir = new TempDir();
        PythonOracle.Run(EmbeddingMapperTests.MakeRaster, dir.File("in.tif"), "200", "160");
        using (var f = File.OpenRead(dir.File("in.tif"))) GdalVsi.Write("/vsis3/bkt/in/in.tif", f, CancellationToken.None);
        var options = new ScaleMapOptions { TileSize = 64, Stride = 32 };
        var model = new FeatureModel("B2", "B3", "B4");
        await EmbeddingMapper.RunAsync(new MapRequest { InputPath = dir.File("in.tif"), OutputPrefix = dir.File("single"), TileSize = 64, Stride = 32 }, model);
        var manifest = ScalePlanner.Plan(["s3://bkt/in/in.tif"], "s3://bkt/run", "feature-test", ShardRunner.RecipeSha256(model), 64, options, blockTiles: 2);
        Assert.Equal("/vsis3/bkt/in/in.tif", manifest.Units[0].Input);
        foreach (var i in new[] { 0, 1, 0 })
            await ShardRunner.RunAsync(manifest, new ShardSpec(i, 2), new FeatureModel("B2", "B3", "B4"), dir.File("work"));
        var merged = await ProductMerger.MergeAsync(manifest, null, dir.File("work"));
        Assert.Equal("/vsis3/bkt/run/product/mosaic.vrt", merged.Vrt);
        Assert.Equal("True", PythonOracle.Run("""
from osgeo import gdal
import numpy as np, sys
a = gdal.Open(sys.argv[1]); b = gdal.Open(sys.argv[2])
print(a.GetGeoTransform() == b.GetGeoTransform() and np.array_equal(a.ReadAsArray(), b.ReadAsArray()))
""", dir.File("single.tif"), merged.Vrt).Trim());
        var keys = server.Keys();
        Assert.Equal(manifest.Units.Count * 3, keys.Count(k => k.StartsWith("run/units/", StringComparison.Ordinal)));
        Assert.Contains("run/product/collection.json", keys);
        Assert.Contains($"run/product/parquet/{ProductMerger.PartitionPath(manifest.Units[0])}", keys);
        Assert.DoesNotContain(keys, k => k.Contains("partial", StringComparison.Ordinal));
    }

    [S3Fact]
    public void An_interrupted_upload_leaves_no_visible_final_object_and_no_temporary()
    {
        using var server = Start();
        using var cts = new CancellationTokenSource();
        var payload = new byte[3 << 20];
        new Random(5).NextBytes(payload);
        using (var failing = new FailingStream(payload, failAfter: 1 << 20, () => throw new IOException("connection reset")))
            Assert.Throws<IOException>(() => UnitStore.CommitObject(failing, "/vsis3/bkt/run/units/x.tif", CancellationToken.None));
        using (var cancelled = new FailingStream(payload, failAfter: 1 << 20, cts.Cancel))
            Assert.Throws<OperationCanceledException>(() => UnitStore.CommitObject(cancelled, "/vsis3/bkt/run/units/y.tif", cts.Token));
        GdalVsi.ClearCache();
        Assert.False(GdalVsi.Exists("/vsis3/bkt/run/units/x.tif"));
        Assert.False(GdalVsi.Exists("/vsis3/bkt/run/units/y.tif"));
        Assert.Empty(server.Keys());
        // The same commit, not interrupted, appears whole; a retry replaces it with the same bytes.
        for (int i = 0; i < 2; i++)
            using (var ok = new MemoryStream(payload)) UnitStore.CommitObject(ok, "/vsis3/bkt/run/units/x.tif", CancellationToken.None);
        Assert.Equal(["run/units/x.tif"], server.Keys());
        Assert.Equal(payload, GdalVsi.ReadAllBytes("/vsis3/bkt/run/units/x.tif"));
    }

    [S3Fact]
    public void Errors_never_print_signatures_or_keys()
    {
        using var server = Start();
        Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY");
        GdalVsi.SetConfigOption("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY");
        try
        {
            var url = $"/vsicurl/http://127.0.0.1:{server.Port}/bkt/missing.json?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20260101&X-Amz-Signature=0123456789abcdefsecret";
            var e = Assert.Throws<IOException>(() => GdalVsi.ReadAllBytes(url));
            Assert.Contains("missing.json", e.Message);
            Assert.DoesNotContain("0123456789abcdefsecret", e.Message);
            Assert.DoesNotContain("AKIAEXAMPLE", e.Message);
            var load = Assert.ThrowsAny<Exception>(() => WorkManifest.Load("/vsis3/bkt/none/manifest.json"));
            Assert.DoesNotContain("wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY", load.Message);
            Assert.DoesNotContain("secret", GdalVsi.Redact("GET https://b.s3.amazonaws.com/k?X-Amz-Signature=secret failed; AccountKey=secret; sig=secret"), StringComparison.Ordinal);
            Assert.Equal("key wJal… [redacted] here", GdalVsi.Redact("key wJal… wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY here"));
        }
        finally
        {
            Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", "S3RVER");
            GdalVsi.SetConfigOption("AWS_SECRET_ACCESS_KEY", "S3RVER");
        }
    }

    /// <summary>Yields <paramref name="data"/>, and calls <paramref name="fail"/> once <paramref name="failAfter"/> bytes were read.</summary>
    private sealed class FailingStream(byte[] data, int failAfter, Action fail) : MemoryStream(data)
    {
        // MemoryStream subclasses read spans through this overload.
        public override int Read(byte[] buffer, int offset, int count)
        {
            if (Position >= failAfter) fail();
            return base.Read(buffer, offset, count);
        }
    }
}

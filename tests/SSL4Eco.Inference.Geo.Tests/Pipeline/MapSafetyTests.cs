using System.Security.Cryptography;
using SSL4Eco.Inference.Arrays;
using SSL4Eco.Inference.Files;
using SSL4Eco.Inference.Geo.Pipeline;
using SSL4Eco.Inference.Geo.Tables;
using SSL4Eco.Inference.Models;
using SSL4Eco.Inference.Preprocessing;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Inference.Geo.Tests.Pipeline;

/// <summary>
/// Library-level regression tests of issue #10's classes for the map pipeline: never mix two runs into one result (resume
/// identity, locking), never destroy an input, counts that add up.
/// </summary>
public class MapSafetyTests
{
    private static MapRequest Request(string input, string prefix) => new()
    {
        InputPath = input, OutputPrefix = prefix, Formats = ["npy"], ReaderCount = 1, QueueCapacity = 3,
    };

    /// <summary>Runs the map and cancels after <paramref name="calls"/> batches, leaving a resume state.</summary>
    private static async Task Interrupted(MapRequest request, FeatureModel template, int calls = 3)
    {
        using var cts = new CancellationTokenSource();
        var model = new FeatureModel("B2", "B3", "B4")
        {
            ScalingOverride = template.ScalingOverride, Weights = template.Weights,
            OnCall = (call, _) => { if (call == calls) cts.Cancel(); },
        };
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => EmbeddingMapper.RunAsync(request, model, null, null, cts.Token));
        Assert.True(Directory.Exists(request.OutputPrefix + ".ssl4eco-partial"));
    }

    /// <summary>A test raster of the given size in <paramref name="dir"/> and the request mapping it to <c>m</c>.</summary>
    private static (string Input, MapRequest Request) Scene(TempDir dir, string width, string height)
    {
        var input = dir.File("in.tif");
        PythonOracle.Run(EmbeddingMapperTests.MakeRaster, input, width, height);
        return (input, Request(input, dir.File("m")));
    }

    public static TheoryData<string> Changes => new() { "divisor", "weights", "input" };

    [Theory]
    [MemberData(nameof(Changes))]
    public async Task Never_mix_two_runs_a_changed_recipe_or_input_is_refused_or_restarted_never_resumed(string change)
    {
        using var dir = new TempDir();
        var (input, request) = Scene(dir, "500", "333");
        await Interrupted(request, new FeatureModel("B2", "B3", "B4") { ScalingOverride = new InputScaling(255), Weights = "aa" });

        var second = new FeatureModel("B2", "B3", "B4") { ScalingOverride = new InputScaling(255), Weights = "aa" };
        string expectedKey;
        switch (change)
        {
            case "divisor":
                second = new FeatureModel("B2", "B3", "B4") { ScalingOverride = new InputScaling(10000), Weights = "aa" };
                expectedKey = ModelContract.MetadataKeys.ScalingDivisor;
                break;
            case "weights":
                second = new FeatureModel("B2", "B3", "B4") { ScalingOverride = new InputScaling(255), Weights = "bb" };
                expectedKey = "ssl4eco.weights_sha256";
                break;
            default:
                // Same size, same name, other pixels: a replaced input.
                var before = new FileInfo(input).Length;
                PythonOracle.Run(EmbeddingMapperTests.MakeRaster.Replace("default_rng(3)", "default_rng(4)"), input, "500", "333");
                Assert.Equal(before, new FileInfo(input).Length);
                expectedKey = "input.identity";
                break;
        }
        var refused = await Assert.ThrowsAsync<ResumeMismatchException>(() => EmbeddingMapper.RunAsync(request, second));
        Assert.Equal([expectedKey], refused.Differences);
        Assert.Contains(expectedKey, refused.Message);
        Assert.Equal(0, second.Calls);                       // refused before any work
        Assert.False(File.Exists(dir.File("m.npy")));

        var restarted = await EmbeddingMapper.RunAsync(request with { OnMismatch = ResumeMismatch.Restart }, second);
        Assert.Equal(0, restarted.Progress.Resumed);         // nothing of the first run was taken
        await EmbeddingMapper.RunAsync(request with { OutputPrefix = dir.File("fresh") }, second);
        Assert.Equal(File.ReadAllBytes(dir.File("fresh.npy")), File.ReadAllBytes(dir.File("m.npy")));
    }

    [Fact]
    public async Task Never_mix_two_runs_an_unchanged_rerun_still_resumes_and_counts_add_up()
    {
        using var dir = new TempDir();
        var (input, request) = Scene(dir, "500", "333");
        await Interrupted(request, new FeatureModel("B2", "B3", "B4") { Weights = "aa" });
        var progress = new List<MapProgress>();
        var result = await EmbeddingMapper.RunAsync(request, new FeatureModel("B2", "B3", "B4") { Weights = "aa" }, new SyncProgress(progress.Add));
        Assert.True(result.Progress.Resumed > 0);
        Assert.Equal(35, result.Progress.Total);
        Assert.Equal(35, result.Progress.Completed);
        Assert.Equal(result.Progress.Total, result.Progress.Embedded + result.Progress.Skipped + result.Progress.Resumed);
        Assert.All(progress, p => Assert.True(p.Completed <= p.Total && p.Embedded >= 0, p.ToString()));
    }

    [Fact]
    public async Task Never_mix_two_runs_a_second_run_on_a_locked_output_is_refused_before_any_work()
    {
        using var dir = new TempDir();
        var (input, request) = Scene(dir, "200", "130");
        await EmbeddingMapper.RunAsync(request, new FeatureModel("B2", "B3", "B4"));
        var done = File.ReadAllBytes(dir.File("m.npy"));
        using (OutputLock.Acquire(dir.File("m")))
        {
            var second = new FeatureModel("B2", "B3", "B4");
            var e = await Assert.ThrowsAsync<IOException>(() => EmbeddingMapper.RunAsync(request with { Resume = false }, second));
            Assert.Contains("another run is writing", e.Message);
            Assert.Equal(0, second.Calls);
            Assert.Equal(done, File.ReadAllBytes(dir.File("m.npy")));
            Assert.False(Directory.Exists(dir.File("m.ssl4eco-partial")));
        }
        // Released: the next run proceeds, and leaves no lock file behind.
        await EmbeddingMapper.RunAsync(request, new FeatureModel("B2", "B3", "B4"));
        Assert.False(File.Exists(OutputLock.PathFor(dir.File("m"))));
    }

    [Fact]
    public async Task Never_destroy_an_input_a_map_output_or_resume_folder_that_is_the_input_is_refused()
    {
        using var dir = new TempDir();
        var input = dir.File("in.tif");
        PythonOracle.Run(EmbeddingMapperTests.MakeRaster, input, "200", "130");
        var hash = SHA256.HashData(File.ReadAllBytes(input));
        var model = new FeatureModel("B2", "B3", "B4");
        var e = await Assert.ThrowsAsync<ArgumentException>(() => EmbeddingMapper.RunAsync(Request(input, dir.File("in")) with { Formats = ["cog"] }, model));
        Assert.Contains("is the input", e.Message);
        // The input inside the resume folder the run would create and delete.
        Directory.CreateDirectory(dir.File("x.ssl4eco-partial"));
        File.Copy(input, dir.File("x.ssl4eco-partial/in.tif"));
        await Assert.ThrowsAsync<ArgumentException>(() => EmbeddingMapper.RunAsync(Request(dir.File("x.ssl4eco-partial/in.tif"), dir.File("x")), model));
        Assert.True(File.Exists(dir.File("x.ssl4eco-partial/in.tif")));
        Assert.Equal(0, model.Calls);
        Assert.Equal(hash, SHA256.HashData(File.ReadAllBytes(input)));
    }

    [Fact]
    public void Never_mix_two_runs_the_patch_folder_cache_key_changes_with_the_divisor_and_the_weights()
    {
        using var dir = new TempDir();
        PythonOracle.Run(EmbeddingMapperTests.MakeRaster, dir.File("p.tif"), "64", "64");
        var contract = new FeatureModel("B2", "B3", "B4").Contract;
        var key = PatchFolderEmbeddings.CacheKey(dir.Path, InputRecipe.For(contract));
        Assert.Equal(key, PatchFolderEmbeddings.CacheKey(dir.Path, InputRecipe.For(contract)));
        Assert.NotEqual(key, PatchFolderEmbeddings.CacheKey(dir.Path, InputRecipe.For(contract, new PreprocessingOptions { ScalingOverride = new InputScaling(10000) })));
        Assert.NotEqual(key, PatchFolderEmbeddings.CacheKey(dir.Path, InputRecipe.For(contract, new PreprocessingOptions { Harmonize = HarmonizeMode.Off })));
        Assert.NotEqual(key, PatchFolderEmbeddings.CacheKey(dir.Path, InputRecipe.For(contract, weightsSha256: "bb")));
    }

    [Fact]
    public async Task Never_mix_two_runs_the_map_metadata_records_the_effective_recipe()
    {
        using var dir = new TempDir();
        var input = dir.File("in.tif");
        PythonOracle.Run(EmbeddingMapperTests.MakeRaster, input, "200", "130");
        var model = new FeatureModel("B2", "B3", "B4") { ScalingOverride = new InputScaling(10000), Weights = "cafe" };
        await EmbeddingMapper.RunAsync(Request(input, dir.File("m")), model);
        var json = File.ReadAllText(dir.File("m.json"));
        Assert.Contains($"\"{ModelContract.MetadataKeys.ScalingDivisor}\": \"10000\"", json);
        Assert.Contains("\"ssl4eco.weights_sha256\": \"cafe\"", json);
        Assert.Contains("\"ssl4eco.recipe_sha256\": \"" + (model.Recipe with { InputBands = ["B2", "B3", "B4"] }).Sha256() + "\"", json);
        _ = NpyFile.ReadSingle(dir.File("m.npy"));
    }

    [Fact]
    public void Never_mix_two_runs_the_input_identity_of_a_vrt_follows_the_files_it_references()
    {
        using var dir = new TempDir();
        PythonOracle.Run(EmbeddingMapperTests.MakeRaster, dir.File("B.tif"), "200", "130");
        File.WriteAllText(dir.File("s.vrt"), """
<VRTDataset rasterXSize="200" rasterYSize="130"><VRTRasterBand dataType="UInt16" band="1"><SimpleSource>
<SourceFilename relativeToVRT="1">B.tif</SourceFilename><SourceBand>1</SourceBand></SimpleSource></VRTRasterBand></VRTDataset>
""");
        var before = MapState.InputIdentity(dir.File("s.vrt"));
        Assert.Equal(before, MapState.InputIdentity(dir.File("s.vrt")));
        var (length, time) = (new FileInfo(dir.File("B.tif")).Length, File.GetLastWriteTimeUtc(dir.File("B.tif")));
        PythonOracle.Run(EmbeddingMapperTests.MakeRaster.Replace("default_rng(3)", "default_rng(5)"), dir.File("B.tif"), "200", "130");
        Assert.Equal(length, new FileInfo(dir.File("B.tif")).Length);
        File.SetLastWriteTimeUtc(dir.File("B.tif"), time);   // same size, same time: only the content differs
        Assert.NotEqual(before, MapState.InputIdentity(dir.File("s.vrt")));
    }
}

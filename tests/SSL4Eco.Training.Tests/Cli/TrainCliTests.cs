using System.Diagnostics;
using System.Text.Json;
using SSL4Eco.Inference.Arrays;
using SSL4Eco.Inference.Geo.Dataset;
using SSL4Eco.Inference.Geo.Tests.Dataset;
using SSL4Eco.Inference.Tests.Oracle;
using SSL4Eco.Training.Native;

namespace SSL4Eco.Training.Tests.Cli;

/// <summary>
/// The command lines as a user runs them, each a child process (a native crash fails the test with its signal):
/// synthetic data, 'fit' for two epochs, 'export' to ONNX, and 'ssl4eco embed' with that ONNX file; and the self-check
/// that 'fit' runs before training, with a real SIGFPE injected into its child (issue #9).
/// </summary>
public sealed class TrainCliTests
{
    private static readonly string Configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;

    private static string Tool(string project, string assembly) =>
        Path.Combine(Repo.Root, "src", project, "bin", Configuration, "net10.0", assembly + ".dll");

    private static ChildResult Run(string project, string assembly, string workDir, IDictionary<string, string>? env, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = workDir };
        psi.ArgumentList.Add(Tool(project, assembly));
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment.Remove(TorchBackend.EnvironmentVariable);
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        return ChildProcess.Run(psi, TimeSpan.FromMinutes(15));
    }

    private static ChildResult Train(string workDir, IDictionary<string, string>? env, params string[] args) =>
        Run("SSL4Eco.Training.Cli", "ssl4eco-train", workDir, env, args);

    private static void AssertOk(ChildResult r, string what) =>
        Assert.True(r.ExitCode == 0, $"{what}: exit {r.ExitCode}{(r.Signal is { } s ? " (" + s + ")" : "")}\n{r.Stdout}\n{r.Stderr}");

    private static readonly string[] FitArgs = ["fit", "--data", "data", "--batch-size", "8", "--image-size", "32", "--queue-size", "16", "--threads", "2", "--workers", "2", "--device", "cpu"];

    [Fact]
    public void Synthetic_fit_two_epochs_export_and_embed_chain()
    {
        using var dir = new TempDir();
        AssertOk(Train(dir.Path, null, "synthetic", "--output", "data", "--locations", "16", "--size", "48"), "synthetic");
        var fit = Train(dir.Path, null, [.. FitArgs, "--output", "run", "--epochs", "2"]);
        AssertOk(fit, "fit");
        Assert.DoesNotContain("error", fit.Stderr);
        var state = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.Path, "run", "checkpoint", "state.json"))).RootElement;
        Assert.Equal(4, state.GetProperty("step").GetInt64()); // 16 locations / batch 8 = 2 steps per epoch
        Assert.Equal(5, File.ReadAllLines(Path.Combine(dir.Path, "run", "log.csv")).Length);
        AssertOk(Train(dir.Path, null, "export", "run/checkpoint", "--onnx", "enc.onnx"), "export");
        Assert.True(new FileInfo(Path.Combine(dir.Path, "enc.onnx")).Length > 1_000_000);

        var patches = Directory.GetFiles(Path.Combine(dir.Path, "data", "imgs"), "*.tif", SearchOption.AllDirectories).Order().Take(2).ToArray();
        var embed = Run("SSL4Eco.Cli", "ssl4eco", dir.Path, null, ["embed", .. patches, "-m", "enc.onnx", "-o", "emb.npy"]);
        AssertOk(embed, "ssl4eco embed");
        var emb = NpyFile.ReadSingle(Path.Combine(dir.Path, "emb.npy"));
        Assert.Equal([2, 2048], emb.Shape);
        Assert.All(emb.Data, v => Assert.True(float.IsFinite(v)));
        Assert.NotEqual(emb.Data[..2048], emb.Data[2048..]);
    }

    /// <summary>
    /// Issue #16's chain: a dataset planned from phenology rasters and fetched from a STAC API with COG assets (the Geo tests'
    /// fixture on 127.0.0.1) is what 'ssl4eco-train fit' reads; it trains, exports, and the export embeds a fetched patch.
    /// </summary>
    [Fact]
    public async Task A_dataset_fetched_from_a_stac_api_trains_exports_and_embeds()
    {
        using var dir = new TempDir();
        var inputs = Path.Combine(dir.Path, "inputs");
        Directory.CreateDirectory(inputs);
        PythonOracle.Run(DatasetFixture.MakeInputs, inputs);
        var plan = DatasetFixture.Plan(inputs);
        using var server = DatasetFixture.Serve(inputs);
        new DatasetFixture.Stac().Attach(server);
        server.Files["/broken/B05.tif"] = server.Files["/B/B05.tif"]; // the broken asset repaired: three seasons per location
        var fetched = await DatasetFetcher.FetchAsync(plan, DatasetFixture.Options(server, Path.Combine(dir.Path, "data")));
        Assert.InRange(plan.Locations.Count, 4, 9);
        Assert.Equal(3 * plan.Locations.Count, fetched.Written);

        var fit = Train(dir.Path, null, "fit", "--data", "data", "--batch-size", "4", "--image-size", "32", "--queue-size", "16", "--threads", "2",
            "--workers", "2", "--device", "cpu", "--output", "run", "--epochs", "2", "--max-steps", "2");
        AssertOk(fit, "fit");
        var state = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.Path, "run", "checkpoint", "state.json"))).RootElement;
        Assert.Equal(2, state.GetProperty("step").GetInt64());
        AssertOk(Train(dir.Path, null, "export", "run/checkpoint", "--onnx", "enc.onnx"), "export");
        var patch = Path.Combine(dir.Path, "data", fetched.Patches[0].File);
        AssertOk(Run("SSL4Eco.Cli", "ssl4eco", dir.Path, null, ["embed", patch, "-m", "enc.onnx", "-o", "emb.npy"]), "ssl4eco embed");
        var emb = NpyFile.ReadSingle(Path.Combine(dir.Path, "emb.npy"));
        Assert.Equal([1, 2048], emb.Shape);
        Assert.All(emb.Data, v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void A_self_check_that_dies_with_oneDNN_on_trains_with_it_off_and_says_so_in_one_line()
    {
        using var dir = new TempDir();
        AssertOk(Train(dir.Path, null, "synthetic", "--output", "data", "--locations", "8", "--size", "48"), "synthetic");
        var r = Train(dir.Path, new Dictionary<string, string> { ["SSL4ECO_SELF_CHECK_FAULT"] = "mkldnn" }, [.. FitArgs, "--output", "run", "--max-steps", "1"]);
        AssertOk(r, "fit");
        var notes = r.Stderr.Split('\n').Where(l => l.StartsWith("note: ", StringComparison.Ordinal)).ToList();
        Assert.Contains(notes, l => l.Contains("died with SIGFPE", StringComparison.Ordinal) && l.Contains("--mkldnn off", StringComparison.Ordinal));
        Assert.True(File.Exists(Path.Combine(dir.Path, "run", "checkpoint", "state.json")));
    }

    [Theory]
    [InlineData("always", "auto", "even with oneDNN convolutions off")]
    [InlineData("mkldnn", "on", "run with --mkldnn off")]
    public void A_self_check_that_keeps_dying_stops_before_training_with_one_line_naming_the_signal(string fault, string mode, string advice)
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(Path.Combine(dir.Path, "data"));
        var r = Train(dir.Path, new Dictionary<string, string> { ["SSL4ECO_SELF_CHECK_FAULT"] = fault }, [.. FitArgs, "--output", "run", "--mkldnn", mode]);
        Assert.Equal(1, r.ExitCode);
        var lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith("note: ", StringComparison.Ordinal)).ToList();
        var line = Assert.Single(lines);
        Assert.StartsWith("error: libtorch died with SIGFPE in a one-step self-check", line);
        Assert.Contains(advice, line);
        Assert.False(Directory.Exists(Path.Combine(dir.Path, "run")));
    }

    [Fact]
    public void An_unknown_mkldnn_mode_is_one_line_naming_the_choices()
    {
        using var dir = new TempDir();
        var r = Train(dir.Path, null, [.. FitArgs, "--output", "run", "--mkldnn", "fast"]);
        Assert.Equal(1, r.ExitCode);
        Assert.Equal("error: --mkldnn 'fast' is not one of on, off, auto.", r.Stderr.Trim());
    }
}

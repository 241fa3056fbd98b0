using System.Collections.Concurrent;
using SSL4Eco.Cli.Tests.Commands;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Cli.Tests.Hostile;

/// <summary>The test model converted once per checkpoint (conversion takes seconds; every hostile case needs a model).</summary>
internal static class HostileModels
{
    private static readonly ConcurrentDictionary<string, string> Converted = new();
    private static readonly TempDir Folder = new();

    public static string Onnx(CliModelFixture model) => Converted.GetOrAdd(model.Checkpoint, ckpt =>
    {
        var onnx = Folder.File(Guid.NewGuid().ToString("N") + ".onnx");
        var (exit, _, err) = CliHarness.Run("convert", ckpt, "-o", onnx);
        Assert.True(exit == 0, err);
        return onnx;
    });

    /// <summary>A copy of the bundled 448 × 448 13-band scene.</summary>
    public static string Scene(TempDir dir, string name = "in.tif")
    {
        var path = dir.File(name);
        File.Copy(Path.Combine(Repo.Samples, "sentinel2_l2a_sample.tif"), path);
        return path;
    }
}

/// <summary>
/// Issue #10, "Never destroy an input": every writing command, for its output and each side output, refuses a path that is
/// one of its inputs (same path, another spelling, a symbolic link, a hard link, a file a VRT references) before any work,
/// with one line naming both; no input changes and nothing is left behind. And "Late failures": outputs are validated
/// (and their folders made) before the work.
/// </summary>
[Collection(CliCollection.Name)]
public sealed class OutputSafetyHostileTests(CliModelFixture model) : IClassFixture<CliModelFixture>
{
    private const string IsTheInput = "is the input";

    [Fact]
    public void Never_destroy_an_input_convert_onto_its_checkpoint_directly_or_through_a_link()
    {
        using var dir = new TempDir();
        var ckpt = dir.File("x.pth");
        File.Copy(model.Checkpoint, ckpt);
        HostileRun.Run(1, [ckpt], dir.Path, null, IsTheInput, "convert", ckpt, "-o", ckpt);
        File.CreateSymbolicLink(dir.File("link.onnx"), ckpt);
        HostileRun.Run(1, [ckpt], dir.Path, [dir.File("link.onnx")], IsTheInput, "convert", ckpt, "-o", dir.File("link.onnx"));
        Assert.True(Tmpfs.Run("ln", ckpt, dir.File("hard.onnx")));
        HostileRun.Run(1, [ckpt, dir.File("hard.onnx")], dir.Path, [dir.File("link.onnx")], IsTheInput, "convert", ckpt, "-o", dir.File("hard.onnx"));
    }

    public static TheoryData<string, string[]> MapCases => new()
    {
        // case name, extra arguments ({in} = the input, {dir} = the folder)
        { "output is the input", ["-o", "{in}"] },
        { "output spelled another way", ["-o", "{dir}/sub/../in.tif"] },
        { "preview is the input", ["-o", "{dir}/o.tif", "--preview", "{in}"] },
        { "npy sidecar is the cloud mask", ["-o", "{dir}/o.npy", "--cloud-mask", "{dir}/o.json"] },
        { "prediction raster is the head", ["-o", "{dir}/o.tif", "--head", "{dir}/o.prediction.tif"] },
        { "output is the cloud mask", ["-o", "{dir}/mask.tif", "--cloud-mask", "{dir}/mask.tif"] },
    };

    [Theory]
    [MemberData(nameof(MapCases))]
    public void Never_destroy_an_input_map_outputs_and_side_outputs(string name, string[] extra)
    {
        using var dir = new TempDir();
        var input = HostileModels.Scene(dir);
        Directory.CreateDirectory(dir.File("sub"));
        foreach (var side in new[] { "o.json", "mask.tif", "o.prediction.tif" }) File.WriteAllText(dir.File(side), "user data " + name);
        var args = new[] { "map", input, "-m", HostileModels.Onnx(model) }
            .Concat(extra.Select(a => a.Replace("{in}", input).Replace("{dir}", dir.Path))).ToArray();
        var protectedFiles = new[] { input, dir.File("o.json"), dir.File("mask.tif"), dir.File("o.prediction.tif") };
        HostileRun.Run(1, protectedFiles, dir.Path, [dir.File("sub")], IsTheInput, args);
    }

    [Fact]
    public void Never_destroy_an_input_map_int8_scale_raster_and_hard_linked_output()
    {
        using var dir = new TempDir();
        var input = HostileModels.Scene(dir, "o.scale.tif");
        HostileRun.Run(1, [input], dir.Path, null, IsTheInput, "map", input, "-m", HostileModels.Onnx(model), "-o", dir.File("o.tif"), "--dtype", "Int8");
        Assert.True(Tmpfs.Run("ln", input, dir.File("hard.tif")));
        HostileRun.Run(1, [input, dir.File("hard.tif")], dir.Path, null, IsTheInput, "map", input, "-m", HostileModels.Onnx(model), "-o", dir.File("hard.tif"));
    }

    [Fact]
    public void Never_destroy_an_input_similarity_onto_its_map_and_onto_its_query_patch()
    {
        using var dir = new TempDir();
        var map = HostileModels.Scene(dir, "map.tif");
        HostileRun.Run(1, [map], dir.Path, null, IsTheInput, "similarity", map, "--query", "0,0", "-o", map);
        var patch = dir.File("q.tif");
        File.Copy(Path.Combine(Repo.Samples, "patches", "patch_000.tif"), patch);
        HostileRun.Run(1, [map, patch], dir.Path, null, IsTheInput, "similarity", map, "--query", patch, "-m", HostileModels.Onnx(model), "-o", patch);
    }

    [Fact]
    public void Never_destroy_an_input_stack_onto_a_band_file_and_a_vrt_onto_its_own_source()
    {
        using var dir = new TempDir();
        var b02 = HostileModels.Scene(dir, "B02.tif");
        var b03 = HostileModels.Scene(dir, "B03.tif");
        HostileRun.Run(1, [b02, b03], dir.Path, null, IsTheInput, "stack", b02, b03, "-o", b02);
        // A VRT stacked from the bands, then mapped onto one of the files it references.
        var (exit, _, err) = CliHarness.Run("stack", b02, b03, "-o", dir.File("scene.vrt"));
        Assert.True(exit == 0, err);
        HostileRun.Run(1, [b02, b03, dir.File("scene.vrt")], dir.Path, null, IsTheInput,
            "map", dir.File("scene.vrt"), "-m", HostileModels.Onnx(model), "-o", b03, "--bands", "B2,B3");
    }

    [Fact]
    public void Never_destroy_an_input_embed_and_probe_outputs()
    {
        using var dir = new TempDir();
        var patch = dir.File("p.csv");
        File.WriteAllText(patch, "not a table the user would lose\n");
        HostileRun.Run(1, [patch], dir.Path, null, IsTheInput, "embed", patch, "-m", HostileModels.Onnx(model), "-o", patch);
        MakeProbeInputs(dir);
        var probe = new[] { "probe", "-e", dir.File("e.npy"), "-y", dir.File("y.npy"), "--task", "Classification", "--method", "Knn", "--folds", "2" };
        var inputs = new[] { patch, dir.File("e.npy"), dir.File("y.npy") };
        HostileRun.Run(1, inputs, dir.Path, null, IsTheInput, [.. probe, "--report", dir.File("y.npy")]);
        HostileRun.Run(1, inputs, dir.Path, null, IsTheInput, [.. probe, "--save-head", dir.File("e.npy")]);
        File.WriteAllText(dir.File("r.md"), "my notes");
        HostileRun.Run(1, [.. inputs, dir.File("r.md")], dir.Path, null, null, [.. probe, "--report", dir.File("r.md")]);
    }

    [Fact]
    public void Stale_temporaries_a_killed_convert_left_are_removed_by_the_next_run()
    {
        using var dir = new TempDir();
        var ckpt = dir.File("x.pth");
        File.Copy(model.Checkpoint, ckpt);
        // What a convert killed by SIGKILL leaves: a hidden temporary of the library's naming, with the dead process's id.
        using var gone = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("true") { UseShellExecute = false })!;
        gone.WaitForExit();
        var stale = dir.File($".m.{gone.Id}-{Guid.NewGuid():N}.tmp.onnx");
        File.WriteAllBytes(stale, new byte[1 << 20]);
        HostileRun.Run(0, [ckpt], dir.Path, [dir.File("m.onnx")], null, "convert", ckpt, "-o", dir.File("m.onnx"));
        Assert.False(File.Exists(stale));
    }

    [Fact]
    public void Late_failures_embed_rejects_an_unknown_output_format_before_embedding_anything()
    {
        using var dir = new TempDir();
        var patch = dir.File("p.tif");
        File.Copy(Path.Combine(Repo.Samples, "patches", "patch_000.tif"), patch);
        var (_, err) = HostileRun.Run(1, [patch], dir.Path, null, ".tif", "embed", patch, "-m", HostileModels.Onnx(model), "-o", dir.File("out.tif"));
        Assert.DoesNotContain("embedded", err);
        HostileRun.Run(1, [patch], dir.Path, null, ".png", "embed", patch, "-m", HostileModels.Onnx(model), "-o", dir.File("out.npy"),
            "--head", dir.File("h.json"), "--predictions", dir.File("pred.png"));
    }

    [Fact]
    public void Late_failures_probe_creates_missing_report_and_head_folders_before_the_folds()
    {
        using var dir = new TempDir();
        MakeProbeInputs(dir);
        var (exit, _, err) = CliHarness.Run("probe", "-e", dir.File("e.npy"), "-y", dir.File("y.npy"), "--task", "Classification", "--method", "Knn", "--folds", "2",
            "--report", dir.File("out/deep/r.json"), "--save-head", dir.File("heads/new/h.json"));
        Assert.True(exit == 0, err);
        Assert.True(File.Exists(dir.File("out/deep/r.json")));
        Assert.True(File.Exists(dir.File("out/deep/r.md")));
        Assert.True(File.Exists(dir.File("heads/new/h.json")));
    }

    /// <summary>20 rows of 4-d embeddings in two separable classes.</summary>
    private static void MakeProbeInputs(TempDir dir) => PythonOracle.Run("""
import numpy as np
rng = np.random.default_rng(0)
y = np.array([0, 1] * 10, np.int64)
e = (rng.normal(size=(20, 4)) + y[:, None] * 5).astype(np.float32)
np.save(sys.argv[1], e); np.save(sys.argv[2], y)
""", dir.File("e.npy"), dir.File("y.npy"));
}

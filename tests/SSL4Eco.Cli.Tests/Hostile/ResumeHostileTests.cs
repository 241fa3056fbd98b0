using SSL4Eco.Cli.Tests.Commands;
using SSL4Eco.Inference.Files;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Cli.Tests.Hostile;

/// <summary>
/// Issue #10, "Never mix two runs into one result" and "A run where every tile fails": an unfinished map is resumed only by a
/// run with the same input, scaling and weights (otherwise refused, or restarted on request); a second run on a locked
/// output is refused before any work; failing tiles make the run fail, say why, write no final output and stay pending.
/// </summary>
[Collection(CliCollection.Name)]
public sealed class ResumeHostileTests(CliModelFixture model) : IClassFixture<CliModelFixture>
{
    /// <summary>
    /// A 448 × 448 13-band COG (IFD first, 128-px tiles) cut at half its length: some of its 2 × 2 map tiles read, the
    /// others fail. Returns its path.
    /// </summary>
    private static string HalfTruncatedScene(TempDir dir, int seed = 0, string name = "cut.tif")
    {
        var path = dir.File(name);
        PythonOracle.Run("""
from osgeo import gdal
import numpy as np, os
src, out, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
ds = gdal.Translate('/vsimem/s.tif', src)
if seed:
    for b in range(1, ds.RasterCount + 1):
        a = ds.GetRasterBand(b).ReadAsArray(); ds.GetRasterBand(b).WriteArray(np.roll(a, seed, axis=1))
gdal.Translate(out + '.full', ds, format='COG', creationOptions=['COMPRESS=NONE', 'BLOCKSIZE=128', 'OVERVIEWS=NONE'])
data = open(out + '.full', 'rb').read()
open(out, 'wb').write(data[:len(data) // 2]); os.remove(out + '.full')
""", Path.Combine(Repo.Samples, "sentinel2_l2a_sample.tif"), path, seed.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return path;
    }

    private string[] Map(string input, string output, params string[] extra) =>
        ["map", input, "-m", HostileModels.Onnx(model), "-o", output, "--embed-concurrency", "1", .. extra];

    [Fact]
    public void A_run_where_tiles_fail_exits_nonzero_says_how_many_and_why_writes_no_final_output_and_keeps_them_pending()
    {
        using var dir = new TempDir();
        var input = HalfTruncatedScene(dir);
        var partial = dir.File("m.ssl4eco-partial");
        var (_, err) = HostileRun.Run(1, [input], dir.Path, [partial], "of 4 tiles failed", Map(input, dir.File("m.tif")));
        Assert.False(File.Exists(dir.File("m.tif")));
        Assert.True(Directory.Exists(partial));
        Assert.Matches(@"\n  [1-4] tile\(s\): reading the input failed: .*cut\.tif", err);
        Assert.Single(err.Split('\n'), l => l.Contains("tile(s): reading the input failed"));   // grouped: one line per reason
        Assert.Contains("re-run retries", err);
        // The rerun resumes the 2 good tiles and retries (and again reports) only the 2 failed ones.
        var (_, again) = HostileRun.Run(1, [input], dir.Path, [partial], "of 4 tiles failed", Map(input, dir.File("m.tif")));
        Assert.Contains("finished tiles are kept", again);
        AssertProgressAddsUp(again, 4);
    }

    /// <summary>Every progress line "tiles A/B" has A ≤ B = <paramref name="total"/>.</summary>
    private static void AssertProgressAddsUp(string text, int total)
    {
        var lines = System.Text.RegularExpressions.Regex.Matches(text, @"tiles (\d+)/(\d+)");
        Assert.NotEmpty(lines);
        foreach (System.Text.RegularExpressions.Match m in lines)
        {
            Assert.Equal(total, int.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture));
            Assert.InRange(int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), 0, total);
        }
    }

    [Fact]
    public void Numbers_a_user_reads_the_summary_and_progress_add_up_to_the_tile_count()
    {
        using var dir = new TempDir();
        var input = HostileModels.Scene(dir);
        var (stdout, stderr) = HostileRun.Run(0, [input], null, null, null, Map(input, dir.File("m.tif"), "--stride", "112"));
        Assert.Contains("9 tiles = 9 embedded + 0 nodata + 0 resumed", stdout);
        AssertProgressAddsUp(stderr, 9);
    }

    [TmpfsFact]
    public void Disk_full_says_the_disk_is_full_and_where_and_keeps_the_finished_tiles()
    {
        using var dir = new TempDir();
        var input = HostileModels.Scene(dir);
        var mount = dir.File("small");
        Directory.CreateDirectory(mount);
        // 64 tiles x 2048 float32 = 512 KiB of resume state fit in 800 KiB; the map raster written after them does not.
        Assert.True(Tmpfs.Run("mount", "-t", "tmpfs", "-o", "size=800k", "tmpfs", mount));
        try
        {
            HostileRun.Run(1, [input], mount, [Path.Combine(mount, "m.ssl4eco-partial")], $"the disk holding '{mount}' is full",
                Map(input, Path.Combine(mount, "m.tif"), "--stride", "32"));
            Assert.False(File.Exists(Path.Combine(mount, "m.tif")));
        }
        finally { Tmpfs.Run("umount", mount); }
    }

    public static TheoryData<string> Changes => new() { "divisor", "weights", "input" };

    [Theory]
    [MemberData(nameof(Changes))]
    public void Never_mix_two_runs_resume_with_a_changed_divisor_weights_or_same_size_input_is_refused_or_restarted(string change)
    {
        using var dir = new TempDir();
        var input = HalfTruncatedScene(dir);
        var partial = dir.File("m.ssl4eco-partial");
        // First run: some tiles done, the others pending (the file is cut off), made with DN / 255 (the contract's scaling).
        HostileRun.Run(1, [input], dir.Path, [partial], "tiles failed", Map(input, dir.File("m.tif")));
        var status = File.ReadAllBytes(Path.Combine(partial, "status.bin"));

        string[] second;
        string differs;
        var protectedFiles = new List<string> { input };
        switch (change)
        {
            case "divisor":
                second = Map(input, dir.File("m.tif"), "--input-scale-divisor", "10000");
                differs = "scaling";
                break;
            case "weights":
                // The same model id and contract, other bytes: a field appended to the ONNX protobuf (doc_string, field 6).
                var other = dir.File("other.onnx");
                File.Copy(HostileModels.Onnx(model), other);
                using (var f = new FileStream(other, FileMode.Append)) f.Write([0x32, 0x03, (byte)'a', (byte)'b', (byte)'c']);
                protectedFiles.Add(other);
                second = ["map", input, "-m", other, "-o", dir.File("m.tif"), "--embed-concurrency", "1"];
                differs = "weights_sha256";
                break;
            default:
                // Replaced by another scene of exactly the same size.
                var replacement = HalfTruncatedScene(dir, seed: 37, name: "other.tif");
                Assert.Equal(new FileInfo(input).Length, new FileInfo(replacement).Length);
                File.Move(replacement, input, overwrite: true);
                second = Map(input, dir.File("m.tif"));
                differs = "input.identity";
                break;
        }
        var (_, err) = HostileRun.Run(1, protectedFiles, dir.Path, [partial], differs, second);
        Assert.Contains("--on-mismatch restart", err);
        Assert.Equal(status, File.ReadAllBytes(Path.Combine(partial, "status.bin")));   // the refused run changed nothing

        // Restart on request: the old state is replaced by this run's (the cut-off part still fails, so no output), so the
        // same settings now resume it without --on-mismatch, and the first settings are refused in turn.
        var runJson = File.ReadAllText(Path.Combine(partial, "run.json"));
        HostileRun.Run(1, protectedFiles, dir.Path, [partial], "of 4 tiles failed", [.. second, "--on-mismatch", "Restart"]);
        Assert.NotEqual(runJson, File.ReadAllText(Path.Combine(partial, "run.json")));
        HostileRun.Run(1, protectedFiles, dir.Path, [partial], "of 4 tiles failed", second);
        if (change != "input") HostileRun.Run(1, protectedFiles, dir.Path, [partial], differs, Map(input, dir.File("m.tif")));
    }

    [Fact]
    public void Never_mix_two_runs_a_second_map_on_a_locked_output_is_refused_at_once_and_the_first_output_is_intact()
    {
        using var dir = new TempDir();
        var input = HostileModels.Scene(dir);
        var (exit, _, err) = CliHarness.Run(Map(input, dir.File("m.tif"), "--tile", "224", "--stride", "224"));
        Assert.True(exit == 0, err);
        var before = HostileRun.Hash(dir.File("m.tif"));
        // The first run holds the lock (an OS lock, as a running 'map' does) while a second one starts.
        using (OutputLock.Acquire(dir.File("m")))
        {
            HostileRun.Run(1, [input, dir.File("m.tif")], dir.Path, [OutputLock.PathFor(dir.File("m"))], "another run is writing",
                Map(input, dir.File("m.tif"), "--restart"));
            Assert.False(Directory.Exists(dir.File("m.ssl4eco-partial")));
        }
        Assert.Equal(before, HostileRun.Hash(dir.File("m.tif")));
    }
}

using System.Diagnostics;
using System.Text.Json;
using SSL4Eco.Inference.Geo.Tests.Scale;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Cli.Tests.Commands;

/// <summary>
/// The sharded map end to end with real ssl4eco processes: the command lines of samples/deploy (Kubernetes Indexed Job,
/// Slurm array, AWS Batch) run one process per shard with the engine's variables; killed, rerun and duplicated shards change
/// nothing; the merge equals one process mapping everything.
/// </summary>
[Collection(CliCollection.Name)]
public sealed class ScaleCommandTests(CliModelFixture model) : IClassFixture<CliModelFixture>
{
    private static string Scene => Path.Combine(Repo.Samples, "sentinel2_l2a_sample.tif");
    private static string Deploy => Path.Combine(Repo.Samples, "deploy");

    /// <summary>The ssl4eco arguments of each deployment file (after the program name), as written there.</summary>
    internal static Dictionary<string, string[]> DeployCommands()
    {
        var k8sJson = PythonOracle.Run("""
import yaml, json, sys
job = yaml.safe_load(open(sys.argv[1]))
c = job['spec']['template']['spec']['containers'][0]
print(json.dumps({'command': c['command'], 'completions': job['spec']['completions'], 'mode': job['spec']['completionMode']}))
""", Path.Combine(Deploy, "k8s-indexed-job.yaml"));
        using var k8s = JsonDocument.Parse(k8sJson);
        Assert.Equal("Indexed", k8s.RootElement.GetProperty("mode").GetString());
        var k8sCommand = k8s.RootElement.GetProperty("command").EnumerateArray().Select(e => e.GetString()!).ToArray();
        Assert.Equal("ssl4eco", k8sCommand[0]);
        Assert.Equal(k8s.RootElement.GetProperty("completions").GetInt32().ToString(System.Globalization.CultureInfo.InvariantCulture), After(k8sCommand, "--shard-count"));
        using var aws = JsonDocument.Parse(File.ReadAllText(Path.Combine(Deploy, "aws-batch-job-definition.json")));
        var awsCommand = aws.RootElement.GetProperty("containerProperties").GetProperty("command").EnumerateArray().Select(e => e.GetString()!).ToArray();
        var slurmText = File.ReadAllText(Path.Combine(Deploy, "slurm-array.sh"));
        Assert.Contains("#SBATCH --array=0-3", slurmText);
        var srun = slurmText.Split('\n').Single(l => l.StartsWith("srun ssl4eco ", StringComparison.Ordinal));
        var slurmCommand = srun["srun ssl4eco ".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(a => a.Trim('"')).ToArray();
        var docker = File.ReadAllText(Path.Combine(Deploy, "Dockerfile"));
        Assert.Contains("dotnet publish src/SSL4Eco.Cli -c Release -r linux-x64 --self-contained true", docker);
        Assert.Contains("FROM debian:12-slim", docker);
        Assert.Contains("libgdal32", docker);
        Assert.Contains("ENTRYPOINT [\"ssl4eco\"]", docker);
        return new() { ["k8s"] = k8sCommand[1..], ["aws"] = awsCommand, ["slurm"] = slurmCommand };
    }

    private static string After(string[] args, string option) => args[Array.IndexOf(args, option) + 1];

    /// <summary>The file's command with its manifest, model and work folder replaced by the test's; everything else as written.</summary>
    private static string[] Local(string[] args, string manifest, string onnx, string work) =>
        args.Select((a, i) => i > 0 && args[i - 1] switch { "--manifest" => true, "--model" => true, "--work" => true, _ => false }
            ? args[i - 1] switch { "--manifest" => manifest, "--model" => onnx, _ => work } : a).ToArray();

    [Fact]
    public void Deployment_files_hold_one_command_the_shards_run()
    {
        var commands = DeployCommands();
        foreach (var (engine, args) in commands)
        {
            Assert.True(args.Take(5).SequenceEqual(["map", "--manifest", args[2], "--shard", "env"]), $"{engine}: {string.Join(' ', args)}");
            Assert.Contains("--model", args);
            Assert.Contains("--work", args);
        }
        Assert.Equal(commands["k8s"], commands["aws"]);
        Assert.Equal("4", After(commands["k8s"], "--shard-count"));
    }

    [Fact]
    public async Task Shards_as_separate_processes_killed_rerun_and_doubled_merge_byte_identical_to_one_process()
    {
        using var dir = new TempDir();
        var onnx = dir.File("m.onnx");
        Assert.Equal(0, CliHarness.Run("convert", model.Checkpoint, "-o", onnx).Exit);
        foreach (var ext in new[] { ".tif", ".parquet" })
        {
            var (code, _, err) = CliHarness.Run("map", Scene, "-m", onnx, "-o", dir.File("single" + ext), "--stride", "112");
            Assert.True(code == 0, err);
        }
        var manifest = dir.File("manifest.json");
        var plan = CliHarness.Run("plan", Scene, "-m", onnx, "-o", manifest, "--output-root", dir.File("out"), "--stride", "112", "--block-tiles", "1");
        Assert.True(plan.Exit == 0, plan.Err);
        Assert.Contains("9 units", plan.Out);
        var before = File.ReadAllBytes(manifest);
        Assert.Equal(0, CliHarness.Run("plan", Scene, "-m", onnx, "-o", manifest, "--output-root", dir.File("out"), "--stride", "112", "--block-tiles", "1").Exit);
        Assert.Equal(before, File.ReadAllBytes(manifest));

        var commands = DeployCommands();
        var work = dir.File("work");
        // Kubernetes: four pods at once, JOB_COMPLETION_INDEX 0..3.
        var pods = Enumerable.Range(0, 4).Select(i => Start(Local(commands["k8s"], manifest, onnx, work), ("JOB_COMPLETION_INDEX", $"{i}"))).ToList();
        foreach (var p in pods) Assert.True(await Finish(p) == 0, p.StartInfo.Environment["JOB_COMPLETION_INDEX"] + ": " + p.StandardError.ReadToEnd());
        var units = Directory.GetFiles(dir.File("out/units")).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(27, units.Count);
        var hashes = units.Select(f => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(f)))).ToList();

        // Slurm: task 2 of 4 loses its outputs, is killed while mapping again, then requeued to the end.
        foreach (var f in units.Where(f => Path.GetFileName(f).StartsWith("u000002-", StringComparison.Ordinal) || Path.GetFileName(f).StartsWith("u000006-", StringComparison.Ordinal)))
            File.Delete(f);
        (string, string)[] slurm = [("SLURM_ARRAY_TASK_ID", "2"), ("SLURM_ARRAY_TASK_COUNT", "4")];
        var killed = Start(Local(commands["slurm"], manifest, onnx, work), slurm);
        var clock = Stopwatch.StartNew();
        while (!killed.HasExited && clock.Elapsed < TimeSpan.FromMinutes(2) && !Directory.EnumerateFileSystemEntries(dir.File("work")).Any(e => Path.GetFileName(e).StartsWith("u0000", StringComparison.Ordinal)))
            Thread.Sleep(20);
        killed.Kill(entireProcessTree: true);
        await killed.WaitForExitAsync();
        var requeued = Start(Local(commands["slurm"], manifest, onnx, work), slurm);
        Assert.True(await Finish(requeued) == 0, requeued.StandardError.ReadToEnd());

        // AWS Batch: array index 1 delivered twice at the same moment (a retry racing the original), after its outputs were lost.
        foreach (var f in units.Where(f => Path.GetFileName(f).StartsWith("u000001-", StringComparison.Ordinal)))
            File.Delete(f);
        var twins = new[] { 0, 1 }.Select(_ => Start(Local(commands["aws"], manifest, onnx, work), ("AWS_BATCH_JOB_ARRAY_INDEX", "1"))).ToList();
        foreach (var p in twins) Assert.True(await Finish(p) == 0, p.StandardError.ReadToEnd());
        Assert.Equal(hashes, units.Select(f => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(f)))).ToList());

        var merge = CliHarness.Run("merge", manifest, "--cog", "--work", work);
        Assert.True(merge.Exit == 0, merge.Err);
        Assert.Equal("True True", PythonOracle.Run("""
from osgeo import gdal
import numpy as np, sys
a = gdal.Open(sys.argv[1])
print(' '.join(str(a.GetGeoTransform() == b.GetGeoTransform() and a.GetProjection() == b.GetProjection() and np.array_equal(a.ReadAsArray(), b.ReadAsArray()))
               for b in (gdal.Open(f) for f in sys.argv[2:])))
""", dir.File("single.tif"), dir.File("out/product/mosaic.vrt"), dir.File("out/product/mosaic.tif")).Trim());
        var expected = await TableRows.ReadAsync([dir.File("single.parquet")]);
        Assert.Equal(9, expected.Count);
        Assert.Equal(expected, await TableRows.ReadAsync(Directory.GetFiles(dir.File("out/product/parquet"), "*.parquet", SearchOption.AllDirectories)));
    }

    [Fact]
    public void Planned_map_errors_are_one_line_naming_the_fix()
    {
        using var dir = new TempDir();
        var manifest = dir.File("m.json");
        File.WriteAllText(manifest, "{\"format\":\"other\"}");
        foreach (var (args, expected) in new (string[], string)[]
        {
            (["map", "--manifest", manifest], "--manifest needs --shard i/n"),
            (["map", "--manifest", manifest, "--shard", "4/4"], "outside 0..3"),
            (["map", "--manifest", manifest, "--shard", "env"], "no task index"),
            (["map", "--manifest", manifest, "--shard", "0/1", "-o", dir.File("x.tif")], "drop --output"),
            (["map", "--manifest", manifest, "--shard", "0/1", Scene], "give no input rasters"),
            (["map", "--manifest", manifest, "--shard", "0/1"], "not an ssl4eco manifest"),
            (["map", "-o", dir.File("x.tif")], "no input raster given"),
            (["map", Scene], "--output is required"),
            (["merge", dir.File("none.json")], "does not exist"),
            (["merge", manifest], "not an ssl4eco manifest"),
        })
        {
            var (exit, _, err) = CliHarness.Run(args);
            Assert.Equal(1, exit);
            Assert.StartsWith("error: ", err);
            Assert.Contains(expected, err);
            Assert.Single(err.Trim().Split('\n'));
            Assert.DoesNotContain("Exception", err);
        }
    }

    private static Process Start(string[] args, params (string Name, string Value)[] environment)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "ssl4eco.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (n, v) in environment) psi.Environment[n] = v;
        return Process.Start(psi)!;
    }

    private static async Task<int> Finish(Process p)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await p.WaitForExitAsync(cts.Token);
        return p.ExitCode;
    }
}

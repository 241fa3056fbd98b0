using System.Text.Json;
using SSL4Eco.Inference.Arrays;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Cli.Tests.Commands;

[Collection(CliCollection.Name)]
public sealed class EvaluationCommandTests(CliModelFixture model) : IClassFixture<CliModelFixture>
{
    /// <summary>Eight 224² windows of the sample scene in <c>patches/</c>, and <c>labels.csv</c>: two classes by position.</summary>
    private static string PatchFolder(TempDir dir)
    {
        var patches = Directory.CreateDirectory(dir.File("patches")).FullName;
        PythonOracle.Run("""
import subprocess, sys
for i in range(8):
    x, y = (i % 4) * 64, (i // 4) * 200
    subprocess.check_call(['gdal_translate', '-q', '-srcwin', str(x), str(y), '224', '224', sys.argv[1], f'{sys.argv[2]}/p{i}.tif'])
""", Path.Combine(Repo.Samples, "sentinel2_l2a_sample.tif"), patches);
        File.WriteAllLines(dir.File("labels.csv"), ["id,label", .. Enumerable.Range(0, 8).Select(i => $"p{i}.tif,{(i < 4 ? "north" : "south")}")]);
        return patches;
    }

    [Fact]
    public void Probe_OnAPatchFolder_EmbedsOnce_AndCachesByContentHash()
    {
        using var dir = new TempDir();
        var patches = PatchFolder(dir);
        var cache = dir.File("cache");
        Environment.SetEnvironmentVariable("SSL4ECO_CACHE", cache);
        try
        {
            string[] args = ["probe", "--patches", patches, "-m", model.Checkpoint, "-y", dir.File("labels.csv"), "--task", "Classification", "--method", "Knn", "--k", "3", "--folds", "2"];
            var (exit, _, stderr) = CliHarness.Run(args);
            Assert.True(exit == 0, stderr);
            Assert.Contains("embedded 8 patches", stderr);
            var entries = Directory.GetFiles(Path.Combine(cache, "embeddings"), "*.parquet");
            Assert.Single(entries);

            (exit, _, stderr) = CliHarness.Run(args);                 // unchanged folder: read from the cache
            Assert.True(exit == 0, stderr);
            Assert.DoesNotContain("embedded", stderr);

            File.Copy(Path.Combine(patches, "p0.tif"), Path.Combine(patches, "p1.tif"), overwrite: true);   // content changed
            (exit, _, stderr) = CliHarness.Run(args);
            Assert.True(exit == 0, stderr);
            Assert.Contains("embedded 8 patches", stderr);
            Assert.Equal(2, Directory.GetFiles(Path.Combine(cache, "embeddings"), "*.parquet").Length);
        }
        finally
        {
            Environment.SetEnvironmentVariable("SSL4ECO_CACHE", null);
        }
    }

    /// <summary>
    /// Never mix two runs: the patch-folder cache is keyed on the model's input recipe, so embeddings made under another
    /// --input-scale-divisor or --harmonize are never served from the cache (issue #11), and each recipe hits its own entry.
    /// </summary>
    [Fact]
    public void NeverMixTwoRuns_Probe_PatchFolderCache_MissesUnderAnotherInputScaleDivisorOrHarmonize()
    {
        using var dir = new TempDir();
        var patches = PatchFolder(dir);
        var cache = dir.File("cache");
        var entries = Path.Combine(cache, "embeddings");
        Environment.SetEnvironmentVariable("SSL4ECO_CACHE", cache);
        try
        {
            string[] Probe(params string[] extra) =>
                ["probe", "--patches", patches, "-m", model.Checkpoint, "-y", dir.File("labels.csv"), "--task", "Classification", "--method", "Knn", "--k", "3", "--folds", "2", .. extra];
            void Run(string[] args, bool embeds, int cached)
            {
                var (exit, _, stderr) = CliHarness.Run(args);
                Assert.True(exit == 0, stderr);
                if (embeds) Assert.Contains("embedded 8 patches", stderr);
                else Assert.DoesNotContain("embedded", stderr);
                Assert.Equal(cached, Directory.GetFiles(entries, "*.parquet").Length);
            }
            Run(Probe(), embeds: true, cached: 1);
            Run(Probe("--input-scale-divisor", "10000"), embeds: true, cached: 2);   // another scaling: a miss, its own entry
            Run(Probe("--input-scale-divisor", "10000"), embeds: false, cached: 2);  // the same scaling again: a hit
            Run(Probe("--harmonize", "Off"), embeds: true, cached: 3);               // another harmonisation mode: a miss
            Run(Probe(), embeds: false, cached: 3);                                  // the first recipe still hits its entry
        }
        finally
        {
            Environment.SetEnvironmentVariable("SSL4ECO_CACHE", null);
        }
    }

    [Fact]
    public void Metrics_Classification_EqualsScikitLearn()
    {
        using var dir = new TempDir();
        var sk = PythonOracle.Run("""
import numpy as np, sys, json
from sklearn.metrics import accuracy_score, f1_score, average_precision_score
rng = np.random.default_rng(0)
y = rng.integers(0, 4, 200); s = rng.random((200, 4)); s /= s.sum(1, keepdims=True)
np.save(sys.argv[1] + '/y.npy', y); np.save(sys.argv[1] + '/s.npy', s.astype(np.float32))
p = s.argmax(1); oh = np.eye(4)[y]
print(json.dumps({'accuracy': accuracy_score(y, p), 'f1_macro': f1_score(y, p, average='macro'),
  'f1_weighted': f1_score(y, p, average='weighted'), 'map_macro': average_precision_score(oh, s.astype(np.float32), average='macro')}))
""", dir.Path);
        var (exit, stdout, stderr) = CliHarness.Run("metrics", "--task", "Classification", "--y-true", dir.File("y.npy"), "--y-score", dir.File("s.npy"));
        Assert.True(exit == 0, stderr);
        using var ours = JsonDocument.Parse(stdout);
        using var theirs = JsonDocument.Parse(sk);
        foreach (var p in theirs.RootElement.EnumerateObject())
            Assert.Equal(p.Value.GetDouble(), ours.RootElement.GetProperty(p.Name).GetDouble(), 1e-6);
    }

    [Fact]
    public void Metrics_RowCountMismatch_IsAClearError()
    {
        using var dir = new TempDir();
        NpyFile.Write(dir.File("y.npy"), new float[] { 0, 1, 1 }, 3);
        NpyFile.Write(dir.File("s.npy"), new float[] { 0.1f, 0.9f, 0.8f, 0.2f }, 2, 2);
        var (exit, _, stderr) = CliHarness.Run("metrics", "--task", "Classification", "--y-true", dir.File("y.npy"), "--y-score", dir.File("s.npy"));
        Assert.Equal(1, exit);
        Assert.Contains("row counts must match", stderr);
    }

    [Fact]
    public void Probe_LinearlySeparableData_ScoresHigh_WritesReportAndHead_AndSearchFindsSelf()
    {
        using var dir = new TempDir();
        var rng = new Random(4);
        int n = 300, d = 16;
        var x = new float[n * d];
        var y = new float[n];
        for (int i = 0; i < n; i++)
        {
            y[i] = i % 3;
            for (int j = 0; j < d; j++) x[i * d + j] = (float)(rng.NextDouble() - 0.5) + (j == (int)y[i] ? 3f : 0f);
        }
        NpyFile.Write(dir.File("x.npy"), x, n, d);
        NpyFile.Write(dir.File("y.npy"), y, n);
        var (exit, stdout, stderr) = CliHarness.Run("probe", "-e", dir.File("x.npy"), "-y", dir.File("y.npy"), "--task", "Classification",
            "--folds", "3", "--report", dir.File("report.json"), "--save-head", dir.File("head.json"));
        Assert.True(exit == 0, stderr);
        Assert.True(File.Exists(dir.File("report.json")) && File.Exists(dir.File("report.md")) && File.Exists(dir.File("head.json")));
        Assert.NotEmpty(Directory.GetFiles(dir.Path, "*.png"));
        using var report = JsonDocument.Parse(File.ReadAllText(dir.File("report.json")));
        Assert.Contains("f1_macro", report.RootElement.GetRawText());

        (exit, stdout, stderr) = CliHarness.Run("search", "--index", dir.File("x.npy"), "--query", "row:5", "--top", "3");
        Assert.True(exit == 0, stderr);
        var first = stdout.Split('\n')[1].Split('\t');
        Assert.Equal("5", first[2].Trim());
        Assert.Equal(1.0, double.Parse(first[1], System.Globalization.CultureInfo.InvariantCulture), 5);
    }

    [Fact]
    public void Probe_WithAGivenSplit_UsesIt_AndRejectsABadOne()
    {
        using var dir = new TempDir();
        var rng = new Random(8);
        int n = 120, d = 8;
        var x = new float[n * d];
        var y = new float[n];
        for (int i = 0; i < n; i++)
        {
            y[i] = i % 2;
            for (int j = 0; j < d; j++) x[i * d + j] = (float)rng.NextDouble() + (j == (int)y[i] ? 2f : 0f);
        }
        NpyFile.Write(dir.File("x.npy"), x, n, d);
        NpyFile.Write(dir.File("y.npy"), y, n);
        File.WriteAllLines(dir.File("split.csv"), ["id,split", .. Enumerable.Range(0, n).Select(i => $"{i},{(i < 80 ? "train" : i < 100 ? "val" : "test")}")]);
        var (exit, _, stderr) = CliHarness.Run("probe", "-e", dir.File("x.npy"), "-y", dir.File("y.npy"), "--task", "Classification",
            "--split", dir.File("split.csv"), "--report", dir.File("r.json"));
        Assert.True(exit == 0, stderr);
        using var report = JsonDocument.Parse(File.ReadAllText(dir.File("r.json")));
        Assert.Contains("\"f1_macro\"", report.RootElement.GetRawText());

        File.WriteAllLines(dir.File("bad.txt"), Enumerable.Repeat("train", n - 1).Append("holdout"));
        (exit, _, stderr) = CliHarness.Run("probe", "-e", dir.File("x.npy"), "-y", dir.File("y.npy"), "--task", "Classification", "--split", dir.File("bad.txt"));
        Assert.Equal(1, exit);
        Assert.Contains("holdout", stderr);
    }

    [Fact]
    public void Probe_MismatchedRows_IsAClearError()
    {
        using var dir = new TempDir();
        NpyFile.Write(dir.File("x.npy"), new float[20], 5, 4);
        NpyFile.Write(dir.File("y.npy"), new float[] { 0, 1, 0 }, 3);
        var (exit, _, stderr) = CliHarness.Run("probe", "-e", dir.File("x.npy"), "-y", dir.File("y.npy"), "--task", "Classification");
        Assert.Equal(1, exit);
        Assert.Contains("5 rows", stderr);
    }
}

using SSL4Eco.Inference.Arrays;
using SSL4Eco.Inference.Evaluation;
using SSL4Eco.Inference.Heads;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Inference.Tests.Evaluation;

/// <summary><see cref="ProbeFiles"/>: the label and split readers behind <c>ssl4eco probe</c>, and its head choice.</summary>
public sealed class ProbeFilesTests
{
    [Fact]
    public void ReadSplit_takes_plain_lines_or_the_last_column_under_a_split_header()
    {
        using var dir = new TempDir();
        File.WriteAllLines(dir.File("plain.txt"), ["train", " val ", "", "test"]);
        File.WriteAllLines(dir.File("table.csv"), ["id,fold,split", "a,1,train", "b,2, test", "", "c,3,val"]);
        Assert.Equal(["train", "val", "test"], ProbeFiles.ReadSplit(dir.File("plain.txt")));
        Assert.Equal(["train", "test", "val"], ProbeFiles.ReadSplit(dir.File("table.csv")));
    }

    [Fact]
    public void ReadSplit_names_a_missing_or_empty_file_and_the_fix()
    {
        using var dir = new TempDir();
        var missing = Assert.Throws<FileNotFoundException>(() => ProbeFiles.ReadSplit(dir.File("none.txt")));
        Assert.Equal($"split file '{dir.File("none.txt")}' does not exist; check the path.", missing.Message);
        File.WriteAllLines(dir.File("header.csv"), ["id,split", " "]);
        var empty = Assert.Throws<InvalidDataException>(() => ProbeFiles.ReadSplit(dir.File("header.csv")));
        Assert.Contains("holds no rows; write one of train/val/test per label row", empty.Message);
    }

    [Fact]
    public void ReadLabels_reads_csv_by_id_and_npy_by_row()
    {
        using var dir = new TempDir();
        File.WriteAllLines(dir.File("y.CSV"), ["name,label", "p2,forest", "p1,water"]);
        var csv = ProbeFiles.ReadLabels(dir.File("y.CSV"), TaskType.Classification, "name");
        Assert.Equal(["p2", "p1"], csv.Ids!);
        Assert.Equal(["forest", "water"], csv.OutputNames);
        NpyFile.Write(dir.File("y.npy"), [1f, 0f, 1f], 3);
        var npy = ProbeFiles.ReadLabels(dir.File("y.npy"), TaskType.Classification);
        Assert.Null(npy.Ids);
        Assert.Equal([1f, 0f, 1f], npy.Values.ToArray());
        var e = Assert.Throws<FileNotFoundException>(() => ProbeFiles.ReadLabels(dir.File("none.npy"), TaskType.Classification));
        Assert.Contains("label file", e.Message);
        Assert.Contains("does not exist; check the path", e.Message);
    }

    [Fact]
    public void FitHead_is_ridge_for_ridge_and_the_linear_probe_otherwise_on_the_first_set()
    {
        var rng = new Random(5);
        int n = 40, dim = 6;
        var x = Enumerable.Range(0, n * dim).Select(_ => (float)rng.NextDouble()).ToArray();
        var other = Enumerable.Range(0, n * dim).Select(_ => (float)rng.NextDouble()).ToArray();
        var y = Enumerable.Range(0, n).Select(i => x[i * dim] * 3 - x[i * dim + 1]).ToArray();
        var labels = new LabelSet(TaskType.Regression, y, ["t"]);
        var match = LabelMatcher.Match([new EmbeddingSet("a", x, dim), new EmbeddingSet("b", other, dim)], labels);

        var ridge = ProbeFiles.FitHead(match, new ProbeEvaluationOptions { Method = ProbeMethod.Ridge, RidgeAlpha = 0.5 });
        var expected = RidgeRegression.Fit(x, dim, y, 1, 0.5, ["t"]);
        Assert.Equal(expected.Weight.ToArray(), ridge.Weight.ToArray());
        Assert.Equal(expected.Bias.ToArray(), ridge.Bias.ToArray());

        var options = new ProbeEvaluationOptions { Method = ProbeMethod.Knn, Probe = new LinearProbeOptions { Task = TaskType.Regression, MaxEpochs = 20 } };
        var linear = ProbeFiles.FitHead(match, options);
        var expectedLinear = new LinearProbeTrainer(options.Probe).Fit(x, dim, y, 1, ["t"]);
        Assert.Equal(expectedLinear.Weight.ToArray(), linear.Weight.ToArray());
        Assert.NotEqual(expected.Weight.ToArray(), linear.Weight.ToArray());
    }
}

using SSL4Eco.Inference.Arrays;
using SSL4Eco.Inference.Evaluation;
using SSL4Eco.Inference.Heads;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Inference.Tests.Evaluation;

/// <summary>The evaluation harness: folds, several embedding sets, reports, label files and bad inputs.</summary>
public class ProbeEvaluationTests
{
    private const int N = 300, D = 16, C = 3;

    /// <summary>Informative embeddings (class centroids + noise), pure-noise embeddings, and class names.</summary>
    private static (EmbeddingSet Good, EmbeddingSet Noise, LabelSet Labels) Data()
    {
        var rng = new Random(5);
        var y = new float[N];
        var good = new float[N * D];
        var noise = new float[N * D];
        for (int i = 0; i < N; i++)
        {
            y[i] = i % C;
            for (int j = 0; j < D; j++)
            {
                good[i * D + j] = (float)((j % C == (int)y[i] ? 2.0 : 0.0) + rng.NextDouble() - 0.5);
                noise[i * D + j] = (float)(rng.NextDouble() - 0.5);
            }
        }
        return (new EmbeddingSet("good", good, D), new EmbeddingSet("noise", noise, D), new LabelSet(TaskType.Classification, y, ["forest", "crop", "water"]));
    }

    [Theory]
    [InlineData(ProbeMethod.Linear)]
    [InlineData(ProbeMethod.Knn)]
    public void Compares_embedding_sets_over_stratified_folds(ProbeMethod method)
    {
        var (good, noise, labels) = Data();
        var opts = new ProbeEvaluationOptions { Method = method, Folds = 3, KnnK = 10, Probe = new LinearProbeOptions { LearningRate = 1e-2, MaxEpochs = 200 } };
        var report = ProbeEvaluation.Run([good, noise], labels, opts);
        Assert.Equal(["good", "noise"], report.Results.Select(r => r.Name));
        Assert.All(report.Results, r => Assert.Equal(3, r.Folds.Count));
        Assert.All(report.Results[0].Folds, f => Assert.Equal(N, f.TrainCount + f.TestCount));
        Assert.True(report.Results[0].Summary["accuracy"].Mean > 0.95, $"good accuracy {report.Results[0].Summary["accuracy"].Mean}");
        Assert.True(report.Results[1].Summary["accuracy"].Mean < 0.6, $"noise accuracy {report.Results[1].Summary["accuracy"].Mean}");
        var acc = report.Results[0].Folds.Select(f => f.Metrics.Accuracy!.Value).ToArray();
        Assert.Equal(acc.Average(), report.Results[0].Summary["accuracy"].Mean, 1e-12);
        var confusion = report.Results[0].Confusion!;
        Assert.Equal(N, confusion.Sum(r => r.Sum()));
        for (int c = 0; c < C; c++) Assert.Equal(N / C, confusion[c].Sum());
    }

    [Fact]
    public void Embedding_rows_are_matched_to_labels_by_id()
    {
        var (good, _, labels) = Data();
        var ids = Enumerable.Range(0, N).Select(i => $"s{i}").ToArray();
        var withIds = new LabelSet(labels.Task, labels.Values.Span, labels.OutputNames, ids);
        var perm = Enumerable.Range(0, N).Reverse().ToArray();
        var shuffled = new float[N * D];
        for (int i = 0; i < N; i++) good.Data.Span.Slice(perm[i] * D, D).CopyTo(shuffled.AsSpan(i * D, D));
        var opts = new ProbeEvaluationOptions { Method = ProbeMethod.Knn, Folds = 3 };
        var expected = ProbeEvaluation.Run([good], labels, opts).ToJson();
        var actual = ProbeEvaluation.Run([new EmbeddingSet("good", shuffled, D, perm.Select(i => ids[i]).ToArray())], withIds, opts).ToJson();
        Assert.Equal(expected, actual);
        var missing = new EmbeddingSet("good", good.Data.Span, D, ids.Select(i => i == "s7" ? "x" : i).ToArray());
        var refused = Assert.Throws<ArgumentException>(() => ProbeEvaluation.Run([missing], withIds, opts)).Message;
        Assert.Contains($"1 of {N} labels have no embedding (e.g. 's7')", refused);
        Assert.Contains("1 of " + N + " embedding rows have no label (e.g. 'x')", refused);
    }

    [Fact]
    public void LabelMatching_PartialOverlapAllowed_EqualsTheRunOnTheSharedRows()
    {
        var (good, _, labels) = Data();
        var ids = Enumerable.Range(0, N).Select(i => $"s{i}").ToArray();
        var withIds = new LabelSet(labels.Task, labels.Values.Span, labels.OutputNames, ids);
        // The set lacks the last 6 samples and has 2 unlabelled extras; allowed, the run equals one on the shared rows.
        var keep = Enumerable.Range(0, N - 6).ToArray();
        var data = new float[(keep.Length + 2) * D];
        for (int i = 0; i < keep.Length; i++) good.Data.Span.Slice(keep[i] * D, D).CopyTo(data.AsSpan(i * D, D));
        var partial = new EmbeddingSet("good", data, D, [.. keep.Select(i => ids[i]), "extra1", "extra2"]);
        var opts = new ProbeEvaluationOptions { Method = ProbeMethod.Knn, Folds = 3 };
        Assert.Throws<ArgumentException>(() => ProbeEvaluation.Run([partial], withIds, opts));
        var match = LabelMatcher.Match([partial], withIds, allowMissing: true);
        Assert.Equal((6, 2), (match.LabelsWithoutEmbedding, match.RowsWithoutLabel));
        Assert.Equal(keep, match.LabelRows);
        var direct = new EmbeddingSet("good", data.AsSpan(0, keep.Length * D), D, keep.Select(i => ids[i]).ToArray());
        var subLabels = new LabelSet(labels.Task, keep.Select(i => labels.Values.Span[i]).ToArray(), labels.OutputNames, keep.Select(i => ids[i]).ToArray());
        opts.AllowMissingLabels = true;
        Assert.Equal(ProbeEvaluation.Run([direct], subLabels, opts).ToJson(), ProbeEvaluation.Run([partial], withIds, opts).ToJson());
        // No common id at all is refused even when missing labels are allowed.
        var foreign = new EmbeddingSet("good", good.Data.Span, D, ids.Select(i => "q" + i).ToArray());
        Assert.Contains("No label id matches", Assert.Throws<ArgumentException>(() => LabelMatcher.Match([foreign], withIds, allowMissing: true)).Message);
    }

    [Fact]
    public void Stratified_folds_balance_classes_and_partition_rows()
    {
        var y = Enumerable.Range(0, 103).Select(i => (float)(i < 70 ? 0 : i < 95 ? 1 : 2)).ToArray();
        var labels = new LabelSet(TaskType.Classification, y, ["a", "b", "c"]);
        var folds = ProbeEvaluation.MakeFolds(labels, new ProbeEvaluationOptions { Folds = 4 });
        Assert.Equal(Enumerable.Range(0, 103), folds.SelectMany(f => f.Test).Order());
        foreach (var c in new[] { 0, 1, 2 })
        {
            var counts = folds.Select(f => f.Test.Count(i => y[i] == c)).ToArray();
            Assert.True(counts.Max() - counts.Min() <= 1, $"class {c} per-fold counts {string.Join(",", counts)}");
        }
    }

    [Fact]
    public void Regression_ridge_with_a_given_split_and_reports_round_trip()
    {
        var rng = new Random(9);
        var x = Enumerable.Range(0, N * D).Select(_ => (float)rng.NextDouble()).ToArray();
        var y = new float[N * 2];
        for (int i = 0; i < N; i++) { y[i * 2] = 3 * x[i * D] - x[i * D + 1]; y[i * 2 + 1] = x[i * D + 2] + 0.01f * (float)rng.NextDouble(); }
        var labels = new LabelSet(TaskType.Regression, y, ["agb", "height"]);
        var split = Enumerable.Range(0, N).Select(i => i < 200 ? "train" : i < 240 ? "val" : "test").ToArray();
        var report = ProbeEvaluation.Run([new EmbeddingSet("emb", x, D)], labels, new ProbeEvaluationOptions { Method = ProbeMethod.Ridge, RidgeAlpha = 1e-3, Split = split });
        Assert.Equal(1, report.Folds);
        Assert.Equal(60, report.Results[0].Folds[0].TestCount);
        Assert.True(report.Results[0].Summary["r2_mean"].Mean > 0.95);
        Assert.Equal(0, report.Results[0].Summary["r2_mean"].Std);

        using var dir = new TempDir();
        report.SaveJson(dir.File("r.json"));
        report.SaveMarkdown(dir.File("r.md"));
        var back = EvaluationReport.LoadJson(dir.File("r.json"));
        Assert.Equal(report.ToJson(), back.ToJson());
        Assert.Contains("\"r2_mean\"", File.ReadAllText(dir.File("r.json")));
        var md = File.ReadAllText(dir.File("r.md"));
        Assert.Contains("| emb | 16 |", md);
        Assert.Contains("r2_mean", md);
    }

    [Fact]
    public void Csv_multilabel_names_and_indicator_columns_agree_and_npy_classes_are_remapped()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("names.csv"), "id,labels\na,forest;water\nb,\n\"c\",water\nd,crop;forest\n");
        File.WriteAllText(dir.File("cols.csv"), "id,crop,forest,water\na,0,1,1\nb,0,0,0\nc,0,0,1\nd,1,1,0\n");
        var byNames = LabelSet.FromCsv(dir.File("names.csv"), TaskType.MultiLabel);
        var byCols = LabelSet.FromCsv(dir.File("cols.csv"), TaskType.MultiLabel);
        Assert.Equal(byCols.OutputNames, byNames.OutputNames);
        Assert.Equal(byCols.Values.ToArray(), byNames.Values.ToArray());
        Assert.Equal(["a", "b", "c", "d"], byNames.Ids!);

        File.WriteAllText(dir.File("cls.csv"), "id,lc\np1,10\np2,2\np3,10\n");
        var cls = LabelSet.FromCsv(dir.File("cls.csv"), TaskType.Classification);
        Assert.Equal(["2", "10"], cls.OutputNames);
        Assert.Equal([1f, 0f, 1f], cls.Values.ToArray());

        NpyFile.Write(dir.File("y.npy"), new long[] { 7, 3, 7, 9 }, 4);
        var npy = LabelSet.FromNpy(dir.File("y.npy"), TaskType.Classification);
        Assert.Equal(["3", "7", "9"], npy.OutputNames);
        Assert.Equal([1f, 0f, 1f, 2f], npy.Values.ToArray());
    }

    [Fact]
    public void Bad_inputs_are_named()
    {
        var (good, _, labels) = Data();
        using var dir = new TempDir();
        var half = new EmbeddingSet("half", good.Data.Span[..(N / 2 * D)], D);
        Assert.Contains("150 rows", Assert.Throws<ArgumentException>(() => ProbeEvaluation.Run([half], labels)).Message);

        var nan = good.Data.ToArray(); nan[5 * D + 3] = float.NaN;
        NpyFile.Write(dir.File("nan.npy"), nan, N, D);
        Assert.Contains("row 5", Assert.Throws<InvalidDataException>(() => EmbeddingSet.FromNpy(dir.File("nan.npy"))).Message);

        var single = new LabelSet(TaskType.Classification, new float[N], ["forest", "crop", "water"]);
        Assert.Contains("single class", Assert.Throws<ArgumentException>(() => ProbeEvaluation.Run([good], single)).Message);

        var y = labels.Values.ToArray();
        var split = Enumerable.Range(0, N).Select(i => y[i] == 2 ? "test" : i % 2 == 0 ? "train" : "test").ToArray();
        Assert.Contains("'water' appears in the evaluation rows", Assert.Throws<ArgumentException>(() =>
            ProbeEvaluation.Run([good], labels, new ProbeEvaluationOptions { Split = split })).Message);

        Assert.Contains("regression only", Assert.Throws<ArgumentException>(() =>
            ProbeEvaluation.Run([good], labels, new ProbeEvaluationOptions { Method = ProbeMethod.Ridge })).Message);

        File.WriteAllText(dir.File("empty.csv"), "id,label\n");
        Assert.Contains("no data rows", Assert.Throws<InvalidDataException>(() => LabelSet.FromCsv(dir.File("empty.csv"), TaskType.Classification)).Message);
        File.WriteAllText(dir.File("bad.csv"), "id,agb\na,1.5\nb,heavy\n");
        Assert.Contains("'heavy' is not a number", Assert.Throws<InvalidDataException>(() => LabelSet.FromCsv(dir.File("bad.csv"), TaskType.Regression)).Message);
        Assert.Contains("no id column", Assert.Throws<InvalidDataException>(() => LabelSet.FromCsv(dir.File("bad.csv"), TaskType.Regression, idColumn: "pid")).Message);
        NpyFile.Write(dir.File("e.npy"), Array.Empty<float>(), 0, D);
        Assert.Throws<InvalidDataException>(() => EmbeddingSet.FromNpy(dir.File("e.npy")));
    }
}

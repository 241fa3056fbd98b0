using System.Text.Json;
using SSL4Eco.Inference.Evaluation;
using SSL4Eco.Inference.Geo.Tables;
using SSL4Eco.Inference.Heads;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Inference.Geo.Tests.Tables;

/// <summary>
/// <see cref="ProbeRun"/>: the files of <c>ssl4eco probe</c> (tables with and without sample ids, CSV labels, a split file)
/// give the report <see cref="ProbeEvaluation.Run"/> gives on the same arrays, and the head <see cref="ProbeFiles.FitHead"/>
/// trains; wrong requests fail before anything is written.
/// </summary>
public sealed class ProbeRunTests
{
    private const int N = 60, Dim = 5;

    private static (float[] X, string[] Ids, string[] Classes) Data()
    {
        var rng = new Random(9);
        var classes = Enumerable.Range(0, N).Select(i => i % 3 == 0 ? "water" : "forest").ToArray();
        var x = Enumerable.Range(0, N * Dim).Select(j => (float)rng.NextDouble() + (classes[j / Dim] == "water" && j % Dim == 0 ? 2f : 0f)).ToArray();
        return (x, Enumerable.Range(0, N).Select(i => $"p{i:00}").ToArray(), classes);
    }

    [Fact]
    public async Task Files_give_the_same_report_and_head_as_the_arrays()
    {
        using var dir = new TempDir();
        var (x, ids, classes) = Data();
        // The CSV table lists the rows in reverse: they are matched to labels by id, never by position.
        await new EmbeddingTable([.. ids.Reverse()], [.. Enumerable.Range(0, N).Reverse().SelectMany(i => x.Skip(i * Dim).Take(Dim))], Dim).WriteAsync(dir.File("byid.csv"));
        await new EmbeddingTable(ids, x, Dim).WriteAsync(dir.File("byrow.npy"));
        File.WriteAllLines(dir.File("y.csv"), ["id,label", .. ids.Select((id, i) => $"{id},{classes[i]}")]);
        File.WriteAllLines(dir.File("split.csv"), ["id,split", .. ids.Select((id, i) => $"{id},{(i < 40 ? "train" : i < 48 ? "val" : "test")}")]);
        var run = new ProbeRun
        {
            EmbeddingFiles = [dir.File("byid.csv"), dir.File("byrow.npy")], LabelsPath = dir.File("y.csv"), Task = TaskType.Classification,
            SplitPath = dir.File("split.csv"), Options = new() { Method = ProbeMethod.Knn, KnnK = 5 },
            ReportPath = dir.File("out/r.json"), HeadPath = dir.File("out/head.json"),
        };
        var outcome = await run.RunAsync();

        var labels = LabelSet.FromCsv(dir.File("y.csv"), TaskType.Classification);
        var split = Enumerable.Range(0, N).Select(i => i < 40 ? "train" : i < 48 ? "val" : "test").ToArray();
        var options = new ProbeEvaluationOptions { Method = ProbeMethod.Knn, KnnK = 5, Split = split };
        var expected = ProbeEvaluation.Run([new EmbeddingSet("byid", x, Dim, ids), new EmbeddingSet("byrow", x, Dim)], labels, options);
        Assert.Equal(expected.ToJson(), outcome.Report.ToJson());
        Assert.Equal(expected.ToJson(), File.ReadAllText(dir.File("out/r.json")));
        Assert.Equal(expected.ToMarkdown(), File.ReadAllText(dir.File("out/r.md")));
        using (JsonDocument.Parse(File.ReadAllText(dir.File("out/r.json")))) { }
        var head = LinearHead.Load(dir.File("out/head.json"));
        var expectedHead = ProbeFiles.FitHead(LabelMatcher.Match([new EmbeddingSet("byid", x, Dim, ids)], labels), options);
        Assert.Equal(expectedHead.Weight.ToArray(), head.Weight.ToArray());
        Assert.Equal(outcome.Head!.Weight.ToArray(), head.Weight.ToArray());
        Assert.False(outcome.Match.Dropped);
    }

    [Theory]
    [InlineData("nothing", "Give --embeddings and/or --patches.")]
    [InlineData("report-is-labels", "y.csv")]
    [InlineData("head-is-table", "t.npy")]
    [InlineData("folder-without-model", "pass the model that embeds it")]
    public async Task Wrong_requests_fail_with_one_line_before_anything_is_written(string kind, string mention)
    {
        using var dir = new TempDir();
        var (x, ids, classes) = Data();
        await new EmbeddingTable(ids, x, Dim).WriteAsync(dir.File("t.npy"));
        File.WriteAllLines(dir.File("y.csv"), ["id,label", .. ids.Select((id, i) => $"{id},{classes[i]}")]);
        Directory.CreateDirectory(dir.File("patches"));
        var ok = new ProbeRun { EmbeddingFiles = [dir.File("t.npy")], LabelsPath = dir.File("y.csv"), Task = TaskType.Classification };
        var run = kind switch
        {
            "nothing" => ok with { EmbeddingFiles = [] },
            "report-is-labels" => ok with { ReportPath = dir.File("y.csv") },
            "head-is-table" => ok with { HeadPath = dir.File("t.npy") },
            _ => ok with { PatchFolder = dir.File("patches") },
        };
        var before = Directory.GetFiles(dir.Path, "*", SearchOption.AllDirectories).ToDictionary(f => f, File.ReadAllBytes);
        var e = await Assert.ThrowsAsync<ArgumentException>(() => run.RunAsync());
        Assert.Contains(mention, e.Message);
        Assert.DoesNotContain('\n', e.Message);
        var after = Directory.GetFiles(dir.Path, "*", SearchOption.AllDirectories);
        Assert.Equal(before.Keys.Order(), after.Order());
        foreach (var f in after) Assert.Equal(before[f], File.ReadAllBytes(f));
    }
}

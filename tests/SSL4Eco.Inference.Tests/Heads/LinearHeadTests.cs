using SSL4Eco.Inference.Heads;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Inference.Tests.Heads;

/// <summary>Head files round-trip exactly; bad files and shapes are rejected with named problems.</summary>
public class LinearHeadTests
{
    private static LinearHead Make(TaskType task, int k = 3, int d = 5)
    {
        var rng = new Random(3);
        var w = Enumerable.Range(0, k * d).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        var b = Enumerable.Range(0, k).Select(_ => (float)rng.NextDouble()).ToArray();
        return task == TaskType.Regression
            ? new LinearHead(task, d, w, b, ["a", "b", "c"], [1f, 2f, 3f], [0.5f, 1f, 4f])
            : new LinearHead(task, d, w, b, ["a", "b", "c"]);
    }

    [Theory]
    [InlineData(TaskType.Classification)]
    [InlineData(TaskType.MultiLabel)]
    [InlineData(TaskType.Regression)]
    [InlineData(TaskType.Distribution)]
    public void Save_load_round_trip_predicts_identically(TaskType task)
    {
        using var dir = new TempDir();
        var head = Make(task);
        head.Save(dir.File("h.json"));
        var back = LinearHead.Load(dir.File("h.json"));
        Assert.Equal(task, back.Task);
        Assert.Equal(head.OutputNames, back.OutputNames);
        Assert.Equal(head.Weight.ToArray(), back.Weight.ToArray());
        Assert.Equal(head.TargetStd.ToArray(), back.TargetStd.ToArray());
        var x = Enumerable.Range(0, 4 * 5).Select(i => (float)Math.Sin(i)).ToArray();
        Assert.Equal(head.Predict(x, 4), back.Predict(x, 4));
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp*"));
    }

    [Fact]
    public void Predict_applies_the_task_link()
    {
        // One output row per task, by hand from the definition: softmax / sigmoid / z·std + mean.
        var x = new float[] { 1, 0, 0, 0, 0 };
        var cls = Make(TaskType.Classification).Predict(x, 1);
        Assert.Equal(1.0, cls.Sum(), 1e-5);
        var z = Make(TaskType.MultiLabel).Logits(x, 1);
        var ml = Make(TaskType.MultiLabel).Predict(x, 1);
        for (int j = 0; j < 3; j++) Assert.Equal(1 / (1 + Math.Exp(-z[j])), ml[j], 1e-5);
        var reg = Make(TaskType.Regression);
        var zr = reg.Logits(x, 1);
        var pr = reg.Predict(x, 1);
        for (int j = 0; j < 3; j++) Assert.Equal(zr[j] * reg.TargetStd.Span[j] + reg.TargetMean.Span[j], pr[j], 1e-5);
    }

    [Fact]
    public void Bad_files_and_shapes_are_named()
    {
        using var dir = new TempDir();
        Assert.Throws<FileNotFoundException>(() => LinearHead.Load(dir.File("missing.json")));
        File.WriteAllText(dir.File("a.json"), "{ not json");
        Assert.Contains("not valid JSON", Assert.Throws<InvalidDataException>(() => LinearHead.Load(dir.File("a.json"))).Message);
        File.WriteAllText(dir.File("b.json"), """{"format":"other","version":1}""");
        Assert.Contains("format", Assert.Throws<InvalidDataException>(() => LinearHead.Load(dir.File("b.json"))).Message);
        File.WriteAllText(dir.File("c.json"), """{"format":"ssl4eco-linear-head","version":1,"task":"regression","input_dim":2,"outputs":1,"weight":[1,2,3],"bias":[0]}""");
        Assert.Contains("Weight", Assert.Throws<InvalidDataException>(() => LinearHead.Load(dir.File("c.json"))).Message);
        File.WriteAllText(dir.File("d.json"), """{"format":"ssl4eco-linear-head","version":1,"task":"segmentation","input_dim":2,"outputs":1,"weight":[1,2],"bias":[0]}""");
        Assert.Contains("segmentation", Assert.Throws<InvalidDataException>(() => LinearHead.Load(dir.File("d.json"))).Message);
        Assert.Throws<ArgumentException>(() => new LinearHead(TaskType.Classification, 2, [1, 2], [0]));
        Assert.Throws<ArgumentException>(() => new LinearHead(TaskType.Regression, 2, [1, float.NaN], [0]));
        Assert.Throws<ArgumentException>(() => Make(TaskType.Classification).Predict(new float[7], 1));
    }
}

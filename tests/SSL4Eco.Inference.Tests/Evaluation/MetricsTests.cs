using System.Text.Json;
using SSL4Eco.Inference.Arrays;
using SSL4Eco.Inference.Evaluation;
using SSL4Eco.Inference.Heads;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Inference.Tests.Evaluation;

/// <summary>
/// Every metric against scikit-learn 1.2 / scipy on random and edge-case inputs (ties, absent classes, all-negative
/// label columns, constant targets). sklearn's own functions produce the expected values; NaN/raise → null.
/// </summary>
public class MetricsTests
{
    private const string Script = """
import json, sys, numpy as np
from sklearn import metrics as M
from scipy.spatial.distance import jensenshannon
task, t, s, out = sys.argv[1], np.load(sys.argv[2]), np.load(sys.argv[3]), sys.argv[4]
def safe(f):
    try:
        v = float(f())
        return None if np.isnan(v) else v
    except ValueError:
        return None
r = {}
if task == 'cls':
    K = s.shape[1]; y = t.astype(int); p = s.argmax(1); oh = np.eye(K)[y]
    r['accuracy'] = M.accuracy_score(y, p)
    for a in ['macro', 'micro', 'weighted']: r['f1_' + a] = M.f1_score(y, p, average=a, zero_division=0)
    for a in ['micro', 'macro']:
        r['map_' + a] = safe(lambda: M.average_precision_score(oh, s, average=a))
        r['auroc_' + a] = safe(lambda: M.roc_auc_score(y, s, multi_class='ovr', average=a, labels=list(range(K))) if K > 2 else M.roc_auc_score(oh, s, average=a))
elif task == 'ml':
    p = (s >= 0.5).astype(int); y = t.astype(int)
    r['accuracy'] = M.accuracy_score(y, p)
    for a in ['macro', 'micro', 'weighted']: r['f1_' + a] = M.f1_score(y, p, average=a, zero_division=0)
    for a in ['micro', 'macro']:
        r['map_' + a] = safe(lambda: M.average_precision_score(y, s, average=a))
        r['auroc_' + a] = safe(lambda: M.roc_auc_score(y, s, average=a))
elif task == 'reg':
    r['r2'] = M.r2_score(t, s, multioutput='raw_values').tolist()
    r['r2_mean'] = M.r2_score(t, s)
    r['mae'] = M.mean_absolute_error(t, s)
    r['rmse'] = M.mean_squared_error(t, s, squared=False)
else:
    r['jsd'] = float(np.mean([jensenshannon(a, b) ** 2 for a, b in zip(t, s)]))
    r['mae'] = M.mean_absolute_error(t, s)
    r['rmse'] = M.mean_squared_error(t, s, squared=False)
json.dump(r, open(out, 'w'))
""";

    private static void CompareWithSklearn(TaskType task, double[] yTrue, int[] trueShape, double[] scores, int outputs)
    {
        using var dir = new TempDir();
        NpyFile.Write(dir.File("t.npy"), yTrue, trueShape);
        NpyFile.Write(dir.File("s.npy"), scores, scores.Length / outputs, outputs);
        string mode = task switch { TaskType.Classification => "cls", TaskType.MultiLabel => "ml", TaskType.Regression => "reg", _ => "dist" };
        PythonOracle.Run(Script, mode, dir.File("t.npy"), dir.File("s.npy"), dir.File("r.json"));
        var expected = JsonDocument.Parse(File.ReadAllText(dir.File("r.json"))).RootElement;
        var actual = JsonDocument.Parse(JsonSerializer.Serialize(Metrics.Compute(task, yTrue, scores, outputs))).RootElement;
        foreach (var prop in expected.EnumerateObject())
        {
            if (prop.Value.ValueKind == JsonValueKind.Null)
            {
                Assert.False(actual.TryGetProperty(prop.Name, out _), $"{prop.Name}: sklearn undefined, we gave a value");
                continue;
            }
            Assert.True(actual.TryGetProperty(prop.Name, out var got), $"{prop.Name} missing from our report");
            if (prop.Value.ValueKind == JsonValueKind.Array)
            {
                var e = prop.Value.EnumerateArray().Select(x => x.GetDouble()).ToArray();
                var g = got.EnumerateArray().Select(x => x.GetDouble()).ToArray();
                Assert.Equal(e.Length, g.Length);
                for (int i = 0; i < e.Length; i++) Assert.True(Math.Abs(e[i] - g[i]) <= 1e-6, $"{prop.Name}[{i}]: sklearn {e[i]}, ours {g[i]}");
            }
            else
                Assert.True(Math.Abs(prop.Value.GetDouble() - got.GetDouble()) <= 1e-6, $"{prop.Name}: sklearn {prop.Value.GetDouble()}, ours {got.GetDouble()}");
        }
        var expectedKeys = expected.EnumerateObject().Where(p => p.Value.ValueKind != JsonValueKind.Null).Select(p => p.Name).ToHashSet();
        Assert.All(actual.EnumerateObject(), p => Assert.Contains(p.Name, expectedKeys));
    }

    /// <summary>Probabilities from small integer counts: many exact ties, rows sum to one.</summary>
    private static double[] TiedProbabilities(Random rng, int n, int k)
    {
        var s = new double[n * k];
        for (int i = 0; i < n; i++)
        {
            double sum = 0;
            for (int j = 0; j < k; j++) { s[i * k + j] = rng.Next(0, 4) + (j == 0 ? 1 : 0); sum += s[i * k + j]; }
            for (int j = 0; j < k; j++) s[i * k + j] /= sum;
        }
        return s;
    }

    [Theory]
    [InlineData(1, 5, false)]
    [InlineData(2, 5, true)]   // class 4 never true: F1 label union, AUROC macro undefined (sklearn raises)
    [InlineData(3, 2, false)]
    public void Classification_matches_sklearn(int seed, int k, bool absentClass)
    {
        var rng = new Random(seed);
        int n = 157;
        var y = new double[n];
        for (int i = 0; i < n; i++) y[i] = rng.Next(0, absentClass ? k - 1 : k);
        var s = TiedProbabilities(rng, n, k);
        CompareWithSklearn(TaskType.Classification, y, [n], s, k);
    }

    [Theory]
    [InlineData(4, false)]
    [InlineData(5, true)]   // one all-negative column (AP 0 as sklearn 1.2, AUROC macro undefined), one all-positive
    public void MultiLabel_matches_sklearn(int seed, bool degenerateColumns)
    {
        var rng = new Random(seed);
        int n = 131, l = 6;
        var y = new double[n * l];
        var s = new double[n * l];
        for (int i = 0; i < n * l; i++)
        {
            y[i] = rng.NextDouble() < 0.3 ? 1 : 0;
            s[i] = Math.Round(Math.Clamp(0.35 * y[i] + rng.NextDouble() * 0.8, 0, 1), 1); // rounding makes ties and exact 0.5
        }
        if (degenerateColumns)
            for (int i = 0; i < n; i++) { y[i * l + 2] = 0; y[i * l + 4] = 1; }
        CompareWithSklearn(TaskType.MultiLabel, y, [n, l], s, l);
    }

    [Theory]
    [InlineData(6, 1, false)]
    [InlineData(7, 4, true)]   // constant target: exact prediction (R² 1) and inexact (R² 0)
    public void Regression_matches_sklearn(int seed, int targets, bool constantTargets)
    {
        var rng = new Random(seed);
        int n = 97;
        var y = new double[n * targets];
        var p = new double[n * targets];
        for (int i = 0; i < y.Length; i++) { y[i] = rng.NextDouble() * 10 - 3; p[i] = y[i] + rng.NextDouble() * 4 - 2; }
        if (constantTargets)
            for (int i = 0; i < n; i++) { y[i * targets + 1] = 2.5; p[i * targets + 1] = 2.5; y[i * targets + 2] = -1; }
        CompareWithSklearn(TaskType.Regression, y, [n, targets], p, targets);
    }

    [Fact]
    public void Distribution_matches_scipy_jensenshannon_squared()
    {
        var rng = new Random(8);
        int n = 64, k = 7;
        var p = new double[n * k]; var q = new double[n * k];
        for (int i = 0; i < p.Length; i++)
        {
            p[i] = rng.NextDouble() < 0.3 ? 0 : rng.NextDouble();   // zeros exercise rel_entr's 0·log 0
            q[i] = rng.NextDouble() < 0.2 ? 0 : rng.NextDouble() * 3; // unnormalised: scipy normalises
        }
        for (int i = 0; i < n; i++) { p[i * k] += 0.01; q[i * k] += 0.01; }
        CompareWithSklearn(TaskType.Distribution, p, [n, k], q, k);
    }

    [Fact]
    public void RocAuc_names_the_single_class_column()
    {
        double[] y = [0, 0, 1, 0];
        double[] s = [0.1, 0.2, 0.3, 0.4];
        var ex = Assert.Throws<ArgumentException>(() => Metrics.RocAuc(y, s, 2, micro: false));
        Assert.Contains("label column", ex.Message);
    }

    [Fact]
    public void Bad_inputs_are_named()
    {
        Assert.Throws<ArgumentException>(() => Metrics.Accuracy([1, 2], [1]));
        Assert.Throws<ArgumentException>(() => Metrics.Accuracy([], []));
        Assert.Contains("not 0 or 1", Assert.Throws<ArgumentException>(() => Metrics.AveragePrecision([0, 2], [0.1, 0.2], 1, true)).Message);
        Assert.Contains("not an integer", Assert.Throws<ArgumentException>(() => Metrics.Compute(TaskType.Classification, new double[] { 3 }, new double[] { 0.5, 0.5 }, 2)).Message);
        Assert.Contains("sums to zero", Assert.Throws<ArgumentException>(() => Metrics.JensenShannonDivergence([0, 0], [1, 0], 2)).Message);
        Assert.Throws<ArgumentException>(() => Metrics.RocAuc([0, 1], [double.NaN, 0.2], 1, true));
    }

    [Fact]
    public void Report_json_uses_snake_case_and_omits_missing()
    {
        var json = JsonSerializer.Serialize(new MetricsReport { F1Macro = 0.5, R2 = [0.1, 0.2] });
        Assert.Equal("""{"f1_macro":0.5,"r2":[0.1,0.2]}""", json);
    }
}

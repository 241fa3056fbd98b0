using System.Globalization;
using System.Text.Json;
using SSL4Eco.Inference.Arrays;
using SSL4Eco.Inference.Evaluation;
using SSL4Eco.Inference.Heads;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Inference.Tests.Heads;

/// <summary>Linear probe and ridge against scikit-learn / PyTorch on synthetic linear data.</summary>
public class LinearProbeTests
{
    private const int N = 2000, D = 64, Train = 1600, Fit = 1440; // rows [0, Fit) train both models, [Fit, Train) early-stop ours

    /// <summary>Gaussian embeddings and a random linear map, seeded.</summary>
    private static (float[] X, float[] Y) LinearData(int seed, int outputs, bool classes, double noise, int n = N)
    {
        var rng = new Random(seed);
        double G() => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
        var x = new float[n * D];
        for (int i = 0; i < x.Length; i++) x[i] = (float)G();
        var w = new double[outputs * D];
        for (int i = 0; i < w.Length; i++) w[i] = G() / Math.Sqrt(D);
        var y = new float[classes ? n : n * outputs];
        for (int r = 0; r < n; r++)
        {
            int best = 0; double bestV = double.NegativeInfinity;
            for (int c = 0; c < outputs; c++)
            {
                double s = 0.5 * c;
                for (int j = 0; j < D; j++) s += w[c * D + j] * x[r * D + j];
                s += noise * G();
                if (classes) { if (s > bestV) { bestV = s; best = c; } }
                else y[r * outputs + c] = (float)(3 * s + 1);
            }
            if (classes) y[r] = best;
        }
        return (x, y);
    }

    private static double[] ToDouble(float[] a) => Array.ConvertAll(a, v => (double)v);

    [Fact]
    public void Classification_probe_macro_f1_within_one_point_of_sklearn_logistic_regression()
    {
        const int k = 4;
        var (x, y) = LinearData(11, k, classes: true, noise: 0.1);
        var epochs = new List<ProbeEpoch>();
        var head = new LinearProbeTrainer(new LinearProbeOptions { Task = TaskType.Classification, LearningRate = 1e-2 })
            .Fit(x.AsSpan(0, Fit * D), y.AsSpan(0, Fit), x.AsSpan(Fit * D, (Train - Fit) * D), y.AsSpan(Fit, Train - Fit), D, k, progress: new SyncProgress(epochs));
        var proba = head.Predict(x.AsSpan(Train * D), N - Train);
        double ours = Metrics.F1(y.AsSpan(Train).ToArray().Select(v => (int)v).ToArray(), Metrics.ArgMax(ToDouble(proba), k), F1Average.Macro);

        using var dir = new TempDir();
        NpyFile.Write(dir.File("x.npy"), x, N, D);
        NpyFile.Write(dir.File("y.npy"), y, N);
        var sk = double.Parse(PythonOracle.Run($"""
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
x, y = np.load(sys.argv[1]).astype(np.float64), np.load(sys.argv[2]).astype(int)
m = LogisticRegression(max_iter=2000).fit(x[:{Fit}], y[:{Fit}])
print(f1_score(y[{Train}:], m.predict(x[{Train}:]), average='macro'))
""", dir.File("x.npy"), dir.File("y.npy")).Trim(), CultureInfo.InvariantCulture);
        Assert.True(sk > 0.8, $"sklearn macro-F1 {sk}: synthetic data too hard to be a useful check");
        Assert.True(Math.Abs(ours - sk) <= 0.01 || ours > sk, $"probe macro-F1 {ours:F4} vs sklearn {sk:F4} after {epochs.Count} epochs (best {epochs[^1].BestEpoch}, val loss {epochs[^1].ValidationLoss:F4})");
    }

    [Fact]
    public void Classification_probe_with_the_papers_defaults_is_within_one_point_of_sklearn_on_a_larger_set()
    {
        // The paper's settings (AdamW lr 1e-3, batch 256, ≤ 1000 epochs, patience 10) with the library's own 0.9/0.1 split.
        const int k = 4, n = 12000, test = 2000;
        var (x, y) = LinearData(21, k, classes: true, noise: 0.1, n: n);
        var head = new LinearProbeTrainer(new LinearProbeOptions { Task = TaskType.Classification, Seed = 3 })
            .Fit(x.AsSpan(0, (n - test) * D), D, y.AsSpan(0, n - test), k);
        var proba = head.Predict(x.AsSpan((n - test) * D), test);
        double ours = Metrics.F1(y.AsSpan(n - test).ToArray().Select(v => (int)v).ToArray(), Metrics.ArgMax(ToDouble(proba), k), F1Average.Macro);
        using var dir = new TempDir();
        NpyFile.Write(dir.File("x.npy"), x, n, D);
        NpyFile.Write(dir.File("y.npy"), y, n);
        var sk = double.Parse(PythonOracle.Run($"""
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
x, y = np.load(sys.argv[1]).astype(np.float64), np.load(sys.argv[2]).astype(int)
m = LogisticRegression(max_iter=2000).fit(x[:{n - test}], y[:{n - test}])
print(f1_score(y[{n - test}:], m.predict(x[{n - test}:]), average='macro'))
""", dir.File("x.npy"), dir.File("y.npy")).Trim(), CultureInfo.InvariantCulture);
        Assert.True(sk > 0.8, $"sklearn macro-F1 {sk}");
        Assert.True(Math.Abs(ours - sk) <= 0.01 || ours > sk, $"probe macro-F1 {ours:F4} vs sklearn {sk:F4}");
    }

    [Fact]
    public void Regression_probe_r2_within_one_point_of_sklearn_ridge_and_ridge_matches_coefficients()
    {
        const int t = 2;
        var (x, y) = LinearData(12, t, classes: false, noise: 0.3);
        var probe = new LinearProbeTrainer(new LinearProbeOptions { Task = TaskType.Regression })
            .Fit(x.AsSpan(0, Fit * D), y.AsSpan(0, Fit * t), x.AsSpan(Fit * D, (Train - Fit) * D), y.AsSpan(Fit * t, (Train - Fit) * t), D, t);
        var ridge = RidgeRegression.Fit(x.AsSpan(0, Train * D), D, y.AsSpan(0, Train * t), t, alpha: 3.0);
        var yTest = ToDouble(y[(Train * t)..]);
        double ourProbe = Metrics.R2(yTest, ToDouble(probe.Predict(x.AsSpan(Train * D), N - Train)), t).Average();

        using var dir = new TempDir();
        NpyFile.Write(dir.File("x.npy"), x, N, D);
        NpyFile.Write(dir.File("y.npy"), y, N, t);
        PythonOracle.Run($"""
import numpy as np, json
from sklearn.linear_model import Ridge
from sklearn.metrics import r2_score
x, y = np.load(sys.argv[1]).astype(np.float64), np.load(sys.argv[2]).astype(np.float64)
m = Ridge(alpha=1.0).fit(x[:{Fit}], y[:{Fit}])
m3 = Ridge(alpha=3.0).fit(x[:{Train}], y[:{Train}])
json.dump(dict(r2=r2_score(y[{Train}:], m.predict(x[{Train}:])), coef=m3.coef_.ravel().tolist(), intercept=m3.intercept_.tolist()), open(sys.argv[3], 'w'))
""", dir.File("x.npy"), dir.File("y.npy"), dir.File("r.json"));
        var r = JsonDocument.Parse(File.ReadAllText(dir.File("r.json"))).RootElement;
        double sk = r.GetProperty("r2").GetDouble();
        Assert.True(Math.Abs(ourProbe - sk) <= 0.01 || ourProbe > sk, $"probe R² {ourProbe:F4} vs sklearn Ridge {sk:F4}");

        var coef = r.GetProperty("coef").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        var intercept = r.GetProperty("intercept").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        var w = ridge.Weight.Span;
        for (int i = 0; i < coef.Length; i++) Assert.True(Math.Abs(coef[i] - w[i]) <= 1e-4, $"coef[{i}]: sklearn {coef[i]}, ours {w[i]}");
        for (int j = 0; j < t; j++) Assert.True(Math.Abs(intercept[j] - ridge.Bias.Span[j]) <= 1e-4, $"intercept[{j}]: sklearn {intercept[j]}, ours {ridge.Bias.Span[j]}");
    }

    /// <summary>Each loss and its gradient against torch (CrossEntropyLoss(weight), BCEWithLogitsLoss(pos_weight), MSELoss, soft-label CE).</summary>
    [Theory]
    [InlineData(TaskType.Classification, true)]
    [InlineData(TaskType.Classification, false)]
    [InlineData(TaskType.MultiLabel, true)]
    [InlineData(TaskType.Regression, false)]
    [InlineData(TaskType.Distribution, false)]
    public void Losses_and_gradients_match_torch(TaskType task, bool weighted)
    {
        const int m = 9, k = 5;
        var rng = new Random(21);
        var z = new float[m * k];
        for (int i = 0; i < z.Length; i++) z[i] = (float)(rng.NextDouble() * 8 - 4);
        int perRow = task == TaskType.Classification ? 1 : k;
        var y = new float[m * perRow];
        for (int i = 0; i < m; i++)
        {
            if (task == TaskType.Classification) { y[i] = rng.Next(k); continue; }
            double s = 0;
            for (int j = 0; j < k; j++)
            {
                y[i * k + j] = task switch { TaskType.MultiLabel => rng.Next(2), TaskType.Regression => (float)(rng.NextDouble() * 4 - 2), _ => (float)rng.NextDouble() };
                s += y[i * k + j];
            }
            if (task == TaskType.Distribution) for (int j = 0; j < k; j++) y[i * k + j] = (float)(y[i * k + j] / s);
        }
        var weights = weighted ? new float[] { 0.5f, 2f, 1f, 3f, 0.25f } : null;
        var grad = (float[])z.Clone();
        var (num, den) = LinearProbeTrainer.Loss(task, grad, m, k, y, task == TaskType.Classification ? weights : null, task == TaskType.MultiLabel ? weights : null, gradient: true);

        using var dir = new TempDir();
        NpyFile.Write(dir.File("z.npy"), z, m, k);
        NpyFile.Write(dir.File("y.npy"), y, m, perRow);
        NpyFile.Write(dir.File("w.npy"), weights ?? [1, 1, 1, 1, 1], k);
        PythonOracle.Run("""
import torch, numpy as np
torch.set_num_threads(2)
task, weighted = sys.argv[4], sys.argv[5] == 'True'
z = torch.tensor(np.load(sys.argv[1]), dtype=torch.float64, requires_grad=True)
y = torch.tensor(np.load(sys.argv[2]), dtype=torch.float64); w = torch.tensor(np.load(sys.argv[3]), dtype=torch.float64)
if task == 'Classification': loss = torch.nn.CrossEntropyLoss(weight=w if weighted else None)(z, y[:, 0].long())
elif task == 'MultiLabel': loss = torch.nn.BCEWithLogitsLoss(pos_weight=w if weighted else None)(z, y)
elif task == 'Regression': loss = torch.nn.MSELoss()(z, y)
else: loss = -(y * torch.log_softmax(z, 1)).sum(1).mean()
loss.backward()
np.save(sys.argv[6], np.concatenate([[loss.item()], z.grad.numpy().ravel()]))
""", dir.File("z.npy"), dir.File("y.npy"), dir.File("w.npy"), task.ToString(), weighted.ToString(), dir.File("out.npy"));
        var (expected, _) = NpyFile.ReadDouble(dir.File("out.npy"));
        Assert.True(Math.Abs(expected[0] - num / den) <= 1e-5, $"loss: torch {expected[0]}, ours {num / den}");
        for (int i = 0; i < grad.Length; i++)
            Assert.True(Math.Abs(expected[i + 1] - grad[i] / den) <= 1e-6, $"grad[{i}]: torch {expected[i + 1]}, ours {grad[i] / den}");
    }

    [Fact]
    public void Multilabel_and_distribution_probes_beat_the_constant_baseline()
    {
        const int k = 3;
        var (x, score) = LinearData(13, k, classes: false, noise: 0.1);
        var ml = Array.ConvertAll(score, v => v > 1 ? 1f : 0f);
        var dist = new float[score.Length];
        for (int r = 0; r < N; r++)
        {
            double s = 0;
            for (int j = 0; j < k; j++) s += dist[r * k + j] = MathF.Exp(score[r * k + j] / 3);
            for (int j = 0; j < k; j++) dist[r * k + j] /= (float)s;
        }
        var opts = new LinearProbeOptions { Task = TaskType.MultiLabel, MaxEpochs = 60 };
        var epochs = new List<ProbeEpoch>();
        var mlHead = new LinearProbeTrainer(opts).Fit(x.AsSpan(0, Train * D), D, ml.AsSpan(0, Train * k), k, progress: new SyncProgress(epochs));
        Assert.NotEmpty(epochs);
        Assert.True(epochs[^1].ValidationLoss < epochs[0].ValidationLoss);
        var mlReport = Metrics.Compute(TaskType.MultiLabel, ml.AsSpan(Train * k), mlHead.Predict(x.AsSpan(Train * D), N - Train), k);
        Assert.True(mlReport.AurocMacro > 0.9, $"multi-label AUROC {mlReport.AurocMacro}");

        var distHead = new LinearProbeTrainer(new LinearProbeOptions { Task = TaskType.Distribution, MaxEpochs = 60 })
            .Fit(x.AsSpan(0, Train * D), D, dist.AsSpan(0, Train * k), k);
        var pred = distHead.Predict(x.AsSpan(Train * D), N - Train);
        var uniform = Enumerable.Repeat(1f / k, pred.Length).ToArray();
        var truth = dist.AsSpan(Train * k);
        Assert.True(Metrics.Compute(TaskType.Distribution, truth, pred, k).Jsd < 0.2 * Metrics.Compute(TaskType.Distribution, truth, uniform, k).Jsd);
    }

    [Fact]
    public void Training_is_deterministic_for_a_seed_and_cancellable()
    {
        var (x, y) = LinearData(14, 3, classes: true, noise: 0.5);
        var opts = new LinearProbeOptions { MaxEpochs = 3 };
        var a = new LinearProbeTrainer(opts).Fit(x, D, y, 3);
        var b = new LinearProbeTrainer(opts).Fit(x, D, y, 3);
        Assert.Equal(a.Weight.ToArray(), b.Weight.ToArray());
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.Throws<OperationCanceledException>(() => new LinearProbeTrainer(opts).Fit(x, D, y, 3, cancellationToken: cts.Token));
    }

    [Fact]
    public void Bad_options_and_data_are_named()
    {
        var x = new float[10 * 4];
        var y = new float[10];
        y[1] = 1;
        string Err(LinearProbeOptions o, float[]? xx = null, float[]? yy = null, int k = 2) =>
            Assert.ThrowsAny<ArgumentException>(() => new LinearProbeTrainer(o).Fit(xx ?? x, 4, yy ?? y, k)).Message;
        Assert.Contains("LearningRate", Err(new() { LearningRate = 0 }));
        Assert.Contains("BatchSize", Err(new() { BatchSize = 0 }));
        Assert.Contains("ValidationFraction", Err(new() { ValidationFraction = 1 }));
        Assert.Contains("ClassWeights", Err(new() { ClassWeights = [1f] }));
        Assert.Contains("PositiveWeights", Err(new() { PositiveWeights = [1f, 1f] }));
        var nan = (float[])x.Clone(); nan[7] = float.NaN;
        Assert.Contains("row 1", Err(new(), xx: nan));
        var badLabel = (float[])y.Clone(); badLabel[3] = 2;
        Assert.Contains("row 3", Err(new(), yy: badLabel));
        Assert.Contains("expected", Err(new(), yy: new float[9]));
        Assert.Contains("empty", Err(new(), xx: []));
        Assert.Throws<ArgumentException>(() => RidgeRegression.Fit(new float[8], 4, new float[2], 1, alpha: 0));
    }

    private sealed class SyncProgress(List<ProbeEpoch> list) : IProgress<ProbeEpoch>
    {
        public void Report(ProbeEpoch value) => list.Add(value);
    }
}

/// <summary>The optimiser against torch.optim.AdamW (defaults, weight decay on weight and bias) step by step.</summary>
public class AdamWParityTests
{
    [Theory]
    [InlineData(TaskType.Classification)]
    [InlineData(TaskType.MultiLabel)]
    public void Full_batch_steps_match_torch_adamw(TaskType task)
    {
        const int n = 40, d = 6, k = 3, steps = 4;
        var rng = new Random(31);
        var x = Enumerable.Range(0, n * d).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var y = task == TaskType.Classification
            ? Enumerable.Range(0, n).Select(i => (float)(i % k)).ToArray()
            : Enumerable.Range(0, n * k).Select(_ => (float)rng.Next(2)).ToArray();
        var w0 = Enumerable.Range(0, k * d).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        var b0 = Enumerable.Range(0, k).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
        var epochs = new List<ProbeEpoch>();
        // Full batch: one AdamW step per epoch; validating on the training rows with a high lr makes every epoch the best one.
        var opts = new LinearProbeOptions { Task = task, BatchSize = n, MaxEpochs = steps, LearningRate = 0.05, InitialParameters = (w0, b0) };
        var head = new LinearProbeTrainer(opts).Fit(x, y, x, y, d, k, progress: new Collect(epochs));
        Assert.All(epochs, e => Assert.Equal(e.Epoch, e.BestEpoch));

        using var dir = new TempDir();
        NpyFile.Write(dir.File("x.npy"), x, n, d);
        NpyFile.Write(dir.File("y.npy"), y, n, task == TaskType.Classification ? 1 : k);
        NpyFile.Write(dir.File("w.npy"), w0, k, d);
        NpyFile.Write(dir.File("b.npy"), b0, k);
        PythonOracle.Run($"""
import torch, numpy as np
torch.set_num_threads(2)
x, y = torch.tensor(np.load(sys.argv[1])), torch.tensor(np.load(sys.argv[2]))
lin = torch.nn.Linear({d}, {k})
with torch.no_grad():
    lin.weight.copy_(torch.tensor(np.load(sys.argv[3]))); lin.bias.copy_(torch.tensor(np.load(sys.argv[4])))
opt = torch.optim.AdamW(lin.parameters(), lr=0.05)
loss_fn = torch.nn.CrossEntropyLoss() if sys.argv[6] == 'Classification' else torch.nn.BCEWithLogitsLoss()
target = y[:, 0].long() if sys.argv[6] == 'Classification' else y
for _ in range({steps}):
    opt.zero_grad(); loss_fn(lin(x), target).backward(); opt.step()
np.save(sys.argv[5], np.concatenate([lin.weight.detach().numpy().ravel(), lin.bias.detach().numpy()]).astype(np.float64))
""", dir.File("x.npy"), dir.File("y.npy"), dir.File("w.npy"), dir.File("b.npy"), dir.File("out.npy"), task.ToString());
        var (expected, _) = NpyFile.ReadDouble(dir.File("out.npy"));
        var ours = head.Weight.ToArray().Concat(head.Bias.ToArray()).ToArray();
        for (int i = 0; i < ours.Length; i++) Assert.True(Math.Abs(expected[i] - ours[i]) <= 1e-5, $"param[{i}]: torch {expected[i]}, ours {ours[i]}");
    }

    private sealed class Collect(List<ProbeEpoch> list) : IProgress<ProbeEpoch>
    {
        public void Report(ProbeEpoch value) => list.Add(value);
    }
}

using SSL4Eco.Inference.Arrays;
using SSL4Eco.Inference.Heads;
using SSL4Eco.Inference.Similarity;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Inference.Tests.Similarity;

/// <summary>Cosine search and kNN predictions against a numpy brute-force reference.</summary>
public class EmbeddingIndexTests
{
    private const int N = 700, Q = 37, D = 19, K = 7, C = 4;

    private static float[] Gaussian(int seed, int count)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()))).ToArray();
    }

    private const string Reference = """
import numpy as np
t, q, y, ml, reg = [np.load(a).astype(np.float64) for a in sys.argv[1:6]]
tn = t / np.linalg.norm(t, axis=1, keepdims=True); tn[~np.isfinite(tn)] = 0
qn = q / np.linalg.norm(q, axis=1, keepdims=True)
s = qn @ tn.T
k = int(sys.argv[6]); C = int(sys.argv[7])
idx = np.argsort(-s, axis=1, kind='stable')[:, :k]
top = np.take_along_axis(s, idx, 1)
w = np.exp((top - top[:, :1]) / 0.07); w /= w.sum(1, keepdims=True)
onehot = np.eye(C)[y.astype(int)]
np.save(sys.argv[8], idx.astype(np.float64)); np.save(sys.argv[9], top)
np.save(sys.argv[10], np.einsum('qk,qkc->qc', w, onehot[idx]))
np.save(sys.argv[11], np.einsum('qk,qkc->qc', w, ml[idx]))
np.save(sys.argv[12], np.einsum('qk,qkc->qc', w, reg[idx]))
""";

    [Fact]
    public void Search_and_knn_predictions_equal_numpy_brute_force()
    {
        var table = Gaussian(1, N * D);
        Array.Clear(table, 5 * D, D); // a zero row: similarity 0 to everything
        var queries = Gaussian(2, Q * D);
        var rng = new Random(3);
        var y = Enumerable.Range(0, N).Select(_ => (float)rng.Next(C)).ToArray();
        var ml = Enumerable.Range(0, N * C).Select(_ => (float)rng.Next(2)).ToArray();
        var reg = Enumerable.Range(0, N * 2).Select(_ => (float)rng.NextDouble() * 10).ToArray();
        using var dir = new TempDir();
        NpyFile.Write(dir.File("t.npy"), table, N, D);
        NpyFile.Write(dir.File("q.npy"), queries, Q, D);
        NpyFile.Write(dir.File("y.npy"), y, N);
        NpyFile.Write(dir.File("ml.npy"), ml, N, C);
        NpyFile.Write(dir.File("reg.npy"), reg, N, 2);
        string[] outs = ["idx", "sim", "cls", "mlp", "regp"];
        PythonOracle.Run(Reference, [.. new[] { "t", "q", "y", "ml", "reg" }.Select(n => dir.File(n + ".npy")), K.ToString(), C.ToString(), .. outs.Select(n => dir.File(n + ".npy"))]);
        double[] Load(string n) => NpyFile.ReadDouble(dir.File(n + ".npy")).Data;

        var ids = Enumerable.Range(0, N).Select(i => $"p{i}").ToArray();
        var index = new EmbeddingIndex(table, D, ids);
        var hits = index.SearchBatch(queries, Q, K);
        var idx = Load("idx"); var sim = Load("sim");
        for (int q = 0; q < Q; q++)
            for (int j = 0; j < K; j++)
            {
                Assert.Equal((int)idx[q * K + j], hits[q][j].Index);
                Assert.Equal($"p{hits[q][j].Index}", hits[q][j].Id);
                Assert.Equal(sim[q * K + j], hits[q][j].Similarity, 1e-5);
            }

        void Check(TaskType task, float[] targets, int outputs, string expected)
        {
            var pred = new KnnPredictor(task, table, D, targets, outputs).Predict(queries, Q, K);
            var e = Load(expected);
            Assert.Equal(e.Length, pred.Length);
            for (int i = 0; i < e.Length; i++) Assert.True(Math.Abs(e[i] - pred[i]) <= 1e-4 * Math.Max(1, Math.Abs(e[i])), $"{task}[{i}]: numpy {e[i]}, ours {pred[i]}");
        }
        Check(TaskType.Classification, y, C, "cls");
        Check(TaskType.MultiLabel, ml, C, "mlp");
        Check(TaskType.Regression, reg, 2, "regp");
    }

    [Fact]
    public void Search_by_id_excludes_the_row_itself_and_matches_vector_search()
    {
        var table = Gaussian(4, 50 * 8);
        var ids = Enumerable.Range(0, 50).Select(i => $"id{i}").ToArray();
        var index = new EmbeddingIndex(table, 8, ids);
        var byId = index.SearchById("id3", 5);
        var byVector = index.Search(table.AsSpan(3 * 8, 8), 6);
        Assert.Equal(3, byVector[0].Index);
        Assert.Equal(1.0, byVector[0].Similarity, 1e-5);
        Assert.Equal(byVector.Skip(1).Select(h => h.Index), byId.Select(h => h.Index));
        Assert.Throws<KeyNotFoundException>(() => index.SearchById("nope", 3));
    }

    [Fact]
    public void CosineSimilarities_equal_definition_and_handle_zero_vectors()
    {
        var table = Gaussian(5, 30 * 6);
        Array.Clear(table, 0, 6);
        var query = Gaussian(6, 6);
        var s = EmbeddingIndex.CosineSimilarities(query, table, 6);
        Assert.Equal(0f, s[0]);
        for (int i = 1; i < 30; i++)
        {
            double dot = 0, a = 0, b = 0;
            for (int j = 0; j < 6; j++) { dot += query[j] * table[i * 6 + j]; a += query[j] * query[j]; b += table[i * 6 + j] * table[i * 6 + j]; }
            Assert.Equal(dot / Math.Sqrt(a * b), s[i], 1e-5);
        }
        Assert.All(EmbeddingIndex.CosineSimilarities(new float[6], table, 6), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void Bad_inputs_are_named()
    {
        Assert.Throws<ArgumentException>(() => new EmbeddingIndex(new float[7], 3));
        Assert.Throws<ArgumentException>(() => new EmbeddingIndex([], 3));
        Assert.Contains("more than once", Assert.Throws<ArgumentException>(() => new EmbeddingIndex(new float[6], 3, ["a", "a"])).Message);
        Assert.Contains("row 1", Assert.Throws<ArgumentException>(() => new EmbeddingIndex([1, 1, 1, float.NaN, 1, 1], 3)).Message);
        var index = new EmbeddingIndex([1, 0, 0, 0, 1, 0], 3);
        Assert.Throws<InvalidOperationException>(() => index.SearchById("a", 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => index.Search([1, 0, 0], 0));
        Assert.Throws<ArgumentException>(() => index.Search([1, 0], 1));
        Assert.Contains("Class index", Assert.Throws<ArgumentException>(() => new KnnPredictor(TaskType.Classification, [1, 0, 0, 0, 1, 0], 3, [0, 5], 2)).Message);
    }
}

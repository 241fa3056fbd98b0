using System.Globalization;
using SSL4Eco.Inference.Arrays;
using SSL4Eco.Inference.Similarity;

namespace SSL4Eco.Benchmarks.Heads;

/// <summary>
/// The .NET side of <c>benchmarks/knn-vs-numpy.sh</c>: exact cosine top-k of the queries against the table (npy files the
/// script writes) with <see cref="EmbeddingIndex.SearchBatch"/>; prints queries/s (median of timed runs) and writes the
/// neighbour indexes [queries, k] as int64 npy so the script compares them with numpy's brute force.
/// </summary>
internal static class KnnVsNumpy
{
    /// <summary>knn TABLE_NPY QUERIES_NPY K OUT_NPY SECONDS</summary>
    public static int Run(string[] args)
    {
        var (table, ts) = NpyFile.ReadSingle(args[0]);
        var (queries, qs) = NpyFile.ReadSingle(args[1]);
        int k = int.Parse(args[2], CultureInfo.InvariantCulture);
        double seconds = double.Parse(args[4], CultureInfo.InvariantCulture);
        var index = new EmbeddingIndex(table, ts[1]);
        Neighbor[][] result = [];
        double t = Compare.CompareRun.Median(() => result = index.SearchBatch(queries, qs[0], k), seconds);
        NpyFile.Write(args[3], result.SelectMany(r => r.Select(n => (long)n.Index)).ToArray(), qs[0], k);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"library EmbeddingIndex.SearchBatch: {qs[0] / t:F1} queries/s"));
        return 0;
    }
}

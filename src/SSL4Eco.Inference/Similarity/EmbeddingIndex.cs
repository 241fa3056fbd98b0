using System.Numerics.Tensors;
using SSL4Eco.Inference.Numerics;

namespace SSL4Eco.Inference.Similarity;

/// <summary>One search hit.</summary>
/// <param name="Index">Row of the hit in the index table.</param>
/// <param name="Id">The row's id, when the index has ids.</param>
/// <param name="Similarity">Cosine similarity to the query.</param>
/// <remarks>Immutable; thread-safe.</remarks>
public readonly record struct Neighbor(int Index, string? Id, float Similarity);

/// <summary>
/// Exact cosine top-k search over a table of embeddings [N, D] with optional ids. Rows are L2-normalised once (a zero
/// row has similarity 0 to everything, as scikit-learn's <c>cosine_similarity</c>); queries are products with the
/// table, blocked and parallel over the machine's cores. Results are sorted by similarity, ties by lower row.
/// </summary>
/// <remarks>Immutable after construction; all searches are thread-safe.</remarks>
public sealed class EmbeddingIndex
{
    private const int QueryBlock = 128;
    private readonly float[] _table;
    private readonly string[]? _ids;
    private readonly Dictionary<string, int>? _rowOfId;

    /// <summary>Builds an index over a copy of the table.</summary>
    /// <param name="table">Row-major [N, dim] embeddings.</param>
    /// <param name="dim">Embedding dimension D.</param>
    /// <param name="ids">Optional unique ids, one per row.</param>
    /// <exception cref="ArgumentException">The table is empty, not rows of <paramref name="dim"/>, holds NaN/∞, or ids are wrong.</exception>
    public EmbeddingIndex(ReadOnlySpan<float> table, int dim, IReadOnlyList<string>? ids = null)
    {
        if (dim <= 0) throw new ArgumentOutOfRangeException(nameof(dim), dim, "The embedding dimension must be positive.");
        if (table.Length == 0 || table.Length % dim != 0)
            throw new ArgumentException($"The table ({table.Length} values) is not a non-empty set of rows of {dim}.", nameof(table));
        Count = table.Length / dim;
        Dim = dim;
        _table = table.ToArray();
        for (int i = 0; i < _table.Length; i++)
            if (!float.IsFinite(_table[i])) throw new ArgumentException($"Table row {i / dim}, column {i % dim} is {_table[i]}.", nameof(table));
        DenseKernels.NormalizeRows(_table, dim);
        if (ids != null)
        {
            if (ids.Count != Count) throw new ArgumentException($"{ids.Count} ids given for {Count} rows.", nameof(ids));
            _ids = ids.ToArray();
            _rowOfId = new Dictionary<string, int>(Count, StringComparer.Ordinal);
            for (int i = 0; i < _ids.Length; i++)
                if (!_rowOfId.TryAdd(_ids[i] ?? throw new ArgumentException($"Id of row {i} is null.", nameof(ids)), i))
                    throw new ArgumentException($"Id '{_ids[i]}' appears more than once (rows {_rowOfId[_ids[i]]} and {i}).", nameof(ids));
        }
    }

    /// <summary>Number of rows.</summary>
    public int Count { get; }

    /// <summary>Embedding dimension.</summary>
    public int Dim { get; }

    /// <summary>Row ids, or null when the index has none.</summary>
    public IReadOnlyList<string>? Ids => _ids;

    /// <summary>The k most similar rows to one query vector.</summary>
    /// <exception cref="ArgumentException">The query does not have <see cref="Dim"/> finite values, or k is not positive.</exception>
    public Neighbor[] Search(ReadOnlySpan<float> query, int k) => SearchBatch(query, 1, k)[0];

    /// <summary>The k most similar rows to the row with the given id, excluding that row itself.</summary>
    /// <exception cref="InvalidOperationException">The index has no ids.</exception>
    /// <exception cref="KeyNotFoundException">No row has the id.</exception>
    public Neighbor[] SearchById(string id, int k)
    {
        if (_rowOfId is null) throw new InvalidOperationException("This index was built without ids; search by vector instead.");
        if (!_rowOfId.TryGetValue(id, out int row)) throw new KeyNotFoundException($"No row has id '{id}'.");
        var hits = Search(_table.AsSpan(row * Dim, Dim), Math.Min(k + 1, Count));
        return hits.Where(h => h.Index != row).Take(k).ToArray();
    }

    /// <summary>The k most similar rows to each of <paramref name="count"/> queries (row-major [count, Dim]).</summary>
    /// <exception cref="ArgumentException">Shapes or k are invalid, or a query holds NaN/∞.</exception>
    public Neighbor[][] SearchBatch(ReadOnlySpan<float> queries, int count, int k, CancellationToken cancellationToken = default)
    {
        var (indices, sims) = TopK(queries, count, k, cancellationToken);
        int kk = Math.Min(k, Count);
        var result = new Neighbor[count][];
        for (int q = 0; q < count; q++)
        {
            var hits = new Neighbor[kk];
            for (int j = 0; j < kk; j++)
            {
                int idx = indices[q * kk + j];
                hits[j] = new Neighbor(idx, _ids?[idx], sims[q * kk + j]);
            }
            result[q] = hits;
        }
        return result;
    }

    /// <summary>Top-k rows and similarities per query, row-major [count, min(k, Count)].</summary>
    internal (int[] Indices, float[] Similarities) TopK(ReadOnlySpan<float> queries, int count, int k, CancellationToken cancellationToken)
    {
        if (k <= 0) throw new ArgumentOutOfRangeException(nameof(k), k, "k must be positive.");
        if (count < 0 || queries.Length != (long)count * Dim)
            throw new ArgumentException($"Queries have {queries.Length} values; expected [{count}, {Dim}].", nameof(queries));
        int kk = Math.Min(k, Count);
        var indices = new int[count * kk];
        var best = new float[count * kk];
        int block = Math.Min(QueryBlock, Math.Max(1, count));
        var q = new float[block * Dim];
        var sims = new float[block * Count];
        for (int start = 0; start < count; start += block)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int m = Math.Min(block, count - start);
            queries.Slice(start * Dim, m * Dim).CopyTo(q);
            for (int i = 0; i < m * Dim; i++)
                if (!float.IsFinite(q[i])) throw new ArgumentException($"Query row {start + i / Dim} holds {q[i]}.", nameof(queries));
            DenseKernels.NormalizeRows(q.AsSpan(0, m * Dim), Dim);
            DenseKernels.MultiplyTransposed(q.AsSpan(0, m * Dim), m, _table, Count, Dim, sims);
            int s0 = start;
            Parallel.For(0, m, new ParallelOptions { MaxDegreeOfParallelism = (long)m * Count < 1 << 16 ? 1 : Environment.ProcessorCount }, i =>
                DenseKernels.TopK(sims.AsSpan(i * Count, Count), kk, indices.AsSpan((s0 + i) * kk, kk), best.AsSpan((s0 + i) * kk, kk)));
        }
        return (indices, best);
    }

    /// <summary>
    /// Cosine similarity between one query and every row of a [N, dim] table (zero vectors give 0). Useful for
    /// similarity rasters over many pixels' embeddings.
    /// </summary>
    /// <exception cref="ArgumentException">The query is not <paramref name="dim"/> long or the table is not rows of it.</exception>
    public static float[] CosineSimilarities(ReadOnlySpan<float> query, ReadOnlySpan<float> table, int dim)
    {
        if (dim <= 0) throw new ArgumentOutOfRangeException(nameof(dim), dim, "The embedding dimension must be positive.");
        if (query.Length != dim) throw new ArgumentException($"The query has {query.Length} values; expected {dim}.", nameof(query));
        if (table.Length % dim != 0) throw new ArgumentException($"The table ({table.Length} values) is not rows of {dim}.", nameof(table));
        int n = table.Length / dim;
        var result = new float[n];
        float qn = TensorPrimitives.Norm(query);
        if (qn == 0) return result;
        var unit = new float[dim];
        TensorPrimitives.Divide(query, qn, unit);
        DenseKernels.MultiplyTransposed(table, n, unit, 1, dim, result);
        for (int i = 0; i < n; i++)
        {
            float rn = TensorPrimitives.Norm(table.Slice(i * dim, dim));
            result[i] = rn == 0 ? 0 : result[i] / rn;
        }
        return result;
    }
}

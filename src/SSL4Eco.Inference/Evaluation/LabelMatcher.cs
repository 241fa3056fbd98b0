namespace SSL4Eco.Inference.Evaluation;

/// <summary>Embedding sets and labels reduced to the same rows in the same order, and how many rows had no partner.</summary>
/// <param name="Embeddings">The sets, each with one row per label row, in label order.</param>
/// <param name="Labels">The labels kept (all of them unless missing labels were allowed).</param>
/// <param name="LabelsWithoutEmbedding">Label rows dropped because some set has no row with their id.</param>
/// <param name="RowsWithoutLabel">Embedding rows dropped (over all sets) because no label has their id.</param>
/// <param name="LabelRows">The original label rows kept, in order.</param>
/// <remarks>Immutable; thread-safe.</remarks>
public sealed record LabelMatch(IReadOnlyList<EmbeddingSet> Embeddings, LabelSet Labels, int LabelsWithoutEmbedding, int RowsWithoutLabel,
    IReadOnlyList<int> LabelRows)
{
    /// <summary>True when rows were dropped on either side.</summary>
    public bool Dropped => LabelsWithoutEmbedding > 0 || RowsWithoutLabel > 0;
}

/// <summary>
/// Matches embedding rows to label rows: by id when both the labels and a set have ids (never by position when ids disagree),
/// by row order only when one side has no ids and the row counts are equal. No common id, or (unless allowed) any label
/// without an embedding or embedding row without a label, is an error naming the counts and examples.
/// </summary>
/// <remarks>Stateless; thread-safe.</remarks>
public static class LabelMatcher
{
    /// <summary>Matches <paramref name="sets"/> to <paramref name="labels"/>.</summary>
    /// <param name="sets">Embedding sets (with or without ids).</param>
    /// <param name="labels">Labels (with or without ids).</param>
    /// <param name="allowMissing">Keep only the ids every side has instead of refusing a partial overlap.</param>
    /// <exception cref="ArgumentException">The ids do not overlap, overlap partly (unless allowed), or row counts differ where rows are matched by order.</exception>
    public static LabelMatch Match(IReadOnlyList<EmbeddingSet> sets, LabelSet labels, bool allowMissing = false)
    {
        ArgumentNullException.ThrowIfNull(sets);
        ArgumentNullException.ThrowIfNull(labels);
        foreach (var s in sets)
            if ((s.Ids is null || labels.Ids is null) && s.Count != labels.Count)
                throw new ArgumentException(
                    $"Embedding set '{s.Name}' has {s.Count} rows and there are {labels.Count} label rows; without ids on both sides rows are matched by order, so the counts must be equal (give labels with an id column and embeddings with ids, e.g. .csv or .parquet, to match by id).");
        if (labels.Ids is not { } labelIds) return new LabelMatch(sets, labels, 0, 0, Enumerable.Range(0, labels.Count).ToArray());
        var keep = Enumerable.Range(0, labels.Count).ToList();
        int rowsWithoutLabel = 0;
        var labelIdSet = new HashSet<string>(labelIds, StringComparer.Ordinal);
        foreach (var s in sets)
        {
            if (s.Ids is null) continue;
            var ids = new HashSet<string>(s.Ids, StringComparer.Ordinal);
            int common = labelIds.Count(ids.Contains);
            if (common == 0)
                throw new ArgumentException(
                    $"No label id matches an id of embedding set '{s.Name}' (labels: {Examples(labelIds)}; embeddings: {Examples(s.Ids)}); label and embedding ids must name the same samples (e.g. the patch file names).");
            var missing = keep.Where(i => !ids.Contains(labelIds[i])).ToList();
            var unlabelled = s.Ids.Where(id => !labelIdSet.Contains(id)).ToList();
            if (!allowMissing && (missing.Count > 0 || unlabelled.Count > 0))
                throw new ArgumentException(
                    $"Embedding set '{s.Name}' and the labels share {common} ids, but {missing.Count} of {labels.Count} labels have no embedding{(missing.Count > 0 ? $" (e.g. {Examples(missing.Select(i => labelIds[i]).ToList())})" : "")} " +
                    $"and {unlabelled.Count} of {s.Count} embedding rows have no label{(unlabelled.Count > 0 ? $" (e.g. {Examples(unlabelled)})" : "")}; " +
                    "fix the ids, or allow missing labels (ssl4eco probe --allow-missing-labels) to evaluate only the shared ids.");
            rowsWithoutLabel += unlabelled.Count;
            keep = keep.Where(i => ids.Contains(labelIds[i])).ToList();
        }
        if (keep.Count == 0)
            throw new ArgumentException("No label id is shared by every embedding set; label and embedding ids must name the same samples.");
        var kept = keep.Count == labels.Count ? labels : labels.Subset(keep);
        var aligned = sets.Select(s => s.Ids is null ? (keep.Count == labels.Count ? s : s.Rows(keep)) : s.AlignTo(kept.Ids)).ToArray();
        return new LabelMatch(aligned, kept, labels.Count - keep.Count, rowsWithoutLabel, keep);
    }

    private static string Examples(IReadOnlyList<string> ids) =>
        string.Join(", ", ids.Take(3).Select(i => $"'{i}'")) + (ids.Count > 3 ? ", …" : "");
}

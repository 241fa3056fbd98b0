using SSL4Eco.Inference.Embedding;
using SSL4Eco.Inference.Evaluation;
using SSL4Eco.Inference.Files;
using SSL4Eco.Inference.Heads;

namespace SSL4Eco.Inference.Geo.Tables;

/// <summary>
/// A probe evaluation from files, as <c>ssl4eco probe</c> runs it: embedding tables (<see cref="EmbeddingTable.ReadAsync"/>)
/// and/or a folder of patches embedded once and cached by content hash (<see cref="PatchFolderEmbeddings"/>), a label file
/// and an optional split file (<see cref="ProbeFiles"/>), the report (JSON and Markdown beside it) and the head trained on
/// every matched row of the first set.
/// </summary>
/// <remarks>Immutable (its <see cref="Options"/> are read, never changed); thread-safe while nobody changes those options.</remarks>
public sealed record ProbeRun
{
    /// <summary>Embedding tables (.npy, .csv, .parquet), each an embedding set named by its file name.</summary>
    public IReadOnlyList<string> EmbeddingFiles { get; init; } = [];

    /// <summary>A folder of patch rasters to embed with the model given to <see cref="RunAsync"/> (ids = file names); null for none.</summary>
    public string? PatchFolder { get; init; }

    /// <summary>The label file (see <see cref="ProbeFiles.ReadLabels"/>).</summary>
    public required string LabelsPath { get; init; }

    /// <summary>The task of the labels.</summary>
    public required TaskType Task { get; init; }

    /// <summary>The id column of a CSV label file.</summary>
    public string IdColumn { get; init; } = "id";

    /// <summary>An official split file instead of folds (see <see cref="ProbeFiles.ReadSplit"/>); null for folds.</summary>
    public string? SplitPath { get; init; }

    /// <summary>The evaluation settings (its <see cref="ProbeEvaluationOptions.Split"/> is taken from <see cref="SplitPath"/>).</summary>
    public ProbeEvaluationOptions Options { get; init; } = new();

    /// <summary>The report to write (.json; a .md is written beside it); null for none.</summary>
    public string? ReportPath { get; init; }

    /// <summary>Where to save the trained head (JSON); null to train none.</summary>
    public string? HeadPath { get; init; }

    /// <summary>The Markdown report written beside <see cref="ReportPath"/>, or null.</summary>
    public string? MarkdownPath => ReportPath is null ? null : Path.ChangeExtension(ReportPath, ".md");

    /// <summary>
    /// Checks that no output is an input and creates the outputs' folders; call it before slow work (opening a model) so a
    /// wrong output fails at once. <see cref="RunAsync"/> calls it too.
    /// </summary>
    /// <exception cref="ArgumentException">No embeddings were given, or an output is one of the inputs.</exception>
    public void PrepareOutputs()
    {
        if (EmbeddingFiles.Count == 0 && PatchFolder is null) throw new ArgumentException("Give --embeddings and/or --patches.");
        var inputs = EmbeddingFiles.Select(f => (string?)f).Append(LabelsPath).Append(SplitPath)
            .Concat(PatchFolder is { } p && Directory.Exists(p) ? Directory.EnumerateFiles(p) : []);
        OutputGuard.Check(inputs, [ReportPath, MarkdownPath, HeadPath]);
        foreach (var o in new[] { ReportPath, HeadPath }.OfType<string>()) Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(o))!);
    }

    /// <summary>Runs the evaluation, writes the report and trains and saves the head as asked.</summary>
    /// <param name="patchModel">The model that embeds <see cref="PatchFolder"/>; needed exactly when it is set.</param>
    /// <param name="cacheFolder">Where patch-folder embeddings are cached; needed with <see cref="PatchFolder"/>.</param>
    /// <param name="patchesEmbedded">Patches embedded so far.</param>
    /// <param name="progress">A line per fold.</param>
    /// <param name="cancellationToken">Cancels embedding, evaluation and training.</param>
    /// <exception cref="ArgumentException">Wrong inputs or settings (see <see cref="ProbeEvaluation.Run"/>).</exception>
    /// <exception cref="InvalidDataException">A file cannot be read; the message names it.</exception>
    public async Task<ProbeOutcome> RunAsync(IEmbeddingModel? patchModel = null, string? cacheFolder = null, IProgress<int>? patchesEmbedded = null,
        IProgress<string>? progress = null, CancellationToken cancellationToken = default)
    {
        PrepareOutputs();
        var labels = ProbeFiles.ReadLabels(LabelsPath, Task, IdColumn);
        var sets = new List<EmbeddingSet>();
        if (PatchFolder is not null)
        {
            if (patchModel is null || cacheFolder is null) throw new ArgumentException("ProbeRun.PatchFolder is set: pass the model that embeds it and a cache folder.");
            var table = await PatchFolderEmbeddings.GetOrComputeAsync(PatchFolder, patchModel, cacheFolder, progress: patchesEmbedded,
                cancellationToken: cancellationToken).ConfigureAwait(false);
            sets.Add(table.ToEmbeddingSet(patchModel.Contract.ModelId));
        }
        foreach (var f in EmbeddingFiles)
            sets.Add((await EmbeddingTable.ReadAsync(f, cancellationToken).ConfigureAwait(false)).ToEmbeddingSet(Path.GetFileNameWithoutExtension(f)));
        var options = Options.MemberwiseCloneOptions();
        if (SplitPath is not null) options.Split = ProbeFiles.ReadSplit(SplitPath);
        var match = LabelMatcher.Match(sets, labels, options.AllowMissingLabels);
        var report = ProbeEvaluation.Run(sets, labels, options, progress, cancellationToken);
        if (ReportPath is not null)
        {
            report.SaveJson(ReportPath);
            report.SaveMarkdown(MarkdownPath!);
        }
        LinearHead? head = null;
        if (HeadPath is not null)
        {
            head = ProbeFiles.FitHead(match, options, cancellationToken);
            head.Save(HeadPath);
        }
        return new ProbeOutcome(report, match, head);
    }
}

/// <summary>What a <see cref="ProbeRun"/> evaluated and trained.</summary>
/// <param name="Report">The evaluation report.</param>
/// <param name="Match">How embedding rows were matched to labels (<see cref="LabelMatch.Dropped"/>: rows left out).</param>
/// <param name="Head">The saved head, or null.</param>
/// <remarks>Immutable; thread-safe.</remarks>
public sealed record ProbeOutcome(EvaluationReport Report, LabelMatch Match, LinearHead? Head);

using System.CommandLine;
using SSL4Eco.Cli.Reports;
using SSL4Eco.Inference.Evaluation;
using SSL4Eco.Inference.Geo.Tables;
using SSL4Eco.Inference.Heads;
using SSL4Eco.Inference.Registry;

namespace SSL4Eco.Cli.Commands;

/// <summary>
/// <c>ssl4eco probe --embeddings X [X2 …] --labels Y --task …</c>: the paper's frozen-embedding protocol (K folds, linear
/// probe / k-NN / ridge), several embedding files side by side, reports as JSON, Markdown and plots, and the trained head.
/// </summary>
internal static class ProbeCommand
{
    public static Command Create()
    {
        var embeddings = new Option<FileInfo[]>("--embeddings", "-e") { Description = "Embedding tables (.npy [N, D] from 'embed' or [rows, cols, D] from 'map' with ids r{row}_c{col}, .csv, .parquet); several are compared in one report.", AllowMultipleArgumentsPerToken = true };
        var patches = new Option<DirectoryInfo?>("--patches") { Description = "A folder of patch rasters (ids = file names) embedded with --model once and cached by content hash; compared with any --embeddings." };
        var labels = new Option<FileInfo>("--labels", "-y") { Description = "Labels: .npy (rows in embedding order), or .csv with an id column (matched to the embeddings' ids when both have them; every id must match unless --allow-missing-labels).", Required = true };
        var allowMissing = new Option<bool>("--allow-missing-labels") { Description = "Evaluate only the ids that the labels and every embedding table share (says how many rows were dropped), instead of refusing a partial match." };
        var task = new Option<TaskType>("--task") { Description = "Classification | MultiLabel | Regression | Distribution.", Required = true };
        var method = new Option<ProbeMethod>("--method") { Description = "Linear (AdamW probe), Knn (cosine, softmax(sim/0.07)) or Ridge (closed form, regression).", DefaultValueFactory = _ => ProbeMethod.Linear };
        var k = new Option<int>("--k") { Description = "Neighbours for k-NN.", DefaultValueFactory = _ => 20 };
        var folds = new Option<int>("--folds") { Description = "Cross-validation folds (stratified for classification; seed 42).", DefaultValueFactory = _ => 10 };
        var seed = new Option<int>("--seed") { Description = "Seed of folds and training.", DefaultValueFactory = _ => 42 };
        var idColumn = new Option<string>("--id-column") { Description = "Id column of a CSV label file.", DefaultValueFactory = _ => "id" };
        var split = new Option<FileInfo?>("--split") { Description = "An official split instead of K folds: a file with one of train/val/test per label row (or a CSV whose last column is the split)." };
        var report = new Option<FileInfo?>("--report") { Description = "Report path (.json); a .md and PNG plots are written beside it." };
        var saveHead = new Option<FileInfo?>("--save-head") { Description = "Train the head on all rows of the first embedding file and save it (JSON) for 'embed'/'map' or the library." };
        var command = new Command("probe", "Evaluate frozen embeddings with the paper's protocol (linear probe, k-NN or ridge; K folds; mean ± std).")
            { embeddings, patches, labels, allowMissing, task, method, k, folds, seed, idColumn, split, report, saveHead };
        var encoder = new EncoderCliOptions();
        encoder.AddTo(command);
        command.SetAction((parse, ct) => CliRunner.RunAsync(async token =>
        {
            var run = new ProbeRun
            {
                EmbeddingFiles = (parse.GetValue(embeddings) ?? []).Select(f => f.FullName).ToList(), PatchFolder = parse.GetValue(patches)?.FullName,
                LabelsPath = parse.GetValue(labels)!.FullName, Task = parse.GetValue(task), IdColumn = parse.GetValue(idColumn)!, SplitPath = parse.GetValue(split)?.FullName,
                ReportPath = parse.GetValue(report)?.FullName, HeadPath = parse.GetValue(saveHead)?.FullName,
                Options = new() { Method = parse.GetValue(method), Folds = parse.GetValue(folds), Seed = parse.GetValue(seed), KnnK = parse.GetValue(k), AllowMissingLabels = parse.GetValue(allowMissing) },
            };
            run.PrepareOutputs(); // before the model is opened
            using var model = run.PatchFolder is null ? null : await encoder.OpenAsync(parse, token).ConfigureAwait(false);
            var outcome = await run.RunAsync(model, Path.GetFullPath(Path.Combine(WeightsCache.DefaultCacheDirectory(), "embeddings")), new InlineProgress<int>(n => Console.Error.Write($"\rembedded {n} patches")),
                new InlineProgress<string>(m => Console.Error.WriteLine(m)), token).ConfigureAwait(false);
            var (match, first) = (outcome.Match, outcome.Match.Embeddings[0]);
            if (match.Dropped)
                Console.Error.WriteLine($"warning: --allow-missing-labels: evaluating {match.Labels.Count} shared ids; dropped {match.LabelsWithoutEmbedding} label(s) without an embedding and {match.RowsWithoutLabel} embedding row(s) without a label.");
            Console.WriteLine(outcome.Report.ToMarkdown());
            if (run.ReportPath is { } r)
                Console.WriteLine($"wrote {r}, {Path.GetFileName(run.MarkdownPath)} and {ReportPlots.SaveAll(outcome.Report, Path.GetDirectoryName(r) ?? ".").Count} plot(s)");
            if (outcome.Head is { } h) Console.WriteLine($"wrote head {run.HeadPath} ({h.Task}, {h.Outputs} outputs, trained on {first.Count} rows of {first.Name})");
            return 0;
        }, ct));
        return command;
    }
}

using System.CommandLine;
using SSL4Eco.Cli.Reports;
using SSL4Eco.Inference.Evaluation;
using SSL4Eco.Inference.Files;
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
            var t = parse.GetValue(task);
            var labelFile = parse.GetValue(labels)!;
            // Outputs are checked (never an input) and their folders created before any fold is computed.
            var reportFile = parse.GetValue(report);
            var headOut = parse.GetValue(saveHead);
            var readInputs = (parse.GetValue(embeddings) ?? []).Select(f => (string?)f.FullName)
                .Append(labelFile.FullName).Append(parse.GetValue(split)?.FullName)
                .Concat(parse.GetValue(patches) is { Exists: true } p ? p.EnumerateFiles().Select(f => (string?)f.FullName) : []);
            OutputGuard.Check(readInputs, [reportFile?.FullName, reportFile is null ? null : Path.ChangeExtension(reportFile.FullName, ".md"), headOut?.FullName]);
            foreach (var o in new[] { reportFile, headOut }.OfType<FileInfo>()) Directory.CreateDirectory(o.DirectoryName!);
            var labelSet = labelFile.Extension.Equals(".csv", StringComparison.OrdinalIgnoreCase)
                ? LabelSet.FromCsv(labelFile.FullName, t, parse.GetValue(idColumn)!)
                : LabelSet.FromNpy(labelFile.FullName, t);
            var sets = new List<EmbeddingSet>();
            if (parse.GetValue(patches) is { } folder)
            {
                using var model = await encoder.OpenAsync(parse, token).ConfigureAwait(false);
                using var cache = new WeightsCache();
                var table = await PatchFolderEmbeddings.GetOrComputeAsync(folder.FullName, model, Path.Combine(cache.CacheDirectory, "embeddings"),
                    progress: new InlineProgress<int>(n => Console.Error.Write($"\rembedded {n} patches")), cancellationToken: token).ConfigureAwait(false);
                sets.Add(new EmbeddingSet(model.Contract.ModelId, table.Values, table.Dimension, SampleIds(table)));
            }
            foreach (var f in parse.GetValue(embeddings) ?? [])
            {
                var table = await EmbeddingTable.ReadAsync(f.FullName, token).ConfigureAwait(false);
                sets.Add(new EmbeddingSet(Path.GetFileNameWithoutExtension(f.Name), table.Values, table.Dimension, SampleIds(table)));
            }
            if (sets.Count == 0) throw new ArgumentException("Give --embeddings and/or --patches.");
            bool allow = parse.GetValue(allowMissing);
            var match = LabelMatcher.Match(sets, labelSet, allow);
            if (match.Dropped)
                Console.Error.WriteLine($"warning: --allow-missing-labels: evaluating {match.Labels.Count} shared ids; dropped {match.LabelsWithoutEmbedding} label(s) without an embedding and {match.RowsWithoutLabel} embedding row(s) without a label.");
            var options = new ProbeEvaluationOptions
            {
                Method = parse.GetValue(method),
                Folds = parse.GetValue(folds),
                Seed = parse.GetValue(seed),
                KnnK = parse.GetValue(k),
                Split = parse.GetValue(split) is { } splitFile ? ReadSplit(splitFile.FullName) : null,
                AllowMissingLabels = allow,
            };
            var result = ProbeEvaluation.Run(sets, labelSet, options, new InlineProgress<string>(m => Console.Error.WriteLine(m)), token);
            Console.WriteLine(result.ToMarkdown());
            if (reportFile is { } r)
            {
                result.SaveJson(r.FullName);
                result.SaveMarkdown(Path.ChangeExtension(r.FullName, ".md"));
                var plots = ReportPlots.SaveAll(result, r.DirectoryName ?? ".");
                Console.WriteLine($"wrote {r.FullName}, {Path.ChangeExtension(r.Name, ".md")} and {plots.Count} plot(s)");
            }
            if (headOut is { } h)
            {
                var first = match.Embeddings[0];
                var targets = match.Labels.Values.Span;
                int outputs = match.Labels.Outputs;
                LinearHead head = options.Method == ProbeMethod.Ridge
                    ? RidgeRegression.Fit(first.Data.Span, first.Dim, targets, outputs, options.RidgeAlpha, match.Labels.OutputNames, token)
                    : new LinearProbeTrainer(options.Probe).Fit(first.Data.Span, first.Dim, targets, outputs, match.Labels.OutputNames, cancellationToken: token);
                head.Save(h.FullName);
                Console.WriteLine($"wrote head {h.FullName} ({head.Task}, {head.Outputs} outputs, trained on {first.Count} rows of {first.Name})");
            }
            return 0;
        }, ct));
        return command;
    }

    /// <summary>One split name per row: plain lines, or the last column of a CSV with a header naming a 'split' column.</summary>
    private static List<string> ReadSplit(string path)
    {
        var lines = File.ReadAllLines(path).Where(l => !string.IsNullOrWhiteSpace(l)).ToList();
        if (lines.Count > 0 && lines[0].Contains(',') && lines[0].Contains("split", StringComparison.OrdinalIgnoreCase))
            return lines.Skip(1).Select(l => l.Split(',')[^1].Trim()).ToList();
        return lines.Select(l => l.Trim()).ToList();
    }

    /// <summary>
    /// The table's ids when they name samples (rows are then matched to label ids by <see cref="LabelMatcher"/>, never by
    /// position), else null: an [N, D] .npy only has row numbers, so its rows are matched in order.
    /// </summary>
    private static IReadOnlyList<string>? SampleIds(EmbeddingTable table) => table.IdsAreRowNumbers ? null : table.Ids;
}

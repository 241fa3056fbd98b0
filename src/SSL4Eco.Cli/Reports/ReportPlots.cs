using System.Globalization;
using ScottPlot;
using SSL4Eco.Inference.Evaluation;

namespace SSL4Eco.Cli.Reports;

/// <summary>
/// Renders an <see cref="EvaluationReport"/> as PNG charts with ScottPlot 5: per-fold metric bars for every
/// embedding set (plus the mean with a ±std error bar) and, for classification, a confusion-matrix heatmap.
/// </summary>
/// <remarks>Static and thread-safe (each call renders its own plot).</remarks>
public static class ReportPlots
{
    /// <summary>
    /// Grouped bars of one metric: a group per fold and a final "mean" group (error bar = std over folds), a bar per
    /// embedding set. Saved as PNG.
    /// </summary>
    /// <param name="report">The evaluation report.</param>
    /// <param name="metric">A metric key present in the report (e.g. <c>f1_macro</c>, <c>r2_mean</c>).</param>
    /// <param name="path">Output PNG path.</param>
    /// <param name="width">Image width in pixels.</param>
    /// <param name="height">Image height in pixels.</param>
    /// <exception cref="ArgumentException">No embedding set in the report has the metric.</exception>
    public static void SaveFoldMetricBars(EvaluationReport report, string metric, string path, int width = 900, int height = 500)
    {
        ArgumentNullException.ThrowIfNull(report);
        if (!report.Results.Any(r => r.Summary.ContainsKey(metric)))
            throw new ArgumentException($"The report has no metric '{metric}' (has: {string.Join(", ", report.Results.SelectMany(r => r.Summary.Keys).Distinct())}).", nameof(metric));
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        int sets = report.Results.Count, groups = report.Folds + 1;
        double barWidth = 0.8 / sets;
        var bars = new List<Bar>();
        for (int s = 0; s < sets; s++)
        {
            var result = report.Results[s];
            var color = palette.GetColor(s);
            foreach (var fold in result.Folds)
            {
                var value = fold.Metrics.Scalars().FirstOrDefault(p => p.Key == metric);
                if (value.Key is null) continue;
                bars.Add(new Bar { Position = fold.Fold + (s - (sets - 1) / 2.0) * barWidth, Value = value.Value, Size = barWidth * 0.95, FillColor = color });
            }
            if (result.Summary.TryGetValue(metric, out var summary))
                bars.Add(new Bar { Position = report.Folds + (s - (sets - 1) / 2.0) * barWidth, Value = summary.Mean, Error = summary.Std, Size = barWidth * 0.95, FillColor = color });
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = result.Name, FillColor = color });
        }
        plot.Add.Bars(bars);
        var positions = Enumerable.Range(0, groups).Select(i => (double)i).ToArray();
        var labels = Enumerable.Range(0, groups).Select(i => i < report.Folds ? $"fold {i + 1}" : "mean ± std").ToArray();
        plot.Axes.Bottom.SetTicks(positions, labels);
        plot.Axes.Margins(bottom: 0);
        plot.Title($"{metric} ({report.Method} probe, {report.Task})");
        plot.YLabel(metric);
        plot.ShowLegend(Alignment.LowerRight);
        plot.SavePng(path, width, height);
    }

    /// <summary>
    /// Heatmap of the confusion matrix (rows: true class, columns: predicted class) of one embedding set, summed over
    /// folds; with <paramref name="normalize"/> each row is divided by its count. Cell values are written on the cells.
    /// </summary>
    /// <exception cref="ArgumentException">The report has no confusion matrix (not classification) or the index is out of range.</exception>
    public static void SaveConfusionMatrix(EvaluationReport report, int resultIndex, string path, bool normalize = true, int size = 700)
    {
        ArgumentNullException.ThrowIfNull(report);
        if (resultIndex < 0 || resultIndex >= report.Results.Count)
            throw new ArgumentException($"Result index {resultIndex} is out of range (the report has {report.Results.Count}).", nameof(resultIndex));
        var result = report.Results[resultIndex];
        var cm = result.Confusion ?? throw new ArgumentException($"'{result.Name}' has no confusion matrix: the task is {report.Task}, not classification.", nameof(report));
        int n = cm.Count;
        var values = new double[n, n];
        for (int i = 0; i < n; i++)
        {
            double total = cm[i].Sum();
            for (int j = 0; j < n; j++) values[i, j] = normalize ? (total > 0 ? cm[i][j] / total : 0) : cm[i][j];
        }
        var plot = new Plot();
        var heatmap = plot.Add.Heatmap(values);
        heatmap.Colormap = new ScottPlot.Colormaps.Viridis();
        heatmap.Position = new CoordinateRect(0, n - 1, 0, n - 1); // cell centres; the drawn area is one cell larger
        plot.Add.ColorBar(heatmap);
        double max = values.Cast<double>().Max(), min = values.Cast<double>().Min();
        double mid = (max + min) / 2; // Viridis is bright above the middle: dark text there, light text below
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
            {
                var label = normalize ? values[i, j].ToString("0.00", CultureInfo.InvariantCulture) : cm[i][j].ToString(CultureInfo.InvariantCulture);
                var text = plot.Add.Text(label, j, n - 1 - i);
                text.LabelAlignment = Alignment.MiddleCenter;
                text.LabelFontColor = values[i, j] > mid ? Colors.Black : Colors.White;
            }
        var ticks = Enumerable.Range(0, n).Select(i => (double)i).ToArray();
        plot.Axes.Bottom.SetTicks(ticks, report.OutputNames.ToArray());
        plot.Axes.Left.SetTicks(ticks.Select(t => n - 1 - t).ToArray(), report.OutputNames.ToArray());
        plot.XLabel("predicted");
        plot.YLabel("true");
        plot.Title($"Confusion matrix: {result.Name}");
        plot.SavePng(path, size, size);
    }

    /// <summary>
    /// Writes every chart of a report into <paramref name="directory"/>: <c>metric-{key}.png</c> per summary metric
    /// and, for classification, <c>confusion-{n}.png</c> per embedding set. Returns the written paths.
    /// </summary>
    public static IReadOnlyList<string> SaveAll(EvaluationReport report, string directory)
    {
        ArgumentNullException.ThrowIfNull(report);
        Directory.CreateDirectory(directory);
        var paths = new List<string>();
        foreach (var key in report.Results.SelectMany(r => r.Summary.Keys).Distinct())
        {
            var path = Path.Combine(directory, $"metric-{key}.png");
            SaveFoldMetricBars(report, key, path);
            paths.Add(path);
        }
        for (int i = 0; i < report.Results.Count; i++)
        {
            if (report.Results[i].Confusion is null) continue;
            var path = Path.Combine(directory, $"confusion-{i}.png");
            SaveConfusionMatrix(report, i, path);
            paths.Add(path);
        }
        return paths;
    }
}

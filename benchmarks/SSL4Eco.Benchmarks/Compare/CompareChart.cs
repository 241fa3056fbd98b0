using System.Globalization;

namespace SSL4Eco.Benchmarks.Compare;

/// <summary>The PNG of <c>benchmarks/compare-pytorch.sh</c>: images/s per configuration, one bar group per batch size (ScottPlot).</summary>
internal static class CompareChart
{
    /// <summary>Reads tab-separated <c>name  batch  images/s</c> rows from <paramref name="tsv"/> and writes the bar chart.</summary>
    public static int Write(string tsv, string png)
    {
        var rows = File.ReadAllLines(tsv).Where(l => l.Length > 0).Select(l => l.Split('\t'))
            .Select(p => (Name: p[0], Batch: int.Parse(p[1], CultureInfo.InvariantCulture), Rate: double.Parse(p[2], CultureInfo.InvariantCulture))).ToList();
        var names = rows.Select(r => r.Name).Distinct().ToArray();
        var batches = rows.Select(r => r.Batch).Distinct().Order().ToArray();
        var plot = new ScottPlot.Plot();
        double width = 0.8 / batches.Length;
        for (int b = 0; b < batches.Length; b++)
        {
            var positions = new List<double>();
            var values = new List<double>();
            for (int n = 0; n < names.Length; n++)
                foreach (var r in rows.Where(r => r.Name == names[n] && r.Batch == batches[b]))
                {
                    positions.Add(n - 0.4 + width * (b + 0.5));
                    values.Add(r.Rate);
                }
            var bars = plot.Add.Bars(positions.ToArray(), values.ToArray());
            foreach (var bar in bars.Bars) bar.Size = width * 0.9;
            bars.LegendText = $"batch {batches[b]}";
        }
        plot.Axes.Bottom.SetTicks(Enumerable.Range(0, names.Length).Select(i => (double)i).ToArray(), names);
        plot.Axes.Margins(bottom: 0);
        plot.YLabel("images/s (9-band 224², ResNet-50)");
        plot.Title("SSL4Eco.NET vs PyTorch 1.13, same batches, same run");
        plot.ShowLegend(ScottPlot.Alignment.UpperRight);
        plot.SavePng(png, 1000, 600);
        return 0;
    }
}

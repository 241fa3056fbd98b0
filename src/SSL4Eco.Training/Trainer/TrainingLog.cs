using System.Globalization;
using System.Text;

namespace SSL4Eco.Training.Trainer;

/// <summary>The run's CSV log (<c>step,epoch,loss,acc0..,seconds</c>); on resume, rows after the resumed step are dropped.</summary>
internal sealed class TrainingLog
{
    private readonly StringBuilder _pending = new();

    public TrainingLog(string path, long resumeStep)
    {
        Path = path;
        if (File.Exists(path))
        {
            var kept = File.ReadLines(path).Where((line, i) => i == 0 ||
                (long.TryParse(line.Split(',')[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out long s) && s <= resumeStep)).ToList();
            File.WriteAllLines(path, kept);
        }
    }

    public string Path { get; }

    public void Append(long step, int epoch, double loss, float[] acc, double seconds)
    {
        if (!File.Exists(Path) && _pending.Length == 0)
            _pending.Append("step,epoch,loss,").Append(string.Join(',', acc.Select((_, i) => $"acc{i}"))).Append(",seconds\n");
        _pending.Append(CultureInfo.InvariantCulture, $"{step},{epoch},{loss:R},")
            .Append(string.Join(',', acc.Select(a => a.ToString("R", CultureInfo.InvariantCulture))))
            .Append(CultureInfo.InvariantCulture, $",{seconds:F3}\n");
        if (_pending.Length > 1 << 16) Flush();
    }

    public void Flush()
    {
        if (_pending.Length == 0) return;
        File.AppendAllText(Path, _pending.ToString());
        _pending.Clear();
    }

    /// <summary>Reads the (step, loss) columns of a log.</summary>
    public static (double[] Steps, double[] Losses) Read(string path)
    {
        var rows = File.ReadLines(path).Skip(1).Select(l => l.Split(',')).Where(p => p.Length >= 3).ToList();
        return (rows.Select(p => double.Parse(p[0], CultureInfo.InvariantCulture)).ToArray(),
                rows.Select(p => double.Parse(p[2], CultureInfo.InvariantCulture)).ToArray());
    }

    /// <summary>Draws the loss curve (raw and a moving average) to a PNG with ScottPlot.</summary>
    public static void PlotLoss(string logPath, string pngPath)
    {
        var (steps, losses) = Read(logPath);
        if (steps.Length == 0) return;
        var plot = new ScottPlot.Plot();
        plot.Add.Scatter(steps, losses).LegendText = "loss";
        int window = Math.Max(1, steps.Length / 50);
        if (window > 1)
        {
            var avg = new double[losses.Length];
            double sum = 0;
            for (int i = 0; i < losses.Length; i++) { sum += losses[i]; if (i >= window) sum -= losses[i - window]; avg[i] = sum / Math.Min(i + 1, window); }
            plot.Add.Scatter(steps, avg).LegendText = $"mean of {window}";
        }
        plot.Title("SeCo training loss");
        plot.XLabel("step");
        plot.YLabel("loss (sum of 3 InfoNCE)");
        plot.SavePng(pngPath, 900, 500);
    }
}

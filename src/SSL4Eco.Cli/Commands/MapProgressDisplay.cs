using System.Diagnostics;
using Spectre.Console;
using SSL4Eco.Inference.Geo.Pipeline;

namespace SSL4Eco.Cli.Commands;

/// <summary>How <c>map</c> shows its progress: a bar on an interactive terminal, else a line every two seconds on stderr.</summary>
internal static class MapProgressDisplay
{
    public static async Task RunAsync(Func<IProgress<MapProgress>, Task> run)
    {
        var clock = Stopwatch.StartNew();
        if (!Console.IsErrorRedirected && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive)
        {
            await AnsiConsole.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                .StartAsync(async ctx =>
                {
                    var task = ctx.AddTask("tiles", maxValue: 1);
                    await run(new InlineProgress<MapProgress>(p =>
                    {
                        task.MaxValue = Math.Max(1, p.Total);
                        task.Value = p.Completed;
                        task.Description = FormattableString.Invariant($"tiles {p.Completed}/{p.Total} ({(p.Completed - p.Resumed) / Math.Max(1e-9, clock.Elapsed.TotalSeconds):F1}/s)");
                    })).ConfigureAwait(false);
                }).ConfigureAwait(false);
            return;
        }
        long last = 0;
        await run(new InlineProgress<MapProgress>(p =>
        {
            if (clock.ElapsedMilliseconds - last < 2000 && p.Completed < p.Total) return;
            last = clock.ElapsedMilliseconds;
            double rate = (p.Completed - p.Resumed) / Math.Max(1e-9, clock.Elapsed.TotalSeconds);
            int left = p.Total - p.Completed;
            Console.Error.WriteLine(FormattableString.Invariant($"tiles {p.Completed}/{p.Total}, {rate:F1} tiles/s, ETA {(rate > 0 ? TimeSpan.FromSeconds(left / rate) : TimeSpan.Zero):hh\\:mm\\:ss}"));
        })).ConfigureAwait(false);
    }

    /// <summary>One line of counts that add up to the tile count.</summary>
    public static string Summary(MapResult r) => FormattableString.Invariant(
        $"{r.Rows} x {r.Columns} tiles, {r.EmbeddingDim} dims: {r.Progress.Total} tiles = {r.Progress.Embedded} embedded + {r.Progress.Skipped} nodata + {r.Progress.Resumed} resumed from an earlier run");
}

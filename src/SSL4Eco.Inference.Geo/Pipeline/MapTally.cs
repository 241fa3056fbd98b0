using System.Collections.Concurrent;
using System.Text.RegularExpressions;

namespace SSL4Eco.Inference.Geo.Pipeline;

/// <summary>
/// The counts of a map run and why tiles failed. Counts are changed by the record stage only; failure reasons are added by
/// any stage, grouped by their message with numbers (windows, offsets) masked, each group keeping its first message.
/// </summary>
/// <remarks>Counts: one writer thread. <see cref="Fail"/>: thread-safe.</remarks>
internal sealed class MapTally(int total, int resumed, IProgress<MapProgress>? progress)
{
    private readonly ConcurrentDictionary<string, (string First, int Count)> _reasons = new(StringComparer.Ordinal);

    public int Total { get; } = total;
    public int Resumed { get; } = resumed;
    public int Completed { get; set; } = resumed;
    public int Skipped { get; set; }
    public int Failed { get; set; }

    public MapProgress Progress => new(Completed, Total, Skipped, Failed, Resumed);

    /// <summary>Why tiles failed, most frequent first.</summary>
    public IReadOnlyList<(string Reason, int Tiles)> Reasons =>
        [.. _reasons.Values.OrderByDescending(g => g.Count).ThenBy(g => g.First, StringComparer.Ordinal).Select(g => (g.First, g.Count))];

    public void Report() => progress?.Report(Progress);

    /// <summary>Records that <paramref name="count"/> tiles failed for <paramref name="reason"/> (the count of failed tiles is the record stage's).</summary>
    public void Fail(string reason, int count) => _reasons.AddOrUpdate(Regex.Replace(reason, "[0-9]+", "#"),
        (reason.Length > 300 ? reason[..300] + "…" : reason, count), (_, g) => (g.First, g.Count + count));

    /// <summary>The first line of an exception message, for a failure reason.</summary>
    public static string FirstLine(string message) => message.Split('\n', 2)[0].Trim();
}

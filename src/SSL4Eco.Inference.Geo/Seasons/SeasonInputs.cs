using System.Globalization;
using SSL4Eco.Inference.Geo.Rasters;

namespace SSL4Eco.Inference.Geo.Seasons;

/// <summary>The inputs of <see cref="SeasonPicker"/> as tools give them: a scenes CSV and optional transition dates.</summary>
/// <remarks>Stateless; thread-safe.</remarks>
public static class SeasonInputs
{
    /// <summary>Reads candidate scenes from a CSV with a header and columns <c>id,date(yyyy-MM-dd),cloud_fraction(0..1)</c>; blank lines are skipped.</summary>
    /// <exception cref="InvalidDataException">No rows, or a row that is not id,date,cloud_fraction (the message names the line).</exception>
    public static IReadOnlyList<SceneCandidate> ReadScenes(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var lines = File.ReadAllLines(path).Where(l => !string.IsNullOrWhiteSpace(l)).ToArray();
        if (lines.Length < 2) throw new InvalidDataException($"'{path}' lists no scenes (expected a header id,date,cloud_fraction and rows).");
        return [.. lines.Skip(1).Select((line, i) =>
        {
            var c = line.Split(',');
            if (c.Length < 3) throw new InvalidDataException($"'{path}' line {i + 2}: expected id,date,cloud_fraction.");
            if (!AcquisitionDate.TryParse(c[1], out var date))
                throw new InvalidDataException($"'{path}' line {i + 2}: '{c[1]}' is not a yyyy-MM-dd date.");
            if (!double.TryParse(c[2], NumberStyles.Float, CultureInfo.InvariantCulture, out var cloud) || cloud < 0 || cloud > 1)
                throw new InvalidDataException($"'{path}' line {i + 2}: cloud fraction '{c[2]}' is not in 0..1.");
            return new SceneCandidate(c[0].Trim(), date, cloud);
        })];
    }

    /// <summary>The phenology calendar of four transition dates, or null (calendar seasons) when none is given.</summary>
    /// <exception cref="ArgumentException">Some but not all four dates are given.</exception>
    public static PhenologyCalendar? Calendar(DateOnly? greenup, DateOnly? maturity, DateOnly? senescence, DateOnly? dormancy)
    {
        DateOnly?[] d = [greenup, maturity, senescence, dormancy];
        if (d.All(t => t is null)) return null;
        if (d.Any(t => t is null)) throw new ArgumentException("Give all four transition dates (--greenup, --maturity, --senescence, --dormancy) or none.");
        return PhenologyCalendar.FromDates(d[0]!.Value, d[1]!.Value, d[2]!.Value, d[3]!.Value);
    }
}

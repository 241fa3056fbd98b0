using System.CommandLine;
using System.Globalization;
using SSL4Eco.Inference.Geo.Seasons;

namespace SSL4Eco.Cli.Commands;

/// <summary>
/// <c>ssl4eco seasons --scenes SCENES.csv [--greenup D --maturity D --senescence D --dormancy D]</c>: the paper's
/// phenology-informed pick of one scene per season (least cloudy near the middle of each phenology interval).
/// </summary>
internal static class SeasonsCommand
{
    public static Command Create()
    {
        var scenes = new Option<FileInfo>("--scenes") { Description = "CSV with columns id,date(yyyy-MM-dd),cloud_fraction(0..1) — one row per candidate scene.", Required = true };
        var greenup = new Option<string?>("--greenup") { Description = "Greenup date (yyyy-MM-dd), e.g. from MODIS MCD12Q2." };
        var maturity = new Option<string?>("--maturity") { Description = "Maturity date." };
        var senescence = new Option<string?>("--senescence") { Description = "Senescence date." };
        var dormancy = new Option<string?>("--dormancy") { Description = "Dormancy date." };
        var maxCloud = new Option<double>("--max-cloud") { Description = "Largest usable cloud fraction (the paper: < 0.2).", DefaultValueFactory = _ => 0.2 };
        var command = new Command("seasons", "Pick one scene per phenological season (calendar seasons when no transition dates are given).")
            { scenes, greenup, maturity, senescence, dormancy, maxCloud };
        command.SetAction(parse => CliRunner.Run(() =>
        {
            var candidates = ReadScenes(parse.GetValue(scenes)!.FullName);
            string?[] transitions = [parse.GetValue(greenup), parse.GetValue(maturity), parse.GetValue(senescence), parse.GetValue(dormancy)];
            PhenologyCalendar? calendar = null;
            if (transitions.Any(t => t is not null))
            {
                if (transitions.Any(t => t is null)) throw new ArgumentException("Give all four transition dates (--greenup, --maturity, --senescence, --dormancy) or none.");
                var d = transitions.Select(t => DateOnly.ParseExact(t!, "yyyy-MM-dd", CultureInfo.InvariantCulture)).ToArray();
                calendar = PhenologyCalendar.FromDates(d[0], d[1], d[2], d[3]);
            }
            Console.WriteLine("season\tfrom_day\tto_day\tscene\tdate\tcloud_fraction\tdays_from_middle");
            foreach (var p in SeasonPicker.Pick(candidates, calendar, parse.GetValue(maxCloud)))
                Console.WriteLine(FormattableString.Invariant(
                    $"{p.Season}\t{p.StartDay}\t{p.EndDay}\t{p.Scene?.Id ?? "(none)"}\t{p.Scene?.Date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) ?? ""}\t{p.Scene?.CloudFraction.ToString("F3", CultureInfo.InvariantCulture) ?? ""}\t{(p.Scene is null ? "" : p.DaysFromMiddle.ToString("F1", CultureInfo.InvariantCulture))}"));
            return 0;
        }));
        return command;
    }

    private static List<SceneCandidate> ReadScenes(string path)
    {
        var lines = File.ReadAllLines(path).Where(l => !string.IsNullOrWhiteSpace(l)).ToArray();
        if (lines.Length < 2) throw new InvalidDataException($"'{path}' lists no scenes (expected a header id,date,cloud_fraction and rows).");
        return lines.Skip(1).Select((line, i) =>
        {
            var c = line.Split(',');
            if (c.Length < 3) throw new InvalidDataException($"'{path}' line {i + 2}: expected id,date,cloud_fraction.");
            if (!DateOnly.TryParseExact(c[1].Trim(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
                throw new InvalidDataException($"'{path}' line {i + 2}: '{c[1]}' is not a yyyy-MM-dd date.");
            if (!double.TryParse(c[2], NumberStyles.Float, CultureInfo.InvariantCulture, out var cloud) || cloud < 0 || cloud > 1)
                throw new InvalidDataException($"'{path}' line {i + 2}: cloud fraction '{c[2]}' is not in 0..1.");
            return new SceneCandidate(c[0].Trim(), date, cloud);
        }).ToList();
    }
}

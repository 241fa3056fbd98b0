using System.CommandLine;
using System.Globalization;
using SSL4Eco.Inference.Geo.Rasters;
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
            var candidates = SeasonInputs.ReadScenes(parse.GetValue(scenes)!.FullName);
            var calendar = SeasonInputs.Calendar(Date(parse, greenup), Date(parse, maturity), Date(parse, senescence), Date(parse, dormancy));
            Console.WriteLine("season\tfrom_day\tto_day\tscene\tdate\tcloud_fraction\tdays_from_middle");
            foreach (var p in SeasonPicker.Pick(candidates, calendar, parse.GetValue(maxCloud)))
                Console.WriteLine(FormattableString.Invariant(
                    $"{p.Season}\t{p.StartDay}\t{p.EndDay}\t{p.Scene?.Id ?? "(none)"}\t{p.Scene?.Date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) ?? ""}\t{p.Scene?.CloudFraction.ToString("F3", CultureInfo.InvariantCulture) ?? ""}\t{(p.Scene is null ? "" : p.DaysFromMiddle.ToString("F1", CultureInfo.InvariantCulture))}"));
            return 0;
        }));
        return command;
    }

    private static DateOnly? Date(ParseResult parse, Option<string?> option) =>
        parse.GetValue(option) is { } text ? AcquisitionDate.Parse(text, option.Name) : null;
}

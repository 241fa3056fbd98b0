using System.CommandLine;
using SSL4Eco.Inference.Geo.Dataset;

namespace SSL4Eco.Cli.Commands;

/// <summary><c>ssl4eco dataset plan</c>: grid over land + local phenology → a plan of wanted intervals (<see cref="DatasetPlanner"/>).</summary>
internal static class DatasetPlanCommand
{
    public static Command Create()
    {
        var output = new Option<FileInfo>("--output", "-o") { Description = "Plan file to write (JSON).", Required = true };
        var land = new Option<FileInfo?>("--land") { Description = "Land polygons (GeoPackage, GeoJSON, Shapefile, any OGR vector)." };
        var layer = new Option<string?>("--land-layer") { Description = "Layer of --land (default: the first)." };
        var landRaster = new Option<FileInfo?>("--land-raster") { Description = "Land mask raster (non-zero = land), instead of --land." };
        var spacing = new Option<double>("--spacing-km") { Description = "Grid spacing in km (the paper: 23).", DefaultValueFactory = _ => 23 };
        var roi = new Option<string?>("--roi") { Description = "Region of interest: west,south,east,north in degrees." };
        var greenup = new Option<FileInfo?>("--greenup") { Description = "MCD12Q2-style Greenup raster (one band per year; VRT allowed)." };
        var maturity = new Option<FileInfo?>("--maturity") { Description = "Maturity raster." };
        var senescence = new Option<FileInfo?>("--senescence") { Description = "Senescence raster." };
        var dormancy = new Option<FileInfo?>("--dormancy") { Description = "Dormancy raster." };
        var encoding = new Option<string>("--phenology-encoding") { Description = "days-since-epoch (MCD12Q2 v061) or day-of-year.", DefaultValueFactory = _ => "days-since-epoch" };
        var fill = new Option<double[]>("--fill") { Description = "Fill values of the phenology rasters (default 32767).", AllowMultipleArgumentsPerToken = true };
        var nonVeg = new Option<FileInfo?>("--non-vegetated") { Description = "Raster, non-zero where non-vegetated: sampling weight ÷ 4." };
        var mountains = new Option<FileInfo?>("--mountains") { Description = "Raster, non-zero in mountains: sampling weight × 2." };
        var years = new Option<string>("--years") { Description = "Year range to search, FIRST-LAST (the paper: 2017-2024).", DefaultValueFactory = _ => "2017-2024" };
        var command = new Command("plan", "Grid locations over land with their local phenology intervals (a plan for 'dataset fetch').")
            { output, land, layer, landRaster, spacing, roi, greenup, maturity, senescence, dormancy, encoding, fill, nonVeg, mountains, years };
        command.SetAction(parse => CliRunner.Run(() =>
        {
            var phenology = PhenologyRasters.FromFiles(parse.GetValue(greenup)?.FullName, parse.GetValue(maturity)?.FullName, parse.GetValue(senescence)?.FullName, parse.GetValue(dormancy)?.FullName);
            var enc = PhenologyRasters.ParseEncoding(parse.GetValue(encoding)!);
            var (first, last) = PlanOptions.ParseYears(parse.GetValue(years)!);
            var options = new PlanOptions
            {
                SpacingMeters = parse.GetValue(spacing) * 1000,
                LandVector = parse.GetValue(land)?.FullName,
                LandLayer = parse.GetValue(layer),
                LandRaster = parse.GetValue(landRaster)?.FullName,
                Roi = parse.GetValue(roi) is { } r ? PlanOptions.ParseRoi(r) : null,
                Phenology = phenology is null ? null : phenology with { Encoding = enc, FillValues = parse.GetValue(fill) is { Length: > 0 } fv ? fv : phenology.FillValues },
                NonVegetatedRaster = parse.GetValue(nonVeg)?.FullName,
                MountainRaster = parse.GetValue(mountains)?.FullName,
                FirstYear = first,
                LastYear = last,
            };
            var plan = DatasetPlanner.Plan(options);
            plan.Save(parse.GetValue(output)!.FullName);
            Console.WriteLine(FormattableString.Invariant($"{plan.Locations.Count} locations planned ({plan.CalendarFallbacks} with the calendar fallback) → {parse.GetValue(output)!.FullName}"));
            return 0;
        }));
        return command;
    }
}

using System.CommandLine;
using System.Globalization;
using SSL4Eco.Inference.Geo.Dataset;

namespace SSL4Eco.Cli.Commands;

/// <summary>
/// <c>ssl4eco dataset plan</c> (grid over land + local phenology → a plan of wanted intervals) and <c>ssl4eco dataset fetch</c>
/// (plan + STAC endpoint → SSL4Eco-layout patches). Thin: <see cref="DatasetPlanner"/> and <see cref="DatasetFetcher"/> do the work.
/// </summary>
internal static class DatasetCommand
{
    public static Command Create() => new("dataset", "Build an SSL4Eco-style dataset: plan locations and intervals, then fetch Sentinel-2 patches from a STAC API.")
    {
        Plan(), Fetch(),
    };

    private static Command Plan()
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
            FileInfo?[] t = [parse.GetValue(greenup), parse.GetValue(maturity), parse.GetValue(senescence), parse.GetValue(dormancy)];
            if (t.Any(f => f is not null) && t.Any(f => f is null))
                throw new ArgumentException("give all four phenology rasters (--greenup, --maturity, --senescence, --dormancy) or none.");
            var enc = parse.GetValue(encoding) switch
            {
                "days-since-epoch" => PhenologyEncoding.DaysSinceEpoch,
                "day-of-year" => PhenologyEncoding.DayOfYear,
                var other => throw new ArgumentException($"--phenology-encoding '{other}' is not days-since-epoch or day-of-year."),
            };
            var fills = parse.GetValue(fill) is { Length: > 0 } fv ? fv : [32767.0];
            var (first, last) = ParseYears(parse.GetValue(years)!);
            var options = new PlanOptions
            {
                SpacingMeters = parse.GetValue(spacing) * 1000,
                LandVector = parse.GetValue(land)?.FullName,
                LandLayer = parse.GetValue(layer),
                LandRaster = parse.GetValue(landRaster)?.FullName,
                Roi = parse.GetValue(roi) is { } r ? ParseRoi(r) : null,
                Phenology = t[0] is null ? null : new PhenologyRasters(t[0]!.FullName, t[1]!.FullName, t[2]!.FullName, t[3]!.FullName) { Encoding = enc, FillValues = fills },
                NonVegetatedRaster = parse.GetValue(nonVeg)?.FullName,
                MountainRaster = parse.GetValue(mountains)?.FullName,
                FirstYear = first,
                LastYear = last,
            };
            string?[] inputs = [options.LandVector, options.LandRaster, options.NonVegetatedRaster, options.MountainRaster, .. t.Select(f => f?.FullName)];
            foreach (var input in inputs)
                if (input is not null && !File.Exists(input) && !Directory.Exists(input)) throw new FileNotFoundException($"'{input}' does not exist.");
            var plan = DatasetPlanner.Plan(options);
            plan.Save(parse.GetValue(output)!.FullName);
            int fallback = plan.Locations.Count(l => l.Phenology.StartsWith("calendar", StringComparison.Ordinal));
            Console.WriteLine(FormattableString.Invariant($"{plan.Locations.Count} locations planned ({fallback} with the calendar fallback) → {parse.GetValue(output)!.FullName}"));
            return 0;
        }));
        return command;
    }

    private static Command Fetch()
    {
        var planFile = new Option<FileInfo>("--plan") { Description = "Plan written by 'dataset plan'.", Required = true };
        var stac = new Option<string>("--stac") { Description = "STAC API root, e.g. https://earth-search.aws.element84.com/v1.", Required = true };
        var collection = new Option<string>("--collection") { Description = "STAC collection.", DefaultValueFactory = _ => "sentinel-2-l2a" };
        var output = new Option<DirectoryInfo>("--output", "-o") { Description = "Dataset folder (imgs/, manifest.json, sampling_weights.csv).", Required = true };
        var inFlight = new Option<int>("--max-requests") { Description = "Most HTTP requests in flight.", DefaultValueFactory = _ => 8 };
        var maxCloud = new Option<double>("--max-cloud") { Description = "Exclusive cloud limit as a fraction (the paper: 0.2).", DefaultValueFactory = _ => 0.2 };
        var noHarmonize = new Option<bool>("--no-harmonize") { Description = "Keep the +1000 offset of baseline ≥ 04.00 (for already harmonised collections)." };
        var command = new Command("fetch", "Fetch the plan's patches from a STAC API (resumable: finished patches are kept).")
            { planFile, stac, collection, output, inFlight, maxCloud, noHarmonize };
        command.SetAction((parse, ct) => CliRunner.RunAsync(async token =>
        {
            if (!Uri.TryCreate(parse.GetValue(stac), UriKind.Absolute, out var endpoint) || endpoint.Scheme is not ("http" or "https"))
                throw new ArgumentException($"--stac '{parse.GetValue(stac)}' is not an http(s) URL.");
            var plan = DatasetPlan.Load(parse.GetValue(planFile)!.FullName);
            var options = new FetchOptions(endpoint, parse.GetValue(output)!.FullName)
            {
                Collection = parse.GetValue(collection)!,
                MaxRequestsInFlight = parse.GetValue(inFlight),
                MaxCloudFraction = parse.GetValue(maxCloud),
                Harmonize = !parse.GetValue(noHarmonize),
            };
            var summary = await DatasetFetcher.FetchAsync(plan, options, new InlineProgress<FetchProgress>(p =>
                Console.Error.WriteLine(FormattableString.Invariant(
                    $"{p.LocationsDone}/{p.LocationsTotal} locations, {p.PatchesWritten} written, {p.PatchesReused} kept, {p.Skipped} skipped{(p.Eta is { } e ? $", ETA {e:hh\\:mm\\:ss}" : "")}"))), token);
            Console.WriteLine(FormattableString.Invariant($"{summary.Patches.Count} patches ({summary.Written} written, {summary.Reused} kept), {summary.Skipped.Count} skipped"));
            foreach (var g in summary.Skipped.GroupBy(s => s.Reason).OrderByDescending(g => g.Count()))
                Console.WriteLine(FormattableString.Invariant($"skipped {g.Count()}: {g.Key}"));
            int failed = summary.Skipped.Count(s => s.Failed);
            if (failed == 0) return 0;
            Console.Error.WriteLine(FormattableString.Invariant($"error: {failed} intervals failed (STAC API or asset unreadable, listed above); run the same fetch again to retry them."));
            return CliRunner.Failure;
        }, ct));
        return command;
    }

    private static (int, int) ParseYears(string s)
    {
        var p = s.Split('-');
        if (p.Length == 2 && int.TryParse(p[0], NumberStyles.None, CultureInfo.InvariantCulture, out int a) && int.TryParse(p[1], NumberStyles.None, CultureInfo.InvariantCulture, out int b))
            return (a, b);
        throw new ArgumentException($"--years '{s}' is not FIRST-LAST (e.g. 2017-2024).");
    }

    private static (double, double, double, double) ParseRoi(string s)
    {
        var p = s.Split(',');
        var v = new double[4];
        if (p.Length != 4 || p.Where((x, i) => !double.TryParse(x, NumberStyles.Float, CultureInfo.InvariantCulture, out v[i])).Any())
            throw new ArgumentException($"--roi '{s}' is not west,south,east,north in degrees.");
        return (v[0], v[1], v[2], v[3]);
    }
}

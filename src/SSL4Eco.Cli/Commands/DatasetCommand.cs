using System.CommandLine;
using SSL4Eco.Inference.Geo.Dataset;

namespace SSL4Eco.Cli.Commands;

/// <summary>
/// <c>ssl4eco dataset plan</c> (grid over land + local phenology → a plan of wanted intervals) and <c>ssl4eco dataset fetch</c>
/// (plan + STAC endpoint → SSL4Eco-layout patches; <see cref="DatasetFetcher"/> does the work).
/// </summary>
internal static class DatasetCommand
{
    public static Command Create() => new("dataset", "Build an SSL4Eco-style dataset: plan locations and intervals, then fetch Sentinel-2 patches from a STAC API.")
    {
        DatasetPlanCommand.Create(), Fetch(),
    };

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
            var endpoint = FetchOptions.ParseEndpoint(parse.GetValue(stac));
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
            foreach (var (reason, count) in summary.SkipReasons) Console.WriteLine(FormattableString.Invariant($"skipped {count}: {reason}"));
            if (summary.Failed == 0) return 0;
            Console.Error.WriteLine(FormattableString.Invariant($"error: {summary.Failed} intervals failed (STAC API or asset unreadable, listed above); run the same fetch again to retry them."));
            return CliRunner.Failure;
        }, ct));
        return command;
    }
}

using System.CommandLine;
using System.Globalization;
using SSL4Eco.Inference.Checkpoints;
using SSL4Eco.Inference.Conversion;
using SSL4Eco.Inference.Geo.Rasters;
using SSL4Eco.Inference.Models;
using SSL4Eco.Inference.Preprocessing;
using SSL4Eco.Inference.Registry;

namespace SSL4Eco.Cli.Commands;

/// <summary><c>ssl4eco check-scaling CHECKPOINT PATCH... [--candidates 255,10000]</c>: which input scaling fits bn1's statistics.</summary>
internal static class CheckScalingCommand
{
    public static Command Create()
    {
        var checkpoint = new Argument<FileInfo>("checkpoint") { Description = "A PyTorch checkpoint (.ckpt/.pth)." };
        var patches = new Argument<FileInfo[]>("patches") { Description = "Real Sentinel-2 patches (GeoTIFF), a few suffice.", Arity = ArgumentArity.OneOrMore };
        var candidates = new Option<string>("--candidates") { Description = "Divisors to try, comma-separated.", DefaultValueFactory = _ => "255,10000" };
        var contract = new ContractOptions();
        var command = new Command("check-scaling", "Compare conv1's output statistics on real patches with bn1's running statistics for each candidate scaling (SPEC's check of DN/255 vs DN/10000).") { checkpoint, patches, candidates };
        contract.AddTo(command);
        command.SetAction((parse, ct) => CliRunner.RunAsync(token =>
        {
            var file = parse.GetValue(checkpoint)!;
            var encoder = CheckpointLayouts.ReadEncoder(file.FullName);
            var c = contract.Read(parse)
                ?? CheckpointConverter.MatchEntry(encoder, file.Name, WeightsRegistry.Default)?.Contract
                ?? throw new ArgumentException("The checkpoint matches no registry entry; give --contract-bands and --scale-divisor.");
            var divisors = parse.GetValue(candidates)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                .Select(s => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? new InputScaling(d)
                    : throw new ArgumentException($"Candidate '{s}' is not a number.")).ToList();
            var read = parse.GetValue(patches)!.Select(p => PatchReader.Read(p.FullName, recipe: InputRecipe.For(c))).ToList();
            var fits = ScalingDiagnostics.Compare(encoder.Weights, c, read, divisors, token);
            Console.WriteLine("divisor\tmean_error\tlog_variance_ratio\tscore");
            foreach (var f in fits)
                Console.WriteLine(FormattableString.Invariant($"{f.Scaling.Divisor}\t{f.MeanError:F4}\t{f.LogVarianceRatio:F4}\t{f.Score:F4}"));
            Console.WriteLine(FormattableString.Invariant($"best fit: x = DN / {fits[0].Scaling.Divisor}"));
            return Task.FromResult(0);
        }, ct));
        return command;
    }
}

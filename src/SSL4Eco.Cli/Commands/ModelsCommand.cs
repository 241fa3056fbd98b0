using System.CommandLine;
using SSL4Eco.Inference.Models;
using SSL4Eco.Inference.Registry;

namespace SSL4Eco.Cli.Commands;

/// <summary><c>ssl4eco models</c>: lists the weights registry.</summary>
internal static class ModelsCommand
{
    public static Command Create()
    {
        var command = new Command("models", "List the known weights (registry), their input contracts and whether they are cached.");
        command.SetAction(parse => CliRunner.Run(() =>
        {
            using var cache = new WeightsCache();
            foreach (var e in WeightsRegistry.Default.Entries)
            {
                var c = e.Contract;
                Console.WriteLine($"{e.Id}{(cache.IsCached(e) ? "  [cached]" : "")}");
                Console.WriteLine($"  {e.Title}");
                Console.WriteLine($"  bands {string.Join(",", c.Bands)}; x = DN / {c.Scaling.Divisor}; {ModelContract.SpatialName(c.Spatial)} {c.InputSize}; embedding {c.EmbeddingDim}");
                Console.WriteLine($"  {e.Url}");
                Console.WriteLine($"  sha256 {e.Sha256 ?? (e.Sha256Prefix is null ? "unknown (recorded on first download)" : e.Sha256Prefix + "... (prefix)")}; licence {e.License}");
            }
            Console.WriteLine($"cache: {cache.CacheDirectory}");
            return 0;
        }));
        return command;
    }
}

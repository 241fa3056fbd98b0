using System.CommandLine;

namespace SSL4Eco.Cli.Commands;

/// <summary>The tool's root command.</summary>
internal static class CliApp
{
    public static RootCommand CreateRoot()
    {
        var root = new RootCommand("ssl4eco: SSL4Eco (SeCo-Eco) Sentinel-2 embeddings in .NET — convert checkpoints, embed patches, map rasters, probe and search embeddings.");
        foreach (var command in CommandCatalog.All())
            root.Subcommands.Add(command);
        return root;
    }

    public static Task<int> RunAsync(string[] args) => CreateRoot().Parse(args).InvokeAsync();
}

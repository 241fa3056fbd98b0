using System.CommandLine;
using SSL4Eco.Cli.Commands;

var root = new RootCommand("ssl4eco: SSL4Eco (SeCo-Eco) Sentinel-2 embeddings in .NET — convert checkpoints, embed patches, map rasters, probe and search embeddings.");
foreach (var command in CommandCatalog.All())
    root.Subcommands.Add(command);
return await root.Parse(args).InvokeAsync();

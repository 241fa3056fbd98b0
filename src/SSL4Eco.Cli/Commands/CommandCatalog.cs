using System.CommandLine;

namespace SSL4Eco.Cli.Commands;

/// <summary>Every sub-command of the tool, in help order.</summary>
internal static class CommandCatalog
{
    public static IEnumerable<Command> All() =>
    [
        ConvertCommand.Create(),
        QuantizeCommand.Create(),
        EmbedCommand.Create(),
        InfoCommand.Create(),
        CheckScalingCommand.Create(),
        ModelsCommand.Create(),
        MapCommand.Create(),
        PlanCommand.Create(),
        MergeCommand.Create(),
        StackCommand.Create(),
        SeasonsCommand.Create(),
        DatasetCommand.Create(),
        ProbeCommand.Create(),
        MetricsCommand.Create(),
        SearchCommand.Create(),
        SimilarityCommand.Create(),
    ];
}

using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

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

    /// <summary>
    /// Parses and runs; a command line that names an unknown option, has a parse error, or gives a directory where a file is
    /// expected gets one 'error:' line pointing to --help instead (exit 1), before any work.
    /// </summary>
    public static Task<int> RunAsync(string[] args)
    {
        var parse = CreateRoot().Parse(args);
        if (CommandLineProblem(parse) is { } problem)
        {
            CliRunner.Error(problem);
            return Task.FromResult(CliRunner.Failure);
        }
        return parse.InvokeAsync();
    }

    /// <summary>The first problem of a parsed command line as one line, or null.</summary>
    internal static string? CommandLineProblem(ParseResult parse)
    {
        var command = parse.CommandResult.Command;
        if (command.Action is null && command.Subcommands.Count > 0 && !parse.Tokens.Any(t => t.Value is "-h" or "--help" or "-?" or "--version"))
            return null; // the root alone: let System.CommandLine show its help
        string name = command is RootCommand ? "ssl4eco" : "ssl4eco " + command.Name;
        string help = $"see '{name} --help'";
        // An unknown option is an error, never a file name (and a typo is never taken as a path).
        foreach (var token in parse.UnmatchedTokens.Concat(parse.CommandResult.Children.OfType<ArgumentResult>().SelectMany(a => a.Tokens.Select(t => t.Value))))
            if (LooksLikeOption(token))
                return $"unknown option '{token}' for '{name}'; {help}.";
        if (parse.Errors.Count > 0)
            return $"{parse.Errors[0].Message.TrimEnd('.')}; {help}.";
        foreach (var child in parse.CommandResult.Children)
        {
            var (valueType, label) = child switch
            {
                OptionResult o => (o.Option.ValueType, o.Option.Name),
                ArgumentResult a => (a.Argument.ValueType, $"<{a.Argument.Name}>"),
                _ => (typeof(void), ""),
            };
            if (valueType != typeof(FileInfo) && valueType != typeof(FileInfo[])) continue;
            foreach (var t in child.Tokens)
                if (Directory.Exists(t.Value))
                    return $"'{t.Value}' is a directory, but {label} of '{name}' takes a file{FolderHint(command.Name)}.";
        }
        return null;
    }

    private static string FolderHint(string command) => command switch
    {
        "embed" => " (give the patch files, e.g. DIR/*.tif; 'ssl4eco map' takes folders of rasters, 'ssl4eco probe --patches' a folder of patches)",
        "probe" => " (a folder of patches goes to --patches)",
        _ => "",
    };

    private static bool LooksLikeOption(string token) =>
        token.Length > 1 && token[0] == '-' && !double.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out _);
}

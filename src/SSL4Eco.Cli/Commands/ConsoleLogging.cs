using Microsoft.Extensions.Logging;

namespace SSL4Eco.Cli.Commands;

/// <summary>The tool's logger: warnings and above to stderr (SSL4ECO_LOG=Information for more).</summary>
internal static class ConsoleLogging
{
    private static readonly Lazy<ILoggerFactory> Factory = new(() => LoggerFactory.Create(b =>
    {
        var level = Enum.TryParse<LogLevel>(Environment.GetEnvironmentVariable("SSL4ECO_LOG"), true, out var l) ? l : LogLevel.Warning;
        b.SetMinimumLevel(level).AddSimpleConsole(o => o.SingleLine = true);
        b.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
    }));

    public static ILogger Logger => Factory.Value.CreateLogger("ssl4eco");
}

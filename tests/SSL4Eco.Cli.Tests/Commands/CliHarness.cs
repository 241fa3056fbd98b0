using SSL4Eco.Cli.Commands;

namespace SSL4Eco.Cli.Tests.Commands;

/// <summary>All CLI tests redirect the process-wide Console, so they run in one collection, one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class CliCollection
{
    public const string Name = "CLI";
}

/// <summary>Runs the tool in-process and captures its output.</summary>
public static class CliHarness
{
    private static readonly SemaphoreSlim Gate = new(1, 1);

    public static (int Exit, string Out, string Err) Run(params string[] args)
    {
        Gate.Wait();
        var (oldOut, oldErr) = (Console.Out, Console.Error);
        var (o, e) = (new StringWriter(), new StringWriter());
        try
        {
            Console.SetOut(o);
            Console.SetError(e);
            int exit = CliApp.RunAsync(args).GetAwaiter().GetResult();
            return (exit, o.ToString(), e.ToString());
        }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldErr);
            Gate.Release();
        }
    }
}

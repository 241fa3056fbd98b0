using SSL4Eco.Inference.Checkpoints;
using SSL4Eco.Inference.Models;

namespace SSL4Eco.Cli.Commands;

/// <summary>Runs a command body and turns the library's exceptions into one clear line on stderr and an exit code.</summary>
internal static class CliRunner
{
    /// <summary>Exit code for bad input or a failed operation.</summary>
    public const int Failure = 1;

    /// <summary>Exit code after Ctrl-C.</summary>
    public const int Cancelled = 130;

    public static async Task<int> RunAsync(Func<CancellationToken, Task<int>> body, CancellationToken cancellationToken)
    {
        try
        {
            return await body(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Error("cancelled; completed work was kept and a re-run resumes where it stopped.");
            return Cancelled;
        }
        catch (Exception e) when (IsUserFacing(e))
        {
            Error(e.Message);
            return Failure;
        }
    }

    public static int Run(Func<int> body) => RunAsync(_ => Task.FromResult(body()), CancellationToken.None).GetAwaiter().GetResult();

    private static bool IsUserFacing(Exception e) => e is CheckpointFormatException or ModelMetadataException or ArgumentException
        or InvalidDataException or IOException or UnauthorizedAccessException or InvalidOperationException or NotSupportedException
        or FormatException || e.GetType().Namespace?.StartsWith("SSL4Eco", StringComparison.Ordinal) == true
        || e.GetType().Name == "OnnxRuntimeException";

    public static void Error(string message) => Console.Error.WriteLine("error: " + message);
}

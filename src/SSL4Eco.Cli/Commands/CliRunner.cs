using SSL4Eco.Inference.Checkpoints;
using SSL4Eco.Inference.Embedding;
using SSL4Eco.Inference.Geo.Pipeline;
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
            Error(UserMessage(e));
            return Failure;
        }
    }

    public static int Run(Func<int> body) => RunAsync(_ => Task.FromResult(body()), CancellationToken.None).GetAwaiter().GetResult();

    private static bool IsUserFacing(Exception e) => e is CheckpointFormatException or ModelMetadataException or ArgumentException
        or InvalidDataException or IOException or UnauthorizedAccessException or InvalidOperationException or NotSupportedException
        or FormatException || e.GetType().Namespace?.StartsWith("SSL4Eco", StringComparison.Ordinal) == true
        || e.GetType().Name == "OnnxRuntimeException";

    /// <summary>
    /// The exception's message as one line for a user (a failed map: one line per reason): without .NET's " (Parameter 'x')" suffix and "Actual value was …"
    /// line, and with the library's advice translated to the tool's options.
    /// </summary>
    internal static string UserMessage(Exception e)
    {
        if (e is ExecutionProviderUnavailableException { FailedLibrary: { } lib } failed)
            return $"execution provider {failed.Provider} could not start: {lib} failed to load; install {failed.RequiredRuntime}, or pass --cpu-fallback to run on the CPU.";
        if (e is ExecutionProviderUnavailableException x)
        {
            string advice = x.Provider is ExecutionProvider.Cuda or ExecutionProvider.TensorRT
                ? (ToolBuild.IsGpu
                    ? "'ssl4eco info --providers' says which NVIDIA library is missing"
                    : "install the GPU tool ('dotnet tool uninstall -g SSL4Eco.Cli && dotnet tool install -g SSL4Eco.Cli.Gpu', linux-x64 and win-x64; 'ssl4eco info --providers' lists what else is missing)")
                : "no ssl4eco package carries it; 'ssl4eco info --providers' lists what this install can run";
            return $"execution provider {x.Provider} is not available in this ssl4eco build (available: {string.Join(", ", x.Available)}); " +
                   $"{advice}, or pass --cpu-fallback to run on the CPU.";
        }
        string m = e.Message;
        if (e is ArgumentException { ParamName: { } p })
        {
            m = m.Replace($" (Parameter '{p}')", "", StringComparison.Ordinal);
            if (e is ArgumentOutOfRangeException { ActualValue: { } v })
                m = m.Replace($"Actual value was {v}.", "", StringComparison.Ordinal);
        }
        // One line, except a failed map's summary, which lists one line per reason (indented under its error line).
        if (e is not MapIncompleteException)
            m = string.Join(' ', m.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        foreach (var (library, tool) in Translations) m = m.Replace(library, tool, StringComparison.Ordinal);
        return m;
    }

    /// <summary>Library wording that names a property where the tool has an option.</summary>
    private static readonly (string Library, string Tool)[] Translations =
    [
        ("set EncoderOptions.AllowCpuFallback", "pass --cpu-fallback"),
        ("EncoderOptions.AllowCpuFallback", "--cpu-fallback"),
        ("PreprocessingOptions.MinimumPatchSide", "the model's minimum patch size"),
        ("Re-convert the checkpoint, or pass the contract explicitly.", "Re-convert the checkpoint (ssl4eco convert CHECKPOINT -o MODEL.onnx)."),
        ("; library: the contract argument)", ")"),
    ];

    public static void Error(string message) => Console.Error.WriteLine("error: " + message);
}

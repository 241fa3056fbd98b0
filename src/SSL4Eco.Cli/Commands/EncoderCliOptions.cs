using System.CommandLine;
using SSL4Eco.Inference.Conversion;
using SSL4Eco.Inference.Embedding;
using SSL4Eco.Inference.Models;
using SSL4Eco.Inference.Preprocessing;

namespace SSL4Eco.Cli.Commands;

/// <summary>The options every command that runs the encoder shares: model, provider, threads, batch, harmonisation, scaling.</summary>
internal sealed class EncoderCliOptions
{
    public Option<string> Model { get; } = new("--model", "-m")
    {
        Description = "ONNX file, PyTorch checkpoint (.ckpt/.pth, converted once and cached) or registry id (see 'ssl4eco models').",
        DefaultValueFactory = _ => "seco-eco",
    };
    public Option<ExecutionProvider> Provider { get; } = new("--provider") { Description = "Execution provider: Cpu, Cuda, TensorRT, DirectML, OpenVINO (the app must carry that ONNX Runtime native package).", DefaultValueFactory = _ => ExecutionProvider.Cpu };
    public Option<bool> CpuFallback { get; } = new("--cpu-fallback") { Description = "Fall back to CPU (with a warning) when the requested provider is unavailable." };
    public Option<int> Threads { get; } = new("--threads") { Description = "Intra-op threads (0 = ONNX Runtime default)." };
    public Option<int> BatchSize { get; } = new("--batch-size") { Description = "Patches per inference call.", DefaultValueFactory = _ => 8 };
    public Option<HarmonizeMode> Harmonize { get; } = new("--harmonize") { Description = "Remove the +1000 L2A offset of processing baseline >= 04.00: Auto (from metadata), On, Off.", DefaultValueFactory = _ => HarmonizeMode.Auto };
    public Option<double?> ScaleOverride { get; } = new("--input-scale-divisor") { Description = "Override the model's scaling divisor (x = DN / divisor), e.g. to test 255 vs 10000." };

    public void AddTo(Command command)
    {
        foreach (var o in new Option[] { Model, Provider, CpuFallback, Threads, BatchSize, Harmonize, ScaleOverride })
            command.Options.Add(o);
    }

    /// <summary>The library's compute budget for this command line (--provider, --threads) and <paramref name="embedConcurrency"/> (null: decide).</summary>
    public ComputeBudget Budget(ParseResult parse, int? embedConcurrency) =>
        ComputeBudget.For(parse.GetValue(Provider), embedConcurrency: embedConcurrency, intraOpThreads: parse.GetValue(Threads));

    /// <summary>Resolves the model (download/convert as needed) and opens the encoder.</summary>
    /// <param name="parse">The parsed command line.</param>
    /// <param name="cancellationToken">Cancels download and conversion.</param>
    /// <param name="concurrentCallers">Callers that will run batches side by side (the <see cref="ComputeBudget"/> gives each its share of the cores).</param>
    public async Task<SeCoEcoEncoder> OpenAsync(ParseResult parse, CancellationToken cancellationToken, int concurrentCallers = 1)
    {
        var options = new EncoderOptions
        {
            ExecutionProvider = parse.GetValue(Provider),
            AllowCpuFallback = parse.GetValue(CpuFallback),
            IntraOpThreads = Budget(parse, concurrentCallers).IntraOpThreads,
            BatchSize = parse.GetValue(BatchSize),
            Harmonize = parse.GetValue(Harmonize),
            ScalingOverride = parse.GetValue(ScaleOverride) is double d ? new InputScaling(d) : null,
            Logger = ConsoleLogging.Logger,
        };
        options.Validate();
        var name = parse.GetValue(Model)!;
        var progress = new InlineProgress<long>(bytes => Console.Error.Write($"\rdownloading {name}: {bytes / (1024.0 * 1024):F1} MiB"));
        var path = await ModelLocator.ResolveAsync(name, new() { Logger = ConsoleLogging.Logger }, progress: progress, cancellationToken: cancellationToken).ConfigureAwait(false);
        return SeCoEcoEncoder.Open(path, options);
    }
}

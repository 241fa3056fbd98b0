using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;
using SSL4Eco.Inference.Models;
using SSL4Eco.Inference.Preprocessing;

namespace SSL4Eco.Inference.Embedding;

/// <summary>The ONNX Runtime execution provider that runs the encoder.</summary>
public enum ExecutionProvider
{
    /// <summary>The CPU provider (always available).</summary>
    Cpu,
    /// <summary>NVIDIA CUDA; needs the <c>Microsoft.ML.OnnxRuntime.Gpu.Linux</c> (or <c>.Gpu.Windows</c>) native package, CUDA 13 and cuDNN 9; options in <see cref="EncoderOptions.Cuda"/>.</summary>
    Cuda,
    /// <summary>NVIDIA TensorRT; needs the <c>Microsoft.ML.OnnxRuntime.Gpu.Linux</c> (or <c>.Gpu.Windows</c>) native package and TensorRT (not run by this project: no TensorRT machine was available).</summary>
    TensorRT,
    /// <summary>DirectML (Windows); needs the <c>Microsoft.ML.OnnxRuntime.DirectML</c> native package.</summary>
    DirectML,
    /// <summary>Intel OpenVINO; needs the <c>Intel.ML.OnnxRuntime.OpenVino</c> native package.</summary>
    OpenVINO,
}

/// <summary>Options of <see cref="SeCoEcoEncoder"/>. Call <see cref="Validate"/> (the encoder does) to check them.</summary>
/// <remarks>Immutable and thread-safe.</remarks>
public sealed record EncoderOptions
{
    /// <summary>The options used when none are given.</summary>
    public static EncoderOptions Default { get; } = new();

    /// <summary>Execution provider. Default <see cref="ExecutionProvider.Cpu"/>.</summary>
    public ExecutionProvider ExecutionProvider { get; init; } = ExecutionProvider.Cpu;

    /// <summary>Device ordinal for GPU providers (ignored by CPU; for OpenVINO 0 means the provider's default device).</summary>
    public int DeviceId { get; init; }

    /// <summary>When the requested provider is unavailable, log a warning and run on the CPU instead of throwing.</summary>
    public bool AllowCpuFallback { get; init; }

    /// <summary>Intra-op threads; 0 lets ONNX Runtime choose (one per physical core).</summary>
    public int IntraOpThreads { get; init; }

    /// <summary>
    /// Whether ONNX Runtime's intra-op threads spin while waiting for work (its default, true). Turn it off when other
    /// threads of the process compete for the same cores (e.g. the GIS pipeline's GDAL readers on a small machine):
    /// spinning threads then steal the readers' time and a preempted worker stalls the whole operator.
    /// </summary>
    public bool AllowSpinning { get; init; } = true;

    /// <summary>Patches per ONNX Runtime run in <see cref="SeCoEcoEncoder.EmbedBatch(IReadOnlyList{Patch}, CancellationToken)"/>; larger batches are split. Default 8 (<see cref="For"/> gives a GPU provider 64).</summary>
    public int BatchSize { get; init; } = 8;

    /// <summary>Graph optimisation level. Default <see cref="GraphOptimizationLevel.ORT_ENABLE_ALL"/> (1.45x over BASIC on ResNet-50).</summary>
    public GraphOptimizationLevel GraphOptimizationLevel { get; init; } = GraphOptimizationLevel.ORT_ENABLE_ALL;

    /// <summary>Harmonisation of the baseline-04.00 offset. Default <see cref="HarmonizeMode.Auto"/>.</summary>
    public HarmonizeMode Harmonize { get; init; } = HarmonizeMode.Auto;

    /// <summary>Replaces the contract's input scaling when set.</summary>
    public InputScaling? ScalingOverride { get; init; }

    /// <summary>The options of the model's <see cref="InputRecipe"/>: <see cref="Harmonize"/> and <see cref="ScalingOverride"/>.</summary>
    internal PreprocessingOptions Preprocessing => new() { Harmonize = Harmonize, ScalingOverride = ScalingOverride };

    /// <summary>The contract to use instead of the ONNX metadata (for files converted elsewhere, without metadata).</summary>
    public ModelContract? ContractOverride { get; init; }

    /// <summary>Options of the CUDA execution provider (ignored by the others). Default <see cref="CudaOptions.Default"/>.</summary>
    public CudaOptions Cuda { get; init; } = CudaOptions.Default;

    /// <summary>
    /// Options for <paramref name="provider"/> with its default batch size (<see cref="ComputeBudget.DefaultBatchSize"/>:
    /// 8 on the CPU, 64 on a GPU provider).
    /// </summary>
    public static EncoderOptions For(ExecutionProvider provider) =>
        new() { ExecutionProvider = provider, BatchSize = ComputeBudget.DefaultBatchSize(provider) };

    /// <summary>Receives warnings (e.g. the CPU fallback); null logs nothing.</summary>
    public ILogger? Logger { get; init; }

    /// <summary>Most intra-op threads accepted: 4 × <see cref="Environment.ProcessorCount"/> (more threads only contend).</summary>
    public static int MaxThreads => 4 * Environment.ProcessorCount;

    /// <summary>Largest <see cref="BatchSize"/> accepted (ResNet-50 needs roughly 100 MB of activations per 224² patch).</summary>
    public const int MaxBatchSize = 256;

    /// <summary>Throws <see cref="ArgumentException"/> naming the field (and the tool's option) when an option is unusable.</summary>
    public void Validate()
    {
        if (!Enum.IsDefined(ExecutionProvider))
            throw new ArgumentException($"{nameof(ExecutionProvider)} has the undefined value {(int)ExecutionProvider}.", nameof(ExecutionProvider));
        if (DeviceId < 0)
            throw new ArgumentException($"{nameof(DeviceId)} must be 0 or more, got {DeviceId}.", nameof(DeviceId));
        if (IntraOpThreads < 0 || IntraOpThreads > MaxThreads)
            throw new ArgumentException(
                $"Intra-op threads (--threads, {nameof(EncoderOptions)}.{nameof(IntraOpThreads)}) must be 0 (ONNX Runtime's default) to {MaxThreads} (4 x this machine's {Environment.ProcessorCount} processors), got {IntraOpThreads}.", nameof(IntraOpThreads));
        if (BatchSize < 1 || BatchSize > MaxBatchSize)
            throw new ArgumentException(
                $"Batch size (--batch-size, {nameof(EncoderOptions)}.{nameof(BatchSize)}) must be 1 to {MaxBatchSize} (larger batches only add memory), got {BatchSize}.", nameof(BatchSize));
        if (!Enum.IsDefined(GraphOptimizationLevel))
            throw new ArgumentException($"{nameof(GraphOptimizationLevel)} has the undefined value {(int)GraphOptimizationLevel}.", nameof(GraphOptimizationLevel));
        if (!Enum.IsDefined(Harmonize))
            throw new ArgumentException($"{nameof(Harmonize)} has the undefined value {(int)Harmonize}.", nameof(Harmonize));
        if (ScalingOverride is { } s)
        {
            try { s.Validate(); }
            catch (ArgumentException e) { throw new ArgumentException($"{nameof(ScalingOverride)}: {e.Message}", nameof(ScalingOverride), e); }
        }
        ArgumentNullException.ThrowIfNull(Cuda, nameof(Cuda));
        Cuda.Validate();
        if (ContractOverride is { } c)
        {
            try { c.Validate(); }
            catch (ArgumentException e) { throw new ArgumentException($"{nameof(ContractOverride)}: {e.Message}", nameof(ContractOverride), e); }
        }
    }
}

namespace SSL4Eco.Inference.Embedding;

/// <summary>
/// How a long run spends the machine: how many batches are embedded side by side and how many intra-op threads each
/// encoder call uses — the one place that decides it, for the tools and for applications (modelled on ONNX Runtime's
/// threading options). On the CPU with two or more cores, two batches run side by side, each on half the cores: a
/// read or a write then delays one batch while the other keeps its cores busy (measured in
/// <c>benchmarks/results/map-throughput.md</c>). On a GPU provider one batch at a time, with ONNX Runtime's default
/// threads. Values the caller sets explicitly are kept. Patch files are read (GDAL) and checked by
/// <see cref="ReaderCount"/> readers side by side, so reading overlaps inference (one reader on one core, else two, and a
/// reader per two cores from four cores up: reading a patch costs a fraction of embedding it).
/// </summary>
/// <param name="EmbedConcurrency">Batches embedded side by side (<c>MapRequest.EmbedConcurrency</c>).</param>
/// <param name="IntraOpThreads">Intra-op threads per encoder call (<see cref="EncoderOptions.IntraOpThreads"/>; 0 = ONNX Runtime's default).</param>
/// <remarks>Immutable; thread-safe.</remarks>
public sealed record ComputeBudget(int EmbedConcurrency, int IntraOpThreads)
{
    /// <summary>Files read and checked side by side ahead of the encoder (at least 1).</summary>
    public int ReaderCount { get; init; } = 1;

    /// <summary>The budget for <paramref name="provider"/> on a machine with <paramref name="processorCount"/> cores.</summary>
    /// <param name="provider">The execution provider the encoder runs on.</param>
    /// <param name="processorCount">Cores to use (default: <see cref="Environment.ProcessorCount"/>).</param>
    /// <param name="embedConcurrency">The caller's choice of batches side by side, or null to decide.</param>
    /// <param name="intraOpThreads">The caller's choice of intra-op threads, or null/0 to decide.</param>
    /// <param name="readerCount">The caller's choice of readers, or null to decide.</param>
    public static ComputeBudget For(ExecutionProvider provider, int? processorCount = null, int? embedConcurrency = null, int? intraOpThreads = null,
        int? readerCount = null)
    {
        int cores = processorCount ?? Environment.ProcessorCount;
        if (cores < 1) throw new ArgumentOutOfRangeException(nameof(processorCount), cores, "The processor count must be at least 1.");
        int concurrency = embedConcurrency ?? (provider == ExecutionProvider.Cpu && cores >= 2 ? 2 : 1);
        int threads = intraOpThreads is > 0 or < 0 ? intraOpThreads.Value // a negative count is the options' validation to refuse
            : provider == ExecutionProvider.Cpu && concurrency > 1 ? Math.Max(1, cores / concurrency) : 0;
        int readers = readerCount ?? (cores == 1 ? 1 : Math.Max(2, cores / 2));
        if (readers < 1) throw new ArgumentOutOfRangeException(nameof(readerCount), readers, "The reader count must be at least 1.");
        return new ComputeBudget(concurrency, threads) { ReaderCount = readers };
    }

    /// <summary>
    /// The batch size an encoder on <paramref name="provider"/> uses by default: 8 on the CPU (larger batches only add memory
    /// there), 64 on a GPU provider (a ResNet-50 batch of 8 leaves an H200 mostly idle: 1,386 against 3,000+ images/s at 64).
    /// </summary>
    public static int DefaultBatchSize(ExecutionProvider provider) => provider == ExecutionProvider.Cpu ? 8 : 64;
}

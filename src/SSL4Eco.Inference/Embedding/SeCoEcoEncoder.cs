using System.Buffers;
using System.Runtime.CompilerServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using SSL4Eco.Inference.Models;
using SSL4Eco.Inference.Preprocessing;

namespace SSL4Eco.Inference.Embedding;

/// <summary>
/// The SeCo-Eco encoder (or any ONNX encoder with an SSL4Eco contract) on ONNX Runtime: preprocesses patches by the
/// model's <see cref="ModelContract"/> (read from the ONNX <c>metadata_props</c>, or
/// <see cref="EncoderOptions.ContractOverride"/>) and returns embeddings.
/// </summary>
/// <remarks>
/// <para>Thread-safety: one <see cref="InferenceSession"/> is shared; ONNX Runtime's <c>Run</c> is thread-safe, every call
/// uses its own pooled buffers and <see cref="RunOptions"/>, so all <c>Embed*</c> members may be called from several
/// threads at once. <see cref="Dispose"/> must not race with calls in flight; calls after it throw
/// <see cref="ObjectDisposedException"/>.</para>
/// <para>Memory: inputs are the encoder's own 64-byte aligned native buffers (one per concurrent caller, reused, freed by
/// <see cref="Dispose"/>) wrapped as <see cref="OrtValue"/> without copying;
/// outputs are written by ONNX Runtime straight into the caller's (or the returned) array.</para>
/// </remarks>
public sealed class SeCoEcoEncoder : IEmbeddingModel, IDisposable
{
    private readonly InferenceSession _session;
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;
    private readonly long[] _outputTail;
    private readonly int _chunk;
    private volatile bool _disposed;

    private SeCoEcoEncoder(InferenceSession session, ModelContract contract, EncoderOptions options, ExecutionProvider provider, Func<string> weightsSha256)
    {
        _session = session;
        Contract = contract;
        Options = options;
        ActiveProvider = provider;
        var preprocessing = new PreprocessingOptions { Harmonize = options.Harmonize, ScalingOverride = options.ScalingOverride };
        Preprocessor = new PatchPreprocessor(contract, preprocessing);
        _recipe = new Lazy<InputRecipe>(() => InputRecipe.For(contract, preprocessing, weightsSha256()));
        (_inputNames, _outputNames, _outputTail, int fixedBatch) = CheckShapes(session, contract);
        _chunk = fixedBatch > 0 ? Math.Min(options.BatchSize, fixedBatch) : options.BatchSize;
        _inputs = new InputBufferPool(_chunk * Preprocessor.ValuesPerPatch);
    }

    private readonly InputBufferPool _inputs;
    private readonly Lazy<InputRecipe> _recipe;

    /// <inheritdoc/>
    /// <remarks>The weights' SHA-256 is computed on first use (about 0.3 s for a 94 MB file; remembered per path, size and time).</remarks>
    public InputRecipe Recipe => _recipe.Value;

    /// <inheritdoc/>
    public ModelContract Contract { get; }

    /// <summary>The options the encoder was opened with.</summary>
    public EncoderOptions Options { get; }

    /// <summary>The execution provider in use (<see cref="ExecutionProvider.Cpu"/> after a fallback).</summary>
    public ExecutionProvider ActiveProvider { get; }

    /// <summary>The preprocessor built from the contract and options; use it to fill batches for <see cref="EmbedPreprocessed"/>.</summary>
    public PatchPreprocessor Preprocessor { get; }

    /// <summary>Opens an ONNX file. Throws <see cref="ModelMetadataException"/> for missing metadata or shapes that contradict the contract.</summary>
    public static SeCoEcoEncoder Open(string path, EncoderOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"ONNX model '{path}' does not exist.", path);
        var full = Path.GetFullPath(path);
        return Create(so => new InferenceSession(path, so), options, () => Files.FileHash.Sha256(full));
    }

    /// <summary>Opens an ONNX model read from a stream (read to its end; the stream is not disposed).</summary>
    public static SeCoEcoEncoder Open(Stream model, EncoderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var copy = new MemoryStream();
        model.CopyTo(copy);
        return Open(copy.ToArray(), options);
    }

    /// <summary>Opens an ONNX model held in memory.</summary>
    public static SeCoEcoEncoder Open(byte[] model, EncoderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (model.Length == 0) throw new ArgumentException("The ONNX model is empty (0 bytes).", nameof(model));
        var sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(model));
        return Create(so => new InferenceSession(model, so), options, () => sha);
    }

    private static SeCoEcoEncoder Create(Func<SessionOptions, InferenceSession> open, EncoderOptions? options, Func<string> weightsSha256)
    {
        options ??= EncoderOptions.Default;
        options.Validate();
        ExecutionProvider used;
        InferenceSession session;
        using (var so = new SessionOptions { GraphOptimizationLevel = options.GraphOptimizationLevel, IntraOpNumThreads = options.IntraOpThreads })
        {
            if (!options.AllowSpinning)
            {
                so.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
                so.AddSessionConfigEntry("session.inter_op.allow_spinning", "0");
            }
            used = ExecutionProviders.Configure(so, options);
            session = open(so);
        }
        try
        {
            var contract = options.ContractOverride ?? ModelContract.FromMetadata(session.ModelMetadata.CustomMetadataMap);
            return new SeCoEcoEncoder(session, contract, options, used, weightsSha256);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    private static (string[] Inputs, string[] Outputs, long[] OutputTail, int FixedBatch) CheckShapes(InferenceSession session, ModelContract contract)
    {
        // One input; one output, or several of which 'embedding' is used (an encoder with an appended head also has 'prediction').
        bool single = session.OutputMetadata.Count == 1;
        if (session.InputMetadata.Count != 1 || (!single && !session.OutputMetadata.ContainsKey(Onnx.ResNet50OnnxExporter.EmbeddingName)))
            throw new ModelMetadataException($"The encoder must have one input and one output (or an '{Onnx.ResNet50OnnxExporter.EmbeddingName}' output); the ONNX model has {session.InputMetadata.Count} inputs ({string.Join(", ", session.InputMetadata.Keys)}) and {session.OutputMetadata.Count} outputs ({string.Join(", ", session.OutputMetadata.Keys)}).");
        var (inName, inMeta) = session.InputMetadata.First();
        var (outName, outMeta) = single ? session.OutputMetadata.First()
            : session.OutputMetadata.First(kv => kv.Key == Onnx.ResNet50OnnxExporter.EmbeddingName);
        int c = contract.Channels, s = contract.InputSize, d = contract.EmbeddingDim;
        string Shape(int[] dims) => "[" + string.Join(", ", dims.Select(x => x < 0 ? "?" : x.ToString(System.Globalization.CultureInfo.InvariantCulture))) + "]";
        var i = inMeta.Dimensions;
        if (inMeta.ElementDataType != TensorElementType.Float || i.Length != 4 || !Fits(i[1], c) || !Fits(i[2], s) || !Fits(i[3], s))
            throw new ModelMetadataException($"ONNX input '{inName}' is {inMeta.ElementDataType} {Shape(i)}; the contract ({string.Join(",", contract.Bands)}, input size {s}) needs float [N, {c}, {s}, {s}].");
        var o = outMeta.Dimensions;
        long[] tail = o.Skip(1).Select(x => (long)x).ToArray();
        if (o.Length == 2 && o[1] < 0) tail[0] = d;
        if (outMeta.ElementDataType != TensorElementType.Float || o.Length < 2 || tail.Any(x => x < 0) || tail.Aggregate(1L, (a, b) => a * b) != d)
            throw new ModelMetadataException($"ONNX output '{outName}' is {outMeta.ElementDataType} {Shape(o)}; the contract's embedding dimension {d} needs float [N, {d}].");
        int fixedBatch = i[0] > 0 ? i[0] : 0;
        if (fixedBatch > 0 && o[0] > 0 && o[0] != fixedBatch)
            throw new ModelMetadataException($"ONNX input batch {i[0]} and output batch {o[0]} differ.");
        if (fixedBatch > 1)
            throw new ModelMetadataException($"ONNX input '{inName}' has a fixed batch of {fixedBatch}; export the encoder with a dynamic batch axis (or batch 1).");
        return ([inName], [outName], tail, fixedBatch);
        static bool Fits(int dim, int want) => dim < 0 || dim == want;
    }

    /// <summary>Embeds one patch; returns <see cref="ModelContract.EmbeddingDim"/> floats.</summary>
    public float[] Embed(Patch patch) => EmbedBatch([patch ?? throw new ArgumentNullException(nameof(patch))]);

    /// <summary>
    /// Embeds patches (any band order, any size the spatial policy accepts); returns row-major
    /// <c>[patches.Count, EmbeddingDim]</c>. Runs in chunks of <see cref="EncoderOptions.BatchSize"/>.
    /// Throws <see cref="ArgumentException"/> for an empty list or an unusable patch (the message names it),
    /// <see cref="OperationCanceledException"/> when cancelled (a run in flight is terminated).
    /// </summary>
    public float[] EmbedBatch(IReadOnlyList<Patch> patches, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(patches);
        var result = new float[(long)patches.Count * Contract.EmbeddingDim];
        EmbedBatch(patches, result, cancellationToken);
        return result;
    }

    /// <summary>
    /// As <see cref="EmbedBatch(IReadOnlyList{Patch}, CancellationToken)"/>, writing <c>[patches.Count, EmbeddingDim]</c> into
    /// <paramref name="destination"/> (no allocation per call).
    /// </summary>
    public unsafe void EmbedBatch(IReadOnlyList<Patch> patches, Span<float> destination, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(patches);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (patches.Count == 0) throw new ArgumentException("Cannot embed an empty batch of patches.", nameof(patches));
        int per = Preprocessor.ValuesPerPatch, dim = Contract.EmbeddingDim;
        long needed = (long)patches.Count * dim;
        if (destination.Length < needed)
            throw new ArgumentException($"The destination holds {destination.Length} values; {patches.Count} patches x {dim} = {needed} needed.", nameof(destination));
        var rented = _inputs.Rent();
        try
        {
            // The buffer starts at a 64-byte boundary: ONNX Runtime's vectorised kernels peel unaligned heads, so the
            // summation order (and the last bits of the embedding) would otherwise depend on where the input lies.
            var buffer = new Span<float>(rented, _inputs.Length);
            for (int start = 0; start < patches.Count; start += _chunk)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int n = Math.Min(_chunk, patches.Count - start);
                for (int k = 0; k < n; k++)
                {
                    var patch = patches[start + k] ?? throw new ArgumentException($"Patch {start + k} is null.", nameof(patches));
                    try { Preprocessor.Preprocess(patch, buffer.Slice(k * per, per)); }
                    catch (ArgumentException e) { throw new ArgumentException($"Patch {start + k}{DateText(patch)}: {e.Message}", nameof(patches), e); }
                }
                Run(buffer[..(n * per)], n, destination.Slice(start * dim, n * dim), cancellationToken);
            }
        }
        finally
        {
            _inputs.Return(rented);
        }
    }

    private static string DateText(Patch p) => p.Date is { } d ? $" ({d:yyyy-MM-dd})" : "";

    /// <summary>
    /// Runs the encoder on input that is already preprocessed: <paramref name="input"/> is NCHW
    /// <c>[count, Channels, InputSize, InputSize]</c> (e.g. filled with <see cref="Preprocessor"/>), and
    /// <paramref name="output"/> receives <c>[count, EmbeddingDim]</c>. Neither is copied. Values are not checked.
    /// </summary>
    /// <remarks>Results equal <see cref="EmbedBatch(IReadOnlyList{Patch}, CancellationToken)"/>'s bit for bit when <paramref name="input"/> starts at a 64-byte
    /// boundary (as <see cref="EmbedBatch(IReadOnlyList{Patch}, CancellationToken)"/>'s pooled buffers do); elsewhere the last bits may differ, because ONNX Runtime's
    /// vectorised reductions sum in an order that depends on the address.</remarks>
    public void EmbedPreprocessed(ReadOnlySpan<float> input, int count, Span<float> output, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (count <= 0) throw new ArgumentException($"Count must be positive, got {count}.", nameof(count));
        int per = Preprocessor.ValuesPerPatch, dim = Contract.EmbeddingDim;
        if (input.Length != (long)count * per)
            throw new ArgumentException($"Input holds {input.Length} floats; {count} x {Contract.Channels} x {Contract.InputSize} x {Contract.InputSize} = {(long)count * per} expected.", nameof(input));
        if (output.Length != (long)count * dim)
            throw new ArgumentException($"Output holds {output.Length} floats; {count} x {dim} = {(long)count * dim} expected.", nameof(output));
        for (int start = 0; start < count; start += _chunk)
        {
            int n = Math.Min(_chunk, count - start);
            Run(input.Slice(start * per, n * per), n, output.Slice(start * dim, n * dim), cancellationToken);
        }
    }

    /// <summary>
    /// Embeds the patches of one location at several dates; returns per-date <c>[T, D]</c>, the mean and the concatenation.
    /// </summary>
    public MultiDateEmbedding EmbedDates(IReadOnlyList<Patch> dates, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dates);
        if (dates.Count == 0) throw new ArgumentException("Cannot embed an empty list of dates.", nameof(dates));
        var rows = EmbedBatch(dates, cancellationToken);
        return new MultiDateEmbedding(rows, dates.Count, Contract.EmbeddingDim, dates.Select(p => p.Date).ToArray());
    }

    /// <summary>
    /// Embeds a stream of patches in batches of <see cref="EncoderOptions.BatchSize"/>, yielding one embedding per patch in
    /// input order. Each batch runs on the thread pool. Cancellation stops reading and terminates a run in flight.
    /// </summary>
    public async IAsyncEnumerable<float[]> EmbedAsync(IAsyncEnumerable<Patch> patches, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(patches);
        ObjectDisposedException.ThrowIf(_disposed, this);
        int dim = Contract.EmbeddingDim;
        var batch = new List<Patch>(Options.BatchSize);
        await foreach (var patch in patches.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            batch.Add(patch);
            if (batch.Count < Options.BatchSize) continue;
            var rows = await Task.Run(() => EmbedBatch(batch, cancellationToken), cancellationToken).ConfigureAwait(false);
            for (int k = 0; k < batch.Count; k++) yield return rows.AsSpan(k * dim, dim).ToArray();
            batch.Clear();
        }
        if (batch.Count > 0)
        {
            var rows = await Task.Run(() => EmbedBatch(batch, cancellationToken), cancellationToken).ConfigureAwait(false);
            for (int k = 0; k < batch.Count; k++) yield return rows.AsSpan(k * dim, dim).ToArray();
        }
    }

    private unsafe void Run(ReadOnlySpan<float> input, int n, Span<float> output, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var inShape = new long[] { n, Contract.Channels, Contract.InputSize, Contract.InputSize };
        var outShape = new long[_outputTail.Length + 1];
        outShape[0] = n;
        _outputTail.CopyTo(outShape, 1);
        fixed (float* pin = input)
        fixed (float* pout = output)
        {
            using var inValue = OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, TensorElementType.Float, inShape, (IntPtr)pin, input.Length * sizeof(float));
            using var outValue = OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, TensorElementType.Float, outShape, (IntPtr)pout, output.Length * sizeof(float));
            using var runOptions = new RunOptions();
            using var registration = cancellationToken.Register(static o => ((RunOptions)o!).Terminate = true, runOptions);
            try
            {
                _session.Run(runOptions, _inputNames, [inValue], _outputNames, [outValue]);
            }
            catch (OnnxRuntimeException e) when (cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException("The encoder run was terminated by cancellation.", e, cancellationToken);
            }
        }
    }

    /// <summary>Releases the ONNX Runtime session. Later calls throw <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _session.Dispose();
        _inputs.Dispose();
    }
}

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
/// uses its own run slot (buffers, IO binding, <see cref="RunOptions"/>), so all <c>Embed*</c> members may be called from several
/// threads at once (with <see cref="CudaOptions.EnableCudaGraph"/> they take turns on one slot). <see cref="Dispose"/> must not
/// race with calls in flight; calls after it throw <see cref="ObjectDisposedException"/>.</para>
/// <para>Input forms: a model converted with <c>--input-form raw</c> (<see cref="TakesRawInput"/>) gets the patches' raw pixels
/// and preprocesses them in its graph, on the execution provider; any other model gets host-preprocessed input
/// (<see cref="Preprocessor"/>). <see cref="EmbedBatch(IReadOnlyList{Patch}, CancellationToken)"/> feeds either.</para>
/// <para>Memory: each concurrent caller gets one run slot, created on first need and reused: 64-byte aligned host buffers
/// (page-locked on CUDA when <see cref="CudaOptions.PinnedHostBuffers"/>) for input, harmonisation offsets and output, bound once
/// to an <see cref="OrtIoBinding"/>; a run of the same batch size allocates nothing (measured: 0 bytes per batch against 752 for
/// a fresh <see cref="OrtValue"/> pair per run). Slots are freed by <see cref="Dispose"/>.</para>
/// </remarks>
public sealed class SeCoEcoEncoder : IEmbeddingModel, IDisposable
{
    private readonly InferenceSession _session;
    private readonly RunLayout _layout;
    private readonly RunSlotPool _slots;
    private readonly int _chunk;
    private readonly bool _cudaGraph;
    private readonly ExecutionProvider _provider;
    private volatile bool _disposed;

    private SeCoEcoEncoder(InferenceSession session, ModelContract contract, EncoderOptions options, ExecutionProvider provider, Func<string> weightsSha256)
    {
        _session = session;
        Contract = contract;
        Options = options;
        ActiveProvider = provider;
        _provider = provider;
        Preprocessor = new PatchPreprocessor(InputRecipe.For(contract, options.Preprocessing)); // the recipe refuses an override of in-graph scaling
        _recipe = new Lazy<InputRecipe>(() => Preprocessor.Recipe with { WeightsSha256 = weightsSha256() });
        var (layout, fixedBatch) = CheckShapes(session, contract);
        _chunk = fixedBatch > 0 ? Math.Min(options.BatchSize, fixedBatch) : options.BatchSize;
        _layout = layout with { Chunk = _chunk };
        bool cudaGraph = provider == ExecutionProvider.Cuda && options.Cuda.EnableCudaGraph;
        _cudaGraph = cudaGraph;
        var pinned = provider == ExecutionProvider.Cuda && options.Cuda.PinnedHostBuffers ? PinnedAllocator(session, options.DeviceId) : null;
        // CUDA graphs replay the addresses they captured: one slot (one buffer set) serves every call in turn.
        _slots = new RunSlotPool(() => new RunSlot(_session, _layout, pinned), single: cudaGraph);
    }

    private static OrtAllocator? PinnedAllocator(InferenceSession session, int deviceId)
    {
        try
        {
            return new OrtAllocator(session, new OrtMemoryInfo(OrtMemoryInfo.allocatorCUDA_PINNED, OrtAllocatorType.DeviceAllocator, deviceId, OrtMemType.CpuOutput));
        }
        catch (OnnxRuntimeException)
        {
            return null; // no pinned allocator registered: ordinary aligned host memory
        }
    }

    private readonly Lazy<InputRecipe> _recipe;

    /// <summary>Whether the model takes raw patches and preprocesses them in its graph (<see cref="ModelContract.RawInput"/>).</summary>
    public bool TakesRawInput => Contract.RawInput is not null;

    /// <summary>Run slots (buffers + IO binding) created so far: one per caller that ran concurrently (for diagnostics and tests).</summary>
    internal int RunSlotsCreated => _slots.Created;

    /// <inheritdoc/>
    /// <remarks>The weights' SHA-256 is computed on first use (about 0.3 s for a 94 MB file; remembered per path, size and time).</remarks>
    public InputRecipe Recipe => _recipe.Value;

    /// <inheritdoc/>
    public ModelContract Contract { get; }

    /// <summary>The options the encoder was opened with.</summary>
    public EncoderOptions Options { get; }

    /// <inheritdoc/>
    int IEmbeddingModel.BatchSize => Options.BatchSize;

    /// <summary>The execution provider in use (<see cref="ExecutionProvider.Cpu"/> after a fallback).</summary>
    public ExecutionProvider ActiveProvider { get; }

    /// <summary>
    /// The host preprocessor built from the contract and options; use it to fill batches for <see cref="EmbedPreprocessed"/>
    /// (a raw-input model does this in its graph; its preprocessor still says which patches are harmonised).
    /// </summary>
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

    private static (RunLayout Layout, int FixedBatch) CheckShapes(InferenceSession session, ModelContract contract)
    {
        // One input (two for a raw-input model); one output, or several of which 'embedding' is used (an encoder with an appended head also has 'prediction').
        bool single = session.OutputMetadata.Count == 1;
        var raw = contract.RawInput;
        int inputs = raw is null ? 1 : 2;
        if (session.InputMetadata.Count != inputs || (!single && !session.OutputMetadata.ContainsKey(Onnx.ResNet50OnnxExporter.EmbeddingName)))
            throw new ModelMetadataException($"The encoder must have {(raw is null ? "one input" : $"the inputs '{Onnx.OnnxInputPreprocessing.RawInputName}' and '{Onnx.OnnxInputPreprocessing.HarmonizeOffsetName}'")} and one output (or an '{Onnx.ResNet50OnnxExporter.EmbeddingName}' output); the ONNX model has {session.InputMetadata.Count} inputs ({string.Join(", ", session.InputMetadata.Keys)}) and {session.OutputMetadata.Count} outputs ({string.Join(", ", session.OutputMetadata.Keys)}).");
        string inName;
        NodeMetadata inMeta;
        if (raw is null) (inName, inMeta) = session.InputMetadata.First();
        else if (!session.InputMetadata.TryGetValue(inName = Onnx.OnnxInputPreprocessing.RawInputName, out inMeta!) || !session.InputMetadata.ContainsKey(Onnx.OnnxInputPreprocessing.HarmonizeOffsetName))
            throw new ModelMetadataException($"The model's metadata says it takes raw input, but it lacks the inputs '{Onnx.OnnxInputPreprocessing.RawInputName}' and '{Onnx.OnnxInputPreprocessing.HarmonizeOffsetName}' (it has {string.Join(", ", session.InputMetadata.Keys)}).");
        var (outName, outMeta) = single ? session.OutputMetadata.First()
            : session.OutputMetadata.First(kv => kv.Key == Onnx.ResNet50OnnxExporter.EmbeddingName);
        int c = contract.Channels, s = contract.InputSize, d = contract.EmbeddingDim;
        string Shape(int[] dims) => "[" + string.Join(", ", dims.Select(x => x < 0 ? "?" : x.ToString(System.Globalization.CultureInfo.InvariantCulture))) + "]";
        var i = inMeta.Dimensions;
        long[] inTail;
        TensorElementType inType;
        if (raw is null)
        {
            if (inMeta.ElementDataType != TensorElementType.Float || i.Length != 4 || !Fits(i[1], c) || !Fits(i[2], s) || !Fits(i[3], s))
                throw new ModelMetadataException($"ONNX input '{inName}' is {inMeta.ElementDataType} {Shape(i)}; the contract ({string.Join(",", contract.Bands)}, input size {s}) needs float [N, {c}, {s}, {s}].");
            (inTail, inType) = ([c, s, s], TensorElementType.Float);
        }
        else
        {
            inType = raw.SampleType == RawSampleType.UInt16 ? TensorElementType.UInt16 : TensorElementType.Float;
            if (inMeta.ElementDataType != inType || i.Length != 4 || !Fits(i[1], raw.Bands.Count) || !Fits(i[2], raw.Height) || !Fits(i[3], raw.Width))
                throw new ModelMetadataException($"ONNX input '{inName}' is {inMeta.ElementDataType} {Shape(i)}; the contract's raw input ({string.Join(",", raw.Bands)}) needs {RawInputForm.SampleTypeName(raw.SampleType)} [N, {raw.Bands.Count}, {raw.Height}, {raw.Width}].");
            inTail = [raw.Bands.Count, raw.Height, raw.Width];
        }
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
        var layout = new RunLayout(1, inName, inType, inTail, raw is null ? null : Onnx.OnnxInputPreprocessing.HarmonizeOffsetName, outName, tail);
        return (layout, fixedBatch);
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
    /// <paramref name="destination"/> (no allocation per call in the steady state). A raw-input model
    /// (<see cref="TakesRawInput"/>) gets the patches' pixels in its raw band order and preprocesses them in its graph; the
    /// patches must then be of the raw size and hold every raw band (whole numbers 0..65535 for a uint16 model).
    /// </summary>
    public void EmbedBatch(IReadOnlyList<Patch> patches, Span<float> destination, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(patches);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (patches.Count == 0) throw new ArgumentException("Cannot embed an empty batch of patches.", nameof(patches));
        int per = _layout.InputValuesPerItem, dim = Contract.EmbeddingDim;
        long needed = (long)patches.Count * dim;
        if (destination.Length < needed)
            throw new ArgumentException($"The destination holds {destination.Length} values; {patches.Count} patches x {dim} = {needed} needed.", nameof(destination));
        var slot = _slots.Rent();
        bool reusable = false;
        try
        {
            RawBandMap? map = null;
            for (int start = 0; start < patches.Count; start += _chunk)
            {
                cancellationToken.ThrowIfCancellationRequested();
                int n = Math.Min(_chunk, patches.Count - start);
                for (int k = 0; k < n; k++)
                {
                    var patch = patches[start + k] ?? throw new ArgumentException($"Patch {start + k} is null.", nameof(patches));
                    try
                    {
                        if (Contract.RawInput is { } raw)
                        {
                            map = RawBandMap.For(raw, patch, map);
                            map.Copy(patch, slot, k, per);
                            slot.Offsets[k] = Preprocessor.HarmonizesPatch(patch) ? Harmonization.Offset : 0f;
                        }
                        else
                        {
                            Preprocessor.Preprocess(patch, slot.InputFloats.Slice(k * per, per));
                        }
                    }
                    catch (ArgumentException e) { throw new ArgumentException($"Patch {start + k}{DateText(patch)}: {e.Message}", nameof(patches), e); }
                }
                Run(slot, n, destination.Slice(start * dim, n * dim), cancellationToken);
            }
            reusable = true;
        }
        finally
        {
            _slots.Return(slot, reusable || !cancellationToken.IsCancellationRequested);
        }
    }

    private static string DateText(Patch p) => p.Date is { } d ? $" ({d:yyyy-MM-dd})" : "";

    /// <summary>
    /// Runs the encoder on input that is already preprocessed: <paramref name="input"/> is NCHW
    /// <c>[count, Channels, InputSize, InputSize]</c> (e.g. filled with <see cref="Preprocessor"/>), and
    /// <paramref name="output"/> receives <c>[count, EmbeddingDim]</c>. Values are not checked. Not for a raw-input model
    /// (<see cref="InvalidOperationException"/>: use <see cref="EmbedRaw(ReadOnlySpan{ushort}, int, ReadOnlySpan{float}, Span{float}, CancellationToken)"/>).
    /// </summary>
    /// <remarks>The input is copied into the caller's run buffer (64-byte aligned; page-locked on CUDA), which the IO binding
    /// keeps bound, so results equal <see cref="EmbedBatch(IReadOnlyList{Patch}, CancellationToken)"/>'s bit for bit wherever
    /// <paramref name="input"/> lies.</remarks>
    public void EmbedPreprocessed(ReadOnlySpan<float> input, int count, Span<float> output, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (TakesRawInput)
            throw new InvalidOperationException($"This model takes raw patches ({RawDescription()}) and preprocesses them in its graph; call EmbedRaw or EmbedBatch, or use a model converted without --input-form raw.");
        if (count <= 0) throw new ArgumentException($"Count must be positive, got {count}.", nameof(count));
        int per = _layout.InputValuesPerItem, dim = Contract.EmbeddingDim;
        if (input.Length != (long)count * per)
            throw new ArgumentException($"Input holds {input.Length} floats; {count} x {Contract.Channels} x {Contract.InputSize} x {Contract.InputSize} = {(long)count * per} expected.", nameof(input));
        CheckOutput(output, count, dim);
        RunChunks(input, per, [], 0f, count, output, cancellationToken);
    }

    /// <summary>
    /// Runs a raw-input model (<see cref="TakesRawInput"/>, uint16) on raw patches <c>[count, raw bands, raw height, raw width]</c>
    /// in the contract's raw band order (<see cref="RawInputForm.Bands"/>); the model does the whole preprocessing.
    /// <paramref name="harmonizeOffsets"/> holds per patch 1000 (remove the baseline-04.00 offset) or 0, or is empty to use
    /// 1000 for every patch when <see cref="EncoderOptions.Harmonize"/> is <see cref="HarmonizeMode.On"/> and 0 otherwise.
    /// </summary>
    /// <exception cref="InvalidOperationException">The model takes preprocessed input, or float32 raw input.</exception>
    /// <exception cref="ArgumentException">A length does not fit.</exception>
    public void EmbedRaw(ReadOnlySpan<ushort> raw, int count, ReadOnlySpan<float> harmonizeOffsets, Span<float> output, CancellationToken cancellationToken = default)
    {
        int per = CheckRaw(RawSampleType.UInt16, raw.Length, count, harmonizeOffsets.Length, output);
        RunChunks(raw, per, harmonizeOffsets, DefaultOffset, count, output, cancellationToken);
    }

    /// <summary>As <see cref="EmbedRaw(ReadOnlySpan{ushort}, int, ReadOnlySpan{float}, Span{float}, CancellationToken)"/> for a float32 raw-input model (NaN and infinities are refused, as the host does).</summary>
    public void EmbedRaw(ReadOnlySpan<float> raw, int count, ReadOnlySpan<float> harmonizeOffsets, Span<float> output, CancellationToken cancellationToken = default)
    {
        int per = CheckRaw(RawSampleType.Float32, raw.Length, count, harmonizeOffsets.Length, output);
        int bad = PatchPreprocessor.IndexOfNonFinite(raw);
        if (bad >= 0) throw new ArgumentException($"Raw input holds {raw[bad]} at index {bad} (patch {bad / per}); fill nodata before embedding.", nameof(raw));
        RunChunks(raw, per, harmonizeOffsets, DefaultOffset, count, output, cancellationToken);
    }

    private int CheckRaw(RawSampleType type, int length, int count, int offsets, Span<float> output)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var raw = Contract.RawInput
            ?? throw new InvalidOperationException("This model takes preprocessed input; call EmbedPreprocessed or EmbedBatch, or convert the model with --input-form raw.");
        if (raw.SampleType != type)
            throw new InvalidOperationException($"This model takes {RawDescription()}; {RawInputForm.SampleTypeName(type)} input was given.");
        if (count <= 0) throw new ArgumentException($"Count must be positive, got {count}.", nameof(count));
        int per = raw.ValuesPerPatch;
        if (length != (long)count * per)
            throw new ArgumentException($"Raw input holds {length} values; {count} x {raw.Bands.Count} bands x {raw.Height} x {raw.Width} = {(long)count * per} expected.", nameof(raw));
        if (offsets != 0 && offsets != count)
            throw new ArgumentException($"Harmonisation offsets hold {offsets} values; one per patch ({count}) or none expected.", "harmonizeOffsets");
        CheckOutput(output, count, Contract.EmbeddingDim);
        return per;
    }

    private string RawDescription() => Contract.RawInput is { } r
        ? $"{RawInputForm.SampleTypeName(r.SampleType)} [N, {r.Bands.Count}, {r.Height}, {r.Width}] of {string.Join(",", r.Bands)}" : "preprocessed input";

    private static void CheckOutput(Span<float> output, int count, int dim)
    {
        if (output.Length != (long)count * dim)
            throw new ArgumentException($"Output holds {output.Length} floats; {count} x {dim} = {(long)count * dim} expected.", nameof(output));
    }

    /// <summary>The harmonisation offset of a raw call without explicit offsets: the recipe's decision for an unknown baseline (1000 under <see cref="HarmonizeMode.On"/>, else 0).</summary>
    private float DefaultOffset => Preprocessor.Recipe.Harmonizes(null) ? Harmonization.Offset : 0f;

    private void RunChunks<T>(ReadOnlySpan<T> input, int per, ReadOnlySpan<float> offsets, float fill, int count, Span<float> output, CancellationToken cancellationToken)
        where T : unmanaged
    {
        int dim = Contract.EmbeddingDim;
        var slot = _slots.Rent();
        bool reusable = false;
        try
        {
            for (int start = 0; start < count; start += _chunk)
            {
                int n = Math.Min(_chunk, count - start);
                Fill(slot, input.Slice(start * per, n * per), offsets.IsEmpty ? offsets : offsets.Slice(start, n), fill, n);
                Run(slot, n, output.Slice(start * dim, n * dim), cancellationToken);
            }
            reusable = true;
        }
        finally
        {
            _slots.Return(slot, reusable || !cancellationToken.IsCancellationRequested);
        }
    }

    private void Fill<T>(RunSlot slot, ReadOnlySpan<T> input, ReadOnlySpan<float> offsets, float fill, int n) where T : unmanaged
    {
        input.CopyTo(slot.InputAs<T>());
        if (_layout.OffsetsName is null) return;
        if (offsets.IsEmpty) slot.Offsets[..n].Fill(fill);
        else offsets.CopyTo(slot.Offsets);
    }

    /// <summary>
    /// Embeds preprocessed input and leaves the embeddings where the execution provider computed them (GPU memory on CUDA,
    /// host memory on the CPU), for chaining a head or another model without a copy back: returns an <see cref="OrtValue"/>
    /// <c>[count, EmbeddingDim]</c> the caller disposes. For a raw-input model, <paramref name="input"/> holds raw patches
    /// (uint16 models: use <see cref="EmbedRawOnDevice"/>).
    /// </summary>
    public OrtValue EmbedPreprocessedOnDevice(ReadOnlySpan<float> input, int count, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (TakesRawInput)
            throw new InvalidOperationException($"This model takes raw patches ({RawDescription()}); call EmbedRawOnDevice.");
        if (count <= 0 || count > _chunk) throw new ArgumentException($"Count must be 1 to the batch size {_chunk}, got {count}.", nameof(count));
        int per = _layout.InputValuesPerItem;
        if (input.Length != (long)count * per)
            throw new ArgumentException($"Input holds {input.Length} floats; {count} x {Contract.Channels} x {Contract.InputSize} x {Contract.InputSize} = {(long)count * per} expected.", nameof(input));
        return RunOnDevice(input, [], 0f, count, cancellationToken);
    }

    /// <summary>As <see cref="EmbedPreprocessedOnDevice"/> for a uint16 raw-input model (offsets as in <see cref="EmbedRaw(ReadOnlySpan{ushort}, int, ReadOnlySpan{float}, Span{float}, CancellationToken)"/>).</summary>
    public OrtValue EmbedRawOnDevice(ReadOnlySpan<ushort> raw, int count, ReadOnlySpan<float> harmonizeOffsets, CancellationToken cancellationToken = default)
    {
        int dim = Contract.EmbeddingDim;
        CheckRaw(RawSampleType.UInt16, raw.Length, count, harmonizeOffsets.Length, new float[(long)count * dim]);
        if (count > _chunk) throw new ArgumentException($"Count must be 1 to the batch size {_chunk}, got {count}.", nameof(count));
        return RunOnDevice(raw, harmonizeOffsets, DefaultOffset, count, cancellationToken);
    }

    private OrtValue RunOnDevice<T>(ReadOnlySpan<T> input, ReadOnlySpan<float> offsets, float fill, int count, CancellationToken cancellationToken)
        where T : unmanaged
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (_cudaGraph)
            throw new InvalidOperationException("Outputs cannot stay on the device while CUDA graphs are enabled (the graph replays its own output buffer); turn CudaOptions.EnableCudaGraph off.");
        var slot = _slots.Rent();
        try
        {
            Fill(slot, input, offsets, fill, count);
            var l = _layout;
            using var binding = _session.CreateIoBinding();
            using var inValue = slot.InputValue(count);
            binding.BindInput(l.InputName, inValue);
            using var offValue = l.OffsetsName is null ? null : slot.OffsetsValue(count);
            if (offValue is not null) binding.BindInput(l.OffsetsName!, offValue);
            using var device = DeviceMemory();
            binding.BindOutputToDevice(l.OutputName, device);
            using var runOptions = new RunOptions();
            using var registration = cancellationToken.Register(static o => ((RunOptions)o!).Terminate = true, runOptions);
            _session.RunWithBinding(runOptions, binding);
            // The collection only wraps the values; the caller owns (and disposes) the one output.
            return binding.GetOutputValues()[0];
        }
        finally
        {
            _slots.Return(slot);
        }
    }

    private OrtMemoryInfo DeviceMemory() => _provider == ExecutionProvider.Cuda
        ? new OrtMemoryInfo(OrtMemoryInfo.allocatorCUDA, OrtAllocatorType.DeviceAllocator, Options.DeviceId, OrtMemType.Default)
        : new OrtMemoryInfo(OrtMemoryInfo.allocatorCPU, OrtAllocatorType.ArenaAllocator, 0, OrtMemType.Default);

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

    private void Run(RunSlot slot, int n, Span<float> output, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        int dim = Contract.EmbeddingDim;
        // CUDA graphs replay fixed shapes: a short batch runs padded to the full chunk.
        int runN = _cudaGraph ? _chunk : n;
        var registration = cancellationToken.CanBeCanceled
            ? cancellationToken.Register(static o => ((RunOptions)o!).Terminate = true, slot.RunOptions) : default;
        try
        {
            slot.Run(runN);
        }
        catch (OnnxRuntimeException e) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException("The encoder run was terminated by cancellation.", e, cancellationToken);
        }
        finally
        {
            registration.Dispose();
        }
        slot.Output[..(n * dim)].CopyTo(output);
    }

    /// <summary>Releases the ONNX Runtime session. Later calls throw <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _slots.Dispose();
        _session.Dispose();
    }
}

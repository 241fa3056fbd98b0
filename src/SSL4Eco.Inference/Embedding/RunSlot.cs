using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace SSL4Eco.Inference.Embedding;

/// <summary>
/// The reusable state of one concurrent caller of an encoder: 64-byte aligned (or, on CUDA, page-locked) host buffers for
/// the input, the harmonisation offsets and the output, the <see cref="OrtValue"/>s over them, an <see cref="OrtIoBinding"/>
/// bound to those values, and a <see cref="RunOptions"/>. A run of the same batch size as the last one allocates nothing:
/// the values stay bound; another size rebinds once.
/// </summary>
/// <remarks>Not thread-safe: one caller at a time, handed out by <see cref="RunSlotPool"/>.</remarks>
internal sealed unsafe class RunSlot : IDisposable
{
    private const nuint Alignment = 64;
    private readonly InferenceSession _session;
    private readonly RunLayout _layout;
    private readonly OrtMemoryInfo _memory;
    private readonly OrtValue? _pinned;
    private readonly void* _block;
    private OrtValue? _input, _offsets, _output;
    private int _bound = -1;

    public RunSlot(InferenceSession session, RunLayout layout, OrtAllocator? pinned)
    {
        _session = session;
        _layout = layout;
        long bytes = InputBytes + OffsetBytes + OutputBytes;
        if (pinned is not null)
        {
            // One page-locked byte tensor holds the three buffers (its memory never moves).
            _pinned = OrtValue.CreateAllocatedTensorValue(pinned, TensorElementType.UInt8, [bytes]);
            _block = Unsafe.AsPointer(ref MemoryMarshal.GetReference(_pinned.GetTensorMutableRawData()));
            _memory = pinned.Info;
        }
        else
        {
            _block = NativeMemory.AlignedAlloc((nuint)bytes, Alignment);
            _memory = OrtMemoryInfo.DefaultInstance;
        }
        Binding = session.CreateIoBinding();
        RunOptions = new RunOptions();
    }

    private long InputBytes => Align((long)_layout.Chunk * _layout.InputValuesPerItem * _layout.InputElementSize);
    private long OffsetBytes => _layout.OffsetsName is null ? 0 : Align(_layout.Chunk * sizeof(float));
    private long OutputBytes => (long)_layout.Chunk * _layout.OutputValuesPerItem * sizeof(float);
    private static long Align(long n) => (n + 63) / 64 * 64;

    /// <summary>The IO binding the values are bound to.</summary>
    public OrtIoBinding Binding { get; }

    /// <summary>Run options (cancellation terminates through them; a terminated slot is disposed, never reused).</summary>
    public RunOptions RunOptions { get; }

    /// <summary>Input buffer start (64-byte aligned): <c>Chunk × InputValuesPerItem</c> elements of the input type.</summary>
    public void* Input => _block;

    /// <summary>Harmonisation offsets, <c>Chunk</c> floats (raw-input models only).</summary>
    public Span<float> Offsets => new((byte*)_block + InputBytes, (int)(OffsetBytes / sizeof(float)));

    /// <summary>Output buffer: <c>Chunk × OutputValuesPerItem</c> floats.</summary>
    public Span<float> Output => new((byte*)_block + InputBytes + OffsetBytes, _layout.Chunk * _layout.OutputValuesPerItem);

    /// <summary>Input as floats.</summary>
    public Span<float> InputFloats => InputAs<float>();

    /// <summary>Input as uint16.</summary>
    public Span<ushort> InputUInt16 => InputAs<ushort>();

    /// <summary>Input as elements of <typeparamref name="T"/> (the model's input type).</summary>
    public Span<T> InputAs<T>() where T : unmanaged => new(_block, _layout.Chunk * _layout.InputValuesPerItem);

    /// <summary>Runs the session on the first <paramref name="n"/> items of the buffers.</summary>
    public void Run(int n)
    {
        if (n != _bound) Bind(n);
        _session.RunWithBinding(RunOptions, Binding);
    }

    /// <summary>A new value over the first <paramref name="n"/> inputs (the caller disposes it).</summary>
    public OrtValue InputValue(int n)
    {
        var l = _layout;
        var shape = new long[l.InputTail.Length + 1];
        shape[0] = n;
        l.InputTail.CopyTo(shape, 1);
        return OrtValue.CreateTensorValueWithData(_memory, l.InputType, shape, (IntPtr)_block, (long)n * l.InputValuesPerItem * l.InputElementSize);
    }

    /// <summary>A new value over the first <paramref name="n"/> harmonisation offsets (the caller disposes it).</summary>
    public OrtValue OffsetsValue(int n) =>
        OrtValue.CreateTensorValueWithData(_memory, TensorElementType.Float, [n], (IntPtr)((byte*)_block + InputBytes), n * sizeof(float));

    private void Bind(int n)
    {
        Binding.ClearBoundInputs();
        Binding.ClearBoundOutputs();
        _input?.Dispose(); _offsets?.Dispose(); _output?.Dispose();
        _offsets = null;
        var l = _layout;
        _input = InputValue(n);
        Binding.BindInput(l.InputName, _input);
        if (l.OffsetsName is not null)
        {
            _offsets = OffsetsValue(n);
            Binding.BindInput(l.OffsetsName, _offsets);
        }
        var outShape = new long[l.OutputTail.Length + 1];
        outShape[0] = n;
        l.OutputTail.CopyTo(outShape, 1);
        _output = OrtValue.CreateTensorValueWithData(_memory, TensorElementType.Float, outShape, (IntPtr)((byte*)_block + InputBytes + OffsetBytes), (long)n * l.OutputValuesPerItem * sizeof(float));
        Binding.BindOutput(l.OutputName, _output);
        _bound = n;
    }

    public void Dispose()
    {
        Binding.Dispose();
        RunOptions.Dispose();
        _input?.Dispose(); _offsets?.Dispose(); _output?.Dispose();
        if (_pinned is not null) _pinned.Dispose();
        else NativeMemory.AlignedFree(_block);
    }
}

/// <summary>The shapes and names a <see cref="RunSlot"/> binds.</summary>
/// <param name="Chunk">Items per run at most.</param>
/// <param name="InputName">The (main) input's name.</param>
/// <param name="InputType">Its element type (float, or uint16 for raw patches).</param>
/// <param name="InputTail">Its shape without the batch axis.</param>
/// <param name="OffsetsName">The harmonisation offsets input of a raw-input model; null otherwise.</param>
/// <param name="OutputName">The embedding output's name.</param>
/// <param name="OutputTail">Its shape without the batch axis.</param>
/// <remarks>Immutable; thread-safe.</remarks>
internal sealed record RunLayout(int Chunk, string InputName, TensorElementType InputType, long[] InputTail, string? OffsetsName, string OutputName, long[] OutputTail)
{
    public int InputValuesPerItem { get; } = (int)InputTail.Aggregate(1L, (a, b) => a * b);
    public int InputElementSize => InputType == TensorElementType.UInt16 ? sizeof(ushort) : sizeof(float);
    public int OutputValuesPerItem { get; } = (int)OutputTail.Aggregate(1L, (a, b) => a * b);
}

/// <summary>
/// The <see cref="RunSlot"/>s of one encoder: a call takes a free slot or creates one and gives it back when done, so at most
/// one slot per concurrent caller ever exists. With <c>serial</c> (CUDA graphs) one slot serves every call in turn.
/// </summary>
/// <remarks>Thread-safe. Slots given back after <see cref="Dispose"/> are disposed at once.</remarks>
internal sealed class RunSlotPool(Func<RunSlot> create, bool single = false) : IDisposable
{
    private readonly ConcurrentBag<RunSlot> _free = [];
    private readonly SemaphoreSlim? _one = single ? new SemaphoreSlim(1, 1) : null;
    private volatile bool _disposed;

    /// <summary>Slots created so far (for tests).</summary>
    public int Created { get; private set; }

    public RunSlot Rent()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _one?.Wait();
        if (_free.TryTake(out var s)) return s;
        lock (_free) Created++;
        return create();
    }

    /// <summary>Gives a slot back; <paramref name="reusable"/> false (a terminated run) disposes it instead.</summary>
    public void Return(RunSlot slot, bool reusable = true)
    {
        if (_disposed || !reusable) slot.Dispose();
        else
        {
            _free.Add(slot);
            if (_disposed && _free.TryTake(out var s)) s.Dispose(); // raced with Dispose
        }
        _one?.Release();
    }

    public void Dispose()
    {
        _disposed = true;
        while (_free.TryTake(out var s)) s.Dispose();
    }

}

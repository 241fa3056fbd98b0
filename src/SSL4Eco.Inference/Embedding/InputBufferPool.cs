using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace SSL4Eco.Inference.Embedding;

/// <summary>
/// Native, 64-byte aligned input buffers of one fixed size, reused by the calls of one encoder: a call takes a free buffer
/// or allocates one, and gives it back when done, so at most one buffer per concurrent caller ever exists and memory does not
/// depend on how the runtime's shared array pool happens to distribute arrays over threads (a miss there is a fresh
/// 29 MiB array at batch 16).
/// </summary>
/// <remarks>Thread-safe. Buffers given back after <see cref="Dispose"/> are freed at once.</remarks>
internal sealed unsafe class InputBufferPool(int length) : IDisposable
{
    private const nuint Alignment = 64;
    private readonly ConcurrentBag<IntPtr> _free = [];
    private volatile bool _disposed;

    /// <summary>Values per buffer.</summary>
    public int Length { get; } = length;

    /// <summary>A buffer of <see cref="Length"/> floats (content undefined).</summary>
    public float* Rent()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_free.TryTake(out var p)) return (float*)p;
        return (float*)NativeMemory.AlignedAlloc((nuint)Length * sizeof(float), Alignment);
    }

    /// <summary>Gives a buffer from <see cref="Rent"/> back.</summary>
    public void Return(float* buffer)
    {
        if (_disposed) { NativeMemory.AlignedFree(buffer); return; }
        _free.Add((IntPtr)buffer);
        if (_disposed && _free.TryTake(out var p)) NativeMemory.AlignedFree((void*)p); // raced with Dispose
    }

    public void Dispose()
    {
        _disposed = true;
        while (_free.TryTake(out var p)) NativeMemory.AlignedFree((void*)p);
    }
}

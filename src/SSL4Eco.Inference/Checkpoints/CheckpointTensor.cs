using System.Buffers.Binary;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace SSL4Eco.Inference.Checkpoints;

/// <summary>Element types of PyTorch storages the reader understands.</summary>
internal enum CheckpointDType
{
    /// <summary><c>torch.float32</c>.</summary>
    Float32,
    /// <summary><c>torch.float64</c>.</summary>
    Float64,
    /// <summary><c>torch.float16</c>.</summary>
    Float16,
    /// <summary><c>torch.bfloat16</c>.</summary>
    BFloat16,
    /// <summary><c>torch.int64</c>.</summary>
    Int64,
    /// <summary><c>torch.int32</c>.</summary>
    Int32,
    /// <summary><c>torch.int16</c>.</summary>
    Int16,
    /// <summary><c>torch.int8</c>.</summary>
    Int8,
    /// <summary><c>torch.uint8</c> (also untyped byte storages).</summary>
    UInt8,
    /// <summary><c>torch.bool</c>.</summary>
    Bool,
}

/// <summary>Size and naming facts of <see cref="CheckpointDType"/>.</summary>
/// <remarks>Stateless; thread-safe.</remarks>
internal static class CheckpointDTypes
{
    /// <summary>Bytes per element.</summary>
    public static int ElementSize(this CheckpointDType dtype) => dtype switch
    {
        CheckpointDType.Float64 or CheckpointDType.Int64 => 8,
        CheckpointDType.Float32 or CheckpointDType.Int32 => 4,
        CheckpointDType.Float16 or CheckpointDType.BFloat16 or CheckpointDType.Int16 => 2,
        _ => 1,
    };

    private static readonly Dictionary<string, CheckpointDType> StorageNames = new()
    {
        ["FloatStorage"] = CheckpointDType.Float32, ["DoubleStorage"] = CheckpointDType.Float64,
        ["HalfStorage"] = CheckpointDType.Float16, ["BFloat16Storage"] = CheckpointDType.BFloat16,
        ["LongStorage"] = CheckpointDType.Int64, ["IntStorage"] = CheckpointDType.Int32,
        ["ShortStorage"] = CheckpointDType.Int16, ["CharStorage"] = CheckpointDType.Int8,
        ["ByteStorage"] = CheckpointDType.UInt8, ["BoolStorage"] = CheckpointDType.Bool,
        ["UntypedStorage"] = CheckpointDType.UInt8,
    };

    private static readonly Dictionary<string, CheckpointDType> DTypeNames = new()
    {
        ["float32"] = CheckpointDType.Float32, ["float"] = CheckpointDType.Float32,
        ["float64"] = CheckpointDType.Float64, ["double"] = CheckpointDType.Float64,
        ["float16"] = CheckpointDType.Float16, ["half"] = CheckpointDType.Float16,
        ["bfloat16"] = CheckpointDType.BFloat16,
        ["int64"] = CheckpointDType.Int64, ["long"] = CheckpointDType.Int64,
        ["int32"] = CheckpointDType.Int32, ["int"] = CheckpointDType.Int32,
        ["int16"] = CheckpointDType.Int16, ["short"] = CheckpointDType.Int16,
        ["int8"] = CheckpointDType.Int8, ["uint8"] = CheckpointDType.UInt8, ["bool"] = CheckpointDType.Bool,
    };

    internal static bool TryFromStorageGlobal(PickleGlobal g, out CheckpointDType dtype)
    {
        dtype = default;
        return g.Module is "torch" or "torch.storage" or "torch.cuda" && StorageNames.TryGetValue(g.Name, out dtype);
    }

    internal static bool TryFromDTypeGlobal(PickleGlobal g, out CheckpointDType dtype)
    {
        dtype = default;
        return g.Module == "torch" && DTypeNames.TryGetValue(g.Name, out dtype);
    }
}

/// <summary>A storage (flat typed buffer) of a checkpoint; its bytes are read from the file only when a tensor is materialised.</summary>
/// <remarks>Thread-safe: reads are serialised by the owning document.</remarks>
internal sealed class CheckpointStorage
{
    private readonly Func<long, long, byte[]> _read; // (byteOffset, byteCount) -> bytes
    private readonly Action<long> _reserve; // accounts bytes about to be allocated

    internal CheckpointStorage(string key, CheckpointDType dtype, long count, string location, Func<long, long, byte[]> read, Action<long> reserve)
    {
        Key = key; DType = dtype; Count = count; Location = location; _read = read; _reserve = reserve;
    }

    internal Action<long> Reserve => _reserve;

    /// <summary>The storage key (file name under <c>data/</c> in the zip format).</summary>
    public string Key { get; }

    /// <summary>The element type as saved.</summary>
    public CheckpointDType DType { get; }

    /// <summary>Number of elements.</summary>
    public long Count { get; }

    /// <summary>The device the storage was saved from (e.g. <c>cpu</c>, <c>cuda:0</c>); ignored when reading.</summary>
    public string Location { get; }

    internal byte[] ReadBytes(long byteOffset, long byteCount) => _read(byteOffset, byteCount);
}

/// <summary>
/// A tensor of a checkpoint: a strided view (shape, strides, element offset) of a <see cref="CheckpointStorage"/>,
/// as <c>torch._utils._rebuild_tensor_v2</c> would build it. The view was checked against the storage size when read.
/// </summary>
/// <remarks>Immutable; thread-safe.</remarks>
internal sealed class CheckpointTensor
{
    internal CheckpointTensor(CheckpointStorage storage, CheckpointDType dtype, long offset, long[] shape, long[] strides, bool requiresGrad)
    {
        Storage = storage; DType = dtype; StorageOffset = offset; Shape = shape; Strides = strides; RequiresGrad = requiresGrad;
    }

    /// <summary>The storage viewed.</summary>
    public CheckpointStorage Storage { get; }

    /// <summary>Element type.</summary>
    public CheckpointDType DType { get; }

    /// <summary>Offset of the first element, in elements of the storage.</summary>
    public long StorageOffset { get; }

    /// <summary>Dimensions.</summary>
    public IReadOnlyList<long> Shape { get; }

    /// <summary>Strides in elements.</summary>
    public IReadOnlyList<long> Strides { get; }

    /// <summary>Whether the tensor was a parameter requiring gradients.</summary>
    public bool RequiresGrad { get; }

    /// <summary>Number of elements of the view.</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);

    /// <summary>The shape as text, e.g. <c>[64, 9, 7, 7]</c>.</summary>
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";

    /// <summary>
    /// Validates a view against its storage: non-negative dims and strides, element count and the furthest element
    /// inside the storage. Returns the furthest element index + 1 (0 for empty views).
    /// </summary>
    internal static long CheckView(long storageCount, long offset, long[] shape, long[] strides)
    {
        if (shape.Length != strides.Length)
            throw new CheckpointFormatException($"Checkpoint is corrupt: tensor has {shape.Length} dims but {strides.Length} strides.");
        if (offset < 0) throw new CheckpointFormatException($"Checkpoint is corrupt: negative storage offset {offset}.");
        long count = 1, last = offset;
        for (int i = 0; i < shape.Length; i++)
        {
            if (shape[i] < 0 || strides[i] < 0 || shape[i] > int.MaxValue)
                throw new CheckpointFormatException($"Checkpoint is corrupt: tensor shape [{string.Join(", ", shape)}] / strides [{string.Join(", ", strides)}] are invalid.");
            count = checked(count * shape[i]);
        }
        if (count == 0) return 0;
        try
        {
            for (int i = 0; i < shape.Length; i++) last = checked(last + (shape[i] - 1) * strides[i]);
        }
        catch (OverflowException) { throw new CheckpointFormatException("Checkpoint is corrupt: tensor strides overflow."); }
        if (last >= storageCount)
            throw new CheckpointFormatException($"Checkpoint is corrupt: a tensor view [{string.Join(", ", shape)}] at offset {offset} reaches element {last} but its storage holds {storageCount}.");
        return last + 1;
    }

    /// <summary>Reads the view as contiguous float32 values in C order (float16/bfloat16/float64/integers/bool converted).</summary>
    /// <exception cref="CheckpointFormatException">The storage bytes cannot be read (truncated or corrupt file).</exception>
    public float[] ToFloatArray()
    {
        long n = ElementCount;
        if (n > Array.MaxLength) throw new CheckpointFormatException($"Tensor {ShapeText} is too large for one array.");
        if (n == 0) return [];
        Storage.Reserve(n * sizeof(float));
        var result = new float[n];
        var shape = Shape.ToArray();
        var strides = Strides.ToArray();
        long end = CheckView(Storage.Count, StorageOffset, shape, strides);
        long first = StorageOffset;
        // Lowest element touched is the offset (strides are non-negative).
        int es = DType.ElementSize();
        var bytes = Storage.ReadBytes(first * es, (end - first) * es);
        bool contiguous = IsContiguous(shape, strides);
        if (contiguous)
        {
            switch (DType)
            {
                case CheckpointDType.Float32 when BitConverter.IsLittleEndian:
                    Buffer.BlockCopy(bytes, 0, result, 0, (int)(n * es));
                    break;
                case CheckpointDType.Float16 when BitConverter.IsLittleEndian:
                    TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(bytes.AsSpan(0, (int)(n * es))), result);
                    break;
                default:
                    for (long i = 0; i < n; i++) result[i] = Read(bytes, (int)(i * es));
                    break;
            }
            return result;
        }
        var idx = new long[shape.Length];
        long pos = 0;
        for (long i = 0; i < n; i++)
        {
            result[i] = Read(bytes, (int)(pos * es));
            for (int d = shape.Length - 1; d >= 0; d--)
            {
                idx[d]++; pos += strides[d];
                if (idx[d] < shape[d]) break;
                pos -= idx[d] * strides[d]; idx[d] = 0;
            }
        }
        return result;
    }

    /// <summary>Materialises the tensor as a contiguous float32 <see cref="TensorData"/>.</summary>
    /// <exception cref="CheckpointFormatException">The storage cannot be read, or a dimension exceeds <see cref="int.MaxValue"/>.</exception>
    public TensorData ToTensorData() => new(Shape.Select(d => (int)d).ToArray(), ToFloatArray());

    /// <summary>Reads the single value of a one-element tensor as a double.</summary>
    public double ToScalar() => ElementCount == 1 ? ToFloatArray()[0] : throw new InvalidOperationException($"Tensor {ShapeText} is not a scalar.");

    private static bool IsContiguous(long[] shape, long[] strides)
    {
        long expected = 1;
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            if (shape[d] != 1 && strides[d] != expected) return false;
            expected *= shape[d];
        }
        return true;
    }

    private float Read(byte[] b, int at) => DType switch
    {
        CheckpointDType.Float32 => BinaryPrimitives.ReadSingleLittleEndian(b.AsSpan(at)),
        CheckpointDType.Float64 => (float)BinaryPrimitives.ReadDoubleLittleEndian(b.AsSpan(at)),
        CheckpointDType.Float16 => (float)BinaryPrimitives.ReadHalfLittleEndian(b.AsSpan(at)),
        CheckpointDType.BFloat16 => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(at)) << 16),
        CheckpointDType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(b.AsSpan(at)),
        CheckpointDType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(at)),
        CheckpointDType.Int16 => BinaryPrimitives.ReadInt16LittleEndian(b.AsSpan(at)),
        CheckpointDType.Int8 => (sbyte)b[at],
        CheckpointDType.UInt8 => b[at],
        CheckpointDType.Bool => b[at] != 0 ? 1f : 0f,
        _ => throw new CheckpointFormatException($"Unsupported dtype {DType}."),
    };

    /// <inheritdoc/>
    public override string ToString() => $"tensor({DType}, {ShapeText})";
}

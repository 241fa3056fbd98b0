using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SSL4Eco.Inference.Numerics;

/// <summary>
/// Single-pass kernels of the host preprocessing of a band (issue #12: reading and preprocessing must keep up with the
/// int8 encoder): the finiteness screen and the centre crop fused with the affine scaling. Each gives bit for bit what the
/// multi-pass code it replaces gave (tested against it in <c>BandKernelsTests</c>).
/// </summary>
/// <remarks>Static and thread-safe (callers own the buffers).</remarks>
internal static class BandKernels
{
    /// <summary>
    /// The index of the first NaN or ±Inf in <paramref name="values"/>, or -1: one pass over the float bits (a value is
    /// not finite exactly when its exponent bits are all ones), 512 bits at a time where the hardware has them.
    /// </summary>
    public static int IndexOfNonFinite(ReadOnlySpan<float> values)
    {
        const uint exponent = 0x7F80_0000u;
        var bits = MemoryMarshal.Cast<float, uint>(values);
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var mask = Vector512.Create(exponent);
            var any = Vector512<uint>.Zero;
            for (; i <= bits.Length - Vector512<uint>.Count; i += Vector512<uint>.Count)
                any |= Vector512.Equals(Vector512.Create(bits.Slice(i, Vector512<uint>.Count)) & mask, mask);
            if (any != Vector512<uint>.Zero) i = 0; // found: the scalar loop below gives the first position
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var mask = Vector256.Create(exponent);
            var any = Vector256<uint>.Zero;
            for (; i <= bits.Length - Vector256<uint>.Count; i += Vector256<uint>.Count)
                any |= Vector256.Equals(Vector256.Create(bits.Slice(i, Vector256<uint>.Count)) & mask, mask);
            if (any != Vector256<uint>.Zero) i = 0;
        }
        for (; i < bits.Length; i++)
            if ((bits[i] & exponent) == exponent) return i;
        return -1;
    }

    /// <summary>
    /// The centred <paramref name="outH"/> x <paramref name="outW"/> window of the <paramref name="h"/> x <paramref name="w"/>
    /// plane <paramref name="src"/> (offsets <c>round((size - out) / 2)</c>, half to even, as <c>Resampling.CenterCrop</c>),
    /// scaled on the way: <c>(v - offset) / divisor</c>, the subtraction skipped when <paramref name="offset"/> is 0 and the
    /// division when <paramref name="divisor"/> is 1 (the float32 operations of the crop-then-scale passes, row by row while
    /// the row is in cache).
    /// </summary>
    public static void CenterCropScaled(ReadOnlySpan<float> src, int h, int w, Span<float> dst, int outH, int outW, float offset, float divisor)
    {
        int top = (int)Math.Round((h - outH) / 2.0, MidpointRounding.ToEven), left = (int)Math.Round((w - outW) / 2.0, MidpointRounding.ToEven);
        for (int y = 0; y < outH; y++)
        {
            var from = src.Slice((top + y) * w + left, outW);
            var to = dst.Slice(y * outW, outW);
            if (offset != 0)
            {
                TensorPrimitives.Subtract(from, offset, to);
                if (divisor != 1) TensorPrimitives.Divide(to, divisor, to);
            }
            else if (divisor != 1) TensorPrimitives.Divide(from, divisor, to);
            else from.CopyTo(to);
        }
    }
}

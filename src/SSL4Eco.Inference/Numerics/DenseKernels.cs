using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace SSL4Eco.Inference.Numerics;

/// <summary>
/// Blocked, parallel dense products used by the heads, kNN and similarity search. Row-major float32 throughout.
/// </summary>
/// <remarks>Static and thread-safe (callers own the buffers).</remarks>
internal static class DenseKernels
{
    /// <summary>Rows of A per parallel work item.</summary>
    private const int RowBlock = 32;

    /// <summary>Rows of B per cache block (a block of B rows is reused by all rows of an A block).</summary>
    private const int ColumnBlock = 64;

    /// <summary>
    /// C[m, n] = A[m, d] · B[n, d]ᵀ (+ bias[n] when given), parallel over blocks of A rows, cache-blocked over B rows,
    /// with a 4×2 register-blocked SIMD micro-kernel.
    /// </summary>
    public static void MultiplyTransposed(ReadOnlySpan<float> a, int m, ReadOnlySpan<float> b, int n, int d, Span<float> c, ReadOnlySpan<float> bias = default)
    {
        if (a.Length < (long)m * d || b.Length < (long)n * d || c.Length < (long)m * n)
            throw new ArgumentException("Matrix buffers are smaller than their shapes.");
        if (m == 0 || n == 0) return;
        unsafe
        {
            fixed (float* pa = a, pb = b, pc = c, pbias = bias)
            {
                nint ia = (nint)pa, ib = (nint)pb, ic = (nint)pc, ibias = (nint)pbias;
                bool hasBias = !bias.IsEmpty;
                int blocks = (m + RowBlock - 1) / RowBlock;
                long work = (long)m * n * d;
                var po = new ParallelOptions { MaxDegreeOfParallelism = work < 1 << 18 ? 1 : Environment.ProcessorCount };
                Parallel.For(0, blocks, po, blk =>
                {
                    int r0 = blk * RowBlock, r1 = Math.Min(m, r0 + RowBlock);
                    Block((float*)ia, (float*)ib, (float*)ic, hasBias ? (float*)ibias : null, r0, r1, n, d);
                });
            }
        }
    }

    private static unsafe void Block(float* a, float* b, float* c, float* bias, int r0, int r1, int n, int d)
    {
        for (int j0 = 0; j0 < n; j0 += ColumnBlock)
        {
            int j1 = Math.Min(n, j0 + ColumnBlock);
            int i = r0;
            for (; i + 4 <= r1; i += 4)
            {
                int j = j0;
                for (; j + 2 <= j1; j += 2) Kernel4x2(a + (long)i * d, b + (long)j * d, d, c + (long)i * n + j, n);
                for (; j < j1; j++)
                    for (int ii = i; ii < i + 4; ii++) c[(long)ii * n + j] = Dot(a + (long)ii * d, b + (long)j * d, d);
            }
            for (; i < r1; i++)
                for (int j = j0; j < j1; j++) c[(long)i * n + j] = Dot(a + (long)i * d, b + (long)j * d, d);
            if (bias != null)
                for (int ii = r0; ii < r1; ii++)
                    for (int j = j0; j < j1; j++) c[(long)ii * n + j] += bias[j];
        }
    }

    private static unsafe float Dot(float* x, float* y, int d) =>
        TensorPrimitives.Dot(new ReadOnlySpan<float>(x, d), new ReadOnlySpan<float>(y, d));

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Kernel4x2(float* a, float* b, int d, float* c, int ldc)
    {
        int w = Vector<float>.Count;
        Vector<float> s00 = default, s01 = default, s10 = default, s11 = default,
                      s20 = default, s21 = default, s30 = default, s31 = default;
        float* a0 = a, a1 = a + d, a2 = a + 2 * d, a3 = a + 3 * d, b0 = b, b1 = b + d;
        int k = 0;
        for (; k + w <= d; k += w)
        {
            var vb0 = Unsafe.ReadUnaligned<Vector<float>>(b0 + k);
            var vb1 = Unsafe.ReadUnaligned<Vector<float>>(b1 + k);
            var va = Unsafe.ReadUnaligned<Vector<float>>(a0 + k); s00 += va * vb0; s01 += va * vb1;
            va = Unsafe.ReadUnaligned<Vector<float>>(a1 + k); s10 += va * vb0; s11 += va * vb1;
            va = Unsafe.ReadUnaligned<Vector<float>>(a2 + k); s20 += va * vb0; s21 += va * vb1;
            va = Unsafe.ReadUnaligned<Vector<float>>(a3 + k); s30 += va * vb0; s31 += va * vb1;
        }
        float t00 = Vector.Sum(s00), t01 = Vector.Sum(s01), t10 = Vector.Sum(s10), t11 = Vector.Sum(s11),
              t20 = Vector.Sum(s20), t21 = Vector.Sum(s21), t30 = Vector.Sum(s30), t31 = Vector.Sum(s31);
        for (; k < d; k++)
        {
            float x0 = b0[k], x1 = b1[k];
            t00 += a0[k] * x0; t01 += a0[k] * x1; t10 += a1[k] * x0; t11 += a1[k] * x1;
            t20 += a2[k] * x0; t21 += a2[k] * x1; t30 += a3[k] * x0; t31 += a3[k] * x1;
        }
        c[0] = t00; c[1] = t01; c[ldc] = t10; c[ldc + 1] = t11;
        c[2 * ldc] = t20; c[2 * ldc + 1] = t21; c[3 * ldc] = t30; c[3 * ldc + 1] = t31;
    }

    /// <summary>
    /// G[k, d] = Δ[m, k]ᵀ · X[m, d] (the weight gradient of a linear layer), parallel over column slices of X.
    /// </summary>
    public static void TransposeMultiply(ReadOnlySpan<float> delta, int m, int k, ReadOnlySpan<float> x, int d, Span<float> g)
    {
        g[..(k * d)].Clear();
        const int Slice = 256;
        int slices = (d + Slice - 1) / Slice;
        unsafe
        {
            fixed (float* pdel = delta, px = x, pg = g)
            {
                nint idel = (nint)pdel, ix = (nint)px, ig = (nint)pg;
                var po = new ParallelOptions { MaxDegreeOfParallelism = (long)m * k * d < 1 << 18 ? 1 : Environment.ProcessorCount };
                Parallel.For(0, slices, po, s =>
                {
                    int c0 = s * Slice, len = Math.Min(Slice, d - c0);
                    float* del = (float*)idel, xs = (float*)ix, gs = (float*)ig;
                    for (int i = 0; i < m; i++)
                    {
                        var row = new ReadOnlySpan<float>(xs + (long)i * d + c0, len);
                        for (int c = 0; c < k; c++)
                        {
                            float v = del[(long)i * k + c];
                            if (v == 0) continue;
                            var acc = new Span<float>(gs + (long)c * d + c0, len);
                            TensorPrimitives.MultiplyAdd(row, v, acc, acc);
                        }
                    }
                });
            }
        }
    }

    /// <summary>Scales each row of a [rows, d] matrix to unit L2 norm in place (zero rows stay zero).</summary>
    public static void NormalizeRows(Span<float> x, int d)
    {
        for (int i = 0; i + d <= x.Length; i += d)
        {
            var row = x.Slice(i, d);
            float norm = TensorPrimitives.Norm(row);
            if (norm > 0) TensorPrimitives.Divide(row, norm, row);
        }
    }

    /// <summary>Keeps the k largest (value, index) pairs of a row, sorted by value descending (ties: lower index first).</summary>
    public static void TopK(ReadOnlySpan<float> values, int k, Span<int> indices, Span<float> best)
    {
        int count = 0;
        for (int j = 0; j < values.Length; j++)
        {
            float v = values[j];
            if (count == k && !(v > best[k - 1])) continue;
            int pos = count < k ? count++ : k - 1;
            while (pos > 0 && v > best[pos - 1]) { best[pos] = best[pos - 1]; indices[pos] = indices[pos - 1]; pos--; }
            best[pos] = v; indices[pos] = j;
        }
    }
}

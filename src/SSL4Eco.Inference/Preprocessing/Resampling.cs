namespace SSL4Eco.Inference.Preprocessing;

/// <summary>
/// Single-plane resampling kernels that reproduce OpenCV and PyTorch bit-for-bit up to float32 rounding order.
/// All planes are row-major <c>[height, width]</c>.
/// </summary>
internal static class Resampling
{
    /// <summary>Keys' cubic-convolution parameter used by OpenCV's <c>INTER_CUBIC</c>.</summary>
    private const float CubicA = -0.75f;

    /// <summary>Centre-crop offset <c>round((size - target) / 2)</c> with Python's half-to-even rounding.</summary>
    public static int CenterCropOffset(int size, int target) =>
        (int)Math.Round((size - target) / 2.0, MidpointRounding.ToEven);

    /// <summary>Copies the centred <paramref name="outH"/> x <paramref name="outW"/> window of the source plane.</summary>
    public static void CenterCrop(ReadOnlySpan<float> src, int h, int w, Span<float> dst, int outH, int outW)
    {
        int top = CenterCropOffset(h, outH), left = CenterCropOffset(w, outW);
        for (int y = 0; y < outH; y++)
            src.Slice((top + y) * w + left, outW).CopyTo(dst.Slice(y * outW, outW));
    }

    /// <summary>
    /// Bicubic resize like <c>cv2.resize(src, (outW, outH), interpolation=cv2.INTER_CUBIC)</c> on float32:
    /// half-pixel centres <c>sx = (dx + 0.5) * w / outW - 0.5</c>, Keys kernel a = -0.75, replicated border,
    /// horizontal pass then vertical pass, float accumulation, no clamping of the result.
    /// </summary>
    public static void CubicResize(ReadOnlySpan<float> src, int h, int w, Span<float> dst, int outH, int outW)
    {
        if (h == outH && w == outW) { src[..(h * w)].CopyTo(dst); return; }
        CubicResizeWindow(src, h, w, dst, outH, outW, 0, 0, outH, outW);
    }

    /// <summary>
    /// Computes only the window <c>[top, top + winH) x [left, left + winW)</c> of the bicubic resize of the source to
    /// <paramref name="outH"/> x <paramref name="outW"/> (see <see cref="CubicResize"/>), so that a resize followed by a
    /// crop never materialises the full resized plane.
    /// </summary>
    public static void CubicResizeWindow(ReadOnlySpan<float> src, int h, int w, Span<float> dst, int outH, int outW,
        int top, int left, int winH, int winW)
    {
        CubicTaps(w, outW, left, winW, out var xIdx, out var xW);
        CubicTaps(h, outH, top, winH, out var yIdx, out var yW);
        outW = winW; // from here on, out* are the window sizes
        outH = winH;
        // Horizontal pass on every source row, then vertical pass.
        var rented = System.Buffers.ArrayPool<float>.Shared.Rent(h * outW);
        try { CubicPasses(src, h, w, dst, rented.AsSpan(0, h * outW), outH, outW, xIdx, xW, yIdx, yW); }
        finally { System.Buffers.ArrayPool<float>.Shared.Return(rented); }
    }

    private static void CubicPasses(ReadOnlySpan<float> src, int h, int w, Span<float> dst, Span<float> tmp, int outH, int outW,
        int[] xIdx, float[] xW, int[] yIdx, float[] yW)
    {
        for (int y = 0; y < h; y++)
        {
            var row = src.Slice(y * w, w);
            var trow = tmp.Slice(y * outW, outW);
            for (int dx = 0; dx < outW; dx++)
            {
                int k = dx * 4;
                trow[dx] = row[xIdx[k]] * xW[k] + row[xIdx[k + 1]] * xW[k + 1] + row[xIdx[k + 2]] * xW[k + 2] + row[xIdx[k + 3]] * xW[k + 3];
            }
        }
        for (int dy = 0; dy < outH; dy++)
        {
            int k = dy * 4;
            var r0 = tmp.Slice(yIdx[k] * outW, outW);
            var r1 = tmp.Slice(yIdx[k + 1] * outW, outW);
            var r2 = tmp.Slice(yIdx[k + 2] * outW, outW);
            var r3 = tmp.Slice(yIdx[k + 3] * outW, outW);
            float b0 = yW[k], b1 = yW[k + 1], b2 = yW[k + 2], b3 = yW[k + 3];
            var d = dst.Slice(dy * outW, outW);
            for (int x = 0; x < outW; x++)
                d[x] = b0 * r0[x] + b1 * r1[x] + b2 * r2[x] + b3 * r3[x];
        }
    }

    private static void CubicTaps(int inSize, int outSize, int first, int count, out int[] idx, out float[] wts)
    {
        idx = new int[count * 4];
        wts = new float[count * 4];
        double scale = (double)inSize / outSize;
        for (int d = 0; d < count; d++)
        {
            float f = (float)((d + first + 0.5) * scale - 0.5);
            int s = (int)MathF.Floor(f);
            f -= s;
            float c0 = ((CubicA * (f + 1) - 5 * CubicA) * (f + 1) + 8 * CubicA) * (f + 1) - 4 * CubicA;
            float c1 = ((CubicA + 2) * f - (CubicA + 3)) * f * f + 1;
            float c2 = ((CubicA + 2) * (1 - f) - (CubicA + 3)) * (1 - f) * (1 - f) + 1;
            float c3 = 1f - c0 - c1 - c2;
            wts[d * 4] = c0; wts[d * 4 + 1] = c1; wts[d * 4 + 2] = c2; wts[d * 4 + 3] = c3;
            for (int k = 0; k < 4; k++) idx[d * 4 + k] = Math.Clamp(s - 1 + k, 0, inSize - 1);
        }
    }

    /// <summary>
    /// Bilinear resize like <c>torch.nn.functional.interpolate(mode='bilinear', align_corners=False, antialias=False)</c>:
    /// source coordinate <c>(d + 0.5) * in / out - 0.5</c> clamped below at 0, right/bottom neighbour clamped to the edge.
    /// </summary>
    public static void BilinearResize(ReadOnlySpan<float> src, int h, int w, Span<float> dst, int outH, int outW)
    {
        if (h == outH && w == outW) { src[..(h * w)].CopyTo(dst); return; }
        LinearTaps(w, outW, out var x0, out var x1, out var lx0, out var lx1);
        LinearTaps(h, outH, out var y0, out var y1, out var ly0, out var ly1);
        for (int dy = 0; dy < outH; dy++)
        {
            var r0 = src.Slice(y0[dy] * w, w);
            var r1 = src.Slice(y1[dy] * w, w);
            float h0 = ly0[dy], h1 = ly1[dy];
            var d = dst.Slice(dy * outW, outW);
            for (int dx = 0; dx < outW; dx++)
                d[dx] = h0 * (lx0[dx] * r0[x0[dx]] + lx1[dx] * r0[x1[dx]]) + h1 * (lx0[dx] * r1[x0[dx]] + lx1[dx] * r1[x1[dx]]);
        }
    }

    private static void LinearTaps(int inSize, int outSize, out int[] i0, out int[] i1, out float[] l0, out float[] l1)
    {
        i0 = new int[outSize]; i1 = new int[outSize]; l0 = new float[outSize]; l1 = new float[outSize];
        float scale = (float)inSize / outSize;
        for (int d = 0; d < outSize; d++)
        {
            // As PyTorch's CPU kernel does: a float scale, the source coordinate and the weight in double, then the weight
            // rounded to float (measured against torch 1.13: computing the coordinate in float differs by ~1e-5 in weight).
            double s = Math.Max(scale * (d + 0.5) - 0.5, 0.0);
            int a = (int)s;
            i0[d] = a;
            i1[d] = a < inSize - 1 ? a + 1 : a;
            l1[d] = (float)(s - a);
            l0[d] = 1f - l1[d];
        }
    }

    /// <summary>
    /// The bicubic resize of one axis as a dense matrix <c>[count, inSize]</c> (rows = output positions
    /// <c>first .. first + count - 1</c> of a resize to <paramref name="outSize"/>): the same taps as <see cref="CubicResizeWindow"/>,
    /// with the weights of a clamped (replicated) border tap summed. Used by the in-graph preprocessing (a MatMul per axis).
    /// </summary>
    public static float[] CubicMatrix(int inSize, int outSize, int first, int count)
    {
        CubicTaps(inSize, outSize, first, count, out var idx, out var wts);
        var m = new float[count * inSize];
        for (int d = 0; d < count; d++)
            for (int k = 0; k < 4; k++) m[d * inSize + idx[d * 4 + k]] += wts[d * 4 + k];
        return m;
    }

    /// <summary>The bilinear resize of one axis (see <see cref="BilinearResize"/>) as a dense matrix <c>[outSize, inSize]</c>.</summary>
    public static float[] LinearMatrix(int inSize, int outSize)
    {
        LinearTaps(inSize, outSize, out var i0, out var i1, out var l0, out var l1);
        var m = new float[outSize * inSize];
        for (int d = 0; d < outSize; d++)
        {
            m[d * inSize + i0[d]] += l0[d];
            m[d * inSize + i1[d]] += l1[d];
        }
        return m;
    }
}

namespace SSL4Eco.Training.Augmentation;

/// <summary>Augmentation probabilities and ranges; defaults are SSL4Eco's (SPEC "Training recipe").</summary>
/// <remarks>Immutable record; thread-safe.</remarks>
public sealed record AugmentationOptions
{
    /// <summary>Output size of the random resized crop (square).</summary>
    public int CropSize { get; init; } = 224;
    /// <summary>Crop area fraction range.</summary>
    public (double Min, double Max) CropScale { get; init; } = (0.2, 1.0);
    /// <summary>Crop aspect-ratio range.</summary>
    public (double Min, double Max) CropRatio { get; init; } = (3.0 / 4.0, 4.0 / 3.0);
    /// <summary>Probability of applying brightness and contrast together.</summary>
    public double ColorJitterProbability { get; init; } = 0.8;
    /// <summary>Brightness and contrast factor range.</summary>
    public (double Min, double Max) JitterFactor { get; init; } = (0.6, 1.4);
    /// <summary>Probability of the grayscale transform (channel mean to every channel).</summary>
    public double GrayscaleProbability { get; init; } = 0.2;
    /// <summary>Probability of the Gaussian blur.</summary>
    public double BlurProbability { get; init; } = 0.5;
    /// <summary>Gaussian blur sigma range, in pixels.</summary>
    public (double Min, double Max) BlurSigma { get; init; } = (0.1, 2.0);
    /// <summary>Probability of the horizontal flip.</summary>
    public double FlipProbability { get; init; } = 0.5;
}

/// <summary>
/// SSL4Eco's augmentations on a [C, H, W] float image of digital numbers: <see cref="Augment"/> (brightness ×s and
/// contrast <c>(x − mean_c)·s + mean_c</c> together with p 0.8, grayscale p 0.2, Gaussian blur p 0.5, horizontal flip
/// p 0.5) and <see cref="RandomResizedCrop"/> (torchvision's sampling, bilinear with half-pixel centres).
/// </summary>
/// <remarks>Stateless apart from its options; thread-safe. Randomness comes from the caller's <see cref="DeterministicRandom"/>.</remarks>
public sealed class SeasonalAugmentation
{
    /// <summary>Creates the augmentation.</summary>
    public SeasonalAugmentation(AugmentationOptions? options = null) => Options = options ?? new AugmentationOptions();

    /// <summary>The options.</summary>
    public AugmentationOptions Options { get; }

    /// <summary>Applies the photometric and flip augmentations in place.</summary>
    public void Augment(float[] image, int channels, int height, int width, ref DeterministicRandom rng)
    {
        ArgumentNullException.ThrowIfNull(image);
        int plane = height * width;
        if (image.Length != channels * plane) throw new ArgumentException($"Image holds {image.Length} values, expected {channels}×{height}×{width}.");
        var o = Options;
        if (rng.Chance(o.ColorJitterProbability))
        {
            float b = (float)rng.Uniform(o.JitterFactor.Min, o.JitterFactor.Max);
            float s = (float)rng.Uniform(o.JitterFactor.Min, o.JitterFactor.Max);
            for (int c = 0; c < channels; c++)
            {
                var p = image.AsSpan(c * plane, plane);
                System.Numerics.Tensors.TensorPrimitives.Multiply(p, b, p);
                float mean = System.Numerics.Tensors.TensorPrimitives.Sum<float>(p) / plane;
                // (x − m)·s + m = x·s + m·(1 − s)
                System.Numerics.Tensors.TensorPrimitives.Multiply(p, s, p);
                System.Numerics.Tensors.TensorPrimitives.Add(p, mean * (1 - s), p);
            }
        }
        if (rng.Chance(o.GrayscaleProbability))
        {
            var mean = new float[plane];
            for (int c = 0; c < channels; c++) System.Numerics.Tensors.TensorPrimitives.Add(mean, image.AsSpan(c * plane, plane), mean);
            System.Numerics.Tensors.TensorPrimitives.Divide(mean, channels, mean);
            for (int c = 0; c < channels; c++) mean.CopyTo(image.AsSpan(c * plane, plane));
        }
        if (rng.Chance(o.BlurProbability)) GaussianBlur(image, channels, height, width, rng.Uniform(o.BlurSigma.Min, o.BlurSigma.Max));
        if (rng.Chance(o.FlipProbability))
        {
            for (int c = 0; c < channels; c++)
                for (int y = 0; y < height; y++) image.AsSpan(c * plane + y * width, width).Reverse();
        }
    }

    /// <summary>Separable Gaussian blur with radius ⌈3σ⌉ and reflected borders, in place.</summary>
    internal static void GaussianBlur(float[] image, int channels, int height, int width, double sigma)
    {
        int r = Math.Max(1, (int)Math.Ceiling(3 * sigma));
        var k = new float[2 * r + 1];
        double sum = 0;
        for (int i = -r; i <= r; i++) sum += k[i + r] = (float)Math.Exp(-i * i / (2 * sigma * sigma));
        for (int i = 0; i < k.Length; i++) k[i] = (float)(k[i] / sum);
        int plane = height * width;
        var tmp = new float[plane];
        static int Reflect(int i, int n) { while (i < 0 || i >= n) i = i < 0 ? -i - 1 : 2 * n - i - 1; return i; }
        for (int c = 0; c < channels; c++)
        {
            var p = image.AsSpan(c * plane, plane);
            for (int y = 0; y < height; y++)
                for (int x = 0; x < width; x++)
                {
                    float acc = 0;
                    for (int i = -r; i <= r; i++) acc += k[i + r] * p[y * width + Reflect(x + i, width)];
                    tmp[y * width + x] = acc;
                }
            for (int y = 0; y < height; y++)
                for (int x = 0; x < width; x++)
                {
                    float acc = 0;
                    for (int i = -r; i <= r; i++) acc += k[i + r] * tmp[Reflect(y + i, height) * width + x];
                    p[y * width + x] = acc;
                }
        }
    }

    /// <summary>torchvision's RandomResizedCrop window sampling: (top, left, height, width).</summary>
    internal (int Top, int Left, int Height, int Width) SampleCrop(int height, int width, ref DeterministicRandom rng)
    {
        var o = Options;
        double area = (double)height * width;
        double logLo = Math.Log(o.CropRatio.Min), logHi = Math.Log(o.CropRatio.Max);
        for (int attempt = 0; attempt < 10; attempt++)
        {
            double target = area * rng.Uniform(o.CropScale.Min, o.CropScale.Max);
            double ratio = Math.Exp(rng.Uniform(logLo, logHi));
            int w = (int)Math.Round(Math.Sqrt(target * ratio));
            int h = (int)Math.Round(Math.Sqrt(target / ratio));
            if (w > 0 && h > 0 && w <= width && h <= height)
                return (rng.NextInt(height - h + 1), rng.NextInt(width - w + 1), h, w);
        }
        double inRatio = (double)width / height;
        int cw, ch;
        if (inRatio < o.CropRatio.Min) { cw = width; ch = (int)Math.Round(cw / o.CropRatio.Min); }
        else if (inRatio > o.CropRatio.Max) { ch = height; cw = (int)Math.Round(ch * o.CropRatio.Max); }
        else { cw = width; ch = height; }
        return ((height - ch) / 2, (width - cw) / 2, ch, cw);
    }

    /// <summary>Random resized crop to <see cref="AugmentationOptions.CropSize"/>, bilinear (half-pixel centres, no antialias); returns a new [C, S, S] image.</summary>
    public float[] RandomResizedCrop(float[] image, int channels, int height, int width, ref DeterministicRandom rng)
    {
        ArgumentNullException.ThrowIfNull(image);
        var (top, left, h, w) = SampleCrop(height, width, ref rng);
        return ResizeWindow(image, channels, height, width, top, left, h, w, Options.CropSize);
    }

    /// <summary>Bilinearly resizes the window [top, top+h) × [left, left+w) to size × size (half-pixel centres, clamped).</summary>
    internal static float[] ResizeWindow(float[] image, int channels, int height, int width, int top, int left, int h, int w, int size)
    {
        var output = new float[channels * size * size];
        int plane = height * width;
        double sy = (double)h / size, sx = (double)w / size;
        Span<int> x0 = stackalloc int[size], x1 = stackalloc int[size];
        Span<float> fx = stackalloc float[size];
        for (int x = 0; x < size; x++)
        {
            double src = Math.Max((x + 0.5) * sx - 0.5, 0);
            int i = Math.Min((int)src, w - 1);
            x0[x] = left + i; x1[x] = left + Math.Min(i + 1, w - 1); fx[x] = (float)(src - i);
        }
        for (int y = 0; y < size; y++)
        {
            double src = Math.Max((y + 0.5) * sy - 0.5, 0);
            int j = Math.Min((int)src, h - 1);
            int y0 = top + j, y1 = top + Math.Min(j + 1, h - 1);
            float fy = (float)(src - j);
            for (int c = 0; c < channels; c++)
            {
                int b = c * plane, o = c * size * size + y * size;
                for (int x = 0; x < size; x++)
                {
                    float a = image[b + y0 * width + x0[x]] * (1 - fx[x]) + image[b + y0 * width + x1[x]] * fx[x];
                    float d = image[b + y1 * width + x0[x]] * (1 - fx[x]) + image[b + y1 * width + x1[x]] * fx[x];
                    output[o + x] = a * (1 - fy) + d * fy;
                }
            }
        }
        return output;
    }
}

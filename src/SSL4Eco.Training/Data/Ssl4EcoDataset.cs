using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SSL4Eco.Inference.Models;
using SSL4Eco.Inference.Preprocessing;
using SSL4Eco.Inference.Registry;
using SSL4Eco.Training.Augmentation;

namespace SSL4Eco.Training.Data;

/// <summary>One location of the dataset: its index and its date files, in date order.</summary>
/// <param name="Index">The folder index (<c>imgs/{Index:06d}</c>).</param>
/// <param name="Files">The GeoTIFF paths of its dates.</param>
/// <remarks>Immutable; thread-safe.</remarks>
public sealed record Ssl4EcoLocation(int Index, IReadOnlyList<string> Files);

/// <summary>A batch of SeCo views, each [N, C, S, S] float32 in C order, already scaled.</summary>
/// <param name="Query">q = crop(s1).</param>
/// <param name="Keys">k0 = crop(aug(s2)), k1 = crop(s3), k2 = crop(aug(s1)).</param>
/// <param name="Count">N.</param>
/// <param name="Channels">C.</param>
/// <param name="Size">S.</param>
/// <remarks>Immutable after construction; thread-safe for reading.</remarks>
public sealed record SeCoBatch(float[] Query, float[][] Keys, int Count, int Channels, int Size);

/// <summary>Options of the dataset reader.</summary>
/// <remarks>Immutable record; thread-safe.</remarks>
public sealed record DatasetOptions
{
    /// <summary>Band names stored in each file, in order (default SSL4Eco's 13-band layout, <see cref="Ssl4EcoLayout.Bands"/>).</summary>
    public IReadOnlyList<string> FileBands { get; init; } = Ssl4EcoLayout.Bands;
    /// <summary>Bands fed to the model, by name (default the SeCo-Eco contract's, <see cref="WeightsRegistry.SeCoEcoContract"/>: B2..B8A and NDVI).</summary>
    public IReadOnlyList<string> ModelBands { get; init; } = WeightsRegistry.SeCoEcoContract.Bands;
    /// <summary>Divisor applied after cropping (default the SeCo-Eco contract's: 255, from cvtorchvision's ToTensor in the official code).</summary>
    public double ScalingDivisor { get; init; } = WeightsRegistry.SeCoEcoContract.Scaling.Divisor;

    /// <summary>
    /// The input recipe of the model trained on this data: <see cref="TrainedContract"/> of <see cref="ModelBands"/>,
    /// <see cref="ScalingDivisor"/> and the crop size. The dataset selects the file bands by this recipe's band resolution.
    /// </summary>
    public InputRecipe Recipe => InputRecipe.For(TrainedContract(ModelBands, ScalingDivisor, Augmentation.CropSize));

    /// <summary>
    /// The contract of a model trained here: the SeCo-Eco contract (<see cref="WeightsRegistry.SeCoEcoContract"/>: its spatial
    /// policy and embedding size) with the given bands, divisor and input size; the exporter writes it into the ONNX file.
    /// </summary>
    internal static ModelContract TrainedContract(IReadOnlyList<string> bands, double scalingDivisor, int inputSize) => WeightsRegistry.SeCoEcoContract with
    {
        Bands = bands,
        Scaling = new InputScaling(scalingDivisor),
        InputSize = inputSize,
        ModelId = "ssl4eco-train",
        Version = "1",
        SourceSha256 = null,
        Source = null,
    };
    /// <summary>Augmentations and crop size.</summary>
    public AugmentationOptions Augmentation { get; init; } = new();
    /// <summary>Optional CSV of sampling weights (<c>index,weight</c> per line, header allowed); locations not listed get weight 1.</summary>
    public string? SamplingWeightsCsv { get; init; }
    /// <summary>Loader threads.</summary>
    public int Workers { get; init; } = Environment.ProcessorCount;
}

/// <summary>
/// Reads an SSL4Eco-layout dataset (<c>imgs/{index:06d}/{YYYYMMDD}_{tile}.tif</c>) and builds SeCo batches:
/// per location three dates drawn without replacement (2 dates: s3 = s2; 1 date: with replacement), the views of
/// SPEC's training recipe, augmentations and crops from a counter-derived random stream (reproducible under any
/// thread count and after resume). Corrupt files are logged and skipped.
/// </summary>
/// <remarks>Thread-safe: <see cref="LoadBatch"/> may be called concurrently.</remarks>
public sealed class Ssl4EcoDataset
{
    private readonly int[] _bandIndex;
    private readonly double[]? _cumulativeWeights;
    private readonly SeasonalAugmentation _augmentation;
    private readonly ConcurrentDictionary<string, bool> _bad = new();
    private readonly ILogger _logger;

    private Ssl4EcoDataset(IReadOnlyList<Ssl4EcoLocation> locations, DatasetOptions options, int[] bandIndex, double[]? cumulative, ILogger logger)
    {
        Locations = locations; Options = options; _bandIndex = bandIndex; _cumulativeWeights = cumulative; _logger = logger;
        _augmentation = new SeasonalAugmentation(options.Augmentation);
    }

    /// <summary>The locations found.</summary>
    public IReadOnlyList<Ssl4EcoLocation> Locations { get; }

    /// <summary>The options.</summary>
    public DatasetOptions Options { get; }

    /// <summary>Number of model input channels.</summary>
    public int Channels => _bandIndex.Length;

    /// <summary>Scans <paramref name="root"/> (the folder holding <c>imgs/</c>, or <c>imgs/</c> itself).</summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="InvalidDataException">No location folder with <c>.tif</c> files, a model band is not among the file bands, or the weights CSV is malformed.</exception>
    public static Ssl4EcoDataset Open(string root, DatasetOptions? options = null, ILogger? logger = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        options ??= new DatasetOptions();
        if (!Directory.Exists(root)) throw new DirectoryNotFoundException($"The dataset folder '{root}' does not exist.");
        string imgs = Directory.Exists(Path.Combine(root, "imgs")) ? Path.Combine(root, "imgs") : root;
        var locations = new List<Ssl4EcoLocation>();
        foreach (var dir in Directory.EnumerateDirectories(imgs).Order(StringComparer.Ordinal))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out int index)) continue;
            var files = Directory.EnumerateFiles(dir, "*.tif").Order(StringComparer.Ordinal).ToList();
            if (files.Count > 0) locations.Add(new Ssl4EcoLocation(index, files));
        }
        if (locations.Count == 0)
            throw new InvalidDataException($"No SSL4Eco locations under '{imgs}': expected folders 'imgs/000000/' … holding '{{YYYYMMDD}}_{{tile}}.tif' files.");
        int[] bandIndex;
        try { bandIndex = options.Recipe.ResolveChannels(options.FileBands, nameof(options)).Sources; }
        catch (ArgumentException e) { throw new InvalidDataException($"The model bands do not fit the file layout ({string.Join(", ", options.FileBands)}): {e.Message}", e); }
        if (bandIndex.Contains(-1))
            throw new InvalidDataException($"The file layout ({string.Join(", ", options.FileBands)}) has no NDVI band; training reads NDVI as stored (SSL4Eco files hold it as their 13th band).");
        double[]? cumulative = null;
        if (options.SamplingWeightsCsv is { } csv) cumulative = ReadWeights(csv, locations);
        return new Ssl4EcoDataset(locations, options, bandIndex, cumulative, logger ?? NullLogger.Instance);
    }

    private static double[] ReadWeights(string csv, List<Ssl4EcoLocation> locations)
    {
        var w = new Dictionary<int, double>();
        int line = 0;
        foreach (var raw in File.ReadLines(csv))
        {
            line++;
            var parts = raw.Split(',', StringSplitOptions.TrimEntries);
            if (parts.Length < 2 || string.IsNullOrEmpty(parts[0])) continue;
            if (!int.TryParse(parts[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out int idx))
            {
                if (line == 1) continue; // header
                throw new InvalidDataException($"{csv}:{line}: '{parts[0]}' is not a location index.");
            }
            if (!double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out double weight) || weight < 0 || !double.IsFinite(weight))
                throw new InvalidDataException($"{csv}:{line}: '{parts[1]}' is not a non-negative weight.");
            w[idx] = weight;
        }
        var cumulative = new double[locations.Count];
        double sum = 0;
        for (int i = 0; i < locations.Count; i++) cumulative[i] = sum += w.GetValueOrDefault(locations[i].Index, 1.0);
        if (sum <= 0) throw new InvalidDataException($"The sampling weights in '{csv}' sum to zero.");
        return cumulative;
    }

    /// <summary>Number of full batches per epoch (the last partial batch is dropped).</summary>
    public int StepsPerEpoch(int batchSize) => Locations.Count / batchSize;

    /// <summary>The location order of an epoch: a seeded permutation, or with sampling weights a seeded weighted draw with replacement.</summary>
    internal int[] EpochOrder(ulong seed, int epoch)
    {
        var rng = DeterministicRandom.Derive(seed, 1, epoch);
        int n = Locations.Count;
        var order = new int[n];
        if (_cumulativeWeights is null)
        {
            for (int i = 0; i < n; i++) order[i] = i;
            for (int i = n - 1; i > 0; i--) { int j = rng.NextInt(i + 1); (order[i], order[j]) = (order[j], order[i]); }
        }
        else
        {
            double total = _cumulativeWeights[^1];
            for (int i = 0; i < n; i++)
            {
                int k = Array.BinarySearch(_cumulativeWeights, rng.NextDouble() * total);
                order[i] = Math.Min(k < 0 ? ~k : k + 1, n - 1);
            }
        }
        return order;
    }

    /// <summary>Loads batch <paramref name="step"/> of <paramref name="epoch"/>; deterministic in (seed, epoch, step).</summary>
    public SeCoBatch LoadBatch(ulong seed, int epoch, int step, int batchSize, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        if (batchSize > Locations.Count) throw new ArgumentException($"Batch size {batchSize} exceeds the {Locations.Count} locations of the dataset.");
        var order = EpochOrder(seed, epoch);
        int c = Channels, s = Options.Augmentation.CropSize, view = c * s * s;
        var q = new float[batchSize * view];
        var keys = new[] { new float[batchSize * view], new float[batchSize * view], new float[batchSize * view] };
        try
        {
            Parallel.For(0, batchSize, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, Options.Workers), CancellationToken = cancellationToken }, i =>
            {
                var rng = DeterministicRandom.Derive(seed, 2, epoch, step, i);
                int loc = order[(int)(((long)step * batchSize + i) % order.Length)];
                var views = BuildViews(loc, ref rng);
                views[0].CopyTo(q, i * view);
                for (int k = 0; k < 3; k++) views[k + 1].CopyTo(keys[k], i * view);
            });
        }
        catch (AggregateException e) when (e.InnerExceptions.Count >= 1)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
            throw;
        }
        return new SeCoBatch(q, keys, batchSize, c, s);
    }

    private float[][] BuildViews(int loc, ref DeterministicRandom rng)
    {
        for (int attempt = 0; attempt < Locations.Count; attempt++)
        {
            var location = Locations[(loc + attempt) % Locations.Count];
            var files = location.Files.Where(f => !_bad.ContainsKey(f)).ToList();
            if (files.Count == 0) continue;
            var (i1, i2, i3) = DrawSeasons(files.Count, ref rng);
            var images = new Dictionary<int, (float[] Data, int H, int W)>();
            bool failed = false;
            foreach (var idx in new[] { i1, i2, i3 }.Distinct())
            {
                var img = TryRead(files[idx]);
                if (img is null) { failed = true; break; }
                images[idx] = img.Value;
            }
            if (failed) { attempt--; continue; } // the bad file is now excluded; retry this location
            float[] View(int idx, bool augment, ref DeterministicRandom r)
            {
                var (data, h, w) = images[idx];
                var x = (float[])data.Clone();
                if (augment) _augmentation.Augment(x, Channels, h, w, ref r);
                var crop = _augmentation.RandomResizedCrop(x, Channels, h, w, ref r);
                System.Numerics.Tensors.TensorPrimitives.Divide(crop, (float)Options.ScalingDivisor, crop);
                return crop;
            }
            return [View(i1, false, ref rng), View(i2, true, ref rng), View(i3, false, ref rng), View(i1, true, ref rng)];
        }
        throw new InvalidDataException("Every file of the dataset is unreadable (see the log).");
    }

    /// <summary>Draws s1, s2, s3: without replacement for ≥ 3 dates; 2 dates: s3 = s2; 1 date: all the same.</summary>
    internal static (int S1, int S2, int S3) DrawSeasons(int dates, ref DeterministicRandom rng)
    {
        if (dates >= 3)
        {
            int a = rng.NextInt(dates), b = rng.NextInt(dates - 1), c = rng.NextInt(dates - 2);
            if (b >= a) b++;
            int lo = Math.Min(a, b), hi = Math.Max(a, b);
            if (c >= lo) c++;
            if (c >= hi) c++;
            return (a, b, c);
        }
        if (dates == 2) { int a = rng.NextInt(2); return (a, 1 - a, 1 - a); }
        return (0, 0, 0);
    }

    private (float[] Data, int H, int W)? TryRead(string file)
    {
        ushort[] raw; int bands, h, w; string[] descriptions;
        try { (raw, bands, h, w, descriptions) = GdalRasterIO.ReadUInt16(file); }
        catch (InvalidDataException e)
        {
            if (_bad.TryAdd(file, true)) _logger.LogWarning("Skipping unreadable image {File}: {Message}", file, e.Message);
            return null;
        }
        if (bands != Options.FileBands.Count)
            throw new InvalidDataException($"'{file}' has {bands} bands but the dataset layout expects {Options.FileBands.Count} ({string.Join(", ", Options.FileBands)}).");
        CheckDescribedBands(file, descriptions);
        int plane = h * w;
        var data = new float[_bandIndex.Length * plane];
        for (int c = 0; c < _bandIndex.Length; c++)
        {
            var src = raw.AsSpan(_bandIndex[c] * plane, plane);
            var dst = data.AsSpan(c * plane, plane);
            for (int p = 0; p < plane; p++) dst[p] = src[p];
        }
        return (data, h, w);
    }

    /// <summary>
    /// The layout is positional (<see cref="DatasetOptions.FileBands"/>), but a file whose bands are described must agree with
    /// it: a file written in another band order is refused instead of training on the wrong channels.
    /// </summary>
    private void CheckDescribedBands(string file, string[] descriptions)
    {
        for (int i = 0; i < descriptions.Length; i++)
        {
            if (descriptions[i].Length == 0) continue;
            if (BandName.Canonical(descriptions[i]) != BandName.Canonical(Options.FileBands[i]))
                throw new InvalidDataException(
                    $"'{file}' describes band {i + 1} as '{descriptions[i]}' but the dataset layout expects {Options.FileBands[i]} there " +
                    $"(file: {string.Join(", ", descriptions.Select(d => d.Length == 0 ? "?" : d))}; layout: {string.Join(", ", Options.FileBands)}); " +
                    "write the files in the layout's band order, or set DatasetOptions.FileBands to the files' order.");
        }
    }
}

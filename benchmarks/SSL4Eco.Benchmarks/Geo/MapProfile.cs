using System.Globalization;
using System.Runtime.InteropServices;
using SSL4Eco.Inference.Embedding;
using SSL4Eco.Gdal;
using SSL4Eco.Inference.Geo.Pipeline;
using SSL4Eco.Inference.Geo.Tiling;
using SSL4Eco.Inference.Preprocessing;

namespace SSL4Eco.Benchmarks.Geo;

/// <summary>
/// <c>map-profile RASTER MODEL BATCH [TILES=48] [ROUNDS=3]</c>: where a map tile's time goes, stage by stage on one thread
/// (the map's stages, called as <see cref="EmbeddingMapper"/> calls them): GDAL decoding of the tile's bands into float32
/// (a fresh dataset per round, so no tile is served from GDAL's block cache), the rest of <c>TileReader.Read</c> (validity,
/// fill, harmonisation), host preprocessing (<see cref="PatchPreprocessor.Preprocess(Patch, Span{float})"/>: band selection,
/// crop, scaling, into the encoder's input layout) and the encoder on preprocessed batches with one intra-op thread (what
/// each of the map's two workers runs on CPU). Times are the calling thread's CPU time (clock_gettime THREAD_CPUTIME_ID:
/// ONNX Runtime with one intra-op thread runs on the caller), so time the thread spends descheduled on a loaded machine
/// does not count. Stages are interleaved round by round; the median round is printed, in CPU ms per tile and as a share
/// of the tile's total, with the ratio the stages allow: encoder / (encoder + the rest), the best end-to-end /
/// encoder-only a pipeline using every core can reach when nothing else runs.
/// </summary>
internal static partial class MapProfile
{
    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec { public long Seconds; public long Nanoseconds; }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clock, out TimeSpec time);

    /// <summary>This thread's CPU time in ms (CLOCK_THREAD_CPUTIME_ID = 3 on Linux).</summary>
    private static double ThreadCpuMs()
    {
        if (ClockGetTime(3, out var t) != 0) throw new InvalidOperationException("clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed.");
        return t.Seconds * 1e3 + t.Nanoseconds / 1e6;
    }

    /// <summary>A clock of this thread's CPU time.</summary>
    internal static Clock CpuClock() => Clock.StartNew();

    internal sealed class Clock
    {
        private readonly double _start = ThreadCpuMs();
        public double Elapsed => ThreadCpuMs() - _start;
        public static Clock StartNew() => new();
    }

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static int Run(string[] args)
    {
        string raster = args[0], model = args[1];
        int batch = int.Parse(args[2], Inv);
        int count = args.Length > 3 ? int.Parse(args[3], Inv) : 48;
        int rounds = args.Length > 4 ? int.Parse(args[4], Inv) : 3;
        using var encoder = SeCoEcoEncoder.Open(model, new EncoderOptions { BatchSize = batch, Harmonize = HarmonizeMode.Off, IntraOpThreads = 1 });
        var request = new MapRequest { InputPath = raster, OutputPrefix = Path.Combine(Path.GetTempPath(), "ssl4eco-map-profile") }; // batch size and harmonisation: the encoder's
        List<Tile> tiles;
        // Whole tile rows (at least the count asked for), so blocks straddling two tile rows are decoded once, as in a map run.
        using (var ds = GdalDataset.Open(raster))
        {
            var grid = TileGrid.For(ds, encoder.Contract.InputSize);
            tiles = grid.Tiles().Take((count + grid.Columns - 1) / grid.Columns * grid.Columns).ToList();
        }
        count = tiles.Count;
        int per = encoder.Preprocessor.ValuesPerPatch;
        var input = new float[batch * per];
        var output = new float[batch * encoder.Contract.EmbeddingDim];
        var stages = new[] { "GDAL decode to float32", "rest of TileReader.Read (validity, fill)", "host preprocessing", "encoder (1 thread)" };
        var ms = stages.Select(_ => new List<double>()).ToArray();
        var pool = new System.Collections.Concurrent.ConcurrentBag<float[]>(); // tile arrays handed back, as the map does
        encoder.EmbedPreprocessed(input, batch, output); // warm-up
        for (int r = 0; r < rounds; r++)
        {
            var patches = new List<Patch>(count);
            double gdal = 0, read = 0;
            using (var ds = GdalDataset.Open(raster))
            using (var reader = new TileReader(request, encoder.Recipe, pool))
            {
                var (_, bands) = SSL4Eco.Inference.Geo.Rasters.PatchReader.ResolveBands(ds, null, encoder.Contract.Bands);
                var buffer = new float[bands.Length * tiles[0].Window.Width * tiles[0].Window.Height];
                for (int i = 0; i < count; i++)
                {
                    var sw = Clock.StartNew();
                    ds.Read(tiles[i].Window, buffer, bands);
                    gdal += sw.Elapsed;
                }
                for (int i = 0; i < count; i++)
                {
                    var sw = Clock.StartNew();
                    patches.Add(reader.Read(tiles[i], i).Patch!);
                    read += sw.Elapsed;
                }
            }
            ms[0].Add(gdal / count);
            ms[1].Add(Math.Max(0, read - gdal) / count); // the reader decodes the same tiles again from a fresh dataset
            var pre = Clock.StartNew();
            for (int i = 0; i < count; i++) encoder.Preprocessor.Preprocess(patches[i], input.AsSpan(i % batch * per, per));
            ms[2].Add(pre.Elapsed / count);
            foreach (var p in patches) pool.Add(p.Data);
            var enc = Clock.StartNew();
            for (int done = 0; done < count; done += batch)
                encoder.EmbedPreprocessed(input, batch, output);
            ms[3].Add(enc.Elapsed / ((count + batch - 1) / batch * batch));
        }
        var median = ms.Select(v => { v.Sort(); return v[v.Count / 2]; }).ToArray();
        double total = median.Sum();
        Console.WriteLine(string.Create(Inv, $"{Path.GetFileName(model)}, batch {batch}, {count} tiles, median of {rounds} rounds (CPU ms per tile on one thread, share):"));
        for (int s = 0; s < stages.Length; s++)
            Console.WriteLine(string.Create(Inv, $"  {stages[s]}: {median[s]:F2} ms ({median[s] / total:P1})"));
        Console.WriteLine(string.Create(Inv, $"  bound on end-to-end / encoder-only from these stages: {median[3] / total:P1}"));
        return 0;
    }
}

/// <summary>
/// <c>preprocess-kernels [ROUNDS=7]</c>: host preprocessing of one 9-band 224² tile (the map's case: a centre crop of the
/// whole tile, DN/255) by the multi-pass code PatchPreprocessor ran before (sum + max-magnitude screen, crop copy, divide)
/// and by <see cref="SSL4Eco.Inference.Numerics.BandKernels"/>, interleaved round by round, thread CPU ms per tile (median).
/// </summary>
internal static class PreprocessKernels
{
    public static int Run(string[] args)
    {
        int rounds = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 7;
        const int s = 224, bands = 9, reps = 200;
        var rng = new Random(3);
        var tile = new float[bands * s * s];
        for (int i = 0; i < tile.Length; i++) tile[i] = rng.Next(1, 9000);
        var dst = new float[tile.Length];
        var old = new List<double>();
        var fused = new List<double>();
        for (int r = 0; r < rounds; r++)
        {
            var clock = MapProfile.CpuClock();
            for (int k = 0; k < reps; k++)
                for (int b = 0; b < bands; b++)
                {
                    var band = tile.AsSpan(b * s * s, s * s);
                    var to = dst.AsSpan(b * s * s, s * s);
                    if (!(float.IsFinite(System.Numerics.Tensors.TensorPrimitives.Sum(band)) && float.IsFinite(System.Numerics.Tensors.TensorPrimitives.MaxMagnitude(band))))
                        throw new InvalidOperationException("not finite");
                    Resampling.CenterCrop(band, s, s, to, s, s);
                    System.Numerics.Tensors.TensorPrimitives.Divide(to, 255f, to);
                }
            old.Add(clock.Elapsed / reps);
            clock = MapProfile.CpuClock();
            for (int k = 0; k < reps; k++)
                for (int b = 0; b < bands; b++)
                {
                    var band = tile.AsSpan(b * s * s, s * s);
                    if (SSL4Eco.Inference.Numerics.BandKernels.IndexOfNonFinite(band) >= 0) throw new InvalidOperationException("not finite");
                    SSL4Eco.Inference.Numerics.BandKernels.CenterCropScaled(band, s, s, dst.AsSpan(b * s * s, s * s), s, s, 0f, 255f);
                }
            fused.Add(clock.Elapsed / reps);
        }
        old.Sort();
        fused.Sort();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"host preprocessing of a 9-band 224² tile, thread CPU ms (median of {rounds} interleaved rounds): multi-pass {old[rounds / 2]:F3}, single-pass kernels {fused[rounds / 2]:F3} ({old[rounds / 2] / fused[rounds / 2]:F2}x)"));
        return 0;
    }
}

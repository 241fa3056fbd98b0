using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using SSL4Eco.Inference.Files;
using SSL4Eco.Gdal;
using SSL4Eco.Inference.Geo.Rasters;
using SSL4Eco.Inference.Geo.Seasons;
using SSL4Eco.Inference.Preprocessing;

namespace SSL4Eco.Inference.Geo.Dataset;

/// <summary>What <see cref="DatasetFetcher.FetchAsync"/> needs besides the plan.</summary>
/// <param name="StacEndpoint">STAC API root (e.g. https://earth-search.aws.element84.com/v1).</param>
/// <param name="OutputFolder">Dataset folder: receives <c>imgs/</c>, <c>manifest.jsonl</c>, <c>manifest.json</c>, <c>sampling_weights.csv</c>.</param>
/// <remarks>Immutable record; thread-safe.</remarks>
public sealed record FetchOptions(Uri StacEndpoint, string OutputFolder)
{
    /// <summary>STAC collection (Earth Search and Planetary Computer: "sentinel-2-l2a").</summary>
    public string Collection { get; init; } = "sentinel-2-l2a";
    /// <summary>Workers; each has at most one HTTP request in flight, so this bounds the requests in flight.</summary>
    public int MaxRequestsInFlight { get; init; } = 8;
    /// <summary>Exclusive cloud limit as a fraction (paper: 0.2).</summary>
    public double MaxCloudFraction { get; init; } = 0.2;
    /// <summary>Remove the +1000 offset of processing baseline 04.00 and later (SPEC: harmonised DN); off for already harmonised collections.</summary>
    public bool Harmonize { get; init; } = true;
    /// <summary>Attempts per STAC request.</summary>
    public int MaxAttempts { get; init; } = 5;
    /// <summary>First back-off delay (doubled per attempt) when the server gives no Retry-After.</summary>
    public TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>Time limit of one STAC request.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Parses a STAC API root: an absolute http(s) URL.</summary>
    /// <exception cref="ArgumentException">The text is not an absolute http or https URL.</exception>
    public static Uri ParseEndpoint(string? text) =>
        Uri.TryCreate(text, UriKind.Absolute, out var endpoint) && endpoint.Scheme is "http" or "https"
            ? endpoint
            : throw new ArgumentException($"--stac '{text}' is not an http(s) URL.");
}

/// <summary>Progress of a fetch: locations done of total, patches written and reused, skips, elapsed time and the estimate left.</summary>
/// <remarks>Immutable; thread-safe.</remarks>
public sealed record FetchProgress(int LocationsDone, int LocationsTotal, int PatchesWritten, int PatchesReused, int Skipped, TimeSpan Elapsed, TimeSpan? Eta);

/// <summary>One patch of the dataset, as the manifest records it.</summary>
/// <remarks>Immutable; thread-safe.</remarks>
public sealed record FetchedPatch(int Index, long LocationId, double Longitude, double Latitude, Season Season, int StartDay, int EndDay,
    string ItemId, string Date, string Tile, double CloudCover, string? ProcessingBaseline, bool Harmonized, string File, string Sha256);

/// <summary>An interval without a patch, and why.</summary>
/// <param name="Index">Location index.</param>
/// <param name="Season">The interval.</param>
/// <param name="ItemId">The picked item, when the failure was reading it.</param>
/// <param name="Reason">Why.</param>
/// <param name="Failed">True for a failure (STAC API or asset unreadable: a re-run retries it); false when no item qualifies.</param>
/// <remarks>Immutable; thread-safe.</remarks>
public sealed record SkippedPatch(int Index, Season Season, string? ItemId, string Reason, bool Failed);

/// <summary>The result of a fetch: every patch of the dataset (written now or earlier), the counts, and what was skipped.</summary>
/// <remarks>Immutable; thread-safe.</remarks>
public sealed record FetchSummary(IReadOnlyList<FetchedPatch> Patches, int Written, int Reused, IReadOnlyList<SkippedPatch> Skipped)
{
    /// <summary>Skipped intervals that failed (a re-run retries them), as opposed to those no item qualifies for.</summary>
    public int Failed => Skipped.Count(s => s.Failed);

    /// <summary>Each reason for skipping with how many intervals it skipped, the most frequent first (ties in first-seen order).</summary>
    public IReadOnlyList<(string Reason, int Count)> SkipReasons =>
        Skipped.GroupBy(s => s.Reason).Select(g => (g.Key, g.Count())).OrderByDescending(g => g.Item2).ToList();
}

/// <summary>
/// Fetches the patches of a <see cref="DatasetPlan"/>: per location one STAC search (the point, the plan's years, cloud &lt; the
/// limit), then per interval the scene <see cref="SeasonPicker"/> picks (the paper's rule: the least cloudy, in whole percent,
/// then the nearest to the interval's middle on the cyclic year, across all years), and a 264 × 264 window at 10 m around the
/// location read from the item's COG assets with HTTP range requests (GDAL <c>/vsicurl/</c>): 10 m bands as they are, 20 m and
/// 60 m bands resampled bilinearly to 10 m (GDAL's RasterIO, as <c>gdal_translate -srcwin … -outsize 264 264 -r bilinear</c>).
/// The window's top-left corner is on a multiple of 6 pixels of the 10 m grid, so it starts on a pixel of the 20 m and 60 m
/// grids. Then (when <see cref="FetchOptions.Harmonize"/>) baseline ≥ 04.00 values lose their +1000 offset (values below 1000
/// become 0), NDVI is computed as the training data stores it, and the top-left <see cref="PatchSize"/> × <see cref="PatchSize"/>
/// pixels (the source's <c>raster[:256, :256]</c> of its 2600 m box, <c>data_download/download_ssl4eco.py::get_patch</c>;
/// SPEC: 256 × 256 px on disk) become the 13-band uint16 GeoTIFF (band order
/// <see cref="Ssl4EcoLayout.Bands"/>, described) is written atomically to <c>imgs/{index:06d}/{YYYYMMDD}_{tile}.tif</c>.
/// Each finished patch is appended to <c>manifest.jsonl</c> with its SHA-256; a new run reuses every patch whose file still
/// has that checksum (no request for it) and fetches the rest, so a killed or failed run resumes. The end writes
/// <c>manifest.json</c> (patches and skips) and <c>sampling_weights.csv</c> (the training reader's weights format).
/// Only the STAC endpoint and the asset hrefs it returns are contacted.
/// </summary>
/// <remarks>Stateless and thread-safe; one run per output folder at a time (an <see cref="OutputLock"/> refuses a second).</remarks>
public static partial class DatasetFetcher
{
    /// <summary>Window read around the location, in 10 m pixels (a multiple of 6, so the 20 m and 60 m grids align).</summary>
    public const int WindowSize = 264;

    /// <summary>Stored patch size in 10 m pixels: the window's top-left <c>PatchSize</c> square, as the SSL4Eco source stores it.</summary>
    public const int PatchSize = 256;

    private static readonly (string Band, string[] Keys)[] AssetKeys =
    [
        ("B1", ["B01", "coastal"]), ("B2", ["B02", "blue"]), ("B3", ["B03", "green"]), ("B4", ["B04", "red"]),
        ("B5", ["B05", "rededge1"]), ("B6", ["B06", "rededge2"]), ("B7", ["B07", "rededge3"]), ("B8", ["B08", "nir"]),
        ("B8A", ["B8A", "nir08"]), ("B9", ["B09", "nir09"]), ("B11", ["B11", "swir16"]), ("B12", ["B12", "swir22"]),
    ];

    /// <summary>Runs the fetch; see the type remarks.</summary>
    /// <exception cref="IOException">Another run holds the output folder.</exception>
    /// <exception cref="HttpRequestException">The STAC API keeps failing.</exception>
    public static async Task<FetchSummary> FetchAsync(DatasetPlan plan, FetchOptions options, IProgress<FetchProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(options);
        if (options.MaxRequestsInFlight < 1) throw new ArgumentOutOfRangeException(nameof(options), $"MaxRequestsInFlight must be at least 1, got {options.MaxRequestsInFlight}.");
        if (!(options.MaxCloudFraction > 0 && options.MaxCloudFraction <= 1)) throw new ArgumentOutOfRangeException(nameof(options), $"The cloud limit must be in (0, 1], got {options.MaxCloudFraction}.");
        if (options.StacEndpoint.Scheme is not ("http" or "https")) throw new ArgumentException($"The STAC endpoint '{options.StacEndpoint}' is not an http(s) URL.");
        GdalLibrary.EnsureInitialized();
        var root = Path.GetFullPath(options.OutputFolder);
        Directory.CreateDirectory(root);
        using var outputLock = OutputLock.Acquire(Path.Combine(root, "manifest.json"));
        GdalVsi.ClearCache(); // a broken asset of an earlier run in this process is tried again
        var journalPath = Path.Combine(root, "manifest.jsonl");
        var done = ReadJournal(journalPath, root);
        TerminateTornLine(journalPath);
        var patches = new ConcurrentDictionary<(int, Season), FetchedPatch>(done);
        var skipped = new ConcurrentBag<SkippedPatch>();
        int written = 0, reused = 0, locationsDone = 0;
        var clock = Stopwatch.StartNew();
        using var http = new HttpClient();
        http.Timeout = Timeout.InfiniteTimeSpan;
        var stac = new StacClient(http, options.StacEndpoint, options.MaxAttempts, options.RetryBaseDelay, options.RequestTimeout);
        var journalGate = new object();
        void Report() => progress?.Report(Progress(locationsDone, plan.Locations.Count, written, reused, skipped.Count, clock.Elapsed));

        await Parallel.ForEachAsync(plan.Locations, new ParallelOptions { MaxDegreeOfParallelism = options.MaxRequestsInFlight, CancellationToken = cancellationToken },
            async (loc, ct) =>
            {
                var missing = loc.Intervals.Where(i => !done.ContainsKey((loc.Index, i.Season))).ToList();
                Interlocked.Add(ref reused, loc.Intervals.Count - missing.Count);
                if (missing.Count > 0)
                {
                    List<StacItem> items;
                    try
                    {
                        items = await stac.SearchAsync(options.Collection, loc.Longitude, loc.Latitude, new DateTime(plan.FirstYear, 1, 1, 0, 0, 0, DateTimeKind.Utc),
                            new DateTime(plan.LastYear, 12, 31, 23, 59, 59, DateTimeKind.Utc), options.MaxCloudFraction * 100, ct).ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is HttpRequestException or InvalidDataException)
                    {
                        foreach (var i in missing) skipped.Add(new SkippedPatch(loc.Index, i.Season, null, e.Message, true));
                        Interlocked.Increment(ref locationsDone);
                        Report();
                        return;
                    }
                    items = items.Where(i => i.Acquired.Year >= plan.FirstYear && i.Acquired.Year <= plan.LastYear).ToList(); // a server may ignore datetime
                    var byId = items.GroupBy(i => i.Id).ToDictionary(g => g.Key, g => g.First());
                    var picks = SeasonPicker.Pick(items.Select(i => new SceneCandidate(i.Id, DateOnly.FromDateTime(i.Acquired), i.CloudCover / 100)),
                        loc.Calendar(), options.MaxCloudFraction);
                    foreach (var interval in missing)
                    {
                        ct.ThrowIfCancellationRequested();
                        var pick = picks.Single(p => p.Season == interval.Season);
                        if (pick.Scene is null)
                        {
                            skipped.Add(new SkippedPatch(loc.Index, interval.Season, null,
                                $"no item with cloud cover below {options.MaxCloudFraction * 100:0.##} % in days {interval.StartDay}–{interval.EndDay} of {plan.FirstYear}–{plan.LastYear}", false));
                            continue;
                        }
                        var item = byId[pick.Scene.Id];
                        try
                        {
                            var patch = WritePatch(root, loc, interval, item, options.Harmonize, ct);
                            lock (journalGate) File.AppendAllText(journalPath, JsonSerializer.Serialize(patch, DatasetPlan.Json).ReplaceLineEndings(" ") + "\n");
                            patches[(loc.Index, interval.Season)] = patch;
                            Interlocked.Increment(ref written);
                        }
                        catch (Exception e) when (e is GdalException or InvalidDataException)
                        {
                            skipped.Add(new SkippedPatch(loc.Index, interval.Season, item.Id, e.Message, true));
                        }
                    }
                }
                Interlocked.Increment(ref locationsDone);
                Report();
            }).ConfigureAwait(false);

        var ordered = patches.Values.OrderBy(p => p.Index).ThenBy(p => p.Season).ToList();
        var skips = skipped.OrderBy(s => s.Index).ThenBy(s => s.Season).ToList();
        AtomicFile.WriteText(Path.Combine(root, "manifest.json"), JsonSerializer.Serialize(new { format = "ssl4eco-dataset-manifest/1", patches = ordered, skipped = skips }, DatasetPlan.Json));
        var weights = new StringBuilder("index,weight\n");
        foreach (var l in plan.Locations) weights.Append(CultureInfo.InvariantCulture, $"{l.Index},{l.Weight.ToString("R", CultureInfo.InvariantCulture)}\n");
        AtomicFile.WriteText(Path.Combine(root, "sampling_weights.csv"), weights.ToString());
        return new FetchSummary(ordered, written, reused, skips);
    }

    internal static FetchProgress Progress(int done, int total, int written, int reused, int skipped, TimeSpan elapsed) =>
        new(done, total, written, reused, skipped, elapsed, done == 0 ? null : TimeSpan.FromTicks(elapsed.Ticks / done * (total - done)));

    /// <summary>The journal's patches whose files still have their checksum (a torn last line or a changed file is ignored).</summary>
    private static Dictionary<(int, Season), FetchedPatch> ReadJournal(string journal, string root)
    {
        var done = new Dictionary<(int, Season), FetchedPatch>();
        if (!File.Exists(journal)) return done;
        foreach (var line in File.ReadLines(journal))
        {
            FetchedPatch? p;
            try { p = JsonSerializer.Deserialize<FetchedPatch>(line, DatasetPlan.Json); }
            catch (JsonException) { continue; }
            if (p is null || p.File is null) continue;
            var file = Path.GetFullPath(Path.Combine(root, p.File));
            if (!file.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal) || !File.Exists(file)) continue;
            if (Sha256(file) == p.Sha256) done[(p.Index, p.Season)] = p;
        }
        return done;
    }

    /// <summary>A run killed mid-append leaves a last line without its newline: end it, so the next entry starts a line of its own.</summary>
    private static void TerminateTornLine(string journal)
    {
        if (!File.Exists(journal)) return;
        using var s = new FileStream(journal, FileMode.Open, FileAccess.ReadWrite);
        if (s.Length == 0) return;
        s.Seek(-1, SeekOrigin.End);
        if (s.ReadByte() != '\n') s.WriteByte((byte)'\n');
    }

    internal static string Sha256(string file)
    {
        using var s = File.OpenRead(file);
        return Convert.ToHexStringLower(SHA256.HashData(s));
    }

    /// <summary>Whether a scene of baseline <paramref name="baseline"/> ("04.00", "5.09") carries the offset: the harmonisation rule of <see cref="Harmonization"/>.</summary>
    internal static bool HasOffset(string? baseline) => Harmonization.Applies(HarmonizeMode.Auto, Harmonization.ParseBaseline(baseline));

    private static FetchedPatch WritePatch(string root, PlannedLocation loc, PlannedInterval interval, StacItem item, bool harmonize, CancellationToken ct)
    {
        var hrefs = AssetKeys.Select(b =>
        {
            var key = b.Keys.FirstOrDefault(item.Assets.ContainsKey)
                ?? throw new InvalidDataException($"item '{item.Id}' has no asset for {b.Band} (looked for {string.Join(", ", b.Keys)})");
            var href = item.Assets[key];
            if (!href.StartsWith("http://", StringComparison.OrdinalIgnoreCase) && !href.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
                throw new InvalidDataException($"item '{item.Id}' asset '{key}' is not an http(s) URL ('{href}'); sign or rewrite the hrefs first");
            return "/vsicurl/" + href;
        }).ToArray();
        int n = WindowSize * WindowSize;
        var data = new ushort[13 * n];
        GeoTransform gt10;
        string wkt;
        SetThreadConfig("GDAL_DISABLE_READDIR_ON_OPEN", "EMPTY_DIR");
        try
        {
            using var reference = GdalDataset.Open(hrefs[1]); // B2, 10 m
            gt10 = reference.GeoTransform ?? throw new InvalidDataException($"'{hrefs[1]}' has no geotransform");
            wkt = reference.ProjectionWkt;
            using var srs = reference.SpatialReference ?? throw new InvalidDataException($"'{hrefs[1]}' has no coordinate reference system");
            using var wgs84 = GdalSpatialReference.FromEpsg(4326);
            Span<double> x = [loc.Longitude], y = [loc.Latitude];
            wgs84.Transform(srs, x, y);
            var (col, row) = gt10.GeoToPixel(x[0], y[0]);
            int x0 = 6 * (int)Math.Round((col - WindowSize / 2.0) / 6, MidpointRounding.AwayFromZero);
            int y0 = 6 * (int)Math.Round((row - WindowSize / 2.0) / 6, MidpointRounding.AwayFromZero);
            if (x0 < 0 || y0 < 0 || x0 + WindowSize > reference.Width || y0 + WindowSize > reference.Height)
                throw new InvalidDataException($"the {WindowSize} px window around the location leaves tile {item.Tile} of item '{item.Id}'");
            gt10 = gt10 with { OriginX = gt10.OriginX + x0 * gt10.PixelWidth, OriginY = gt10.OriginY + y0 * gt10.PixelHeight };
            var origin = reference.GeoTransform!.Value;
            for (int b = 0; b < 12; b++)
            {
                ct.ThrowIfCancellationRequested();
                using var ds = b == 1 ? null : GdalDataset.Open(hrefs[b]);
                var src = ds ?? reference;
                var g = src.GeoTransform ?? throw new InvalidDataException($"'{hrefs[b]}' has no geotransform");
                double ratio = g.PixelWidth / origin.PixelWidth;
                int f = (int)Math.Round(ratio);
                if (f < 1 || Math.Abs(ratio - f) > 1e-6 || x0 % f != 0 || y0 % f != 0 || WindowSize % f != 0
                    || Math.Abs(g.OriginX - origin.OriginX) > 1e-6 * Math.Abs(origin.PixelWidth) || Math.Abs(g.OriginY - origin.OriginY) > 1e-6 * Math.Abs(origin.PixelWidth))
                    throw new InvalidDataException($"'{hrefs[b]}' ({AssetKeys[b].Band}) is not on the 10 m grid of the item (pixel {g.PixelWidth} m, origin {g.OriginX}, {g.OriginY})");
                src.Read(new PixelWindow(x0 / f, y0 / f, WindowSize / f, WindowSize / f), data.AsSpan(b * n, n), [1], WindowSize, WindowSize,
                    f == 1 ? GdalResampling.Nearest : GdalResampling.Bilinear);
            }
        }
        finally { SetThreadConfig("GDAL_DISABLE_READDIR_ON_OPEN", null); }
        bool offset = harmonize && HasOffset(item.ProcessingBaseline);
        int redAt = Ssl4EcoLayout.IndexOf("B4"), nirAt = Ssl4EcoLayout.IndexOf("B8"), ndviAt = Ssl4EcoLayout.IndexOf(BandName.Ndvi);
        if (offset)
            for (int b = 0; b < Ssl4EcoLayout.Bands.Count; b++)
                if (Harmonization.AppliesToBand(Ssl4EcoLayout.Bands[b])) Harmonization.Apply(data.AsSpan(b * n, n));
        var red = new float[n];
        var nir = new float[n];
        var ndvi = new float[n];
        for (int i = 0; i < n; i++) { red[i] = data[redAt * n + i]; nir[i] = data[nirAt * n + i]; }
        PatchPreprocessor.ComputeNdvi(red, nir, ndvi);
        for (int i = 0; i < n; i++) data[ndviAt * n + i] = (ushort)ndvi[i];

        string date = item.Acquired.ToString("yyyyMMdd", CultureInfo.InvariantCulture);
        string relative = Path.Combine("imgs", loc.Index.ToString("D6", CultureInfo.InvariantCulture), $"{date}_{item.Tile}.tif");
        string target = Path.Combine(root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        var patch = new ushort[13 * PatchSize * PatchSize];
        for (int b = 0; b < 13; b++)
            for (int r = 0; r < PatchSize; r++)
                data.AsSpan(b * n + r * WindowSize, PatchSize).CopyTo(patch.AsSpan((b * PatchSize + r) * PatchSize, PatchSize));
        AtomicFile.WriteVia(target, tmp =>
        {
            using var outDs = GdalDataset.Create("GTiff", tmp, PatchSize, PatchSize, 13, GdalDataType.UInt16, new Dictionary<string, string> { ["COMPRESS"] = "DEFLATE" });
            outDs.GeoTransform = gt10;
            outDs.ProjectionWkt = wkt;
            for (int b = 0; b < 13; b++) outDs.Band(b + 1).Description = Ssl4EcoLayout.Bands[b];
            outDs.SetMetadataItem("DATE", item.Acquired.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
            outDs.SetMetadataItem("STAC_ITEM", item.Id);
            outDs.SetMetadataItem("CLOUD_COVER", item.CloudCover.ToString("R", CultureInfo.InvariantCulture));
            // PROCESSING_BASELINE makes PatchReader harmonise on read: written only while the offset is still in the values.
            if (item.ProcessingBaseline is { } pb) outDs.SetMetadataItem(offset ? "S2_PROCESSING_BASELINE" : "PROCESSING_BASELINE", pb);
            outDs.SetMetadataItem("HARMONIZED", offset ? "offset removed" : "as stored");
            outDs.Write(new PixelWindow(0, 0, PatchSize, PatchSize), patch);
        });
        return new FetchedPatch(loc.Index, loc.Id, loc.Longitude, loc.Latitude, interval.Season, interval.StartDay, interval.EndDay, item.Id,
            item.Acquired.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), item.Tile, item.CloudCover, item.ProcessingBaseline, offset,
            relative.Replace('\\', '/'), Sha256(target));
    }

    private static void SetThreadConfig(string key, string? value) => GdalVsi.SetThreadLocalConfigOption(key, value);
}

using SSL4Eco.Inference.Preprocessing;
using SSL4Eco.Gdal;
using SSL4Eco.Inference.Geo.Outputs;

namespace SSL4Eco.Inference.Geo.Pipeline;

/// <summary>
/// What <see cref="EmbeddingMapper.RunAsync"/> maps: an input raster, a tile grid, validity rules and outputs.
/// </summary>
/// <remarks>
/// Immutable record; thread-safe. Nodata policy: a pixel is invalid when any band is masked (GDAL mask band: nodata value,
/// alpha or explicit mask), is NaN/±Inf, or when the cloud mask marks it. A tile's valid fraction is valid pixels / pixels.
/// Tiles below <see cref="MinValidFraction"/> (or with no valid pixel) are not embedded and written as nodata. In partially
/// valid tiles every invalid pixel of a band is replaced by the mean of that band's valid pixels, so no NaN ever reaches the
/// model or the outputs.
/// </remarks>
public sealed record MapRequest
{
    /// <summary>Input raster (any GDAL path, e.g. a GeoTIFF, a VRT built by <c>BandStack</c>, or <c>/vsicurl/…</c>).</summary>
    public required string InputPath { get; init; }

    /// <summary>Output path without extension, e.g. <c>/data/out/map</c>.</summary>
    public required string OutputPrefix { get; init; }

    /// <summary>Band names of the input in file order when it has no band descriptions (see <c>PatchReader</c>).</summary>
    public IReadOnlyList<string>? InputBands { get; init; }

    /// <summary>
    /// Formats to write next to <see cref="OutputPrefix"/>, by registry name (case-insensitive, see <see cref="KnownFormats"/>):
    /// <c>cog</c> (<c>prefix.tif</c>, a tiled DEFLATE Cloud-Optimised GeoTIFF, one band per embedding dimension),
    /// <c>npy</c> (<c>prefix.npy</c> <c>[rows, cols, dim]</c> float32 plus <c>prefix.valid.npy</c> and <c>prefix.json</c>),
    /// <c>geoparquet</c> (<c>prefix.parquet</c>, GeoParquet 1.0.0, one row per tile). Default <c>["cog"]</c>; empty writes
    /// only the resume state.
    /// </summary>
    public IReadOnlyList<string> Formats { get; init; } = [CogMapWriter.FormatName];

    /// <summary>Every format <see cref="Formats"/> may name, in the order a run writes them.</summary>
    public static IReadOnlyList<string> KnownFormats => MapWriters.Formats;

    /// <summary>Value encoding of the embedding raster (default float32).</summary>
    public EmbeddingRasterType RasterType { get; init; } = EmbeddingRasterType.Float32;

    /// <summary>Tile size in pixels; null = the model contract's input size.</summary>
    public int? TileSize { get; init; }

    /// <summary>Stride in pixels; null = tile size.</summary>
    public int? Stride { get; init; }

    /// <summary>Optional pixel-window region of interest.</summary>
    public PixelWindow? RoiWindow { get; init; }

    /// <summary>Optional polygon region of interest as WKT or a GeoJSON geometry.</summary>
    public string? Roi { get; init; }

    /// <summary>CRS of <see cref="Roi"/> (e.g. "EPSG:4326"); null = the raster's CRS.</summary>
    public string? RoiCrs { get; init; }

    /// <summary>
    /// Optional cloud mask raster covering the area to map (any resolution and CRS: warped onto the scene grid through its
    /// georeferencing with nearest neighbour; a mask without a CRS is taken to be in the scene's; one that does not cover
    /// the tiles to map is refused).
    /// </summary>
    public string? CloudMaskPath { get; init; }

    /// <summary>Values of the cloud mask that mean "invalid": default Sentinel-2 SCL cloud shadow/medium/high cloud/cirrus (3, 8, 9, 10); use [1] for a 0/1 mask.</summary>
    public IReadOnlyList<int> CloudMaskValues { get; init; } = [3, 8, 9, 10];

    /// <summary>Tiles with a smaller valid fraction are skipped and written as nodata (0..1, default 0.5).</summary>
    public double MinValidFraction { get; init; } = 0.5;

    /// <summary>Acquisition date recorded in outputs; null = from the raster metadata.</summary>
    public DateOnly? Date { get; init; }

    /// <summary>
    /// Batches embedded at the same time (default 1). With a CPU encoder, two batches in flight on a session of half the
    /// cores' intra-op threads (<c>EncoderOptions.IntraOpThreads</c>) keep every core busy while tiles are read and written:
    /// a reader then delays one batch instead of stalling a barrier-synchronised thread pool. Memory grows with each batch in flight.
    /// </summary>
    public int EmbedConcurrency { get; init; } = 1;

    /// <summary>Reader threads, each with its own GDAL dataset.</summary>
    public int ReaderCount { get; init; } = 1;

    /// <summary>Capacity of each queue between stages (tiles); tile data in memory is bounded by about capacity + (2 × EmbedConcurrency + 1) × the model's <c>BatchSize</c> tiles.</summary>
    public int QueueCapacity { get; init; } = 16;

    /// <summary>Continue an interrupted run from its resume state (default); false starts over.</summary>
    public bool Resume { get; init; } = true;

    /// <summary>
    /// What to do when the interrupted run was made with other settings, weights or input (anything that changes a tile's
    /// embedding): refuse (default) or start afresh. Never resumed, so two runs are never mixed into one result.
    /// </summary>
    public ResumeMismatch OnMismatch { get; init; } = ResumeMismatch.Refuse;

    /// <summary>Value written for nodata tiles (default −9999).</summary>
    public float NoDataValue { get; init; } = -9999f;

    /// <summary>Smallest <see cref="TileSize"/> accepted unless <see cref="AllowTinyTiles"/>.</summary>
    public const int MinTileSize = 16;

    /// <summary>Largest <see cref="TileSize"/> and <see cref="Stride"/> accepted.</summary>
    public const int MaxTileSize = 8192;

    /// <summary>Above this many tiles the mapper logs a warning (the run takes long).</summary>
    public const int ManyTiles = 100_000;

    /// <summary>Accept a <see cref="TileSize"/> under <see cref="MinTileSize"/>. Default false.</summary>
    public bool AllowTinyTiles { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option (and the tool's option for it).</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(InputPath)) throw new ArgumentException("MapRequest.InputPath is empty.");
        if (string.IsNullOrWhiteSpace(OutputPrefix)) throw new ArgumentException("MapRequest.OutputPrefix is empty.");
        if (TileSize is { } tile && (tile < MinTileSize || tile > MaxTileSize) && !(AllowTinyTiles && tile > 0 && tile <= MaxTileSize))
            throw new ArgumentException($"Tile size (--tile, MapRequest.TileSize) must be {MinTileSize} to {MaxTileSize} pixels, got {tile}" +
                (tile is > 0 and < MinTileSize ? $"; tiles under {MinTileSize} px hold too little for the model and make a very large number of tiles (allow them with --allow-tiny-tiles, MapRequest.AllowTinyTiles)." : "."));
        if (Stride is { } stride && (stride <= 0 || stride > MaxTileSize))
            throw new ArgumentException($"Stride (--stride, MapRequest.Stride) must be 1 to {MaxTileSize} pixels, got {stride}.");
        if (!(MinValidFraction >= 0 && MinValidFraction <= 1)) throw new ArgumentException($"Minimum valid fraction (--min-valid, MapRequest.MinValidFraction) must be in [0, 1], got {MinValidFraction}.");
        int maxThreads = Inference.Embedding.EncoderOptions.MaxThreads;
        if (ReaderCount <= 0 || ReaderCount > maxThreads)
            throw new ArgumentException($"Readers (--readers, MapRequest.ReaderCount) must be 1 to {maxThreads} (4 x this machine's {Environment.ProcessorCount} processors), got {ReaderCount}.");
        if (EmbedConcurrency <= 0 || EmbedConcurrency > maxThreads)
            throw new ArgumentException($"Embed concurrency (--embed-concurrency, MapRequest.EmbedConcurrency) must be 1 to {maxThreads} (4 x this machine's {Environment.ProcessorCount} processors), got {EmbedConcurrency}.");
        if (Formats is null) throw new ArgumentException("MapRequest.Formats is null; give the formats to write (or an empty list for only the resume state).");
        foreach (var format in Formats)
            if (MapWriters.ForFormat(format ?? "") is null)
                throw new ArgumentException($"Unknown map format '{format}' (MapRequest.Formats); known formats: {string.Join(", ", KnownFormats)}.");
        if (QueueCapacity <= 0) throw new ArgumentException($"MapRequest.QueueCapacity must be positive, got {QueueCapacity}.");
        if (!Enum.IsDefined(RasterType)) throw new ArgumentException($"MapRequest.RasterType {(int)RasterType} is not a known encoding.");
        if (RasterType == EmbeddingRasterType.Float16 && Math.Abs(NoDataValue) > 65504f)
            throw new ArgumentException($"MapRequest.NoDataValue {NoDataValue} cannot be stored as float16 (beyond ±65504).");
        if (!float.IsFinite(NoDataValue)) throw new ArgumentException($"MapRequest.NoDataValue must be finite, got {NoDataValue}.");
        if (CloudMaskPath is not null && (CloudMaskValues is null || CloudMaskValues.Count == 0))
            throw new ArgumentException("MapRequest.CloudMaskValues is empty although a cloud mask is given.");
        if (RoiCrs is not null && Roi is null) throw new ArgumentException("MapRequest.RoiCrs is set without a Roi.");
        if (!Enum.IsDefined(OnMismatch)) throw new ArgumentException($"MapRequest.OnMismatch {(int)OnMismatch} is not a known choice.");
    }
}

/// <summary>
/// Progress of a map run. The counts add up: <c>Completed = Embedded + Skipped + Failed + Resumed</c> and <c>Completed ≤ Total</c>.
/// </summary>
/// <param name="Completed">Tiles finished so far (embedded, skipped or failed in this run, or resumed).</param>
/// <param name="Total">Tiles in the ROI.</param>
/// <param name="Skipped">Tiles this run found nodata (too few valid pixels).</param>
/// <param name="Failed">Tiles this run could not read or embed (kept pending; a rerun retries them).</param>
/// <param name="Resumed">Tiles taken from a previous interrupted run (embedded or nodata there).</param>
/// <remarks>Immutable; thread-safe.</remarks>
public sealed record MapProgress(int Completed, int Total, int Skipped, int Failed, int Resumed)
{
    /// <summary>Tiles this run embedded.</summary>
    public int Embedded => Completed - Skipped - Failed - Resumed;
}

/// <summary>
/// Some tiles of a map run could not be read or embedded: no final output was written (it would not be complete), the finished
/// tiles are kept in the resume state, and a rerun retries the failed ones.
/// </summary>
/// <remarks>Immutable; thread-safe.</remarks>
public sealed class MapIncompleteException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="progress">Final counts of the run.</param>
    /// <param name="reasons">Why tiles failed: one reason per entry with its tile count.</param>
    public MapIncompleteException(MapProgress progress, IReadOnlyList<(string Reason, int Tiles)> reasons)
        : base(Describe(progress, reasons))
    {
        Progress = progress;
        Reasons = reasons;
    }

    /// <summary>Final counts of the run.</summary>
    public MapProgress Progress { get; }

    /// <summary>Why tiles failed, grouped: the reason and how many tiles it hit.</summary>
    public IReadOnlyList<(string Reason, int Tiles)> Reasons { get; }

    private static string Describe(MapProgress p, IReadOnlyList<(string Reason, int Tiles)> reasons) =>
        FormattableString.Invariant($"{p.Failed} of {p.Total} tiles failed, so no final output was written; the {p.Completed - p.Failed} finished tiles are kept and a re-run retries the failed ones. Why:")
        + string.Concat(reasons.Select(r => FormattableString.Invariant($"\n  {r.Tiles} tile(s): {r.Reason}")));
}

/// <summary>The result of a map run: the final counts and the outputs written.</summary>
/// <param name="Progress">Final counts.</param>
/// <param name="Rows">Tile rows of the map.</param>
/// <param name="Columns">Tile columns of the map.</param>
/// <param name="EmbeddingDim">Embedding length.</param>
/// <param name="Outputs">The files written, each with its format and role, in the order written.</param>
/// <remarks>Immutable; thread-safe.</remarks>
public sealed record MapResult(MapProgress Progress, int Rows, int Columns, int EmbeddingDim, IReadOnlyList<MapOutput> Outputs)
{
    /// <summary>The paths of <see cref="Outputs"/>.</summary>
    public IReadOnlyList<string> Files => [.. Outputs.Select(o => o.Path)];
}

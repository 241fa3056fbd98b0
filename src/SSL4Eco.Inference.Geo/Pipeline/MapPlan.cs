using System.Globalization;
using Microsoft.Extensions.Logging;
using SSL4Eco.Inference.Embedding;
using SSL4Eco.Gdal;
using SSL4Eco.Inference.Geo.Outputs;
using SSL4Eco.Inference.Geo.Tiling;
using SSL4Eco.Inference.Models;

namespace SSL4Eco.Inference.Geo.Pipeline;

/// <summary>
/// What a map run will do, decided once before any tile is read: the tile grid and the ROI's tiles, the input's bands and
/// date, the facts a resumed run must share (the resume fingerprint), the output metadata and the writers asked for. Shared
/// by single-date maps (<see cref="ForRaster"/>) and the aggregate of several dates (<see cref="ForDates"/>).
/// </summary>
/// <remarks>Immutable after construction; thread-safe.</remarks>
internal sealed class MapPlan
{
    private MapPlan(MapRequest request, TileGrid grid, string projectionWkt, IReadOnlyList<Tile> tiles, ISet<int> tileIndices,
        IReadOnlyDictionary<string, string> metadata)
    {
        Request = request;
        Grid = grid;
        ProjectionWkt = projectionWkt;
        Tiles = tiles;
        TileIndices = tileIndices;
        Metadata = metadata;
    }

    public MapRequest Request { get; }
    public TileGrid Grid { get; }
    public string ProjectionWkt { get; }

    /// <summary>The tiles to map (inside the ROI), row-major (single-date plans).</summary>
    public IReadOnlyList<Tile> Tiles { get; }

    /// <summary>Indices (<see cref="Index"/>) of the tiles the outputs hold: the ROI's, or the whole grid's for several dates.</summary>
    public ISet<int> TileIndices { get; }

    /// <summary>Tiles of the whole grid (<see cref="Tiles"/> plus the ones outside the ROI).</summary>
    public int GridTiles => Grid.Rows * Grid.Columns;

    /// <summary>Band names of the input in file order (single-date plans).</summary>
    public IReadOnlyList<string> BandNames { get; private init; } = [];

    /// <summary>Acquisition date of the input (single-date plans).</summary>
    public DateOnly? Date { get; private init; }

    /// <summary>What a resumed run must share with the run that left the state (single-date plans).</summary>
    public IReadOnlyDictionary<string, string> Facts { get; private init; } = new Dictionary<string, string>();

    /// <summary>Metadata every output records.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The tile size of <paramref name="request"/> for <paramref name="contract"/>: the one place that defaults it to the model's input size.</summary>
    public static int TileSize(MapRequest request, ModelContract contract) => request.TileSize ?? contract.InputSize;

    /// <summary>The software named in output metadata.</summary>
    public static string Software => "SSL4Eco.NET " + EmbeddingMapper.SoftwareVersion;

    /// <summary>The index of <paramref name="tile"/> in row-major grid order (state, tables).</summary>
    public int Index(Tile tile) => tile.Row * Grid.Columns + tile.Col;

    /// <summary>The writers <see cref="MapRequest.Formats"/> asks for, in registry order.</summary>
    public static IEnumerable<IMapWriter> WritersFor(IReadOnlyList<string> formats) => MapWriters.For(formats);

    /// <summary>Plans the map of one raster: probes bands and date, reprojects the ROI, lays the grid, refuses an empty ROI.</summary>
    public static MapPlan ForRaster(MapRequest request, IEmbeddingModel model, ILogger logger)
    {
        int tileSize = TileSize(request, model.Contract);
        TileGrid grid;
        string wkt;
        string[] bandNames;
        DateOnly? date;
        bool harmonized;
        using (var probe = new TileReader(request, model.Recipe))
        {
            bandNames = [.. probe.BandNames];
            date = probe.Date;
            harmonized = model.Recipe.Harmonizes(probe.ProcessingBaseline);
        }
        using (var ds = GdalDataset.Open(request.InputPath))
        {
            wkt = ds.ProjectionWkt;
            grid = TileGrid.For(ds, tileSize, request.Stride, request.RoiWindow, Roi(request, ds));
        }
        var tiles = grid.Tiles().ToList();
        if (tiles.Count == 0) throw new ArgumentException(NoOverlap(request, grid));
        if (request.CloudMaskPath is not null) CloudMask.EnsureCovers(request.CloudMaskPath, request.InputPath, tiles);
        if (grid.Coverage.Width < grid.RasterWidth || grid.Coverage.Height < grid.RasterHeight)
            logger.LogInformation("The tiles cover {Width} x {Height} of the {RasterWidth} x {RasterHeight} pixels: the last columns/rows, less than one stride, are left out (a stride dividing size - tile covers all).",
                grid.Coverage.Width, grid.Coverage.Height, grid.RasterWidth, grid.RasterHeight);
        if (tiles.Count > MapRequest.ManyTiles)
            logger.LogWarning("{Tiles} tiles of {Tile} px (stride {Stride}) to embed: this takes long; a larger --tile/--stride or an --roi makes fewer.",
                tiles.Count, grid.TileSize, grid.Stride);
        var recipe = model.Recipe with { InputBands = bandNames };
        var facts = new Dictionary<string, string>(recipe.ToMetadata(), StringComparer.Ordinal)
        {
            ["input.path"] = Path.GetFullPath(request.InputPath),
            ["input.identity"] = MapState.InputIdentity(request.InputPath),
            ["cloud_mask.identity"] = request.CloudMaskPath is null ? "none" : MapState.InputIdentity(request.CloudMaskPath),
            ["cloud_mask.values"] = string.Join(',', request.CloudMaskValues),
            ["grid"] = FormattableString.Invariant($"{grid.RasterWidth}x{grid.RasterHeight} tile {grid.TileSize} stride {grid.Stride} {grid.Rows}x{grid.Columns} ({tiles.Count} tiles)"),
            ["min_valid_fraction"] = request.MinValidFraction.ToString("R", CultureInfo.InvariantCulture),
            ["roi"] = FormattableString.Invariant($"{request.Roi} {request.RoiCrs} {request.RoiWindow}"),
        };
        facts.Remove("ssl4eco.recipe_sha256"); // the items themselves are compared, so a mismatch names what differs
        var md = new Dictionary<string, string>(recipe.ToMetadata())
        {
            ["ssl4eco.tile_size"] = grid.TileSize.ToString(CultureInfo.InvariantCulture),
            ["ssl4eco.stride"] = grid.Stride.ToString(CultureInfo.InvariantCulture),
            ["ssl4eco.harmonized"] = harmonized ? "true" : "false",
            ["ssl4eco.min_valid_fraction"] = request.MinValidFraction.ToString("R", CultureInfo.InvariantCulture),
            ["ssl4eco.software"] = Software,
        };
        if (date is not null) md["ssl4eco.date"] = date.Value.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        return new MapPlan(request, grid, wkt, tiles, tiles.Select(t => t.Row * grid.Columns + t.Col).ToHashSet(), md) { BandNames = bandNames, Date = date, Facts = facts };
    }

    /// <summary>Plans the aggregate of several dates of one grid (every tile of the grid; <paramref name="dates"/> in date order).</summary>
    public static MapPlan ForDates(MapRequest request, IReadOnlyList<DatedInput> dates, DateAggregation aggregation, IEmbeddingModel model)
    {
        TileGrid grid;
        string wkt;
        using (var ds = GdalDataset.Open(dates[0].Path))
        {
            wkt = ds.ProjectionWkt;
            grid = TileGrid.For(ds, TileSize(request, model.Contract), request.Stride, request.RoiWindow);
        }
        var md = new Dictionary<string, string>(model.Recipe.ToMetadata())
        {
            ["ssl4eco.dates"] = string.Join(',', dates.Select(i => i.Date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture))),
            ["ssl4eco.date_aggregation"] = aggregation.ToString().ToLowerInvariant(),
            ["ssl4eco.software"] = Software,
        };
        return new MapPlan(request, grid, wkt, [], Enumerable.Range(0, grid.Rows * grid.Columns).ToHashSet(), md);
    }

    /// <summary>The map of this plan's grid with these values, for the writers.</summary>
    public EmbeddingMap Map(int dim, IEmbeddingValues values, double[] validFraction, bool[] isNoData, DateOnly? date) =>
        new(Grid, ProjectionWkt, dim, values, validFraction, isNoData, Request.NoDataValue, BandNames, date, new Dictionary<string, string>(Metadata));

    /// <summary>Writes <paramref name="map"/> in every format <see cref="MapRequest.Formats"/> asks for; returns the files written.</summary>
    public async Task<IReadOnlyList<MapOutput>> WriteAsync(EmbeddingMap map, CancellationToken cancellationToken)
    {
        var written = new List<MapOutput>();
        var options = new MapWriteOptions(Request.RasterType, TileIndices);
        foreach (var writer in WritersFor(Request.Formats))
            written.AddRange(await writer.WriteAsync(Request.OutputPrefix, map, options, cancellationToken).ConfigureAwait(false));
        return written;
    }

    private static NetTopologySuite.Geometries.Geometry? Roi(MapRequest request, GdalDataset ds)
    {
        if (request.Roi is null) return null;
        var roi = TileGrid.ParseRoi(request.Roi);
        if (request.RoiCrs is null) return roi;
        using var from = GdalSpatialReference.FromUserInput(request.RoiCrs);
        using var to = ds.SpatialReference
            ?? throw new ArgumentException($"MapRequest.RoiCrs is set but '{request.InputPath}' has no CRS to reproject the ROI into.");
        return TileGrid.Reproject(roi, from, to);
    }

    private static string NoOverlap(MapRequest request, TileGrid grid)
    {
        var t = grid.Transform;
        double x1 = t.OriginX + grid.RasterWidth * t.PixelWidth, y1 = t.OriginY + grid.RasterHeight * t.PixelHeight;
        return FormattableString.Invariant(
            $"The ROI does not overlap '{request.InputPath}' ({grid.RasterWidth} x {grid.RasterHeight} pixels; extent x {Math.Min(t.OriginX, x1):0.###} to {Math.Max(t.OriginX, x1):0.###}, y {Math.Min(t.OriginY, y1):0.###} to {Math.Max(t.OriginY, y1):0.###} in the raster CRS); give an ROI inside it.");
    }
}

namespace SSL4Eco.Inference.Geo.Outputs;

/// <summary>What a written map file holds.</summary>
public enum MapOutputRole
{
    /// <summary>The embeddings as a georeferenced raster (COG), the input of previews, predictions and similarity maps.</summary>
    EmbeddingRaster,
    /// <summary>The embeddings in another form (npy array, GeoParquet table).</summary>
    Embeddings,
    /// <summary>The per-pixel scale raster of an int8 embedding raster.</summary>
    Scale,
    /// <summary>The valid fraction of every tile.</summary>
    ValidFraction,
    /// <summary>A sidecar describing grid, CRS and run (e.g. the npy map's JSON).</summary>
    Metadata,
}

/// <summary>One file a map run wrote: the writer's format, what the file holds, and its path.</summary>
/// <param name="Format">The writer's format name (<c>cog</c>, <c>npy</c>, <c>geoparquet</c>).</param>
/// <param name="Role">What the file holds.</param>
/// <param name="Path">The file.</param>
/// <remarks>Immutable; thread-safe.</remarks>
public sealed record MapOutput(string Format, MapOutputRole Role, string Path);

/// <summary>How a map is written: the raster encoding and which tiles a table holds.</summary>
/// <param name="RasterType">Value encoding of raster outputs.</param>
/// <param name="Tiles">Tile indices (row × columns + col) a table holds (the ROI's tiles).</param>
internal sealed record MapWriteOptions(EmbeddingRasterType RasterType, ISet<int> Tiles);

/// <summary>
/// One output format of an embedding map, registered in <see cref="MapWriters"/> under its <see cref="Format"/> name (as
/// image libraries register their codecs): the files it writes next to an output prefix, and how.
/// </summary>
internal interface IMapWriter
{
    /// <summary>Registry key, lower case; also the name of the <c>MapOutputs</c> flag that asks for it.</summary>
    string Format { get; }

    /// <summary>Output file extensions (lower case, with the dot) that ask for this format; the first is the one written.</summary>
    IReadOnlyList<string> Extensions { get; }

    /// <summary>The files a write to <paramref name="prefix"/> creates (checked against the inputs before any work).</summary>
    IReadOnlyList<string> FilesFor(string prefix, EmbeddingRasterType rasterType);

    /// <summary>Writes <paramref name="map"/> next to <paramref name="prefix"/>, each file atomically; returns what it wrote.</summary>
    Task<IReadOnlyList<MapOutput>> WriteAsync(string prefix, EmbeddingMap map, MapWriteOptions options, CancellationToken cancellationToken);
}

/// <summary>
/// The registry of map output formats, keyed by format name and by file extension. Adding a format is one
/// <see cref="IMapWriter"/> (and its line below).
/// </summary>
/// <remarks>Immutable after type initialisation; thread-safe.</remarks>
internal static class MapWriters
{
    /// <summary>Every format, in the order a run writes them.</summary>
    public static IReadOnlyList<IMapWriter> All { get; } = [new CogMapWriter(), new NpyMapWriter(), new GeoParquetMapWriter()];

    /// <summary>The writer registered as <paramref name="format"/> (case-insensitive), or null.</summary>
    public static IMapWriter? ForFormat(string format) =>
        All.FirstOrDefault(w => string.Equals(w.Format, format, StringComparison.OrdinalIgnoreCase));

    /// <summary>The writer of files ending in <paramref name="extension"/> (e.g. <c>.tif</c>, case-insensitive), or null.</summary>
    public static IMapWriter? ForExtension(string extension) =>
        All.FirstOrDefault(w => w.Extensions.Contains(extension.ToLowerInvariant()));

    /// <summary>The extension of every format, by format name, for messages: <c>.tif, .parquet or .npy</c>.</summary>
    public static string DescribeExtensions()
    {
        var first = All.OrderBy(w => w.Format, StringComparer.Ordinal).Select(w => w.Extensions[0]).ToList();
        return string.Join(", ", first.SkipLast(1)) + " or " + first[^1];
    }
}

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
/// image libraries register their codecs): the files it writes next to an output prefix, and how. The registry finds every
/// non-abstract implementation in this assembly with a parameterless constructor, so adding a format is adding its writer.
/// </summary>
internal interface IMapWriter
{
    /// <summary>Registry key, lower case; the name <c>MapRequest.Formats</c> asks for it by.</summary>
    string Format { get; }

    /// <summary>Position in the order a run writes its formats (lower first).</summary>
    int Order { get; }

    /// <summary>Output file extensions (lower case, with the dot) that ask for this format; the first is the one written.</summary>
    IReadOnlyList<string> Extensions { get; }

    /// <summary>The files a write to <paramref name="prefix"/> creates (checked against the inputs before any work).</summary>
    IReadOnlyList<string> FilesFor(string prefix, EmbeddingRasterType rasterType);

    /// <summary>Writes <paramref name="map"/> next to <paramref name="prefix"/>, each file atomically; returns what it wrote.</summary>
    Task<IReadOnlyList<MapOutput>> WriteAsync(string prefix, EmbeddingMap map, MapWriteOptions options, CancellationToken cancellationToken);
}

/// <summary>
/// The registry of map output formats, keyed by format name and by file extension: every <see cref="IMapWriter"/> of this
/// assembly, found by reflection, so adding a format touches only its writer's file.
/// </summary>
/// <remarks>Immutable after type initialisation; thread-safe.</remarks>
internal static class MapWriters
{
    /// <summary>Every format, in the order a run writes them (<see cref="IMapWriter.Order"/>).</summary>
    public static IReadOnlyList<IMapWriter> All { get; } = Discover(typeof(MapWriters).Assembly.GetTypes());

    /// <summary>The format names of <see cref="All"/>, in write order.</summary>
    public static IReadOnlyList<string> Formats { get; } = [.. All.Select(w => w.Format)];

    /// <summary>
    /// One instance of every non-abstract <see cref="IMapWriter"/> among <paramref name="types"/> with a parameterless
    /// constructor, ordered by <see cref="IMapWriter.Order"/> then format name.
    /// </summary>
    /// <exception cref="InvalidOperationException">Two writers share a format name or an extension (case-insensitive).</exception>
    internal static IReadOnlyList<IMapWriter> Discover(IEnumerable<Type> types)
    {
        var writers = types
            .Where(t => typeof(IMapWriter).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false } && t.GetConstructor(Type.EmptyTypes) is not null)
            .Select(t => (IMapWriter)Activator.CreateInstance(t)!)
            .OrderBy(w => w.Order).ThenBy(w => w.Format, StringComparer.Ordinal)
            .ToList();
        Refuse(writers.Select(w => (Key: w.Format, Writer: w)), "format name");
        Refuse(writers.SelectMany(w => w.Extensions.Select(e => (Key: e, Writer: w))), "extension");
        return writers;

        static void Refuse(IEnumerable<(string Key, IMapWriter Writer)> keys, string what)
        {
            foreach (var g in keys.GroupBy(k => k.Key, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1))
                throw new InvalidOperationException($"Map writers {string.Join(" and ", g.Select(k => k.Writer.GetType().Name))} both register the {what} '{g.Key}'; each {what} must belong to one writer.");
        }
    }

    /// <summary>The writer registered as <paramref name="format"/> (case-insensitive), or null.</summary>
    public static IMapWriter? ForFormat(string format) =>
        All.FirstOrDefault(w => string.Equals(w.Format, format, StringComparison.OrdinalIgnoreCase));

    /// <summary>The writer of files ending in <paramref name="extension"/> (e.g. <c>.tif</c>, case-insensitive), or null.</summary>
    public static IMapWriter? ForExtension(string extension) =>
        All.FirstOrDefault(w => w.Extensions.Contains(extension.ToLowerInvariant()));

    /// <summary>The writers <paramref name="formats"/> name (case-insensitive), in write order; unknown names are ignored (see <c>MapRequest.Validate</c>).</summary>
    public static IEnumerable<IMapWriter> For(IEnumerable<string> formats)
    {
        var asked = formats.ToHashSet(StringComparer.OrdinalIgnoreCase);
        return All.Where(w => asked.Contains(w.Format));
    }

    /// <summary>Whether <paramref name="formats"/> names <paramref name="format"/> (case-insensitive).</summary>
    public static bool Asks(IEnumerable<string> formats, string format) => formats.Contains(format, StringComparer.OrdinalIgnoreCase);

    /// <summary><paramref name="formats"/> with <paramref name="format"/> added unless already named.</summary>
    public static IReadOnlyList<string> With(IReadOnlyList<string> formats, string format) =>
        Asks(formats, format) ? formats : [.. formats, format];

    /// <summary>The extension of every format, by format name, for messages: <c>.tif, .parquet or .npy</c>.</summary>
    public static string DescribeExtensions()
    {
        var first = All.OrderBy(w => w.Format, StringComparer.Ordinal).Select(w => w.Extensions[0]).ToList();
        return first.Count == 1 ? first[0] : string.Join(", ", first.SkipLast(1)) + " or " + first[^1];
    }
}

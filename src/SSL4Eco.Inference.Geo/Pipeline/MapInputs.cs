using System.Globalization;
using SSL4Eco.Gdal;
using SSL4Eco.Inference.Geo.Outputs;
using SSL4Eco.Inference.Geo.Rasters;

namespace SSL4Eco.Inference.Geo.Pipeline;

/// <summary>
/// The inputs of a map as a tool or application gives them: folders of rasters, dates from file names, an ROI as text, and
/// the output file whose extension picks the format (from the writers' registry).
/// </summary>
/// <remarks>Stateless; thread-safe.</remarks>
public static class MapInputs
{
    /// <summary>The inputs with each folder replaced by its rasters (<see cref="RasterFiles.InFolder"/>), e.g. one file per date.</summary>
    /// <exception cref="ArgumentException">A folder holds no raster.</exception>
    public static IReadOnlyList<string> ExpandFolders(IEnumerable<string> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var paths = new List<string>();
        foreach (var input in inputs)
        {
            if (!Directory.Exists(input)) { paths.Add(input); continue; }
            var found = RasterFiles.InFolder(input);
            if (found.Count == 0) throw new ArgumentException($"The input folder '{input}' holds no raster ({string.Join(", ", RasterFiles.Extensions)}).");
            paths.AddRange(found);
        }
        return paths;
    }

    /// <summary>
    /// The dated inputs of a multi-date map: the given <paramref name="dates"/> (comma-separated <c>yyyy-MM-dd</c>, one per
    /// path), else the date in each file name (<see cref="AcquisitionDate.FromFileName"/>).
    /// </summary>
    /// <exception cref="ArgumentException">The counts differ, a date is malformed, or a file name holds no date.</exception>
    public static IReadOnlyList<DatedInput> Dated(IReadOnlyList<string> paths, string? dates)
    {
        ArgumentNullException.ThrowIfNull(paths);
        var given = dates?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (given is not null && given.Length != paths.Count)
            throw new ArgumentException($"--dates lists {given.Length} dates for {paths.Count} inputs.");
        return [.. paths.Select((p, i) => new DatedInput(given is not null ? AcquisitionDate.Parse(given[i], "--dates item")
            : AcquisitionDate.FromFileName(p) ?? throw new ArgumentException($"No date (yyyyMMdd) in the file name '{Path.GetFileName(p)}'; give --dates."), p))];
    }

    /// <summary>
    /// An ROI as text: <c>x,y,width,height</c> in pixels, a file holding a WKT/GeoJSON polygon, or the polygon itself; null
    /// or blank = none.
    /// </summary>
    public static (PixelWindow? Window, string? Polygon) ParseRoi(string? roi)
    {
        if (string.IsNullOrWhiteSpace(roi)) return (null, null);
        var parts = roi.Split(',');
        if (parts.Length == 4 && parts.All(p => int.TryParse(p.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out _)))
        {
            var v = parts.Select(p => int.Parse(p.Trim(), CultureInfo.InvariantCulture)).ToArray();
            return (new PixelWindow(v[0], v[1], v[2], v[3]), null);
        }
        return (null, File.Exists(roi) ? File.ReadAllText(roi) : roi);
    }

    /// <summary>The output prefix and format name of a map written to <paramref name="outputPath"/> (<c>map.tif</c> → <c>map</c>, <c>cog</c>).</summary>
    /// <exception cref="ArgumentException">No registered format writes that extension.</exception>
    public static (string Prefix, string Format) Output(string outputPath)
    {
        ArgumentNullException.ThrowIfNull(outputPath);
        var full = Path.GetFullPath(outputPath);
        var ext = Path.GetExtension(full);
        var writer = MapWriters.ForExtension(ext) ?? throw new ArgumentException($"Unknown map output '{ext}' (use {MapWriters.DescribeExtensions()}).");
        return (Path.Combine(Path.GetDirectoryName(full)!, Path.GetFileNameWithoutExtension(full)), writer.Format);
    }

    /// <summary>The embedding raster (COG) among <paramref name="outputs"/>: the last one, i.e. the aggregate of several dates.</summary>
    /// <exception cref="InvalidOperationException">None was written.</exception>
    public static string EmbeddingRaster(IEnumerable<MapOutput> outputs) =>
        outputs.LastOrDefault(o => o.Role == MapOutputRole.EmbeddingRaster)?.Path
        ?? throw new InvalidOperationException("No embedding raster was written (the preview and --head need one).");
}

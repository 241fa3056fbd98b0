namespace SSL4Eco.Inference.Geo.Rasters;

/// <summary>The raster files of a folder, as the CLI and <see cref="Tables.PatchFolderEmbeddings"/> pick them up.</summary>
/// <remarks>Stateless; thread-safe.</remarks>
public static class RasterFiles
{
    /// <summary>Extensions taken as rasters (lower case).</summary>
    public static IReadOnlyList<string> Extensions { get; } = [".tif", ".tiff", ".jp2", ".vrt"];

    /// <summary>
    /// The files of <paramref name="folder"/> (not its subfolders) with a raster extension, sorted by ordinal name; hidden files
    /// (name starting with '.', such as the library's own half-written temporary outputs) are left out.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    public static IReadOnlyList<string> InFolder(string folder)
    {
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"Folder '{folder}' does not exist.");
        return Directory.EnumerateFiles(folder)
            .Where(f => Extensions.Contains(Path.GetExtension(f).ToLowerInvariant()) && !Path.GetFileName(f).StartsWith('.'))
            .OrderBy(f => f, StringComparer.Ordinal).ToList();
    }
}

using SSL4Eco.Inference.Models;
using SSL4Eco.Inference.Preprocessing;
using SSL4Eco.Inference.Quantization;

namespace SSL4Eco.Inference.Geo.Rasters;

/// <summary>
/// Calibration patches for int8 quantisation from raster files: one patch per file, read as <c>embed</c> reads its files
/// (<see cref="PatchReader.ReadValid"/> under <see cref="NoDataPolicy.Default"/>).
/// </summary>
/// <remarks>Stateless and thread-safe.</remarks>
public static class CalibrationPatches
{
    /// <summary>
    /// The calibration of <paramref name="filesOrFolders"/> (see <see cref="Select"/>), read with <paramref name="fileBands"/>
    /// for files without band descriptions, with <paramref name="options"/> (the defaults when null).
    /// </summary>
    /// <exception cref="ArgumentException">Nothing given, a path that does not exist, an empty folder, or <paramref name="count"/> below 1.</exception>
    public static Int8Calibration For(IReadOnlyList<string> filesOrFolders, int? count = null, IReadOnlyList<string>? fileBands = null,
        Int8QuantizationOptions? options = null)
    {
        var files = Select(filesOrFolders, count);
        return new Int8Calibration
        {
            Files = files,
            Read = contract => Read(files, contract, fileBands),
            Options = options ?? Int8QuantizationOptions.Default,
        };
    }

    /// <summary>
    /// The raster files of <paramref name="filesOrFolders"/> (a folder gives its <see cref="RasterFiles.InFolder"/>), as full
    /// paths sorted by ordinal name without duplicates, evenly thinned to <paramref name="count"/> when fewer are wanted.
    /// </summary>
    /// <exception cref="ArgumentException">Nothing given, a path that does not exist, an empty folder, or <paramref name="count"/> below 1.</exception>
    public static IReadOnlyList<string> Select(IReadOnlyList<string> filesOrFolders, int? count = null)
    {
        ArgumentNullException.ThrowIfNull(filesOrFolders);
        if (filesOrFolders.Count == 0)
            throw new ArgumentException("int8 quantisation needs calibration patches: pass --calibration FILES-or-FOLDER (32 or more patches like those you will embed).");
        var files = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var g in filesOrFolders)
        {
            var full = Path.GetFullPath(g);
            if (Directory.Exists(full))
            {
                var inFolder = RasterFiles.InFolder(full);
                if (inFolder.Count == 0)
                    throw new ArgumentException($"calibration folder '{g}' holds no raster files ({string.Join(", ", RasterFiles.Extensions)}); point --calibration at patch files.");
                files.UnionWith(inFolder);
            }
            else if (File.Exists(full)) files.Add(full);
            else throw new ArgumentException($"calibration file '{g}' does not exist; check the path given to --calibration.");
        }
        var all = files.ToList();
        if (count is null || count >= all.Count) return all;
        if (count < 1) throw new ArgumentException($"--count must be at least 1, got {count}.");
        return Enumerable.Range(0, count.Value).Select(i => all[(int)((long)i * all.Count / count.Value)]).ToList();
    }

    /// <summary>Reads each file as one patch with the bands <paramref name="contract"/>'s input recipe reads, lazily, in order.</summary>
    /// <exception cref="InvalidDataException">A file cannot be read as a patch, or is mostly nodata (the message names the file).</exception>
    public static IEnumerable<Patch> Read(IReadOnlyList<string> files, ModelContract contract, IReadOnlyList<string>? fileBands = null)
    {
        ArgumentNullException.ThrowIfNull(files);
        ArgumentNullException.ThrowIfNull(contract);
        foreach (var f in files)
        {
            ValidPatch read;
            try { read = PatchReader.ReadValid(f, NoDataPolicy.Default, fileBands, InputRecipe.For(contract)); }
            catch (Exception e) when (e is not OperationCanceledException) { throw new InvalidDataException($"calibration patch {Path.GetFileName(f)}: {e.Message}", e); }
            yield return read.Patch ?? throw new InvalidDataException(FormattableString.Invariant(
                $"calibration patch '{Path.GetFileName(f)}' is {(1 - read.ValidFraction) * 100:0}% nodata; leave it out of --calibration."));
        }
    }
}

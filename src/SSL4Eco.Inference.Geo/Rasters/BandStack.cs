using System.Globalization;
using System.Security;
using System.Text;
using System.Text.RegularExpressions;
using SSL4Eco.Inference.Files;
using SSL4Eco.Inference.Preprocessing;
using SSL4Eco.Gdal;

namespace SSL4Eco.Inference.Geo.Rasters;

/// <summary>One single-band file of a stack and the band name it holds (e.g. <c>B8A</c> at 20 m).</summary>
/// <param name="Band">Band name.</param>
/// <param name="Path">File (any GDAL path); its first band is used unless <paramref name="SourceBand"/> says otherwise.</param>
/// <param name="SourceBand">1-based band inside the file.</param>
/// <remarks>Immutable; thread-safe.</remarks>
public sealed record BandFile(string Band, string Path, int SourceBand = 1);

/// <summary>
/// Combines single-band files of one date (Sentinel-2 10/20/60 m) into one multi-band raster on the finest grid, by writing a
/// GDAL VRT whose sources use bilinear resampling (as the SSL4Eco training data was resampled). The VRT is an ordinary input
/// for <see cref="PatchReader"/> and the map pipeline: bands carry their names as descriptions. Every file must be north-up,
/// in the same CRS, and cover the reference grid's extent (coarser grids are placed by their geotransform).
/// </summary>
/// <remarks>Stateless and thread-safe.</remarks>
public static partial class BandStack
{
    // Earth Search (AWS) Sentinel-2 COG asset names.
    private static readonly Dictionary<string, string> AssetNames = new(StringComparer.OrdinalIgnoreCase)
    {
        ["coastal"] = "B1", ["blue"] = "B2", ["green"] = "B3", ["red"] = "B4", ["rededge1"] = "B5", ["rededge2"] = "B6",
        ["rededge3"] = "B7", ["nir"] = "B8", ["nir08"] = "B8A", ["nir09"] = "B9", ["cirrus"] = "B10", ["swir16"] = "B11", ["swir22"] = "B12",
    };

    [GeneratedRegex(@"(?:^|[_.\-])(B(?:0?[1-9]|1[0-2]|8A))(?=[_.\-]|$)", RegexOptions.IgnoreCase)]
    private static partial Regex BandToken();

    /// <summary>
    /// The Sentinel-2 band a file holds, from its name: SAFE band files (<c>T32TQM_20240601T101559_B8A_20m.jp2</c>,
    /// <c>…_B02.jp2</c>), plain <c>B02.tif</c>, or Earth Search asset names (<c>red.tif</c>, <c>nir08.tif</c>,
    /// <c>swir16.tif</c>); the canonical name (<c>B2</c>, <c>B8A</c>) or null when the name says none.
    /// </summary>
    public static string? BandFromFileName(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var name = System.IO.Path.GetFileNameWithoutExtension(path);
        var m = BandToken().Matches(name);
        if (m.Count > 0) return BandName.Canonical(m[^1].Groups[1].Value);
        return AssetNames.TryGetValue(name, out var band) ? band : null;
    }

    /// <summary>Band files named by <see cref="BandFromFileName"/>, in the given order.</summary>
    /// <exception cref="ArgumentException">A file name names no band (the message names the file).</exception>
    public static IReadOnlyList<BandFile> FromFileNames(IEnumerable<string> paths)
    {
        ArgumentNullException.ThrowIfNull(paths);
        return paths.Select(p => new BandFile(BandFromFileName(p)
            ?? throw new ArgumentException($"'{System.IO.Path.GetFileName(p)}' names no Sentinel-2 band (e.g. …_B02_10m.jp2, B8A.tif, nir08.tif); give the band names explicitly."), p)).ToList();
    }

    /// <summary>
    /// Band files for <paramref name="paths"/>: named by <paramref name="bands"/> (one per file, in order) or, when null, by
    /// <see cref="BandFromFileName"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The counts differ, or a file name names no band.</exception>
    public static IReadOnlyList<BandFile> Named(IReadOnlyList<string> paths, IReadOnlyList<string>? bands)
    {
        ArgumentNullException.ThrowIfNull(paths);
        if (bands is null) return FromFileNames(paths);
        if (bands.Count != paths.Count) throw new ArgumentException($"--bands names {bands.Count} bands for {paths.Count} files.");
        return [.. paths.Select((p, i) => new BandFile(bands[i], p))];
    }

    /// <summary>
    /// The scene metadata a stack of <paramref name="paths"/> records: <c>PROCESSING_BASELINE</c> when
    /// <paramref name="baseline"/> is given, and <c>DATE</c> (<paramref name="date"/>, else the date the file names agree on).
    /// </summary>
    /// <exception cref="ArgumentException">The baseline is not a number like 04.00, or the file names carry different dates.</exception>
    public static Dictionary<string, string> SceneMetadata(IReadOnlyList<string> paths, string? baseline, DateOnly? date)
    {
        ArgumentNullException.ThrowIfNull(paths);
        var metadata = new Dictionary<string, string>();
        if (baseline is not null)
        {
            if (!double.TryParse(baseline, NumberStyles.Float, CultureInfo.InvariantCulture, out _)) throw new ArgumentException($"--baseline '{baseline}' is not a processing baseline like 04.00.");
            metadata["PROCESSING_BASELINE"] = baseline;
        }
        var dates = date is not null ? [date] : paths.Select(AcquisitionDate.FromFileName).Distinct().ToList();
        if (dates is [{ } only]) metadata["DATE"] = AcquisitionDate.ToText(only);
        else if (dates.Count(d => d is not null) > 1)
            throw new ArgumentException($"The file names carry different dates ({string.Join(", ", dates.OfType<DateOnly>().Select(AcquisitionDate.ToText))}); a stack is one date.");
        return metadata;
    }

    /// <summary>
    /// Writes <paramref name="vrtPath"/> stacking <paramref name="files"/> in the given order on the grid of the finest file
    /// (or of <paramref name="referenceGridPath"/>); returns the path. Throws <see cref="ArgumentException"/> for mismatching CRS,
    /// rotated grids or duplicated band names, <see cref="GdalException"/> when a file cannot be opened.
    /// </summary>
    /// <param name="files">Band files.</param>
    /// <param name="vrtPath">Output VRT path (a file, or <c>/vsimem/…</c>).</param>
    /// <param name="referenceGridPath">Raster defining the target grid; null = the file with the smallest pixel size.</param>
    /// <param name="metadata">Dataset metadata to record (e.g. PROCESSING_BASELINE, DATE).</param>
    public static string WriteVrt(IReadOnlyList<BandFile> files, string vrtPath, string? referenceGridPath = null,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(files);
        ArgumentException.ThrowIfNullOrEmpty(vrtPath);
        Files.OutputGuard.Check(files.Select(f => (string?)f.Path).Append(referenceGridPath), [vrtPath]);
        if (files.Count == 0) throw new ArgumentException("A band stack needs at least one band file.", nameof(files));
        var dup = files.GroupBy(f => f.Band, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null) throw new ArgumentException($"Band '{dup.Key}' is given twice in the stack.", nameof(files));

        var infos = files.Select(f =>
        {
            using var ds = GdalDataset.Open(f.Path);
            if (f.SourceBand < 1 || f.SourceBand > ds.BandCount) throw new ArgumentException($"'{f.Path}' has no band {f.SourceBand}.");
            var gt = ds.GeoTransform ?? throw new ArgumentException($"'{f.Path}' has no geotransform; cannot place it on the stack grid.");
            if (gt.RowRotation != 0 || gt.ColumnRotation != 0) throw new ArgumentException($"'{f.Path}' has a rotated geotransform; only north-up grids can be stacked.");
            var b = ds.Band(f.SourceBand);
            return (File: f, Gt: gt, W: ds.Width, H: ds.Height, Wkt: ds.ProjectionWkt, NoData: b.NoData);
        }).ToList();

        GeoTransform refGt;
        int refW, refH;
        string refWkt;
        if (referenceGridPath is not null)
        {
            using var r = GdalDataset.Open(referenceGridPath);
            refGt = r.GeoTransform ?? throw new ArgumentException($"Reference grid '{referenceGridPath}' has no geotransform.");
            (refW, refH, refWkt) = (r.Width, r.Height, r.ProjectionWkt);
        }
        else
        {
            var finest = infos.OrderBy(i => Math.Abs(i.Gt.PixelWidth)).First();
            (refGt, refW, refH, refWkt) = (finest.Gt, finest.W, finest.H, finest.Wkt);
        }
        if (refWkt.Length > 0)
        {
            using var refSrs = GdalSpatialReference.FromUserInput(refWkt);
            foreach (var i in infos.Where(i => i.Wkt.Length > 0))
            {
                using var s = GdalSpatialReference.FromUserInput(i.Wkt);
                if (!refSrs.IsSame(s)) throw new ArgumentException($"'{i.File.Path}' is in a different CRS than the stack grid; reproject it first (gdalwarp).");
            }
        }

        static string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"<VRTDataset rasterXSize=\"{refW}\" rasterYSize=\"{refH}\">\n");
        if (refWkt.Length > 0) sb.Append("  <SRS>").Append(SecurityElement.Escape(refWkt)).Append("</SRS>\n");
        sb.Append("  <GeoTransform>").Append(string.Join(", ", refGt.ToArray().Select(F))).Append("</GeoTransform>\n");
        if (metadata is { Count: > 0 })
        {
            sb.Append("  <Metadata>\n");
            foreach (var (k, v) in metadata) sb.Append("    <MDI key=\"").Append(SecurityElement.Escape(k)).Append("\">").Append(SecurityElement.Escape(v)).Append("</MDI>\n");
            sb.Append("  </Metadata>\n");
        }
        for (int n = 0; n < infos.Count; n++)
        {
            var i = infos[n];
            double xOff = (i.Gt.OriginX - refGt.OriginX) / refGt.PixelWidth, yOff = (i.Gt.OriginY - refGt.OriginY) / refGt.PixelHeight;
            double xSize = i.W * i.Gt.PixelWidth / refGt.PixelWidth, ySize = i.H * i.Gt.PixelHeight / refGt.PixelHeight;
            sb.Append(CultureInfo.InvariantCulture, $"  <VRTRasterBand dataType=\"Float32\" band=\"{n + 1}\">\n");
            sb.Append("    <Description>").Append(SecurityElement.Escape(i.File.Band)).Append("</Description>\n");
            if (i.NoData is { } nd) sb.Append("    <NoDataValue>").Append(F(nd)).Append("</NoDataValue>\n");
            sb.Append("    <ComplexSource resampling=\"bilinear\">\n");
            sb.Append("      <SourceFilename relativeToVRT=\"0\">").Append(SecurityElement.Escape(Path.GetFullPathIfFile(i.File.Path))).Append("</SourceFilename>\n");
            sb.Append(CultureInfo.InvariantCulture, $"      <SourceBand>{i.File.SourceBand}</SourceBand>\n");
            sb.Append(CultureInfo.InvariantCulture, $"      <SrcRect xOff=\"0\" yOff=\"0\" xSize=\"{i.W}\" ySize=\"{i.H}\" />\n");
            sb.Append($"      <DstRect xOff=\"{F(xOff)}\" yOff=\"{F(yOff)}\" xSize=\"{F(xSize)}\" ySize=\"{F(ySize)}\" />\n");
            if (i.NoData is { } snd) sb.Append("      <NODATA>").Append(F(snd)).Append("</NODATA>\n");
            sb.Append("    </ComplexSource>\n  </VRTRasterBand>\n");
        }
        sb.Append("</VRTDataset>\n");
        var xml = sb.ToString();
        if (vrtPath.StartsWith("/vsi", StringComparison.Ordinal))
        {
            // Let GDAL write virtual paths: open the XML text itself and copy it with the VRT driver.
            using var src = GdalDataset.Open(xml);
            using var _ = src.CreateCopy("VRT", vrtPath);
            return vrtPath;
        }
        AtomicFile.WriteText(vrtPath, xml);
        return vrtPath;
    }

    private static class Path
    {
        public static string GetFullPathIfFile(string p) => p.StartsWith("/vsi", StringComparison.Ordinal) ? p : System.IO.Path.GetFullPath(p);
    }
}

using SSL4Eco.Inference.Files;
using System.Globalization;
using SSL4Eco.Inference.Geo.Gdal;

namespace SSL4Eco.Inference.Geo.Outputs;

/// <summary>
/// Writes an embedding map as a float32, DEFLATE-compressed, tiled Cloud-Optimised GeoTIFF (GDAL COG driver): one band per
/// dimension named <c>emb_0000…</c>, nodata on every band, the model contract and run facts as dataset metadata, and the tile
/// grid's output geotransform (input origin, pixel size = stride × input pixel size) in the input CRS. GDAL 3.6 has no Float16
/// data type, so float32 is the only encoding.
/// </summary>
internal static class CogMapWriter
{
    public static string Write(string path, EmbeddingMap map)
    {
        int rows = map.Rows, cols = map.Columns, dim = map.Dim, n = rows * cols;
        var bandMajor = new float[(long)dim * n];
        for (int t = 0; t < n; t++)
            for (int d = 0; d < dim; d++) bandMajor[(long)d * n + t] = map.Values[(long)t * dim + d];
        using var mem = GdalDataset.Create("MEM", "", cols, rows, dim, GdalDataType.Float32);
        mem.GeoTransform = map.Grid.OutputTransform;
        if (map.ProjectionWkt.Length > 0) mem.ProjectionWkt = map.ProjectionWkt;
        for (int d = 0; d < dim; d++)
        {
            var b = mem.Band(d + 1);
            b.Description = BandName(d);
            b.NoData = map.NoDataValue;
        }
        foreach (var (k, v) in map.Metadata) mem.SetMetadataItem(k, v);
        mem.Write(new PixelWindow(0, 0, cols, rows), bandMajor);
        var options = new Dictionary<string, string>
        {
            ["COMPRESS"] = "DEFLATE",
            ["BLOCKSIZE"] = BlockSize(rows, cols, dim).ToString(CultureInfo.InvariantCulture),
            ["OVERVIEWS"] = "NONE",
            ["NUM_THREADS"] = "1",
        };
        return AtomicFile.WriteVia(path, tmp => { using var _ = mem.CreateCopy("COG", tmp, options); });
    }

    /// <summary>
    /// COG blocks are pixel-interleaved, so one block holds every band: with 2048 bands a 256-pixel block is 512 MiB of
    /// memory and work. The block side is the largest multiple of 16 (at most 256, at most the map's size rounded up to 16)
    /// whose all-band block stays within 16 MiB.
    /// </summary>
    internal static int BlockSize(int rows, int cols, int dim)
    {
        const long budget = 16L << 20;
        int fit = (int)Math.Sqrt(budget / (4.0 * Math.Max(1, dim)));
        int needed = (Math.Max(rows, cols) + 15) / 16 * 16;
        return Math.Clamp(Math.Min(fit / 16 * 16, needed), 16, 256);
    }

    public static string BandName(int d) => "emb_" + d.ToString("D4", CultureInfo.InvariantCulture);
}

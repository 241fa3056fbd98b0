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
            ["BLOCKSIZE"] = "256",
            ["OVERVIEWS"] = "NONE",
            ["NUM_THREADS"] = "1",
        };
        return AtomicOutput.Write(path, tmp => { using var _ = mem.CreateCopy("COG", tmp, options); });
    }

    public static string BandName(int d) => "emb_" + d.ToString("D4", CultureInfo.InvariantCulture);
}

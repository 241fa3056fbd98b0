using NetTopologySuite.Geometries;
using NetTopologySuite.IO;
using Parquet;

namespace SSL4Eco.Inference.Geo.Tests.Outputs;

/// <summary>Reads the tile rows of a GeoParquet map (row, col, WKB footprint) with Parquet.Net; also compiled into the CLI tests.</summary>
internal static class GeoParquetRows
{
    public static async Task<List<(int Row, int Col, Geometry Footprint)>> ReadAsync(string path)
    {
        await using var stream = File.OpenRead(path);
        await using var reader = await ParquetReader.CreateAsync(stream);
        var fields = reader.Schema.GetDataFields();
        var result = new List<(int, int, Geometry)>();
        var wkb = new WKBReader();
        for (int g = 0; g < reader.RowGroupCount; g++)
        {
            using var rg = reader.OpenRowGroupReader(g);
            int n = (int)rg.RowCount;
            var geoms = new byte[]?[n];
            var rows = new int[n];
            var cols = new int[n];
            await rg.ReadAsync(fields[0], geoms.AsMemory(), null);
            await rg.ReadAsync<int>(fields[1], rows.AsMemory(), null);
            await rg.ReadAsync<int>(fields[2], cols.AsMemory(), null);
            for (int i = 0; i < n; i++) result.Add((rows[i], cols[i], wkb.Read(geoms[i]!)));
        }
        return result;
    }
}

using Parquet;

namespace SSL4Eco.Inference.Geo.Tests.Scale;

/// <summary>Every column of GeoParquet map tables, as comparable rows sorted by (row, col, date); also compiled into the CLI tests.</summary>
public static class TableRows
{
    public sealed record TableRow(int Row, int Col, string Wkb, string? Date, double Valid, string Embedding);

    public static async Task<List<TableRow>> ReadAsync(IEnumerable<string> files)
    {
        var rows = new List<TableRow>();
        foreach (var path in files)
        {
            await using var stream = File.OpenRead(path);
            await using var reader = await ParquetReader.CreateAsync(stream);
            var f = reader.Schema.GetDataFields();
            var element = f.First(x => x.Path.ToList().Contains("embedding"));
            for (int g = 0; g < reader.RowGroupCount; g++)
            {
                using var rg = reader.OpenRowGroupReader(g);
                int n = (int)rg.RowCount;
                if (n == 0) continue;
                var geoms = new byte[]?[n]; var r = new int[n]; var c = new int[n]; var d = new string?[n]; var v = new double[n];
                await rg.ReadAsync(f.First(x => x.Name == "geometry"), geoms.AsMemory(), null);
                await rg.ReadAsync<int>(f.First(x => x.Name == "row"), r.AsMemory(), null);
                await rg.ReadAsync<int>(f.First(x => x.Name == "col"), c.AsMemory(), null);
                await rg.ReadAsync(f.First(x => x.Name == "date"), d.AsMemory(), null);
                await rg.ReadAsync<double>(f.First(x => x.Name == "valid_fraction"), v.AsMemory(), null);
                var data = new float[(int)rg.GetMetadata(element)!.MetaData!.NumValues];
                await rg.ReadRawAsync<float>(element, data.AsMemory(), new int[data.Length].AsMemory(), new int[data.Length].AsMemory());
                int dim = data.Length / n;
                for (int i = 0; i < n; i++)
                    rows.Add(new TableRow(r[i], c[i], Convert.ToHexString(geoms[i]!), d[i], v[i],
                        Convert.ToHexString(System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.AsSpan(i * dim, dim)))));
            }
        }
        return [.. rows.OrderBy(x => x.Row).ThenBy(x => x.Col).ThenBy(x => x.Date, StringComparer.Ordinal)];
    }
}

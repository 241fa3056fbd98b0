using SSL4Eco.Inference.Geo.Tiling;

namespace SSL4Eco.Inference.Geo.Outputs;

/// <summary>A finished embedding map in memory: <c>[rows·cols, dim]</c> values with nodata filled, plus grid facts.</summary>
internal sealed record EmbeddingMap(TileGrid Grid, string ProjectionWkt, int Dim, float[] Values, double[] ValidFraction, bool[] IsNoData,
    float NoDataValue, IReadOnlyList<string> InputBands, DateOnly? Date, IReadOnlyDictionary<string, string> Metadata)
{
    public int Rows => Grid.Rows;
    public int Columns => Grid.Columns;
}

/// <summary>Writes a file through a temporary sibling path renamed over the target on success.</summary>
internal static class AtomicOutput
{
    public static string Write(string path, Action<string> write)
    {
        var full = Path.GetFullPath(path);
        var tmp = Path.Combine(Path.GetDirectoryName(full)!, "." + Path.GetFileName(full) + ".tmp-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            write(tmp);
            File.Move(tmp, full, overwrite: true);
            return full;
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    public static async Task<string> WriteAsync(string path, Func<string, Task> write)
    {
        var full = Path.GetFullPath(path);
        var tmp = Path.Combine(Path.GetDirectoryName(full)!, "." + Path.GetFileName(full) + ".tmp-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            await write(tmp).ConfigureAwait(false);
            File.Move(tmp, full, overwrite: true);
            return full;
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }
}

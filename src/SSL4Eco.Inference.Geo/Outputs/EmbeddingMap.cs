using SSL4Eco.Inference.Geo.Tiling;

namespace SSL4Eco.Inference.Geo.Outputs;

/// <summary>
/// Reads a finished embedding map's values in pieces, so writers never hold the whole map (rows × cols × dim floats) in
/// memory: <see cref="Read"/> fills <c>[count, dim]</c> values of consecutive tiles (row-major tile index), nodata tiles
/// holding the nodata value.
/// </summary>
internal interface IEmbeddingValues
{
    void Read(int firstTile, int count, Span<float> destination);
}

/// <summary>Values held in an array <c>[tiles, dim]</c> (small maps and tests).</summary>
internal sealed class ArrayEmbeddingValues(float[] values, int dim) : IEmbeddingValues
{
    public void Read(int firstTile, int count, Span<float> destination) =>
        values.AsSpan((int)((long)firstTile * dim), count * dim).CopyTo(destination);
}

/// <summary>A finished embedding map: values readable in pieces, plus grid facts, validity and run metadata.</summary>
internal sealed record EmbeddingMap(TileGrid Grid, string ProjectionWkt, int Dim, IEmbeddingValues Values, double[] ValidFraction, bool[] IsNoData,
    float NoDataValue, IReadOnlyList<string> InputBands, DateOnly? Date, IReadOnlyDictionary<string, string> Metadata)
{
    public int Rows => Grid.Rows;
    public int Columns => Grid.Columns;

    /// <summary>How many tiles to read per piece so a piece stays near <paramref name="bytes"/> (at least one tile).</summary>
    public int TilesPerPiece(long bytes = 8L << 20) => (int)Math.Clamp(bytes / (4L * Dim), 1, Math.Max(1, Rows * Columns));
}

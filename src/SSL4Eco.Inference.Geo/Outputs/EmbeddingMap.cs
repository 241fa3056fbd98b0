using SSL4Eco.Inference.Geo.Tiling;

namespace SSL4Eco.Inference.Geo.Outputs;

/// <summary>A finished embedding map in memory: <c>[rows·cols, dim]</c> values with nodata filled, plus grid facts.</summary>
internal sealed record EmbeddingMap(TileGrid Grid, string ProjectionWkt, int Dim, float[] Values, double[] ValidFraction, bool[] IsNoData,
    float NoDataValue, IReadOnlyList<string> InputBands, DateOnly? Date, IReadOnlyDictionary<string, string> Metadata)
{
    public int Rows => Grid.Rows;
    public int Columns => Grid.Columns;
}


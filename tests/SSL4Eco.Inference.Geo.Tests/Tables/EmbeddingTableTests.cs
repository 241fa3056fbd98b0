using SSL4Eco.Inference.Geo.Tables;
using SSL4Eco.Inference.Heads;

namespace SSL4Eco.Inference.Geo.Tests.Tables;

/// <summary>What <c>embed</c> and <c>probe</c> ask of an <see cref="EmbeddingTable"/>: format check, head predictions, probe sets.</summary>
public sealed class EmbeddingTableTests
{
    private static readonly EmbeddingTable Table = new(["a", "b", "c"], [1, 0, 0, 1, 2, 2], 2);

    [Theory]
    [InlineData("e.npy")]
    [InlineData("e.CSV")]
    [InlineData("dir/e.parquet")]
    public void CheckFormat_accepts_what_WriteAsync_writes(string path) => EmbeddingTable.CheckFormat(path);

    [Fact]
    public void CheckFormat_names_the_file_and_the_formats()
    {
        var e = Assert.Throws<ArgumentException>(() => EmbeddingTable.CheckFormat("/x/e.tif"));
        Assert.Equal("cannot write 'e.tif': unknown table format '.tif' (use .npy, .csv or .parquet).", e.Message);
    }

    [Fact]
    public void Predict_keeps_the_ids_and_refuses_a_head_of_another_dimension()
    {
        // y = 2 x0 - x1 + 1 (regression, no standardisation): rows (1,0) (0,1) (2,2) give 3, 0, 3.
        var head = new LinearHead(TaskType.Regression, 2, [2f, -1f], [1f], ["y"]);
        var predicted = Table.Predict(head);
        Assert.Equal(Table.Ids, predicted.Ids);
        Assert.Equal(1, predicted.Dimension);
        Assert.Equal([3f, 0f, 3f], predicted.Values);
        var wrong = new LinearHead(TaskType.Regression, 3, [1f, 1f, 1f], [0f]);
        var e = Assert.Throws<ArgumentException>(() => Table.Predict(wrong));
        Assert.Equal("The head takes 3-d embeddings; the model gives 2. Use a head trained on this model's embeddings.", e.Message);
    }

    [Fact]
    public void ToEmbeddingSet_keeps_ids_only_when_they_name_samples()
    {
        Assert.Equal(["a", "b", "c"], Table.ToEmbeddingSet("t").Ids!);
        var rows = new EmbeddingTable(["0", "1", "2"], [1, 0, 0, 1, 2, 2], 2) { IdsAreRowNumbers = true };
        var set = rows.ToEmbeddingSet("r");
        Assert.Null(set.Ids);
        Assert.Equal(("r", 3, 2), (set.Name, set.Count, set.Dim));
    }
}

using System.CommandLine;
using System.Globalization;
using SSL4Eco.Inference.Geo.Rasters;
using SSL4Eco.Inference.Geo.Tables;
using SSL4Eco.Inference.Similarity;

namespace SSL4Eco.Cli.Commands;

/// <summary><c>ssl4eco search --index EMB --query (id | patch file | row:N) --top 20</c>: cosine top-k.</summary>
internal static class SearchCommand
{
    public static Command Create()
    {
        var index = new Option<FileInfo>("--index") { Description = "Embedding table (.parquet from 'map'/'embed', .npy, .csv).", Required = true };
        var query = new Option<string>("--query") { Description = "A row id of the index (e.g. 'r3_c7' for map tables, a file name for 'embed' tables), 'row:N', or a patch raster to embed with --model.", Required = true };
        var top = new Option<int>("--top") { Description = "How many neighbours.", DefaultValueFactory = _ => 20 };
        var encoder = new EncoderCliOptions();
        var command = new Command("search", "Cosine similarity search over an embedding table.") { index, query, top };
        encoder.AddTo(command);
        command.SetAction((parse, ct) => CliRunner.RunAsync(async token =>
        {
            var table = await EmbeddingTable.ReadAsync(parse.GetValue(index)!.FullName, token).ConfigureAwait(false);
            var idx = new EmbeddingIndex(table.Values, table.Dimension, table.Ids);
            var q = parse.GetValue(query)!;
            int k = parse.GetValue(top);
            Neighbor[] hits;
            if (q.StartsWith("row:", StringComparison.Ordinal) && int.TryParse(q[4..], NumberStyles.Integer, CultureInfo.InvariantCulture, out var rowIndex))
            {
                if (rowIndex < 0 || rowIndex >= table.Rows) throw new ArgumentException($"row {rowIndex} is outside the index (0..{table.Rows - 1}).");
                hits = idx.Search(table.Row(rowIndex), k);
            }
            else if (table.Ids.Contains(q))
                hits = idx.SearchById(q, k);
            else if (File.Exists(q))
            {
                using var model = await encoder.OpenAsync(parse, token).ConfigureAwait(false);
                if (model.Contract.EmbeddingDim != table.Dimension)
                    throw new ArgumentException($"The model embeds to {model.Contract.EmbeddingDim} dims but the index holds {table.Dimension}.");
                hits = idx.Search(model.Embed(QueryPatch.Read(q, model)), k);
            }
            else throw new ArgumentException($"Query '{q}' is neither an id of the index, 'row:N', nor an existing patch file.");
            Console.WriteLine("rank\tsimilarity\tid");
            for (int i = 0; i < hits.Length; i++)
                Console.WriteLine(FormattableString.Invariant($"{i + 1}\t{hits[i].Similarity:F6}\t{hits[i].Id ?? hits[i].Index.ToString(CultureInfo.InvariantCulture)}"));
            return 0;
        }, ct));
        return command;
    }
}

using SSL4Eco.Inference.Embedding;
using SSL4Eco.Inference.Geo.Rasters;
using SSL4Eco.Inference.Preprocessing;

namespace SSL4Eco.Cli.Commands;

/// <summary>A query patch of 'similarity' and 'search', read under the nodata policy of 'embed' and 'map'.</summary>
internal static class QueryPatch
{
    public static Patch Read(string path, IEmbeddingModel model)
    {
        var read = PatchReader.ReadValid(path, NoDataPolicy.Default, recipe: model.Recipe);
        return read.Patch ?? throw new ArgumentException(FormattableString.Invariant(
            $"The query patch '{path}' is {(1 - read.ValidFraction) * 100:0}% nodata (valid fraction {read.ValidFraction:0.###}, at least {NoDataPolicy.Default.MinValidFraction} needed); give a query with valid pixels."));
    }
}

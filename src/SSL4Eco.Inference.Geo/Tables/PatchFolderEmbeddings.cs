using System.Security.Cryptography;
using System.Text;
using SSL4Eco.Inference.Embedding;
using SSL4Eco.Inference.Geo.Rasters;
using SSL4Eco.Inference.Preprocessing;

namespace SSL4Eco.Inference.Geo.Tables;

/// <summary>
/// Embeds a folder of patch rasters (one patch per file, ids = file names) once and caches the table by content hash:
/// the key covers the model's <see cref="IEmbeddingModel.Recipe"/> (contract, the scaling and harmonisation in effect, the
/// weights' hash) and every file's name and SHA-256, so a changed file, another scaling or another model gives a new entry
/// and an unchanged folder is never embedded twice.
/// </summary>
/// <remarks>Stateless; thread-safe (cache entries are written atomically).</remarks>
public static class PatchFolderEmbeddings
{
    /// <summary>Patch file extensions picked up from the folder (<see cref="RasterFiles.Extensions"/>).</summary>
    public static IReadOnlyList<string> Extensions => RasterFiles.Extensions;

    /// <summary>The cache key of a folder for a model's recipe (lower-case hex SHA-256).</summary>
    public static string CacheKey(string folder, InputRecipe recipe)
    {
        ArgumentNullException.ThrowIfNull(recipe);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(Encoding.UTF8.GetBytes(recipe.ToCanonicalText()));
        foreach (var file in Files(folder))
        {
            using var fs = File.OpenRead(file);
            sha.AppendData(Encoding.UTF8.GetBytes(Path.GetFileName(file) + "\n"));
            sha.AppendData(SHA256.HashData(fs));
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    /// <summary>Returns the folder's embeddings, from <paramref name="cacheFolder"/> when present, else computing and caching them.</summary>
    /// <param name="folder">Folder of patch rasters.</param>
    /// <param name="model">The encoder.</param>
    /// <param name="cacheFolder">Where cached tables (<c>KEY.parquet</c>) live.</param>
    /// <param name="bands">Band names for files without band descriptions.</param>
    /// <param name="progress">Files embedded so far.</param>
    /// <param name="cancellationToken">Cancels embedding.</param>
    /// <exception cref="ArgumentException">The folder holds no patch files.</exception>
    public static async Task<EmbeddingTable> GetOrComputeAsync(string folder, IEmbeddingModel model, string cacheFolder,
        IReadOnlyList<string>? bands = null, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        var files = Files(folder);
        if (files.Count == 0)
            throw new ArgumentException($"'{folder}' holds no patch files ({string.Join(", ", Extensions)}).");
        var cached = Path.Combine(cacheFolder, CacheKey(folder, model.Recipe) + ".parquet");
        if (File.Exists(cached)) return await EmbeddingTable.ReadAsync(cached, cancellationToken).ConfigureAwait(false);
        var table = EmbedFiles(files, model, bands, progress: progress, cancellationToken: cancellationToken);
        if (table.Rows == 0) throw new InvalidDataException($"'{folder}': no patch could be embedded.");
        Directory.CreateDirectory(cacheFolder);
        await table.WriteAsync(cached, cancellationToken).ConfigureAwait(false);
        return table;
    }

    /// <summary>
    /// Embeds patch files, one patch each, in batches of <paramref name="batchSize"/>; ids are the file names, rows in the
    /// order given. A file that cannot be read fails with its name in the message. Patches are read under
    /// <paramref name="noData"/> (the policy of map tiles): one with too few valid pixels is added to
    /// <paramref name="skipped"/> and left out of the table, or, without that list, fails the call naming it. A non-finite
    /// embedding (a model with corrupt weights) always fails the call naming the patch.
    /// </summary>
    /// <remarks>
    /// Reading overlaps embedding: <see cref="ComputeBudget.ReaderCount"/> files are read side by side ahead of the encoder
    /// and <see cref="ComputeBudget.EmbedConcurrency"/> batches are embedded side by side (the model must have been opened
    /// for that many callers, e.g. with the budget's <see cref="ComputeBudget.IntraOpThreads"/>); without a budget, the
    /// CPU budget's readers and one batch at a time. Batches hold the same files, rows come in the same order and the first
    /// failure in file order is the one reported, as if the files were read and embedded one batch after the other.
    /// </remarks>
    /// <exception cref="InvalidDataException">A file cannot be read, is mostly nodata (without <paramref name="skipped"/>), or embeds to NaN/∞.</exception>
    public static EmbeddingTable EmbedFiles(IReadOnlyList<string> files, IEmbeddingModel model, IReadOnlyList<string>? bands = null,
        int batchSize = 16, IProgress<int>? progress = null, NoDataPolicy? noData = null, ICollection<ValidPatch>? skipped = null,
        CancellationToken cancellationToken = default, ComputeBudget? budget = null)
    {
        ArgumentNullException.ThrowIfNull(files);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        noData ??= NoDataPolicy.Default;
        noData.Validate();
        budget ??= ComputeBudget.For(ExecutionProvider.Cpu, embedConcurrency: 1);
        return PatchFilePipeline.Run(files, model, bands, batchSize, progress, noData, skipped, budget, cancellationToken);
    }

    private static IReadOnlyList<string> Files(string folder)
    {
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"Patch folder '{folder}' does not exist.");
        return RasterFiles.InFolder(folder);
    }
}

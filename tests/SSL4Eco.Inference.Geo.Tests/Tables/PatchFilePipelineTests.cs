using System.Runtime.InteropServices;
using SSL4Eco.Inference.Embedding;
using SSL4Eco.Inference.Geo.Rasters;
using SSL4Eco.Inference.Geo.Tables;
using SSL4Eco.Inference.Geo.Tests.Pipeline;
using SSL4Eco.Inference.Preprocessing;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Inference.Geo.Tests.Tables;

/// <summary>
/// The staged <see cref="PatchFolderEmbeddings.EmbedFiles"/> (readers and embedders side by side) against the one-by-one
/// implementation it replaced (<see cref="Sequential"/>, kept here verbatim as the reference): same rows, same bytes, same
/// skipped list, same progress, same first error, for several batch sizes and budgets.
/// </summary>
public sealed class PatchFilePipelineTests : IDisposable
{
    // 3-band (B2,B3,B4) uint16 patches of 20..40 px, nodata 0; every 7th is 90 % nodata.
    private const string MakePatches = """
import numpy as np
from osgeo import gdal
folder, n = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(12)
for k in range(n):
    h, w = int(rng.integers(20, 41)), int(rng.integers(20, 41))
    ds = gdal.GetDriverByName('GTiff').Create(f'{folder}/p{k:03d}.tif', w, h, 3, gdal.GDT_UInt16)
    for i in range(3):
        a = rng.integers(1, 5000, size=(h, w)).astype(np.uint16)
        if k % 7 == 3: a[: int(h * 0.95), :] = 0
        b = ds.GetRasterBand(i + 1); b.WriteArray(a); b.SetNoDataValue(0); b.SetDescription(['B2', 'B3', 'B4'][i])
    ds = None
""";

    private readonly TempDir _dir = new();
    private readonly List<string> _files;

    public PatchFilePipelineTests()
    {
        PythonOracle.Run(MakePatches, _dir.Path, "23");
        _files = Directory.GetFiles(_dir.Path, "*.tif").Order(StringComparer.Ordinal).ToList();
    }

    public void Dispose() => _dir.Dispose();

    public static TheoryData<int, int, int> Budgets => new()
    {
        { 1, 1, 1 }, { 3, 1, 1 }, { 3, 2, 3 }, { 8, 2, 2 }, { 5, 3, 4 }, { 32, 2, 2 }, { 1, 4, 8 },
    };

    private static ComputeBudget Budget(int concurrency, int readers) => new(concurrency, 1) { ReaderCount = readers };

    /// <summary>A model whose calls finish in a scrambled order (sleeps vary per call), so only ordering logic keeps rows in place.</summary>
    private static FeatureModel Jittery() => new("B2", "B3", "B4")
    {
        OnCall = (call, _) => Thread.Sleep(call * 7919 % 13),
    };

    [Theory]
    [MemberData(nameof(Budgets))]
    public void Parallel_output_equals_the_one_by_one_output_byte_for_byte(int batch, int concurrency, int readers)
    {
        var seqSkipped = new List<ValidPatch>();
        var seqProgress = new List<int>();
        var expected = Sequential(_files, Jittery(), batch, new InlineProgress<int>(seqProgress.Add), NoDataPolicy.Default, seqSkipped);
        var skipped = new List<ValidPatch>();
        var progress = new List<int>();
        var model = Jittery();
        var actual = PatchFolderEmbeddings.EmbedFiles(_files, model, batchSize: batch, progress: new InlineProgress<int>(progress.Add),
            skipped: skipped, budget: Budget(concurrency, readers));

        Assert.Equal(expected.Ids, actual.Ids);
        Assert.Equal(MemoryMarshal.AsBytes(expected.Values.AsSpan()).ToArray(), MemoryMarshal.AsBytes(actual.Values.AsSpan()).ToArray());
        Assert.Equal(seqSkipped, skipped);
        Assert.Equal(["p003.tif", "p010.tif", "p017.tif"], skipped.Select(s => Path.GetFileName(s.Source!))); // the nodata patches are really in the set
        Assert.Equal(seqProgress, progress);
        Assert.Equal(_files.Count - skipped.Count, model.PatchesEmbedded);
    }

    [Theory]
    [MemberData(nameof(Budgets))]
    public void A_file_that_cannot_be_read_fails_the_call_naming_it_as_one_by_one(int batch, int concurrency, int readers)
    {
        var files = _files.ToList();
        var bad = _dir.File("p011-broken.tif");
        File.WriteAllText(bad, "not a raster");
        files.Insert(11, bad);
        files.Insert(19, _dir.File("p019-missing.tif"));
        var expected = Assert.Throws<InvalidDataException>(() => Sequential(files, Jittery(), batch, null, NoDataPolicy.Default, new List<ValidPatch>()));
        var actual = Assert.Throws<InvalidDataException>(() => PatchFolderEmbeddings.EmbedFiles(files, Jittery(), batchSize: batch,
            skipped: new List<ValidPatch>(), budget: Budget(concurrency, readers)));
        Assert.StartsWith("p011-broken.tif: ", actual.Message);
        Assert.Equal(expected.Message, actual.Message);
    }

    [Theory]
    [MemberData(nameof(Budgets))]
    public void A_nodata_patch_without_a_skip_list_fails_naming_it_as_one_by_one(int batch, int concurrency, int readers)
    {
        var expected = Assert.Throws<InvalidDataException>(() => Sequential(_files, Jittery(), batch, null, NoDataPolicy.Default, null));
        var actual = Assert.Throws<InvalidDataException>(() => PatchFolderEmbeddings.EmbedFiles(_files, Jittery(), batchSize: batch,
            budget: Budget(concurrency, readers)));
        Assert.Contains("'p003.tif'", actual.Message);
        Assert.Equal(expected.Message, actual.Message);
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(4, 2, 3)]
    [InlineData(8, 3, 2)]
    public void A_non_finite_embedding_is_reported_before_a_later_unreadable_file(int batch, int concurrency, int readers)
    {
        var files = _files.ToList();
        files.Add(_dir.File("zz-missing.tif"));
        // The patch 'p005' (the first pixel of its B2 band made NaN by the model) embeds to NaN; a later file cannot be read.
        var key = Key(PatchReader.Read(_files[5]));
        FeatureModel Model() => new("B2", "B3", "B4") { OnCall = (call, patches) => { foreach (var p in patches) if (Key(p) == key) p.Data[0] = float.NaN; } };
        var expected = Assert.Throws<InvalidDataException>(() => Sequential(files, Model(), batch, null, NoDataPolicy.Default, new List<ValidPatch>()));
        var actual = Assert.Throws<InvalidDataException>(() => PatchFolderEmbeddings.EmbedFiles(files, Model(), batchSize: batch,
            skipped: new List<ValidPatch>(), budget: Budget(concurrency, readers)));
        Assert.Contains("non-finite embedding (NaN) for 'p005.tif'", actual.Message);
        Assert.Equal(expected.Message, actual.Message);
    }

    private static (int, int, float, float) Key(Patch p) => (p.Width, p.Height, p.Data[0], p.Data[^1]);

    [Fact]
    public void A_model_error_reaches_the_caller_unchanged()
    {
        var model = new FeatureModel("B2", "B3", "B4") { OnCall = (call, _) => { if (call == 2) throw new ArgumentException("the model refuses batch 2"); } };
        var e = Assert.Throws<ArgumentException>(() => PatchFolderEmbeddings.EmbedFiles(_files, model, batchSize: 4,
            skipped: new List<ValidPatch>(), budget: Budget(2, 2)));
        Assert.Equal("the model refuses batch 2", e.Message);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(3, 4)]
    public void Cancellation_stops_every_stage_before_the_call_returns(int concurrency, int readers)
    {
        using var cts = new CancellationTokenSource();
        var model = new FeatureModel("B2", "B3", "B4") { OnCall = (call, _) => { if (call == 2) cts.Cancel(); Thread.Sleep(5); } };
        var progress = new List<int>();
        Assert.ThrowsAny<OperationCanceledException>(() => PatchFolderEmbeddings.EmbedFiles(_files, model, batchSize: 2,
            progress: new InlineProgress<int>(progress.Add), skipped: new List<ValidPatch>(), cancellationToken: cts.Token, budget: Budget(concurrency, readers)));
        int calls = model.Calls;
        Thread.Sleep(200);
        Assert.Equal(calls, model.Calls); // nothing runs on after the call returned
        Assert.True(calls <= 2 + concurrency, $"{calls} batches embedded after cancelling at the second");
        Assert.True(progress.Count < _files.Count / 2);
    }

    [Fact]
    public void An_already_cancelled_token_embeds_nothing()
    {
        var model = new FeatureModel("B2", "B3", "B4");
        Assert.ThrowsAny<OperationCanceledException>(() => PatchFolderEmbeddings.EmbedFiles(_files, model, skipped: new List<ValidPatch>(),
            cancellationToken: new CancellationToken(true), budget: Budget(2, 2)));
        Assert.Equal(0, model.Calls);
    }

    /// <summary>The implementation before the staged pipeline (commit 35de878), the reference for order, values and errors.</summary>
    private static EmbeddingTable Sequential(IReadOnlyList<string> files, IEmbeddingModel model, int batchSize, IProgress<int>? progress,
        NoDataPolicy noData, ICollection<ValidPatch>? skipped)
    {
        int dim = model.Contract.EmbeddingDim;
        var ids = new List<string>(files.Count);
        var values = new List<float>(files.Count * dim);
        for (int start = 0; start < files.Count; start += batchSize)
        {
            var batch = new List<(string File, Patch Patch)>();
            foreach (var f in files.Skip(start).Take(batchSize))
            {
                ValidPatch read;
                try { read = PatchReader.ReadValid(f, noData, null, model.Recipe); }
                catch (Exception e) when (e is not OperationCanceledException) { throw new InvalidDataException($"{Path.GetFileName(f)}: {e.Message}", e); }
                if (read.Patch is { } p) batch.Add((f, p));
                else if (skipped is not null) skipped.Add(read with { Patch = null, Source = f });
                else throw new InvalidDataException(noData.Refusal(Path.GetFileName(f), read.ValidFraction));
            }
            if (batch.Count > 0)
            {
                var embedded = model.EmbedBatch(batch.Select(b => b.Patch).ToList());
                for (int i = 0; i < batch.Count; i++)
                {
                    var row = embedded.AsSpan(i * dim, dim);
                    foreach (var v in row)
                        if (!float.IsFinite(v))
                            throw new InvalidDataException($"The model returned a non-finite embedding ({v}) for '{Path.GetFileName(batch[i].File)}'; its weights are likely corrupt: re-convert the checkpoint.");
                    ids.Add(Path.GetFileName(batch[i].File));
                    values.AddRange(row);
                }
            }
            progress?.Report(Math.Min(start + batchSize, files.Count));
        }
        return new EmbeddingTable(ids, values.ToArray(), dim);
    }

    private sealed class InlineProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}

using System.Globalization;
using SSL4Eco.Cli.Tests.Commands;
using SSL4Eco.Inference.Arrays;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Cli.Tests.Hostile;

/// <summary>
/// Issue #10, "no silently wrong answers": each class of input that used to give a plausible but wrong result with exit
/// code 0 (bands guessed by position, labels matched by row order, NaN weights, unbounded threads, nodata patches
/// embedded, a scene taken for an embedding map) now gives the right answer or one clear error. Inputs are generated here
/// with GDAL / NumPy / PyTorch.
/// </summary>
[Collection(CliCollection.Name)]
public sealed class WrongAnswerHostileTests(CliModelFixture model) : IClassFixture<CliModelFixture>
{
    private static string Patch(string name) => HostileInputs.Patch(name);

    private string Onnx() => HostileInputs.Onnx(model);

    /// <summary>Writes variants of sample patch 0: band order and descriptions as given (descriptions "" = none), UInt16.</summary>
    private const string BandVariants = """
from osgeo import gdal
import numpy as np, sys, json
src, out, spec = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
ds = gdal.Open(src)
arr = ds.ReadAsArray()
names = [ds.GetRasterBand(i + 1).GetDescription() for i in range(ds.RasterCount)]
order = [names.index(n) for n in spec['order']]
o = gdal.GetDriverByName('GTiff').Create(out, ds.RasterXSize, ds.RasterYSize, len(order), gdal.GDT_UInt16)
o.SetGeoTransform(ds.GetGeoTransform()); o.SetProjection(ds.GetProjection())
for k, i in enumerate(order):
    b = o.GetRasterBand(k + 1)
    b.WriteArray(arr[i])
    if spec['names'][k] != '': b.SetDescription(spec['names'][k])
o = None
""";

    private static readonly string[] Layout = ["B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B11", "B12", "NDVI"];

    private static string Variant(TempDir dir, string name, string[] order, string[] names)
    {
        var path = dir.File(name);
        PythonOracle.Run(BandVariants, Patch("patch_000.tif"), path,
            System.Text.Json.JsonSerializer.Serialize(new { order, names }));
        return path;
    }

    private float[] Embed(TempDir dir, string patch, string outName, params string[] extra)
    {
        var npy = dir.File(outName);
        var (exit, _, err) = CliHarness.Run(["embed", patch, "-m", Onnx(), "-o", npy, .. extra]);
        Assert.True(exit == 0, err);
        return NpyFile.ReadSingle(npy).Data;
    }

    [Fact]
    public void BandResolution_ReversedNamedBands_EmbedBitwiseAsTheOriginalOrder()
    {
        using var dir = new TempDir();
        var reversed = Layout.Reverse().ToArray();
        var file = Variant(dir, "reversed.tif", reversed, reversed);
        Assert.Equal(Embed(dir, Patch("patch_000.tif"), "a.npy"), Embed(dir, file, "b.npy"));
    }

    [Fact]
    public void BandResolution_DuplicateNameOfANeededBand_IsRefusedNamingIt()
    {
        using var dir = new TempDir();
        // Reversed, and band B5's description says B4: B4 is named twice and B5 is missing (the 0.72-cosine case).
        var reversed = Layout.Reverse().ToArray();
        var names = reversed.Select(n => n == "B5" ? "B4" : n).ToArray();
        var file = Variant(dir, "dup.tif", reversed, names);
        var npy = dir.File("e.npy");
        var (_, err) = HostileRun.Run(1, [file], dir.Path, [Onnx()], "B4", "embed", file, "-m", Onnx(), "-o", npy);
        Assert.Contains("B5 is missing", err);
        Assert.Contains("--bands", err);
        // map refuses it too, before any tile is embedded.
        HostileRun.Run(1, [file], dir.Path, [Onnx()], "B4", "map", file, "-m", Onnx(), "-o", dir.File("m.tif"));
    }

    [Fact]
    public void BandResolution_DuplicateNameOfAnUnneededBand_IsFine()
    {
        using var dir = new TempDir();
        // B9 (not a model band) also calls itself B1: the model's bands are still unambiguous.
        var names = Layout.Select(n => n == "B9" ? "B1" : n).ToArray();
        var file = Variant(dir, "dup-unneeded.tif", Layout, names);
        Assert.Equal(Embed(dir, Patch("patch_000.tif"), "a.npy"), Embed(dir, file, "b.npy"));
    }

    [Fact]
    public void BandResolution_EmptyDescriptionOfANeededBand_IsRefused()
    {
        using var dir = new TempDir();
        var names = Layout.Select(n => n == "B3" ? "" : n).ToArray();
        var file = Variant(dir, "empty.tif", Layout, names);
        var (_, err) = HostileRun.Run(1, [file], dir.Path, [Onnx()], "B3 is missing", "embed", file, "-m", Onnx(), "-o", dir.File("e.npy"));
        Assert.Contains("without description", err);
        // Naming every band in file order is the way on.
        Assert.Equal(Embed(dir, Patch("patch_000.tif"), "a.npy"), Embed(dir, file, "b.npy", "--bands", string.Join(',', Layout)));
    }

    [Fact]
    public void BandResolution_NoDescriptions_PositionalOnlyForThirteenBands()
    {
        using var dir = new TempDir();
        var none = Layout.Select(_ => "").ToArray();
        var file = Variant(dir, "none.tif", Layout, none);
        Assert.Equal(Embed(dir, Patch("patch_000.tif"), "a.npy"), Embed(dir, file, "b.npy"));
        var nine = Variant(dir, "nine.tif", Layout[..9], Layout[..9].Select(_ => "").ToArray());
        HostileRun.Run(1, [nine], dir.Path, [Onnx(), file, dir.File("a.npy"), dir.File("b.npy")], "without descriptions",
            "embed", nine, "-m", Onnx(), "-o", dir.File("c.npy"));
    }

    private const string ProbeData = """
import numpy as np, sys, os
out = sys.argv[1]
rng = np.random.default_rng(1)
n, d = 20, 8
y = np.array([i % 2 for i in range(n)])
x = rng.normal(size=(n, d)).astype(np.float32) * 0.1
x[:, 0] += np.where(y == 1, 5.0, -5.0)
ids = ['p%02d' % i for i in range(n)]
with open(os.path.join(out, 'emb.csv'), 'w') as f:
    f.write('id,' + ','.join('e%d' % j for j in range(d)) + '\n')
    for i in range(n): f.write(ids[i] + ',' + ','.join('%r' % float(v) for v in x[i]) + '\n')
perm = rng.permutation(n)
def labels(name, rows, idf=lambda i: ids[i]):
    with open(os.path.join(out, name), 'w') as f:
        f.write('id,label\n')
        for i in rows: f.write('%s,%s\n' % (idf(i), 'water' if y[i] else 'forest'))
labels('shuffled.csv', perm)
labels('other-ids.csv', perm, lambda i: 'q%02d' % i)
labels('partial.csv', perm[:15])
# A map's [rows, cols, dims] .npy: 4 x 5 pixels, pixel (r, c) = row r*5+c; pixel (0, 0) is nodata.
m = x.reshape(4, 5, d).copy(); m[0, 0, :] = -9999
np.save(os.path.join(out, 'map.npy'), m)
with open(os.path.join(out, 'map-labels.csv'), 'w') as f:
    f.write('id,label\n')
    for i in range(1, n): f.write('r%d_c%d,%s\n' % (i // 5, i % 5, 'water' if y[i] else 'forest'))
""";

    /// <summary>The mean accuracy of the (single) embedding set in the report's summary table.</summary>
    private static double Accuracy(string stdout)
    {
        var lines = stdout.Split('\n');
        int header = Array.FindIndex(lines, l => l.StartsWith("| embeddings |", StringComparison.Ordinal));
        var keys = lines[header].Split('|', StringSplitOptions.TrimEntries);
        var cells = lines[header + 2].Split('|', StringSplitOptions.TrimEntries);
        var cell = cells[Array.IndexOf(keys, "accuracy")];
        return double.Parse(cell.Split(' ')[0], CultureInfo.InvariantCulture);
    }

    [Fact]
    public void ProbeLabels_ShuffledIds_AreMatchedById()
    {
        using var dir = new TempDir();
        PythonOracle.Run(ProbeData, dir.Path);
        var (stdout, _) = HostileRun.Run(0, [dir.File("emb.csv"), dir.File("shuffled.csv")], null, null, null,
            "probe", "-e", dir.File("emb.csv"), "-y", dir.File("shuffled.csv"), "--task", "Classification", "--method", "Knn", "--k", "3", "--folds", "2");
        Assert.Equal(1.0, Accuracy(stdout));
    }

    [Fact]
    public void ProbeLabels_NoCommonId_IsRefused()
    {
        using var dir = new TempDir();
        PythonOracle.Run(ProbeData, dir.Path);
        HostileRun.Run(1, Directory.GetFiles(dir.Path), dir.Path, null, "No label id matches",
            "probe", "-e", dir.File("emb.csv"), "-y", dir.File("other-ids.csv"), "--task", "Classification", "--method", "Knn", "--k", "3", "--folds", "2");
    }

    [Fact]
    public void ProbeLabels_PartialOverlap_RefusedUnlessAllowed_AndSaysHowManyDropped()
    {
        using var dir = new TempDir();
        PythonOracle.Run(ProbeData, dir.Path);
        string[] args = ["probe", "-e", dir.File("emb.csv"), "-y", dir.File("partial.csv"), "--task", "Classification", "--method", "Knn", "--k", "3", "--folds", "2"];
        var (_, err) = HostileRun.Run(1, Directory.GetFiles(dir.Path), dir.Path, null, "--allow-missing-labels", args);
        Assert.Contains("5 of 20 embedding rows have no label", err);
        var (stdout, err2) = HostileRun.Run(0, [dir.File("emb.csv"), dir.File("partial.csv")], null, null, null, [.. args, "--allow-missing-labels"]);
        Assert.Contains("dropped 0 label(s) without an embedding and 5 embedding row(s) without a label", err2);
        Assert.Equal(1.0, Accuracy(stdout));
    }

    [Fact]
    public void ProbeLabels_MapNpy_IsReadAsPixelsWithRowColIds()
    {
        using var dir = new TempDir();
        PythonOracle.Run(ProbeData, dir.Path);
        // 19 labelled pixels; the nodata pixel (0, 0) is not a row, so the ids match exactly.
        var (stdout, _) = HostileRun.Run(0, [dir.File("map.npy"), dir.File("map-labels.csv")], null, null, null,
            "probe", "-e", dir.File("map.npy"), "-y", dir.File("map-labels.csv"), "--task", "Classification", "--method", "Knn", "--k", "3", "--folds", "2");
        Assert.Equal(1.0, Accuracy(stdout));
    }

    /// <summary>Copies the fixture's checkpoint with one value of a tensor replaced (name, flat index, value).</summary>
    private const string PoisonCheckpoint = """
import torch, sys
src, out, name, index, value = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
ck = torch.load(src, map_location='cpu')
t = ck['state_dict']['encoder_q.' + name]
t.view(-1)[index] = value
torch.save(ck, out)
""";

    [Theory]
    [InlineData("layer2.1.conv2.weight", "5.1.conv2.weight", 7, "nan")]
    [InlineData("conv1.weight", "0.weight", 0, "inf")]
    [InlineData("layer4.2.bn3.running_var", "7.2.bn3.running_var", 3, "-0.5")]
    public void NonFiniteWeights_AreRefusedAtConversion_NamingTheTensor(string tensor, string checkpointKey, int index, string value)
    {
        using var dir = new TempDir();
        var bad = dir.File("bad.ckpt");
        // The fixture's checkpoint keys are those of an nn.Sequential of the ResNet's children (0 = conv1, 5 = layer2, ...).
        PythonOracle.Run(PoisonCheckpoint, model.Checkpoint, bad, checkpointKey, index.ToString(CultureInfo.InvariantCulture), value);
        HostileRun.Run(1, [bad], dir.Path, [], tensor, "convert", bad, "-o", dir.File("bad.onnx"));
    }

    [Theory]
    [InlineData("--threads", "100000")]
    [InlineData("--threads", "-1")]
    [InlineData("--batch-size", "100000")]
    [InlineData("--batch-size", "0")]
    public void MachineLimits_EncoderOptions_AreValidatedAgainstTheMachine(string option, string value)
    {
        using var dir = new TempDir();
        HostileRun.Run(1, [Patch("patch_000.tif")], dir.Path, [], option, "embed", Patch("patch_000.tif"), "-m", Onnx(), "-o", dir.File("e.npy"), option, value);
    }

    [Theory]
    [InlineData("--readers", "100000")]
    [InlineData("--embed-concurrency", "100000")]
    [InlineData("--batch-size", "0")]
    [InlineData("--batch-size", "100000")]
    public void MachineLimits_MapConcurrency_IsValidatedAgainstTheMachine(string option, string value)
    {
        using var dir = new TempDir();
        HostileRun.Run(1, [Patch("patch_000.tif")], dir.Path, [], option, "map", Patch("patch_000.tif"), "-m", Onnx(), "-o", dir.File("m.tif"), option, value);
    }

    /// <summary>Sample patch 0 with nodata = 0 and the given fraction of rows (from the top) set to 0.</summary>
    private const string NoDataPatch = """
from osgeo import gdal
import sys
src, out, frac = sys.argv[1], sys.argv[2], float(sys.argv[3])
o = gdal.Translate(out, src, noData=0)
h = o.RasterYSize
for i in range(o.RasterCount):
    b = o.GetRasterBand(i + 1)
    a = b.ReadAsArray()
    a[:int(round(h * frac)), :] = 0
    b.WriteArray(a)
o = None
""";

    [Theory]
    [InlineData(1.0, "'nodata.tif' is 100% nodata")]
    [InlineData(0.6, "% nodata")]
    public void NoDataPolicy_EmbedRefusesMostlyNodataPatches_LikeMapTiles(double fraction, string mention)
    {
        using var dir = new TempDir();
        var file = dir.File("nodata.tif");
        PythonOracle.Run(NoDataPatch, Patch("patch_000.tif"), file, fraction.ToString(CultureInfo.InvariantCulture));
        HostileRun.Run(1, [file], dir.Path, [], mention, "embed", Patch("patch_001.tif"), file, "-m", Onnx(), "-o", dir.File("e.npy"));
        // With --skip-nodata the good patch is written and the other named.
        var (_, err) = HostileRun.Run(0, [file], null, null, null, "embed", Patch("patch_001.tif"), file, "-m", Onnx(), "-o", dir.File("e.npy"), "--skip-nodata");
        Assert.Contains("skipped " + file, err);
        var (data, shape) = NpyFile.ReadSingle(dir.File("e.npy"));
        Assert.Equal([1, 2048], shape);
        Assert.Equal(Embed(dir, Patch("patch_001.tif"), "one.npy"), data);
    }

    [Fact]
    public void NoDataPolicy_PartlyNodataPatch_IsFilledAsMapFillsTiles()
    {
        using var dir = new TempDir();
        var file = dir.File("quarter.tif");
        PythonOracle.Run(NoDataPatch, Patch("patch_000.tif"), file, "0.25");
        // Embedded (75 % valid), and not with the raw zeros: different from a copy of the same data without nodata.
        var filled = Embed(dir, file, "a.npy");
        var raw = dir.File("raw.tif");
        PythonOracle.Run("from osgeo import gdal\nimport sys\no = gdal.Translate(sys.argv[2], sys.argv[1])\nfor i in range(o.RasterCount): o.GetRasterBand(i + 1).DeleteNoDataValue()\no = None\n", file, raw);
        Assert.NotEqual(Embed(dir, raw, "b.npy"), filled);
    }

    [Fact]
    public void EmbeddingMapInput_ARawSceneIsNotTakenForAnEmbeddingMap()
    {
        using var dir = new TempDir();
        var scene = Path.Combine(Repo.Samples, "sentinel2_l2a_sample.tif");
        HostileRun.Run(1, [scene], dir.Path, [], "not an embedding map", "similarity", scene, "--query", "0,0", "-o", dir.File("s.tif"));
        HostileRun.Run(1, [Patch("patch_000.tif")], dir.Path, [], "not an embedding map", "similarity", Patch("patch_000.tif"), "--query", "1,1", "-o", dir.File("s.tif"));
    }
}

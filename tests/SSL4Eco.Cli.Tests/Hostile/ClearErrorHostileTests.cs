using System.Text;
using SSL4Eco.Cli.Tests.Commands;
using SSL4Eco.Inference.Arrays;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Cli.Tests.Hostile;

/// <summary>
/// Issue #10, "clear errors": inputs that used to end in a stack trace, .NET wording or library-only advice now get one
/// 'error:' line that names the file or option and the way on (asserted by <see cref="HostileRun"/>).
/// </summary>
[Collection(CliCollection.Name)]
public sealed class ClearErrorHostileTests(CliModelFixture model) : IClassFixture<CliModelFixture>
{
    private static string Patch(string name) => HostileInputs.Patch(name);

    private string Onnx() => HostileInputs.Onnx(model);

    /// <summary>A .npy whose header claims <paramref name="shape"/> over a few bytes of data.</summary>
    private static string NpyClaiming(TempDir dir, string name, string shape)
    {
        var header = $"{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}";
        header = header.PadRight((10 + header.Length + 1 + 63) / 64 * 64 - 10 - 1) + "\n"; // 10-byte prefix + header: a multiple of 64
        var bytes = new List<byte> { 0x93 };
        bytes.AddRange(Encoding.ASCII.GetBytes("NUMPY"));
        bytes.AddRange([1, 0, (byte)(header.Length & 0xff), (byte)(header.Length >> 8)]);
        bytes.AddRange(Encoding.ASCII.GetBytes(header));
        bytes.AddRange(new byte[64]);
        var path = dir.File(name);
        File.WriteAllBytes(path, bytes.ToArray());
        return path;
    }

    [Theory]
    [InlineData("(1000000, 1000000)")]
    [InlineData("(1000000000000,)")]
    [InlineData("(99999999999999999999999, 4)")]
    public void SizeLimits_NpyHeaderClaimingTooManyValues_NamesTheFileAndLimit(string shape)
    {
        using var dir = new TempDir();
        var huge = NpyClaiming(dir, "huge.npy", shape);
        var small = dir.File("small.npy");
        NpyFile.Write(small, new float[] { 0, 1 }, 2);
        HostileRun.Run(1, [huge, small], dir.Path, [], "huge.npy", "metrics", "--task", "Classification", "--y-true", huge, "--y-score", small);
        var (_, err) = HostileRun.Run(1, [huge, small], dir.Path, [], "huge.npy", "search", "--index", huge, "--query", "row:0");
        Assert.Contains("2,147,483,591", err);
    }

    [Fact]
    public void SizeLimits_TruncatedNpy_SaysTruncated()
    {
        using var dir = new TempDir();
        var t = NpyClaiming(dir, "t.npy", "(100, 4)");
        HostileRun.Run(1, [t], dir.Path, [], "truncated", "search", "--index", t, "--query", "row:0");
    }

    [Fact]
    public void SizeLimits_HugeVrtPatch_NamesTheFileAndLimit()
    {
        using var dir = new TempDir();
        var vrt = dir.File("huge.vrt");
        PythonOracle.Run("""
from osgeo import gdal
import sys
src, out = sys.argv[1], sys.argv[2]
s = gdal.Open(src)
x = ['<VRTDataset rasterXSize="200000" rasterYSize="200000">']
for i in range(s.RasterCount):
    d = s.GetRasterBand(i + 1).GetDescription()
    x.append('<VRTRasterBand dataType="UInt16" band="%d"><Description>%s</Description><SimpleSource><SourceFilename relativeToVRT="0">%s</SourceFilename><SourceBand>%d</SourceBand></SimpleSource></VRTRasterBand>' % (i + 1, d, src, i + 1))
x.append('</VRTDataset>')
open(out, 'w').write('\n'.join(x))
""", Patch("patch_000.tif"), vrt);
        HostileRun.Run(1, [vrt], dir.Path, [], "huge.vrt", "embed", vrt, "-m", Onnx(), "-o", dir.File("e.npy"));
    }

    [Fact]
    public void Wording_NoParameterSuffixOrSerializerErrors_ForNaNMetricInputs()
    {
        using var dir = new TempDir();
        var truth = dir.File("t.npy");
        var score = dir.File("s.npy");
        NpyFile.Write(truth, new float[] { 0, 1, 0 }, 3);
        NpyFile.Write(score, new float[] { 0.9f, 0.1f, float.NaN, 0.5f, 0.2f, 0.8f }, 3, 2);
        HostileRun.Run(1, [truth, score], dir.Path, [], "finite", "metrics", "--task", "Classification", "--y-true", truth, "--y-score", score);
        NpyFile.Write(score, new float[] { 0.9f, float.PositiveInfinity, 0.4f }, 3);
        NpyFile.Write(truth, new float[] { 0.5f, 1, 0 }, 3);
        HostileRun.Run(1, [truth, score], dir.Path, [], "finite", "metrics", "--task", "Regression", "--y-true", truth, "--y-score", score);
    }

    [Fact]
    public void Wording_UnknownCheckpoint_PointsToTheToolsContractOptions()
    {
        using var dir = new TempDir();
        var ckpt = dir.File("four.pth");
        ResNetFixture.Write(ckpt, inChannels: 4, layout: "torchvision");
        var (_, err) = HostileRun.Run(1, [ckpt], dir.Path, [], "--contract-bands", "convert", ckpt, "-o", dir.File("four.onnx"));
        Assert.DoesNotContain("--bands ...", err);
        Assert.DoesNotContain("library", err);
    }

    [Fact]
    public void Wording_UnavailableProvider_NamesTheToolsOptionNotTheLibrarysProperty()
    {
        using var dir = new TempDir();
        var (_, err) = HostileRun.Run(1, [Patch("patch_000.tif")], dir.Path, [], "--cpu-fallback",
            "embed", Patch("patch_000.tif"), "-m", Onnx(), "-o", dir.File("e.npy"), "--provider", "DirectML");
        Assert.DoesNotContain("EncoderOptions", err);
        Assert.DoesNotContain("Reference the native package", err);
    }

    [Fact]
    public void Wording_OutOfRangeOptions_NameTheOptionWithoutDotNetSuffix()
    {
        using var dir = new TempDir();
        HostileRun.Run(1, [Patch("patch_000.tif")], dir.Path, [], "--min-valid", "embed", Patch("patch_000.tif"), "-m", Onnx(), "-o", dir.File("e.npy"), "--min-valid", "2");
        HostileRun.Run(1, [Patch("patch_000.tif")], dir.Path, [], "--min-valid", "map", Patch("patch_000.tif"), "-m", Onnx(), "-o", dir.File("m.tif"), "--min-valid", "-1");
    }

    [Fact]
    public void ModelCache_CorruptConvertedEntry_IsRebuilt()
    {
        using var dir = new TempDir();
        var cache = dir.File("cache");
        Environment.SetEnvironmentVariable("SSL4ECO_CACHE", cache);
        try
        {
            Assert.Equal(0, CliHarness.Run("embed", Patch("patch_000.tif"), "-m", model.Checkpoint, "-o", dir.File("a.npy")).Exit);
            var entry = Directory.GetFiles(Path.Combine(cache, "converted"), "*.onnx").Single();
            var bytes = File.ReadAllBytes(entry);
            File.WriteAllBytes(entry, bytes[..(bytes.Length / 2)]); // "Protobuf parsing failed" before the fix, on every run
            HostileRun.Run(0, [model.Checkpoint], null, null, null, "embed", Patch("patch_000.tif"), "-m", model.Checkpoint, "-o", dir.File("b.npy"));
            Assert.Equal(bytes.Length, new FileInfo(entry).Length);
            Assert.Equal(NpyFile.ReadSingle(dir.File("a.npy")).Data, NpyFile.ReadSingle(dir.File("b.npy")).Data);
            // A flipped byte in the middle (same length) is found as well.
            bytes[bytes.Length / 2] ^= 0xff;
            File.WriteAllBytes(entry, bytes);
            var flipped = HostileRun.Hash(entry);
            HostileRun.Run(0, [model.Checkpoint], null, null, null, "embed", Patch("patch_000.tif"), "-m", model.Checkpoint, "-o", dir.File("c.npy"));
            Assert.NotEqual(flipped, HostileRun.Hash(entry));
            Assert.Equal(NpyFile.ReadSingle(dir.File("a.npy")).Data, NpyFile.ReadSingle(dir.File("c.npy")).Data);
        }
        finally
        {
            Environment.SetEnvironmentVariable("SSL4ECO_CACHE", null);
        }
    }

    [Theory]
    [InlineData("embed", "--frobnicate")]
    [InlineData("map", "--tiel")]
    [InlineData("probe", "-x")]
    [InlineData("convert", "--out")]
    public void CommandLine_UnknownOption_IsAnErrorNotAFileName(string command, string unknown)
    {
        using var dir = new TempDir();
        string[] args = command switch
        {
            "embed" => ["embed", unknown, Patch("patch_000.tif"), "-o", dir.File("e.npy")],
            "map" => ["map", Patch("patch_000.tif"), unknown, "32", "-o", dir.File("m.tif")],
            "probe" => ["probe", "-e", Patch("patch_000.tif"), "-y", Patch("patch_001.tif"), "--task", "Classification", unknown],
            _ => ["convert", model.Checkpoint, unknown, dir.File("x.onnx"), "-o", dir.File("y.onnx")],
        };
        var (_, err) = HostileRun.Run(1, [Patch("patch_000.tif"), model.Checkpoint], dir.Path, [], unknown, args);
        Assert.Contains("--help", err);
    }

    [Fact]
    public void CommandLine_DirectoryWhereAFileIsExpected_SaysItIsADirectory()
    {
        using var dir = new TempDir();
        var folder = Directory.CreateDirectory(dir.File("folder")).FullName;
        var (_, err) = HostileRun.Run(1, [], dir.Path, [folder], "is a directory", "embed", folder, "-m", Onnx(), "-o", dir.File("e.npy"));
        Assert.Contains("ssl4eco map", err);
        HostileRun.Run(1, [], dir.Path, [folder], "is a directory", "metrics", "--task", "Regression", "--y-true", folder, "--y-score", folder);
        HostileRun.Run(1, [], dir.Path, [folder], "is a directory", "convert", folder, "-o", dir.File("x.onnx"));
        var (_, err2) = HostileRun.Run(1, [], dir.Path, [folder], "is a directory", "probe", "-e", Patch("patch_000.tif"), "-y", folder, "--task", "Classification");
        Assert.Contains("--patches", err2);
    }

    [Theory]
    [InlineData("100000,100000,50,50")]
    [InlineData("POLYGON((0 0, 10 0, 10 10, 0 10, 0 0))")]
    public void Extent_RoiOutsideTheRaster_IsRefusedNamingTheExtent(string roi)
    {
        using var dir = new TempDir();
        var scene = Path.Combine(Repo.Samples, "sentinel2_l2a_sample.tif");
        HostileRun.Run(1, [scene], dir.Path, [], "extent", "map", scene, "-m", Onnx(), "-o", dir.File("m.tif"), "--roi", roi);
    }

    [Theory]
    [InlineData("1")]
    [InlineData("8")]
    [InlineData("0")]
    public void Extent_TinyTiles_AreRefusedUnlessAllowed(string tile)
    {
        using var dir = new TempDir();
        HostileRun.Run(1, [Patch("patch_000.tif")], dir.Path, [], "--tile", "map", Patch("patch_000.tif"), "-m", Onnx(), "-o", dir.File("m.tif"), "--tile", tile);
    }
}

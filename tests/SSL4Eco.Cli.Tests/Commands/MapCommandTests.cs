using System.Text.Json;
using SSL4Eco.Inference.Arrays;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Cli.Tests.Commands;

[Collection(CliCollection.Name)]
public sealed class MapCommandTests(CliModelFixture model) : IClassFixture<CliModelFixture>
{
    private static string Scene => Path.Combine(Repo.Samples, "sentinel2_l2a_sample.tif");

    [Fact]
    public void Map_Sample_IsGeoreferenced_AndEachPixelIsTheEmbeddingOfItsWindowCutByGdalTranslate()
    {
        using var dir = new TempDir();
        var onnx = dir.File("m.onnx");
        Assert.Equal(0, CliHarness.Run("convert", model.Checkpoint, "-o", onnx).Exit);
        var (exit, stdout, stderr) = CliHarness.Run("map", Scene, "-m", onnx, "-o", dir.File("map.npy"), "--stride", "112", "--preview", dir.File("preview.png"));
        Assert.True(exit == 0, stderr);
        Assert.Contains("3 x 3 tiles", stdout);
        Assert.True(new FileInfo(dir.File("preview.png")).Length > 0);

        // GDAL's own view of the COG written for the preview: same CRS, pixel = stride x 10 m, centred on its tile.
        using var info = JsonDocument.Parse(PythonOracle.Run("import subprocess, sys\nprint(subprocess.check_output(['gdalinfo', '-json', sys.argv[1]]).decode())", dir.File("map.tif")));
        var gt = info.RootElement.GetProperty("geoTransform").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        Assert.Equal([600560.0, 1120.0, 0.0, 5199440.0, 0.0, -1120.0], gt);   // each pixel centred on its tile: (224 - 112) / 2 = 56 px inside
        Assert.Contains("32632", info.RootElement.GetProperty("coordinateSystem").GetProperty("wkt").GetString());
        Assert.Equal(2048, info.RootElement.GetProperty("bands").GetArrayLength());

        // Tile (row 1, col 2) covers pixels x 224..447, y 112..335: cut it with gdal_translate and embed it as a patch.
        PythonOracle.Run("import subprocess, sys\nsubprocess.check_call(['gdal_translate', '-q', '-srcwin', '224', '112', '224', '224', sys.argv[1], sys.argv[2]])",
            Scene, dir.File("window.tif"));
        Assert.Equal(0, CliHarness.Run("embed", dir.File("window.tif"), "-m", onnx, "-o", dir.File("window.npy")).Exit);
        var (map, shape) = NpyFile.ReadSingle(dir.File("map.npy"));
        Assert.Equal(new[] { 3, 3, 2048 }, shape);
        var (window, _) = NpyFile.ReadSingle(dir.File("window.npy"));
        var pixel = map.AsSpan((1 * 3 + 2) * 2048, 2048);
        for (int j = 0; j < 2048; j++)
            Assert.True(Math.Abs(pixel[j] - window[j]) <= 1e-4f * Math.Max(1f, Math.Abs(window[j])), $"dim {j}: {pixel[j]} vs {window[j]}");
    }

    [Fact]
    public void Similarity_OfTheMapToOneOfItsPixels_EqualsNumpyCosine_OnTheSameGrid()
    {
        using var dir = new TempDir();
        var onnx = dir.File("m.onnx");
        Assert.Equal(0, CliHarness.Run("convert", model.Checkpoint, "-o", onnx).Exit);
        Assert.Equal(0, CliHarness.Run("map", Scene, "-m", onnx, "-o", dir.File("map.tif"), "--stride", "112").Exit);
        var (exit, _, stderr) = CliHarness.Run("similarity", dir.File("map.tif"), "--query", "1,2", "-o", dir.File("sim.tif"));
        Assert.True(exit == 0, stderr);
        var check = PythonOracle.Run("""
from osgeo import gdal
import numpy as np, sys
m = gdal.Open(sys.argv[1]); s = gdal.Open(sys.argv[2])
e = m.ReadAsArray().astype(np.float64); q = e[:, 1, 2]
ref = np.einsum('dij,d->ij', e, q) / np.linalg.norm(e, axis=0) / np.linalg.norm(q)
print(np.abs(ref - s.ReadAsArray()).max(), m.GetGeoTransform() == s.GetGeoTransform(), m.GetProjection() == s.GetProjection())
""", dir.File("map.tif"), dir.File("sim.tif")).Split(' ');
        Assert.True(double.Parse(check[0], System.Globalization.CultureInfo.InvariantCulture) < 1e-5, check[0]);
        Assert.Equal("True", check[1]);
        Assert.Equal("True", check[2].Trim());
    }

    [Fact]
    public void Map_Int8AndFloat16_RasterTypes_AreWrittenAndReadBackByGdal()
    {
        using var dir = new TempDir();
        var onnx = dir.File("m.onnx");
        Assert.Equal(0, CliHarness.Run("convert", model.Checkpoint, "-o", onnx).Exit);
        Assert.Equal(0, CliHarness.Run("map", Scene, "-m", onnx, "-o", dir.File("f32.tif"), "--stride", "112", "--embed-concurrency", "1").Exit);
        var (exit, stdout, stderr) = CliHarness.Run("map", Scene, "-m", onnx, "-o", dir.File("i8.tif"), "--stride", "112", "--dtype", "Int8", "--embed-concurrency", "2",
            "--preview", dir.File("i8.png"));
        Assert.True(exit == 0, stderr);
        Assert.Contains("i8.scale.tif", stdout);
        Assert.True(new FileInfo(dir.File("i8.png")).Length > 0);   // the preview reads the int8 map, not its scale raster
        Assert.Equal(0, CliHarness.Run("map", Scene, "-m", onnx, "-o", dir.File("f16.tif"), "--stride", "112", "--dtype", "Float16").Exit);
        var check = PythonOracle.Run("""
from osgeo import gdal
import numpy as np, sys
d = sys.argv[1]
f = gdal.Open(d + '/f32.tif').ReadAsArray().astype(np.float64)
h = gdal.Open(d + '/f16.tif')
q = gdal.Open(d + '/i8.tif').ReadAsArray().astype(np.uint8).view(np.int8).astype(np.float64)
s = gdal.Open(d + '/i8.scale.tif').ReadAsArray().astype(np.float64)
e16 = np.abs(h.ReadAsArray() - f).max() / np.abs(f).max()
e8 = (np.abs(q * s[None] - f) / s[None]).max()
print(h.GetRasterBand(1).GetMetadata('IMAGE_STRUCTURE').get('NBITS'), e16 < 2 ** -11, e8 <= 0.5 + 1e-3)
""", dir.Path).Trim();
        Assert.Equal("16 True True", check);
    }

    [Fact]
    public void Map_AFolderOfDates_MapsEachDateAndAggregates()
    {
        using var dir = new TempDir();
        var onnx = dir.File("m.onnx");
        Assert.Equal(0, CliHarness.Run("convert", model.Checkpoint, "-o", onnx).Exit);
        Directory.CreateDirectory(dir.File("dates"));
        File.Copy(Scene, dir.File("dates/S2_20240601.tif"));
        PythonOracle.Run("""
import numpy as np
from osgeo import gdal
src = gdal.Open(sys.argv[1]); ds = gdal.GetDriverByName('GTiff').CreateCopy(sys.argv[2], src)
for b in range(1, ds.RasterCount + 1):
    band = ds.GetRasterBand(b); band.WriteArray(np.flipud(band.ReadAsArray()))   # another 'season' on the same grid
ds = None
""", Scene, dir.File("dates/S2_20240115.tif"));
        var (exit, stdout, stderr) = CliHarness.Run("map", dir.File("dates"), "-m", onnx, "-o", dir.File("out/seasons.npy"), "--stride", "224", "--aggregate", "Concat");
        Assert.True(exit == 0, stderr);
        var (jan, s1) = NpyFile.ReadSingle(dir.File("out/seasons_20240115.npy"));
        var (jun, _) = NpyFile.ReadSingle(dir.File("out/seasons_20240601.npy"));
        var (both, s2) = NpyFile.ReadSingle(dir.File("out/seasons.npy"));
        Assert.Equal(new[] { 2, 2, 2048 }, s1);
        Assert.Equal(new[] { 2, 2, 4096 }, s2);
        for (int t = 0; t < 4; t++)
        {
            Assert.Equal(jan.AsSpan(t * 2048, 2048).ToArray(), both.AsSpan(t * 4096, 2048).ToArray());          // dates in date order
            Assert.Equal(jun.AsSpan(t * 2048, 2048).ToArray(), both.AsSpan(t * 4096 + 2048, 2048).ToArray());
        }
        Assert.NotEqual(jan, jun);
        var sidecar = JsonDocument.Parse(File.ReadAllText(dir.File("out/seasons.json"))).RootElement;
        Assert.Equal("2024-01-15,2024-06-01", sidecar.GetProperty("metadata").GetProperty("ssl4eco.dates").GetString());
        Directory.CreateDirectory(dir.File("empty"));
        var (code, _, err) = CliHarness.Run("map", dir.File("empty"), "-m", onnx, "-o", dir.File("x.npy"));
        Assert.NotEqual(0, code);
        Assert.Contains("holds no raster", err);
    }

    [Fact]
    public void Map_UnknownOutputFormat_IsAClearError()
    {
        using var dir = new TempDir();
        var (exit, _, stderr) = CliHarness.Run("map", Scene, "-m", model.Checkpoint, "-o", dir.File("map.png"));
        Assert.Equal(1, exit);
        Assert.Contains("use .tif, .parquet or .npy", stderr);
    }

    [Fact]
    public void Seasons_PicksTheLeastCloudySceneNearTheMiddleOfEachInterval()
    {
        using var dir = new TempDir();
        File.WriteAllLines(dir.File("scenes.csv"), [
            "id,date,cloud_fraction",
            "spring_cloudy,2021-04-15,0.6", "spring,2021-04-20,0.05", "summer,2021-07-01,0.1", "autumn,2021-10-01,0.0", "winter,2021-01-10,0.15"]);
        var (exit, stdout, stderr) = CliHarness.Run("seasons", "--scenes", dir.File("scenes.csv"));
        Assert.True(exit == 0, stderr);
        Assert.Contains("spring\t2021-04-20", stdout);
        Assert.DoesNotContain("spring_cloudy", stdout);
        Assert.Contains("summer\t2021-07-01", stdout);
    }
}

[Collection(CliCollection.Name)]
public sealed class MapResumeTests(CliModelFixture model) : IClassFixture<CliModelFixture>
{
    [Fact]
    public void Map_KilledMidRun_ThenResumed_IsByteIdenticalToAnUninterruptedRun()
    {
        using var dir = new TempDir();
        var onnx = dir.File("m.onnx");
        Assert.Equal(0, CliHarness.Run("convert", model.Checkpoint, "-o", onnx).Exit);
        var scene = Path.Combine(Repo.Samples, "sentinel2_l2a_sample.tif");
        string[] Args(string prefix) => ["map", scene, "-m", onnx, "-o", dir.File(prefix + ".npy"), "--stride", "16", "--batch-size", "4"];

        Assert.Equal(0, CliHarness.Run(Args("whole")).Exit);

        // A separate process, killed (SIGKILL) once some tiles are recorded.
        var psi = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "ssl4eco.dll"));
        foreach (var a in Args("killed")) psi.ArgumentList.Add(a);
        using (var p = System.Diagnostics.Process.Start(psi)!)
        {
            var status = dir.File("killed.ssl4eco-partial/status.bin");
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (clock.Elapsed < TimeSpan.FromMinutes(2) && !p.HasExited)
            {
                if (File.Exists(status) && CountDone(status) >= 40) break;
                Thread.Sleep(50);
            }
            Assert.False(p.HasExited, "the run finished before it could be killed");
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
        }
        int doneAtKill = CountDone(dir.File("killed.ssl4eco-partial/status.bin"));
        Assert.InRange(doneAtKill, 40, 224);
        Assert.False(File.Exists(dir.File("killed.npy")));

        var (exit, stdout, stderr) = CliHarness.Run(Args("killed"));
        Assert.True(exit == 0, stderr);
        Assert.Contains("resumed", stdout);
        Assert.DoesNotContain(" 0 resumed", stdout);
        foreach (var ext in new[] { ".npy", ".valid.npy" })
            Assert.Equal(File.ReadAllBytes(dir.File("whole" + ext)), File.ReadAllBytes(dir.File("killed" + ext)));
    }

    private static int CountDone(string statusFile)
    {
        using var fs = new FileStream(statusFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var bytes = new byte[fs.Length];
        fs.ReadExactly(bytes);
        return bytes.Count(b => b != 0);
    }
}

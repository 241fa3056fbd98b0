using System.Diagnostics;
using SSL4Eco.Cli.Tests.Commands;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Cli.Tests.Samples;

/// <summary>The library sample (samples/GisApp, built with the solution) runs end to end as a separate process.</summary>
[Collection(CliCollection.Name)]
public sealed class GisAppSampleTests(CliModelFixture model) : IClassFixture<CliModelFixture>
{
    [Fact]
    public async Task The_gis_sample_maps_the_scene_and_writes_a_similarity_raster()
    {
        // tests/SSL4Eco.Cli.Tests/bin/<Configuration>/net10.0 → samples/GisApp/bin/<Configuration>/net10.0
        var bin = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var dll = Path.Combine(Repo.Root, "samples", "GisApp", "bin", bin.Parent!.Name, bin.Name, "ssl4eco-gis-sample.dll");
        Assert.True(File.Exists(dll), $"{dll} is missing: build the solution (the sample is part of it).");
        using var dir = new TempDir();
        var prefix = dir.File("out/scene");
        Directory.CreateDirectory(dir.File("out"));
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { dll, Path.Combine(Repo.Samples, "sentinel2_l2a_sample.tif"), model.Checkpoint, prefix, Path.Combine(Repo.Samples, "patches", "patch_000.tif") })
            start.ArgumentList.Add(a);
        start.Environment["SSL4ECO_CACHE"] = dir.File("cache");
        using var p = Process.Start(start)!;
        var stdoutTask = p.StandardOutput.ReadToEndAsync();
        var stderrTask = p.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await p.WaitForExitAsync(timeout.Token);
        string stdout = await stdoutTask, stderr = await stderrTask;
        Assert.True(p.ExitCode == 0, stderr + stdout);
        Assert.Contains("scene.parquet", stdout);

        // GDAL's view: a float16 COG of 3 x 3 tiles at stride 112 and a similarity raster on the same grid, where the
        // patch's own location (the scene window it was cut from) is among the most similar pixels.
        var check = PythonOracle.Run("""
from osgeo import gdal
import numpy as np
m = gdal.Open(sys.argv[1] + '.tif'); s = gdal.Open(sys.argv[1] + '.similarity.tif')
sim = s.ReadAsArray()
print(m.RasterXSize, m.RasterYSize, m.GetRasterBand(1).GetMetadata('IMAGE_STRUCTURE').get('NBITS'),
      m.GetGeoTransform() == s.GetGeoTransform(), bool(np.all((sim >= -1.0001) & (sim <= 1.0001))))
""", prefix).Trim();
        Assert.Equal("3 3 16 True True", check);
    }
}

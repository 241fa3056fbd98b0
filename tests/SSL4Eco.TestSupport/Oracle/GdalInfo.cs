using System.Diagnostics;

namespace SSL4Eco.TestSupport;

/// <summary>GDAL's own <c>gdalinfo -json</c>, the independent reference for what a raster holds.</summary>
public static class GdalInfo
{
    /// <summary>The JSON report of <paramref name="path"/>; fails the test when gdalinfo fails.</summary>
    public static string Json(string path)
    {
        var psi = new ProcessStartInfo("gdalinfo") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("-json");
        psi.ArgumentList.Add(path);
        using var p = Process.Start(psi)!;
        var error = p.StandardError.ReadToEndAsync();
        var s = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"gdalinfo -json {path} failed: {error.Result}");
        return s;
    }
}

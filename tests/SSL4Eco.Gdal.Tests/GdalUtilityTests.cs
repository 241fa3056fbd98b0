using System.Text.Json;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Gdal.Tests;

/// <summary>The binding's GDAL utilities (translate), interleaved writes and configuration options, checked against python-gdal.</summary>
public sealed class GdalUtilityTests
{
    [Fact]
    public void Translate_srcwin_to_vrt_gives_what_gdal_translate_gives()
    {
        using var dir = new TempDir();
        var path = dir.File("a.tif");
        PythonOracle.Run(GdalDatasetTests.MakeRaster, path);
        using (var src = GdalDataset.Open(path)) GdalDataset.Translate(src, dir.File("w.vrt"), ["-of", "VRT", "-srcwin", "4", "3", "12", "9"]);
        PythonOracle.Run("""
from osgeo import gdal
gdal.Translate(sys.argv[2], gdal.Open(sys.argv[1]), format='VRT', srcWin=[4, 3, 12, 9])
""", path, dir.File("p.vrt"));
        var ours = JsonDocument.Parse(GdalInfo.Json(dir.File("w.vrt"))).RootElement;
        var theirs = JsonDocument.Parse(GdalInfo.Json(dir.File("p.vrt"))).RootElement;
        Assert.Equal(theirs.GetProperty("size").ToString(), ours.GetProperty("size").ToString());
        Assert.Equal(theirs.GetProperty("geoTransform").ToString(), ours.GetProperty("geoTransform").ToString());
        for (int b = 0; b < 3; b++)
        {
            Assert.Equal(theirs.GetProperty("bands")[b].GetProperty("description").GetString(), ours.GetProperty("bands")[b].GetProperty("description").GetString());
            Assert.Equal(theirs.GetProperty("bands")[b].GetProperty("noDataValue").GetDouble(), ours.GetProperty("bands")[b].GetProperty("noDataValue").GetDouble());
        }
        using var a = GdalDataset.Open(path);
        using var w = GdalDataset.Open(dir.File("w.vrt"));
        var expected = new ushort[3 * 12 * 9];
        a.Read(new PixelWindow(4, 3, 12, 9), expected);
        var actual = new ushort[3 * 12 * 9];
        w.Read(new PixelWindow(0, 0, 12, 9), actual);
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void Translate_errors_carry_gdals_message_and_write_nothing()
    {
        using var dir = new TempDir();
        var path = dir.File("a.tif");
        PythonOracle.Run(GdalDatasetTests.MakeRaster, path);
        using var src = GdalDataset.Open(path);
        var e = Assert.Throws<GdalException>(() => GdalDataset.Translate(src, dir.File("x.vrt"), ["-of", "VRT", "-no-such-option"]));
        Assert.Contains("-no-such-option", e.Message);
        e = Assert.Throws<GdalException>(() => GdalDataset.Translate(src, dir.File("y.vrt"), ["-of", "NoSuchDriver"]));
        Assert.Contains("NoSuchDriver", e.Message);
        Assert.False(File.Exists(dir.File("x.vrt")));
        Assert.False(File.Exists(dir.File("y.vrt")));
    }

    [Fact]
    public void Interleaved_writes_land_band_by_band_as_python_gdal_reads_them()
    {
        using var dir = new TempDir();
        var path = dir.File("i.tif");
        const int w = 7, h = 5, bands = 3;
        var values = Enumerable.Range(0, w * h * bands).Select(i => i * 0.25f).ToArray(); // [h, w, bands]
        using (var ds = GdalDataset.Create("GTiff", path, w, h, bands, GdalDataType.Float32))
            ds.WriteInterleaved<float>(new PixelWindow(0, 0, w, h), values, GdalDataType.Float32);
        PythonOracle.Run("""
import numpy as np
from osgeo import gdal
gdal.Open(sys.argv[1]).ReadAsArray().astype(np.float32).transpose(1, 2, 0).tofile(sys.argv[2])
""", path, dir.File("hwb.f32"));
        Assert.Equal(values, System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(dir.File("hwb.f32"))).ToArray());
    }

    [Fact]
    public void Interleaved_writes_refuse_a_buffer_type_of_another_size_or_a_short_buffer()
    {
        using var mem = GdalDataset.Create("MEM", "", 4, 4, 2, GdalDataType.Float32);
        var e = Assert.Throws<ArgumentException>(() => mem.WriteInterleaved<byte>(new PixelWindow(0, 0, 4, 4), new byte[32], GdalDataType.Float32));
        Assert.Contains("Float32", e.Message);
        Assert.Throws<ArgumentException>(() => mem.WriteInterleaved<float>(new PixelWindow(0, 0, 4, 4), new float[31], GdalDataType.Float32));
        Assert.Throws<ArgumentOutOfRangeException>(() => mem.WriteInterleaved<float>(new PixelWindow(2, 2, 4, 4), new float[32], GdalDataType.Float32));
    }

    [Fact]
    public void A_thread_local_config_option_is_seen_by_its_thread_only_and_unset_by_null()
    {
        const string key = "SSL4ECO_TEST_THREAD_OPTION";
        string? other = "not read";
        GdalVsi.SetThreadLocalConfigOption(key, "EMPTY_DIR");
        try
        {
            Assert.Equal("EMPTY_DIR", GdalVsi.GetConfigOption(key));
            var t = new Thread(() => other = GdalVsi.GetConfigOption(key));
            t.Start();
            t.Join();
            Assert.Null(other);
        }
        finally { GdalVsi.SetThreadLocalConfigOption(key, null); }
        Assert.Null(GdalVsi.GetConfigOption(key));
        Assert.Throws<ArgumentException>(() => GdalVsi.SetThreadLocalConfigOption("", "x"));
    }

    [Fact]
    public void The_block_cache_is_bounded_to_256_MiB_unless_GDAL_CACHEMAX_says_otherwise()
    {
        if (Environment.GetEnvironmentVariable("GDAL_CACHEMAX") is not null) return; // GDAL's own setting wins, nothing of ours to check
        Assert.Equal(256L << 20, GdalLibrary.CacheMaxBytes);
    }
}

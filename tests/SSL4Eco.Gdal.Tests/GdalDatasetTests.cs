using System.Text.Json;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Gdal.Tests;

public class GdalDatasetTests
{
    // Python GDAL writes a 3-band UInt16 UTM raster with nodata, descriptions and metadata; the binding must read the same facts.
    internal const string MakeRaster = """
import numpy as np
from osgeo import gdal, osr
path = sys.argv[1]
ds = gdal.GetDriverByName('GTiff').Create(path, 37, 23, 3, gdal.GDT_UInt16, ['TILED=YES', 'BLOCKXSIZE=16', 'BLOCKYSIZE=16'])
ds.SetGeoTransform([500000.0, 10.0, 0.0, 5200000.0, 0.0, -10.0])
s = osr.SpatialReference(); s.ImportFromEPSG(32632); ds.SetProjection(s.ExportToWkt())
rng = np.random.default_rng(7)
for i in range(3):
    b = ds.GetRasterBand(i + 1)
    b.WriteArray(rng.integers(0, 10000, size=(23, 37)).astype(np.uint16))
    b.SetNoDataValue(0); b.SetDescription(['B2', 'B3', 'B4'][i])
ds.SetMetadataItem('PROCESSING_BASELINE', '04.00')
ds.SetMetadataItem('DATE', '2021-06-15')
ds = None
""";

    [Fact]
    public void Reads_the_same_facts_as_gdalinfo_json()
    {
        using var dir = new TempDir();
        var path = dir.File("a.tif");
        PythonOracle.Run(MakeRaster, path);
        var info = JsonDocument.Parse(GdalInfo.Json(path)).RootElement;

        using var ds = GdalDataset.Open(path);
        Assert.Equal(info.GetProperty("size")[0].GetInt32(), ds.Width);
        Assert.Equal(info.GetProperty("size")[1].GetInt32(), ds.Height);
        Assert.Equal(info.GetProperty("bands").GetArrayLength(), ds.BandCount);
        var gt = info.GetProperty("geoTransform").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        Assert.Equal(gt, ds.GeoTransform!.Value.ToArray());
        for (int i = 0; i < 3; i++)
        {
            var bi = info.GetProperty("bands")[i];
            var b = ds.Band(i + 1);
            Assert.Equal(bi.GetProperty("description").GetString(), b.Description);
            Assert.Equal(bi.GetProperty("type").GetString(), b.DataType.ToString());
            Assert.Equal(bi.GetProperty("noDataValue").GetDouble(), b.NoData);
            Assert.Equal(bi.GetProperty("block")[0].GetInt32(), b.BlockSize.Width);
            Assert.Equal(bi.GetProperty("block")[1].GetInt32(), b.BlockSize.Height);
            Assert.Equal(GdalMaskFlags.NoData, b.MaskFlags);
        }
        Assert.Equal("04.00", ds.GetMetadataItem("PROCESSING_BASELINE"));
        Assert.Equal("2021-06-15", ds.GetMetadata()["DATE"]);
        using var srs = ds.SpatialReference!;
        Assert.Equal(32632, srs.Epsg);
        var projjson = JsonDocument.Parse(srs.ToProjJson()).RootElement;
        Assert.Equal(32632, projjson.GetProperty("id").GetProperty("code").GetInt32());
        Assert.Contains("UTM zone 32N", ds.ProjectionWkt);
    }

    [Fact]
    public void Windowed_reads_match_python_gdal_including_bilinear_buffer_resampling()
    {
        using var dir = new TempDir();
        var path = dir.File("a.tif");
        PythonOracle.Run(MakeRaster, path);
        PythonOracle.Run("""
import numpy as np
from osgeo import gdal
ds = gdal.Open(sys.argv[1])
a = ds.ReadAsArray(5, 3, 20, 12).astype(np.float32)
a.tofile(sys.argv[2])
b = ds.ReadAsArray(5, 3, 20, 12, buf_xsize=40, buf_ysize=24, buf_type=gdal.GDT_Float32, resample_alg=gdal.GRIORA_Bilinear)
b.astype(np.float32).tofile(sys.argv[3])
m = ds.GetRasterBand(2).GetMaskBand().ReadAsArray(5, 3, 20, 12).astype(np.uint8)
m.tofile(sys.argv[4])
""", path, dir.File("a.f32"), dir.File("b.f32"), dir.File("m.u8"));
        using var ds = GdalDataset.Open(path);
        var win = new PixelWindow(5, 3, 20, 12);
        var a = new float[3 * 20 * 12];
        ds.Read(win, a);
        Assert.Equal(ReadFloats(dir.File("a.f32")), a);
        var u = new ushort[3 * 20 * 12];
        ds.Read(win, u);
        Assert.Equal(a, u.Select(x => (float)x).ToArray());
        var b = new float[3 * 40 * 24];
        ds.Read(win, b, bufferWidth: 40, bufferHeight: 24, resampling: GdalResampling.Bilinear);
        Assert.Equal(ReadFloats(dir.File("b.f32")), b);
        var m = new byte[20 * 12];
        ds.Band(2).MaskBand.Read(win, m);
        Assert.Equal(File.ReadAllBytes(dir.File("m.u8")), m);
        var band3 = new float[20 * 12];
        ds.Read(win, band3, [3]);
        Assert.Equal(a.AsSpan(2 * 240, 240).ToArray(), band3);
    }

    [Fact]
    public void Created_raster_round_trips_through_python_gdal_and_cog_copy()
    {
        using var dir = new TempDir();
        var path = dir.File("c.tif");
        var values = Enumerable.Range(0, 2 * 7 * 5).Select(i => i * 0.5f).ToArray();
        using (var ds = GdalDataset.Create("GTiff", path, 5, 7, 2, GdalDataType.Float32, new Dictionary<string, string> { ["COMPRESS"] = "DEFLATE" }))
        {
            ds.GeoTransform = new GeoTransform(600000, 20, 0, 5100000, 0, -20);
            using var srs = GdalSpatialReference.FromEpsg(32632);
            ds.ProjectionWkt = srs.ToWkt();
            ds.Band(1).Description = "emb_0000";
            ds.Band(1).NoData = -9999;
            ds.SetMetadataItem("MODEL", "test");
            ds.Write(new PixelWindow(0, 0, 5, 7), values);
            using var cog = ds.CreateCopy("COG", dir.File("c.cog.tif"));
        }
        var outp = PythonOracle.Run("""
import json, numpy as np
from osgeo import gdal
for p in sys.argv[1:]:
    ds = gdal.Open(p)
    print(json.dumps({'gt': list(ds.GetGeoTransform()), 'epsg': ds.GetSpatialRef().GetAuthorityCode(None), 'desc': ds.GetRasterBand(1).GetDescription(),
      'nodata': ds.GetRasterBand(1).GetNoDataValue(), 'meta': ds.GetMetadataItem('MODEL'), 'sum': float(ds.ReadAsArray().astype(np.float64).sum()),
      'layout': ds.GetMetadataItem('LAYOUT', 'IMAGE_STRUCTURE')}))
""", path, dir.File("c.cog.tif"));
        var lines = outp.Trim().Split('\n');
        foreach (var line in lines)
        {
            var j = JsonDocument.Parse(line).RootElement;
            Assert.Equal([600000.0, 20, 0, 5100000, 0, -20], j.GetProperty("gt").EnumerateArray().Select(e => e.GetDouble()).ToArray());
            Assert.Equal("32632", j.GetProperty("epsg").GetString());
            Assert.Equal("emb_0000", j.GetProperty("desc").GetString());
            Assert.Equal(-9999, j.GetProperty("nodata").GetDouble());
            Assert.Equal("test", j.GetProperty("meta").GetString());
            Assert.Equal(values.Sum(x => (double)x), j.GetProperty("sum").GetDouble(), 6);
        }
        Assert.Equal("COG", JsonDocument.Parse(lines[1]).RootElement.GetProperty("layout").GetString());
    }

    [Fact]
    public void Errors_carry_gdals_message()
    {
        var e = Assert.Throws<GdalException>(() => GdalDataset.Open("/nonexistent/x.tif"));
        Assert.Contains("/nonexistent/x.tif", e.Message);
        Assert.Contains("No such file", e.Message);
        Assert.Throws<GdalException>(() => GdalDataset.Create("NoSuchDriver", "/tmp/x", 1, 1, 1, GdalDataType.Byte));
        Assert.Throws<GdalException>(() => GdalSpatialReference.FromUserInput("not a crs"));
        using var mem = GdalDataset.Create("MEM", "", 4, 4, 1, GdalDataType.Float32);
        Assert.Throws<ArgumentOutOfRangeException>(() => mem.Read(new PixelWindow(2, 2, 4, 4), new float[16]));
        Assert.Throws<ArgumentOutOfRangeException>(() => mem.Band(2));
        Assert.Throws<ArgumentException>(() => mem.Read(new PixelWindow(0, 0, 4, 4), new float[15]));
    }

    [Fact]
    public void Vsimem_paths_and_coordinate_transform_work()
    {
        using (var ds = GdalDataset.Create("GTiff", "/vsimem/t.tif", 3, 3, 1, GdalDataType.Byte)) ds.Band(1).Description = "x";
        using (var ds = GdalDataset.Open("/vsimem/t.tif")) Assert.Equal("x", ds.Band(1).Description);
        using var utm = GdalSpatialReference.FromEpsg(32632);
        using var wgs = GdalSpatialReference.FromUserInput("EPSG:4326");
        double[] x = [500000], y = [0];
        utm.Transform(wgs, x, y);
        Assert.Equal(9.0, x[0], 9); // central meridian of zone 32 (lon first: traditional GIS order)
        Assert.Equal(0.0, y[0], 9);
        Assert.False(utm.IsSame(wgs));
    }

    /// <summary>A raw little-endian float32 file as numpy's <c>tofile</c> writes it.</summary>
    private static float[] ReadFloats(string path) => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(path)).ToArray();
}

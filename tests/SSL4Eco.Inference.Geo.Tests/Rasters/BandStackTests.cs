using SSL4Eco.Inference.Preprocessing;
using SSL4Eco.Inference.Arrays;
using SSL4Eco.Gdal;
using SSL4Eco.Inference.Geo.Rasters;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Inference.Geo.Tests.Rasters;

public class BandStackTests
{
    private const string MakeBands = """
import numpy as np
from osgeo import gdal, osr
d = sys.argv[1]
s = osr.SpatialReference(); s.ImportFromEPSG(32632)
rng = np.random.default_rng(5)
for name, res, w, h in [('B4', 10, 60, 40), ('B8A', 20, 30, 20), ('B1', 60, 10, 7)]:
    ds = gdal.GetDriverByName('GTiff').Create(f'{d}/{name}.tif', w, h, 1, gdal.GDT_UInt16)
    ds.SetGeoTransform([600000.0, res, 0.0, 5100000.0, 0.0, -res]); ds.SetProjection(s.ExportToWkt())
    ds.GetRasterBand(1).WriteArray(rng.integers(100, 5000, size=(h, w)).astype(np.uint16)); ds = None
# Reference: each band resampled to the 10 m grid by gdal.Translate (bilinear), stacked.
out = []
for name in ['B4', 'B8A', 'B1']:
    t = gdal.Translate('/vsimem/t.tif', f'{d}/{name}.tif', width=60, height=40, projWin=[600000, 5100000, 600600, 5099600], resampleAlg='bilinear', outputType=gdal.GDT_Float32)
    out.append(t.ReadAsArray()); t = None
np.save(f'{d}/ref.npy', np.stack(out).astype(np.float32))
""";

    [Fact]
    public void Stack_of_10_20_60m_bands_matches_gdal_translate_bilinear_and_reads_as_a_patch()
    {
        using var dir = new TempDir();
        PythonOracle.Run(MakeBands, dir.Path);
        var vrt = BandStack.WriteVrt([new("B4", dir.File("B4.tif")), new("B8A", dir.File("B8A.tif")), new("B1", dir.File("B1.tif"))],
            dir.File("stack.vrt"), metadata: new Dictionary<string, string> { ["PROCESSING_BASELINE"] = "04.00", ["DATE"] = "2022-07-01" });
        var patch = PatchReader.Read(vrt);
        Assert.Equal(["B4", "B8A", "B1"], patch.BandNames);
        Assert.Equal((40, 60), (patch.Height, patch.Width));
        Assert.Equal(4.0, patch.ProcessingBaseline);
        Assert.Equal(new DateOnly(2022, 7, 1), patch.Date);
        var (reference, shape) = NpyFile.ReadSingle(dir.File("ref.npy"));
        Assert.Equal([3, 40, 60], shape);
        for (int i = 0; i < reference.Length; i++) Assert.True(Math.Abs(reference[i] - patch.Data[i]) < 1e-2, $"value {i}: {patch.Data[i]} vs {reference[i]}");
        // 10 m band is untouched.
        using var b4 = GdalDataset.Open(dir.File("B4.tif"));
        var raw = new float[40 * 60];
        b4.Read(new PixelWindow(0, 0, 60, 40), raw);
        Assert.Equal(raw, patch.Band(0).ToArray());
    }

    [Fact]
    public void Mismatched_inputs_are_rejected_with_named_problems()
    {
        using var dir = new TempDir();
        PythonOracle.Run(MakeBands, dir.Path);
        PythonOracle.Run("""
from osgeo import gdal, osr
s = osr.SpatialReference(); s.ImportFromEPSG(32633)
ds = gdal.GetDriverByName('GTiff').Create(sys.argv[1], 5, 5, 1); ds.SetGeoTransform([0, 10, 0, 0, 0, -10]); ds.SetProjection(s.ExportToWkt()); ds = None
""", dir.File("other.tif"));
        Assert.Contains("different CRS", Assert.Throws<ArgumentException>(() =>
            BandStack.WriteVrt([new("B4", dir.File("B4.tif")), new("B8", dir.File("other.tif"))], dir.File("x.vrt"))).Message);
        Assert.Contains("twice", Assert.Throws<ArgumentException>(() =>
            BandStack.WriteVrt([new("B4", dir.File("B4.tif")), new("b4", dir.File("B8A.tif"))], dir.File("x.vrt"))).Message);
        Assert.Throws<GdalException>(() => BandStack.WriteVrt([new("B4", dir.File("missing.tif"))], dir.File("x.vrt")));
    }

    [Fact]
    public void Patch_reader_names_bands_and_rejects_wrong_counts()
    {
        using var dir = new TempDir();
        PythonOracle.Run("""
import numpy as np
from osgeo import gdal
for n in (13, 4):
    ds = gdal.GetDriverByName('GTiff').Create(f'{sys.argv[1]}/b{n}.tif', 3, 2, n, gdal.GDT_UInt16)
    for i in range(n): ds.GetRasterBand(i + 1).WriteArray(np.full((2, 3), i + 1, np.uint16))
    ds = None
""", dir.Path);
        var p13 = PatchReader.Read(dir.File("b13.tif"));
        Assert.Equal(Ssl4EcoLayout.Bands, p13.BandNames);
        Assert.Equal(13f, p13.Band(12)[0]);
        var p4 = PatchReader.Read(dir.File("b4.tif"), ["B2", "B3", "B4", "B8"]);
        Assert.Equal(4f, p4.Band(3)[5]);
        Assert.Contains("4 bands without descriptions", Assert.Throws<ArgumentException>(() => PatchReader.Read(dir.File("b4.tif"))).Message);
        Assert.Contains("3 band names", Assert.Throws<ArgumentException>(() => PatchReader.Read(dir.File("b4.tif"), ["B2", "B3", "B4"])).Message);
    }

    /// <summary>The input recipe of a model with <paramref name="bands"/>: what the reader asks which bands to read.</summary>
    private static InputRecipe Recipe(params string[] bands) => InputRecipe.For(new SSL4Eco.Inference.Models.ModelContract
    {
        Bands = bands, Scaling = new SSL4Eco.Inference.Models.InputScaling(1), Spatial = SSL4Eco.Inference.Models.SpatialPolicy.BilinearResize,
    });

    [Fact]
    public void BandResolution_UsesEveryDescription_AndRefusesMissingOrAmbiguousModelBands()
    {
        using var dir = new TempDir();
        // Band i holds the value i + 1; descriptions as listed ("" = none). GDAL sets nodata 0 on the last file.
        PythonOracle.Run("""
import numpy as np
from osgeo import gdal
files = {'dup.tif': ['B04', 'B4', 'B3', 'B2'], 'empty.tif': ['B2', '', 'B4', 'B8'], 'ndvi.tif': ['B4', 'B8', 'B08'],
         'nodata.tif': ['B2', 'B3']}
for name, descs in files.items():
    ds = gdal.GetDriverByName('GTiff').Create(f'{sys.argv[1]}/{name}', 4, 2, len(descs), gdal.GDT_UInt16)
    for i, d in enumerate(descs):
        b = ds.GetRasterBand(i + 1)
        a = np.full((2, 4), i + 1, np.uint16)
        if name == 'nodata.tif':
            b.SetNoDataValue(0); a[:, :3] = 0
        b.WriteArray(a)
        if d: b.SetDescription(d)
    ds = None
""", dir.Path);
        // B04 and B4 are one band name: B4 is ambiguous when the model needs it, fine when it does not.
        var e = Assert.Throws<ArgumentException>(() => PatchReader.Read(dir.File("dup.tif"), recipe: Recipe("B2", "B3", "B4")));
        Assert.Contains("B4 is named by bands 1 and 2", e.Message);
        var p = PatchReader.Read(dir.File("dup.tif"), recipe: Recipe("B2", "B3"));
        Assert.Equal(["B2", "B3"], p.BandNames);
        Assert.Equal([4f, 3f], new[] { p.Band(0)[0], p.Band(1)[0] });
        // An empty description is never guessed: B3 is missing, band 2 is named as undescribed.
        e = Assert.Throws<ArgumentException>(() => PatchReader.Read(dir.File("empty.tif"), recipe: Recipe("B2", "B3", "B4")));
        Assert.Contains("B3 is missing", e.Message);
        Assert.Contains("band 2 without description", e.Message);
        Assert.Equal(["B2", "B4", "B8"], PatchReader.Read(dir.File("empty.tif")).BandNames);
        Assert.Equal(["B2", "B3", "B4", "B8"], PatchReader.Read(dir.File("empty.tif"), ["B2", "B3", "B4", "B8"], Recipe("B2", "B3", "B4", "B8")).BandNames);
        // NDVI derived from B4 and B8 needs each once: B8 and B08 are the same band name.
        Assert.Contains("B8 is named by bands 2 and 3",
            Assert.Throws<ArgumentException>(() => PatchReader.Read(dir.File("ndvi.tif"), recipe: Recipe("NDVI"))).Message);
        // The nodata policy of map tiles: 3 of 4 columns are nodata (25 % valid) → refused at 0.5, filled at 0.25.
        var refused = PatchReader.ReadValid(dir.File("nodata.tif"), NoDataPolicy.Default);
        Assert.Null(refused.Patch);
        Assert.Equal(0.25, refused.ValidFraction);
        var filled = PatchReader.ReadValid(dir.File("nodata.tif"), new NoDataPolicy { MinValidFraction = 0.25 }).Patch!;
        Assert.All(filled.Band(0).ToArray(), v => Assert.Equal(1f, v));
        Assert.All(filled.Band(1).ToArray(), v => Assert.Equal(2f, v));
    }

    [Theory]
    [InlineData("S2B_MSIL2A.SAFE/GRANULE/L2A_T32TQM/IMG_DATA/R20m/T32TQM_20240601T101559_B8A_20m.jp2", "B8A")]
    [InlineData("T32TQM_20240601T101559_B02_10m.jp2", "B2")]
    [InlineData("T32TQM_20240601T101559_B12.jp2", "B12")]
    [InlineData("/vsicurl/https://example.org/S2A_32TQM_20240601_0_L2A/nir08.tif", "B8A")]
    [InlineData("swir16.tif", "B11")]
    [InlineData("b05.tif", "B5")]
    [InlineData("T32TQM_20240601T101559_TCI_10m.jp2", null)]
    [InlineData("T32TQM_20240601T101559_SCL_20m.jp2", null)]
    [InlineData("scene_B13.tif", null)]
    [InlineData("BAND.tif", null)]
    public void Band_names_are_read_from_sentinel2_file_names(string path, string? band) => Assert.Equal(band, BandStack.BandFromFileName(path));

    [Fact]
    public void Dates_are_read_from_file_names_and_missing_bands_are_named()
    {
        Assert.Equal(new DateOnly(2024, 6, 1), AcquisitionDate.FromFileName("T32TQM_20240601T101559_B02_10m.jp2"));
        Assert.Equal(new DateOnly(2021, 7, 10), AcquisitionDate.FromFileName("s2_20210710.tif"));
        Assert.Null(AcquisitionDate.FromFileName("B02.tif"));
        Assert.Null(AcquisitionDate.FromFileName("x_20241399_B02.tif"));   // not a date
        var e = Assert.Throws<ArgumentException>(() => BandStack.FromFileNames(["B02.tif", "scene.tif"]));
        Assert.Contains("'scene.tif'", e.Message);
        Assert.Equal(["B2", "B8A"], BandStack.FromFileNames(["B02.tif", "nir08.tif"]).Select(f => f.Band).ToArray());
    }
}

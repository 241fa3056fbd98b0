using FsCheck;
using FsCheck.Xunit;
using SSL4Eco.Inference.Arrays;
using SSL4Eco.Inference.Tests.Oracle;
using SSL4Eco.Training.Augmentation;
using SSL4Eco.Training.Data;

namespace SSL4Eco.Training.Tests.Data;

public sealed class Ssl4EcoDatasetTests
{
    [Property(MaxTest = 300)]
    public bool SeasonsFollowTheRecipe(PositiveInt dates, ulong seed)
    {
        int n = Math.Min(dates.Get, 6);
        var rng = new DeterministicRandom(seed);
        var (a, b, c) = Ssl4EcoDataset.DrawSeasons(n, ref rng);
        bool inRange = a < n && b < n && c < n && a >= 0 && b >= 0 && c >= 0;
        return inRange && n switch
        {
            1 => a == 0 && b == 0 && c == 0,
            2 => a != b && c == b,
            _ => a != b && b != c && a != c,
        };
    }

    [Fact]
    public void SyntheticFilesAreValidGeoTiffsWithSsl4EcoNdvi()
    {
        using var dir = new TempDir();
        SyntheticSsl4EcoDataset.Generate(dir.Path, locations: 2, size: 16, seed: 1);
        var file = Directory.EnumerateFiles(Path.Combine(dir.Path, "imgs", "000000"), "*.tif").First();
        Assert.Matches(@"^\d{8}_T\d\d[A-Z]AB\.tif$", Path.GetFileName(file));
        var output = PythonOracle.Run("""
import sys, json, numpy as np
from osgeo import gdal
ds = gdal.Open(sys.argv[1])
a = ds.ReadAsArray().astype(np.float32)
b4, b8 = a[3], a[7]
ndvi = np.maximum((b8 - b4) / (b8 + b4 + np.float32(1e-5)), 0)
expected = (ndvi * 10000).astype(np.uint16)
print(json.dumps({'bands': ds.RasterCount, 'type': gdal.GetDataTypeName(ds.GetRasterBand(1).DataType),
  'size': [ds.RasterXSize, ds.RasterYSize], 'epsg': ds.GetSpatialRef().GetAuthorityCode(None), 'gsd': ds.GetGeoTransform()[1],
  'ndvi_maxdiff': int(np.abs(expected.astype(np.int32) - a[12].astype(np.int32)).max()), 'b8_mean': float(b8.mean())}))
""", file);
        var j = System.Text.Json.JsonDocument.Parse(output).RootElement;
        Assert.Equal(13, j.GetProperty("bands").GetInt32());
        Assert.Equal("UInt16", j.GetProperty("type").GetString());
        Assert.Equal("32632", j.GetProperty("epsg").GetString());
        Assert.Equal(10, j.GetProperty("gsd").GetDouble());
        Assert.True(j.GetProperty("ndvi_maxdiff").GetInt32() <= 1);
        Assert.InRange(j.GetProperty("b8_mean").GetDouble(), 100, 6000);
    }

    [Fact]
    public void BatchesAreDeterministicAcrossThreadCounts()
    {
        using var dir = new TempDir();
        SyntheticSsl4EcoDataset.Generate(dir.Path, locations: 6, size: 24, seed: 2);
        var opts = new DatasetOptions { Augmentation = new AugmentationOptions { CropSize = 16 } };
        var one = Ssl4EcoDataset.Open(dir.Path, opts with { Workers = 1 }).LoadBatch(5, 1, 0, 4);
        var two = Ssl4EcoDataset.Open(dir.Path, opts with { Workers = 2 }).LoadBatch(5, 1, 0, 4);
        Assert.Equal(4 * 9 * 16 * 16, one.Query.Length);
        Assert.Equal(one.Query, two.Query);
        for (int k = 0; k < 3; k++) Assert.Equal(one.Keys[k], two.Keys[k]);
        Assert.NotEqual(one.Query, one.Keys[2]); // k2 = crop(aug(s1)) differs from q = crop(s1)
    }

    [Fact]
    public void CorruptFilesAreSkippedAndLogged()
    {
        using var dir = new TempDir();
        SyntheticSsl4EcoDataset.Generate(dir.Path, locations: 2, size: 16, seed: 3, minDates: 3, maxDates: 3);
        var bad = Directory.EnumerateFiles(Path.Combine(dir.Path, "imgs", "000000"), "*.tif").First();
        File.WriteAllBytes(bad, [1, 2, 3, 4]);
        var logger = new ListLogger();
        var ds = Ssl4EcoDataset.Open(dir.Path, new DatasetOptions { Augmentation = new AugmentationOptions { CropSize = 8 } }, logger);
        for (int step = 0; step < 4; step++) ds.LoadBatch(0, step, 0, 2);
        Assert.Contains(logger.Messages, m => m.Contains(Path.GetFileName(bad)));
    }

    [Fact]
    public void EmptyFolderAndWrongBandCountGiveClearErrors()
    {
        using var empty = new TempDir();
        Directory.CreateDirectory(Path.Combine(empty.Path, "imgs"));
        var e1 = Assert.Throws<InvalidDataException>(() => Ssl4EcoDataset.Open(empty.Path));
        Assert.Contains("No SSL4Eco locations", e1.Message);

        using var dir = new TempDir();
        var loc = Path.Combine(dir.Path, "imgs", "000000");
        Directory.CreateDirectory(loc);
        GdalRasterIO.WriteUInt16(Path.Combine(loc, "20200101_T32TAB.tif"), new ushort[3 * 8 * 8], 3, 8, 8, 0, 0, 32632);
        var ds = Ssl4EcoDataset.Open(dir.Path, new DatasetOptions { Augmentation = new AugmentationOptions { CropSize = 8 } });
        var e2 = Assert.Throws<InvalidDataException>(() => ds.LoadBatch(0, 0, 0, 1));
        Assert.Contains("has 3 bands", e2.Message);
    }

    [Fact]
    public void BandResolution_FilesDescribedInAnotherOrder_AreRefusedNotReadByPosition()
    {
        using var dir = new TempDir();
        SyntheticSsl4EcoDataset.Generate(dir.Path, locations: 1, size: 16, seed: 4, minDates: 2, maxDates: 2);
        var files = Directory.EnumerateFiles(Path.Combine(dir.Path, "imgs", "000000"), "*.tif").Order().ToArray();
        const string Describe = """
import sys
from osgeo import gdal
names = ['B1', 'B2', 'B3', 'B4', 'B5', 'B6', 'B7', 'B8', 'B8A', 'B9', 'B11', 'B12', 'NDVI']
order = names if sys.argv[2] == 'layout' else names[::-1]
ds = gdal.Open(sys.argv[1], gdal.GA_Update)
for i, n in enumerate(order): ds.GetRasterBand(i + 1).SetDescription(n.replace('B', 'B0') if len(n) == 2 else n)
ds = None
""";
        var opts = new DatasetOptions { Augmentation = new AugmentationOptions { CropSize = 8 } };
        // Described in the layout's order (B02-style spellings): read as before.
        foreach (var f in files) PythonOracle.Run(Describe, f, "layout");
        var before = Ssl4EcoDataset.Open(dir.Path, opts).LoadBatch(0, 0, 0, 1);
        Assert.Equal(1 * 9 * 8 * 8, before.Query.Length);
        // One date written in reverse band order: refused, naming the file and the first band that disagrees.
        PythonOracle.Run(Describe, files[1], "reversed");
        var e = Assert.Throws<InvalidDataException>(() => Ssl4EcoDataset.Open(dir.Path, opts).LoadBatch(0, 0, 0, 1));
        Assert.Contains(Path.GetFileName(files[1]), e.Message);
        Assert.Contains("describes band 1 as 'NDVI'", e.Message);
    }

    [Fact]
    public void SamplingWeightsDrawHeavyLocationsMoreOften()
    {
        using var dir = new TempDir();
        SyntheticSsl4EcoDataset.Generate(dir.Path, locations: 4, size: 8, seed: 4, minDates: 1, maxDates: 1);
        File.WriteAllText(dir.File("w.csv"), "index,weight\n0,0\n1,0\n2,0\n3,5\n");
        var ds = Ssl4EcoDataset.Open(dir.Path, new DatasetOptions { SamplingWeightsCsv = dir.File("w.csv") });
        Assert.All(ds.EpochOrder(1, 0), i => Assert.Equal(3, i));
        File.WriteAllText(dir.File("bad.csv"), "0,x\n");
        Assert.Throws<InvalidDataException>(() => Ssl4EcoDataset.Open(dir.Path, new DatasetOptions { SamplingWeightsCsv = dir.File("bad.csv") }));
    }

    private sealed class ListLogger : Microsoft.Extensions.Logging.ILogger
    {
        public System.Collections.Concurrent.ConcurrentBag<string> Messages { get; } = [];
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;
        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            => Messages.Add(formatter(state, exception));
    }
}

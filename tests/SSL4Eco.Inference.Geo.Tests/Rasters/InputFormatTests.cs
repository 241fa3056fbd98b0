using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using SSL4Eco.Inference.Arrays;
using SSL4Eco.Gdal;
using SSL4Eco.Inference.Geo.Pipeline;
using SSL4Eco.Inference.Geo.Rasters;
using SSL4Eco.Inference.Geo.Tests.Pipeline;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Inference.Geo.Tests.Rasters;

/// <summary>
/// Issue #3: the map pipeline reads GeoTIFF, lossless JPEG2000 (multi-band and Sentinel-2 SAFE-style single-band files
/// stacked by <see cref="BandStack"/>), <c>/vsizip/</c> and <c>/vsicurl/</c> inputs exactly as it reads the plain GeoTIFF.
/// </summary>
public class InputFormatTests
{
    // 200 x 150 UTM 32N uint16, bands B2,B3,B4 (descriptions), nodata 0: a nodata corner (tile (0,2) skipped) and a
    // 10x10 hole (mean fill); 64-px tiles make a 2 x 3 grid. Also writes a lossless JPEG2000 copy (in.jp2, band descriptions and nodata in in.jp2.aux.xml)
    // and in.zip holding in.tif.
    private const string MakeInputs = """
import numpy as np, zipfile
from osgeo import gdal, osr
gdal.UseExceptions()
d = sys.argv[1]
ds = gdal.GetDriverByName('GTiff').Create(f'{d}/in.tif', 200, 150, 3, gdal.GDT_UInt16, ['TILED=YES', 'BLOCKXSIZE=64', 'BLOCKYSIZE=64'])
ds.SetGeoTransform([600000.0, 10.0, 0.0, 5100000.0, 0.0, -10.0])
s = osr.SpatialReference(); s.ImportFromEPSG(32632); ds.SetProjection(s.ExportToWkt())
rng = np.random.default_rng(11)
for i in range(3):
    a = rng.integers(1, 5000, size=(150, 200)).astype(np.uint16)
    a[0:64, 136:200] = 0
    a[100:110, 10:20] = 0
    b = ds.GetRasterBand(i + 1); b.WriteArray(a); b.SetNoDataValue(0); b.SetDescription(['B2', 'B3', 'B4'][i])
ds = None
gdal.Translate(f'{d}/in.jp2', f'{d}/in.tif', format='JP2OpenJPEG', creationOptions=['QUALITY=100', 'REVERSIBLE=YES'])
j = gdal.Open(f'{d}/in.jp2')
assert j.GetDriver().ShortName == 'JP2OpenJPEG'
assert (j.ReadAsArray() == gdal.Open(f'{d}/in.tif').ReadAsArray()).all(), 'JP2 not lossless'
j = None
with zipfile.ZipFile(f'{d}/in.zip', 'w', zipfile.ZIP_DEFLATED) as z: z.write(f'{d}/in.tif', 'in.tif')
""";

    private static MapRequest Request(string input, string prefix) => new()
    {
        InputPath = input, OutputPrefix = prefix, Formats = ["npy", "cog"], ReaderCount = 2, QueueCapacity = 3,
        MinValidFraction = 0.5,
    };

    /// <summary>Maps <paramref name="input"/> to <paramref name="prefix"/> with the deterministic feature model.</summary>
    private static Task<MapResult> Map(string input, string prefix, params string[] bands) =>
        EmbeddingMapper.RunAsync(Request(input, prefix), new FeatureModel(bands));

    /// <summary>The two runs wrote the same npy values, valid fractions, sidecar (grid, CRS, transform) and COG.</summary>
    private static void AssertSameMap(string expectedPrefix, string actualPrefix)
    {
        Assert.Equal(File.ReadAllBytes(expectedPrefix + ".npy"), File.ReadAllBytes(actualPrefix + ".npy"));
        Assert.Equal(File.ReadAllBytes(expectedPrefix + ".valid.npy"), File.ReadAllBytes(actualPrefix + ".valid.npy"));
        Assert.Equal(File.ReadAllText(expectedPrefix + ".json"), File.ReadAllText(actualPrefix + ".json"));
        using var e = GdalDataset.Open(expectedPrefix + ".tif");
        using var a = GdalDataset.Open(actualPrefix + ".tif");
        Assert.Equal((e.Width, e.Height, e.BandCount), (a.Width, a.Height, a.BandCount));
        Assert.Equal(e.GeoTransform!.Value.ToArray(), a.GeoTransform!.Value.ToArray());
        Assert.Equal(e.ProjectionWkt, a.ProjectionWkt);
        using (var srs = a.SpatialReference) Assert.Equal(32632, srs!.Epsg);
        var window = new PixelWindow(0, 0, e.Width, e.Height);
        var ev = new float[window.Area * e.BandCount];
        var av = new float[ev.Length];
        e.Read(window, ev);
        a.Read(window, av);
        Assert.Equal(ev, av);
    }

    /// <summary>Maps the plain GeoTIFF and checks it is a meaningful reference (embedded, skipped and filled tiles).</summary>
    private static async Task<MapResult> MapReference(TempDir dir)
    {
        PythonOracle.Run(MakeInputs, dir.Path);
        var result = await Map(dir.File("in.tif"), dir.File("ref"), "B2", "B3", "B4");
        Assert.Equal((2, 3, 9), (result.Rows, result.Columns, result.EmbeddingDim));
        Assert.Equal(new MapProgress(6, 6, 1, 0, 0), result.Progress);
        using var cog = GdalDataset.Open(dir.File("ref.tif"));
        Assert.Equal([600000.0, 640, 0, 5100000, 0, -640], cog.GeoTransform!.Value.ToArray());
        return result;
    }

    [Fact]
    public async Task Lossless_jpeg2000_maps_identically_to_the_geotiff()
    {
        using var dir = new TempDir();
        var reference = await MapReference(dir);
        using (var jp2 = GdalDataset.Open(dir.File("in.jp2")))
        {
            Assert.Equal(["B2", "B3", "B4"], Enumerable.Range(1, 3).Select(b => jp2.Band(b).Description));
            Assert.Equal(0.0, jp2.Band(1).NoData);
        }
        var result = await Map(dir.File("in.jp2"), dir.File("jp2"), "B2", "B3", "B4");
        Assert.Equal(reference, result with { Outputs = reference.Outputs });
        AssertSameMap(dir.File("ref"), dir.File("jp2"));
    }

    [Fact]
    public async Task Sentinel2_safe_style_single_band_jp2_files_stack_and_map_like_geotiffs()
    {
        using var dir = new TempDir();
        // SAFE-like band files: B02 at 10 m and B05 at 20 m, uint16, no descriptions, no nodata, no .aux.xml; lossless JP2
        // plus GeoTIFF twins. Python GDAL's read of each JP2 and the bilinear 10 m reference of the stack go to npy.
        PythonOracle.Run("""
import numpy as np, os, glob
from osgeo import gdal, osr
gdal.UseExceptions()
d = sys.argv[1]
s = osr.SpatialReference(); s.ImportFromEPSG(32632)
rng = np.random.default_rng(7)
for name, res, w, h in [('B02', 10, 120, 90), ('B05', 20, 60, 45)]:
    ds = gdal.GetDriverByName('GTiff').Create(f'{d}/{name}.tif', w, h, 1, gdal.GDT_UInt16)
    ds.SetGeoTransform([600000.0, res, 0.0, 5100000.0, 0.0, -res]); ds.SetProjection(s.ExportToWkt())
    a = rng.integers(1, 10000, size=(h, w)).astype(np.uint16)
    ds.GetRasterBand(1).WriteArray(a); ds = None
    gdal.Translate(f'{d}/{name}.jp2', f'{d}/{name}.tif', format='JP2OpenJPEG', creationOptions=['QUALITY=100', 'REVERSIBLE=YES'])
    for aux in glob.glob(f'{d}/{name}.jp2.aux.xml'): os.remove(aux)
    j = gdal.Open(f'{d}/{name}.jp2')
    np.save(f'{d}/{name}.py.npy', j.ReadAsArray().astype(np.float32))
    np.save(f'{d}/{name}.orig.npy', a.astype(np.float32))
out = []
for name in ['B02', 'B05']:
    t = gdal.Translate('/vsimem/t.tif', f'{d}/{name}.jp2', width=120, height=90, projWin=[600000, 5100000, 601200, 5099100], resampleAlg='bilinear', outputType=gdal.GDT_Float32)
    out.append(t.ReadAsArray()); t = None
np.save(f'{d}/stack.npy', np.stack(out).astype(np.float32))
""", dir.Path);
        foreach (var (name, w, h) in new[] { ("B02", 120, 90), ("B05", 60, 45) })
        {
            using var ds = GdalDataset.Open(dir.File(name + ".jp2"));
            Assert.Equal((w, h, 1), (ds.Width, ds.Height, ds.BandCount));
            Assert.Equal(GdalDataType.UInt16, ds.Band(1).DataType);
            Assert.False(File.Exists(dir.File(name + ".jp2.aux.xml")));
            var got = new float[w * h];
            ds.Read(new PixelWindow(0, 0, w, h), got);
            var (py, shape) = NpyFile.ReadSingle(dir.File(name + ".py.npy"));
            Assert.Equal([h, w], shape);
            Assert.Equal(py, got);
            Assert.Equal(NpyFile.ReadSingle(dir.File(name + ".orig.npy")).Data, got);
        }

        var jp2Stack = BandStack.WriteVrt([new("B2", dir.File("B02.jp2")), new("B5", dir.File("B05.jp2"))], dir.File("jp2.vrt"));
        var tifStack = BandStack.WriteVrt([new("B2", dir.File("B02.tif")), new("B5", dir.File("B05.tif"))], dir.File("tif.vrt"));
        var patch = PatchReader.Read(jp2Stack);
        Assert.Equal(["B2", "B5"], patch.BandNames);
        Assert.Equal((90, 120), (patch.Height, patch.Width));
        Assert.Equal(PatchReader.Read(tifStack).Data, patch.Data);
        var (reference, refShape) = NpyFile.ReadSingle(dir.File("stack.npy"));
        Assert.Equal([2, 90, 120], refShape);
        for (int i = 0; i < reference.Length; i++) Assert.True(Math.Abs(reference[i] - patch.Data[i]) < 1e-2, $"value {i}: {patch.Data[i]} vs {reference[i]}");

        var tif = await Map(tifStack, dir.File("tif"), "B2", "B5");
        var jp2 = await Map(jp2Stack, dir.File("jp2"), "B2", "B5");
        Assert.Equal(new MapProgress(1, 1, 0, 0, 0), jp2.Progress);   // 120 x 90: one whole 64-px tile
        Assert.Equal(tif.Progress, jp2.Progress);
        AssertSameMap(dir.File("tif"), dir.File("jp2"));
    }

    [Fact]
    public async Task Vsizip_path_maps_identically_to_the_plain_file()
    {
        using var dir = new TempDir();
        var reference = await MapReference(dir);
        var result = await Map($"/vsizip/{dir.File("in.zip")}/in.tif", dir.File("zip"), "B2", "B3", "B4");
        Assert.Equal(reference, result with { Outputs = reference.Outputs });
        AssertSameMap(dir.File("ref"), dir.File("zip"));
    }

    [CurlFact]
    public async Task Vsicurl_url_served_with_range_requests_maps_identically_to_the_local_file()
    {
        using var dir = new TempDir();
        var reference = await MapReference(dir);
        using var server = new RangeServer(new() { ["/in.tif"] = File.ReadAllBytes(dir.File("in.tif")) });
        var result = await Map($"/vsicurl/{server.Url}in.tif", dir.File("curl"), "B2", "B3", "B4");
        Assert.Equal(reference, result with { Outputs = reference.Outputs });
        AssertSameMap(dir.File("ref"), dir.File("curl"));
        var ranged = server.Requests.Where(r => r.Path == "/in.tif" && r.Range is not null).ToList();
        Assert.NotEmpty(ranged);
        Assert.All(ranged, r => Assert.Equal(206, r.Status));
        Assert.DoesNotContain(server.Requests, r => r.Path == "/in.tif" && r.Method == "GET" && r.Range is null); // never a full download
    }

    [Fact]
    public async Task A_vsicurl_404_and_a_truncated_jp2_are_gdal_errors_naming_the_path()
    {
        using var dir = new TempDir();
        PythonOracle.Run(MakeInputs, dir.Path);

        // Truncated JPEG2000 (the header opens, the code-stream is cut): every tile read fails with a GdalException naming
        // the file; the run reads every tile, then fails naming how many failed and why, writes no final output and keeps
        // the resume state (the failures are logged with their exceptions at debug level).
        var bytes = File.ReadAllBytes(dir.File("in.jp2"));
        var truncated = dir.File("cut.jp2");
        File.WriteAllBytes(truncated, bytes.AsSpan(0, bytes.Length / 2).ToArray());
        var log = new ErrorLog();
        var failed = await Assert.ThrowsAsync<MapIncompleteException>(() => EmbeddingMapper.RunAsync(Request(truncated, dir.File("cut")) with { InputBands = ["B2", "B3", "B4"] },
            new FeatureModel("B2", "B3", "B4"), logger: log));
        Assert.Equal(new MapProgress(6, 6, 0, 6, 0), failed.Progress);
        Assert.StartsWith("6 of 6 tiles failed", failed.Message);
        var reason = Assert.Single(failed.Reasons);
        Assert.Equal(6, reason.Tiles);
        Assert.Contains(truncated, reason.Reason);
        Assert.Equal(6, log.Errors.Count);
        Assert.All(log.Errors, e => Assert.Contains(truncated, Assert.IsType<GdalException>(e).Message));
        Assert.True(Directory.Exists(dir.File("cut.ssl4eco-partial")));
        Assert.False(File.Exists(dir.File("cut.npy")));

        // A JP2 cut inside its header cannot be opened at all.
        var stub = dir.File("stub.jp2");
        File.WriteAllBytes(stub, bytes.AsSpan(0, 64).ToArray());
        var open = await Assert.ThrowsAsync<GdalException>(() => Map(stub, dir.File("stub"), "B2"));
        Assert.Contains(stub, open.Message);

        if (!CurlFactAttribute.HasCurl) return; // the /vsicurl/ half needs curl support
        using var server = new RangeServer(new() { ["/in.tif"] = File.ReadAllBytes(dir.File("in.tif")) });
        var url = $"/vsicurl/{server.Url}missing.tif";
        var e404 = await Assert.ThrowsAsync<GdalException>(() => Map(url, dir.File("missing"), "B2"));
        Assert.Contains(url, e404.Message);
        Assert.Contains(server.Requests, r => r.Path == "/missing.tif" && r.Status == 404);
        Assert.False(File.Exists(dir.File("missing.npy")));
    }

    /// <summary>Whether GDAL registered the virtual file system <paramref name="prefix"/> (VSIGetFileSystemsPrefixes).</summary>
    internal static unsafe bool GdalHasFileSystem(string prefix)
    {
        GdalLibrary.EnsureInitialized();
        foreach (var name in new[] { GdalLibrary.LoadedFrom })
        {
            if (!NativeLibrary.TryLoad(name, out var lib)) continue;
            try
            {
                if (!NativeLibrary.TryGetExport(lib, "VSIGetFileSystemsPrefixes", out var list) || !NativeLibrary.TryGetExport(lib, "CSLDestroy", out var destroy))
                    return false;
                var strings = ((delegate* unmanaged<IntPtr>)list)();
                try
                {
                    for (int i = 0; ; i++)
                    {
                        var p = Marshal.ReadIntPtr(strings, i * IntPtr.Size);
                        if (p == IntPtr.Zero) return false;
                        if (Marshal.PtrToStringUTF8(p) == prefix) return true;
                    }
                }
                finally { ((delegate* unmanaged<IntPtr, void>)destroy)(strings); }
            }
            finally { NativeLibrary.Free(lib); }
        }
        return false;
    }

    /// <summary>Collects the exceptions logged (at any level).</summary>
    private sealed class ErrorLog : ILogger
    {
        private readonly ConcurrentQueue<Exception> _errors = new();
        public IReadOnlyList<Exception> Errors => [.. _errors];
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (exception is not null) _errors.Enqueue(exception);
        }
    }
}

/// <summary>A fact skipped, with a message, when this GDAL build lacks curl (<c>/vsicurl/</c> is not registered).</summary>
internal sealed class CurlFactAttribute : FactAttribute
{
    private static readonly Lazy<bool> Curl = new(() => GdalLibrary.IsAvailable && InputFormatTests.GdalHasFileSystem("/vsicurl/"));

    public static bool HasCurl => Curl.Value;

    public CurlFactAttribute()
    {
        if (!HasCurl) Skip = "This GDAL build has no curl support (/vsicurl/ is not registered); the /vsicurl/ input cannot be tested.";
    }
}

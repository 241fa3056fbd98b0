using System.Text.Json;
using NetTopologySuite.Geometries;
using NetTopologySuite.IO;
using Parquet;
using SSL4Eco.Inference.Arrays;
using SSL4Eco.Inference.Geo.Outputs;
using SSL4Eco.Inference.Geo.Pipeline;
using SSL4Eco.Inference.Geo.Tests.Pipeline;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Inference.Geo.Tests.Outputs;

// Neither pyarrow nor GDAL's Parquet driver is installed here, so the file is read back with Parquet.Net's reader and the
// GeoParquet 1.0.0 metadata is checked against the spec's required keys; footprints are checked against python GDAL's geotransform.
public class GeoParquetMapWriterTests
{
    [Fact]
    public async Task Writes_geoparquet_1_0_0_with_one_row_per_embedded_tile()
    {
        using var dir = new TempDir();
        var input = dir.File("in.tif");
        PythonOracle.Run(EmbeddingMapperTests.MakeRaster, input, "500", "333");
        var req = new MapRequest { InputPath = input, OutputPrefix = dir.File("m"), Formats = ["geoparquet", "npy"], Date = new DateOnly(2021, 6, 15) };
        await EmbeddingMapper.RunAsync(req, new FeatureModel("B2", "B3", "B4"));
        var (npy, _) = NpyFile.ReadSingle(dir.File("m.npy"));
        var gt = JsonDocument.Parse(PythonOracle.Run("from osgeo import gdal; import json; print(json.dumps(gdal.Open(sys.argv[1]).GetGeoTransform()))", input))
            .RootElement.EnumerateArray().Select(e => e.GetDouble()).ToArray();

        await using var stream = File.OpenRead(dir.File("m.parquet"));
        await using var reader = await ParquetReader.CreateAsync(stream);
        var geo = JsonDocument.Parse(reader.CustomMetadata["geo"]).RootElement;
        Assert.Equal("1.0.0", geo.GetProperty("version").GetString());
        Assert.Equal("geometry", geo.GetProperty("primary_column").GetString());
        var col = geo.GetProperty("columns").GetProperty("geometry");
        Assert.Equal("WKB", col.GetProperty("encoding").GetString());
        Assert.Equal("Polygon", col.GetProperty("geometry_types")[0].GetString());
        Assert.Equal(32632, col.GetProperty("crs").GetProperty("id").GetProperty("code").GetInt32());
        Assert.Equal("feature-test", reader.CustomMetadata["ssl4eco.model_id"]);
        var fields = reader.Schema.GetDataFields();
        Assert.Equal(["geometry", "row", "col", "date", "valid_fraction", "element"], fields.Select(f => f.Name).ToArray());

        using var rg = reader.OpenRowGroupReader(0);
        int n = (int)rg.RowCount;
        Assert.Equal(31, n); // 5 x 7 tiles minus the 4 nodata ones
        var geoms = new byte[]?[n];
        await rg.ReadAsync(fields[0], geoms.AsMemory(), null);
        var rows = new int[n];
        var cols = new int[n];
        await rg.ReadAsync<int>(fields[1], rows.AsMemory(), null);
        await rg.ReadAsync<int>(fields[2], cols.AsMemory(), null);
        var dates = new string?[n];
        await rg.ReadAsync(fields[3], dates.AsMemory(), null);
        var valid = new double[n];
        await rg.ReadAsync<double>(fields[4], valid.AsMemory(), null);
        var emb = new float[n * 9];
        var rep = new int[n * 9];
        var def = new int[n * 9];
        await rg.ReadRawAsync<float>(fields[5], emb.AsMemory(), def.AsMemory(), rep.AsMemory());
        Assert.All(def, d => Assert.Equal(fields[5].MaxDefinitionLevel, d));

        var bbox = col.GetProperty("bbox").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        var wkb = new WKBReader();
        var union = new Envelope();
        for (int i = 0; i < n; i++)
        {
            Assert.Equal("2021-06-15", dates[i]);
            Assert.InRange(valid[i], 0.5, 1.0);
            Assert.Equal(npy.AsSpan(((rows[i] * 7) + cols[i]) * 9, 9).ToArray(), emb.AsSpan(i * 9, 9).ToArray());
            Assert.Equal(0, rep[i * 9]);
            var env = wkb.Read(geoms[i]!).EnvelopeInternal;
            int x = cols[i] * 64, y = rows[i] * 64;
            Assert.Equal(gt[0] + x * gt[1], env.MinX, 6);
            Assert.Equal(gt[3] + y * gt[5], env.MaxY, 6);
            Assert.Equal(64 * gt[1], env.Width, 6);
            union.ExpandToInclude(env);
        }
        Assert.Equal([union.MinX, union.MinY, union.MaxX, union.MaxY], bbox);
    }

    private static EmbeddingMap SmallMap(int rows, int cols, int dim)
    {
        var grid = new SSL4Eco.Inference.Geo.Tiling.TileGrid(cols * 10, rows * 10, 10, transform: new SSL4Eco.Gdal.GeoTransform(600000, 10, 0, 5100000, 0, -10));
        int n = rows * cols;
        var values = Enumerable.Range(0, n * dim).Select(i => (float)Math.Sin(i) * 10).ToArray();
        var nodata = Enumerable.Range(0, n).Select(t => t % 6 == 2).ToArray();
        for (int t = 0; t < n; t++) if (nodata[t]) values.AsSpan(t * dim, dim).Fill(-9999f);
        using var srs = SSL4Eco.Gdal.GdalSpatialReference.FromUserInput("EPSG:32632");
        return new EmbeddingMap(grid, srs.ToWkt(), dim, new ArrayEmbeddingValues(values, dim), Enumerable.Range(0, n).Select(t => 0.5 + t % 5 / 10.0).ToArray(),
            nodata, -9999f, [], new DateOnly(2022, 3, 1), new Dictionary<string, string> { ["ssl4eco.model_id"] = "t" });
    }

    [Fact]
    public async Task Large_maps_are_written_in_several_row_groups_in_tile_order()
    {
        using var dir = new TempDir();
        var map = SmallMap(6, 9, 5);
        await GeoParquetMapWriter.WriteAsync(dir.File("m.parquet"), map, Enumerable.Range(0, 54).ToHashSet(), CancellationToken.None, tilesPerGroup: 7);
        var expected = Enumerable.Range(0, 54).Where(t => !map.IsNoData[t]).ToArray();
        await using var stream = File.OpenRead(dir.File("m.parquet"));
        await using var reader = await ParquetReader.CreateAsync(stream);
        Assert.Equal((expected.Length + 6) / 7, reader.RowGroupCount);
        var fields = reader.Schema.GetDataFields();
        var all = new float[54 * 5];
        map.Values.Read(0, 54, all);
        int k = 0;
        for (int g = 0; g < reader.RowGroupCount; g++)
        {
            using var rg = reader.OpenRowGroupReader(g);
            int n = (int)rg.RowCount;
            var rows = new int[n];
            var cols = new int[n];
            await rg.ReadAsync<int>(fields[1], rows.AsMemory(), null);
            await rg.ReadAsync<int>(fields[2], cols.AsMemory(), null);
            var emb = new float[n * 5];
            await rg.ReadRawAsync<float>(fields[5], emb.AsMemory(), new int[n * 5].AsMemory(), new int[n * 5].AsMemory());
            for (int i = 0; i < n; i++, k++)
            {
                Assert.Equal(expected[k], rows[i] * 9 + cols[i]);
                Assert.Equal(all.AsSpan(expected[k] * 5, 5).ToArray(), emb.AsSpan(i * 5, 5).ToArray());
            }
        }
        Assert.Equal(expected.Length, k);
    }

    // GDAL's Parquet driver (GDAL >= 3.8 built with Arrow) or pyarrow + GeoPandas, when either is installed: neither is on Debian 12.
    private const string ThirdPartyRead = """
import json
rows = None
try:
    import geopandas
    df = geopandas.read_parquet(sys.argv[1])
    rows, crs, kind = len(df), df.crs.to_epsg(), df.geometry.iloc[0].geom_type
except ImportError:
    from osgeo import ogr
    ds = ogr.Open(sys.argv[1]); lyr = ds.GetLayer(0)
    rows, crs, kind = lyr.GetFeatureCount(), int(lyr.GetSpatialRef().GetAuthorityCode(None)), ogr.GeometryTypeToName(lyr.GetGeomType())
print(rows, crs, kind)
""";

    [ParquetReaderFact]
    public async Task Opens_with_geopandas_or_gdal_parquet_driver_where_available()
    {
        using var dir = new TempDir();
        var map = SmallMap(6, 9, 5);
        await GeoParquetMapWriter.WriteAsync(dir.File("m.parquet"), map, Enumerable.Range(0, 54).ToHashSet(), CancellationToken.None, tilesPerGroup: 7);
        var got = PythonOracle.Run(ThirdPartyRead, dir.File("m.parquet")).Trim().Split(' ');
        Assert.Equal(map.IsNoData.Count(v => !v).ToString(System.Globalization.CultureInfo.InvariantCulture), got[0]);
        Assert.Equal("32632", got[1]);
        Assert.Contains("Polygon", got[2]);
    }
}

/// <summary>Skipped, with a message, unless pyarrow + GeoPandas or GDAL's Parquet driver can be used from python here.</summary>
internal sealed class ParquetReaderFactAttribute : FactAttribute
{
    private static readonly Lazy<bool> Available = new(() =>
    {
        try
        {
            return PythonOracle.Run("""
try:
    import pyarrow, geopandas
    print('yes')
except ImportError:
    from osgeo import ogr
    print('yes' if ogr.GetDriverByName('Parquet') is not None else 'no')
""").Trim() == "yes";
        }
        catch (Exception) { return false; }
    });

    public ParquetReaderFactAttribute()
    {
        if (!Available.Value) Skip = "Neither pyarrow + GeoPandas nor GDAL's Parquet driver (GDAL >= 3.8 with Arrow) is installed; Debian 12 has neither.";
    }
}

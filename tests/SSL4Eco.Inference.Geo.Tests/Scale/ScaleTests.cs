using System.Text;
using Parquet;
using SSL4Eco.Gdal;
using SSL4Eco.Inference.Geo.Pipeline;
using SSL4Eco.Inference.Geo.Scale;
using SSL4Eco.Inference.Geo.Tests.Pipeline;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Inference.Geo.Tests.Scale;

public class ShardSpecTests
{
    [Fact]
    public void Every_unit_belongs_to_exactly_one_shard_round_robin()
    {
        for (int n = 1; n <= 7; n++)
            for (int k = 0; k < 50; k++)
                Assert.Equal(1, Enumerable.Range(0, n).Count(i => new ShardSpec(i, n).Owns(k)));
        Assert.True(new ShardSpec(2, 4).Owns(6));
        Assert.False(new ShardSpec(2, 4).Owns(5));
    }

    [Theory]
    [InlineData("3/10", 3, 10)]
    [InlineData("0/1", 0, 1)]
    public void Parse_reads_i_of_n(string text, int i, int n) => Assert.Equal(new ShardSpec(i, n), ShardSpec.Parse(text));

    [Theory]
    [InlineData("4/4", "outside 0..3")]
    [InlineData("1/0", "at least 1")]
    [InlineData("-1/3", "not 'i/n'")]
    [InlineData("1-3", "not 'i/n'")]
    public void Parse_refuses_bad_shards_naming_the_fix(string text, string expected) =>
        Assert.Contains(expected, Assert.Throws<ArgumentException>(() => ShardSpec.Parse(text)).Message);

    [Fact]
    public void FromEnvironment_reads_each_batch_engine()
    {
        static ShardSpec From(int? count, params (string, string)[] vars) =>
            ShardSpec.FromEnvironment(name => vars.FirstOrDefault(v => v.Item1 == name).Item2, count);
        Assert.Equal(new ShardSpec(2, 5), From(null, ("SLURM_ARRAY_TASK_ID", "2"), ("SLURM_ARRAY_TASK_COUNT", "5")));
        Assert.Equal(new ShardSpec(1, 5), From(null, ("SLURM_ARRAY_TASK_ID", "2"), ("SLURM_ARRAY_TASK_MIN", "1"), ("SLURM_ARRAY_TASK_COUNT", "5")));
        Assert.Equal(new ShardSpec(7, 8), From(8, ("JOB_COMPLETION_INDEX", "7")));
        Assert.Equal(new ShardSpec(0, 3), From(3, ("AWS_BATCH_JOB_ARRAY_INDEX", "0")));
        Assert.Equal(new ShardSpec(4, 6), From(6, ("AZ_BATCH_TASK_ID", "task-4")));
        Assert.Equal(new ShardSpec(1, 2), From(null, ("SSL4ECO_SHARD_INDEX", "1"), ("SSL4ECO_SHARD_COUNT", "2")));
        Assert.Contains("--shard-count", Assert.Throws<ArgumentException>(() => From(null, ("JOB_COMPLETION_INDEX", "1"))).Message);
        Assert.Contains("no task index", Assert.Throws<ArgumentException>(() => From(4)).Message);
        Assert.Contains("outside 0..3", Assert.Throws<ArgumentException>(() => From(4, ("AWS_BATCH_JOB_ARRAY_INDEX", "4"))).Message);
    }
}

public class ScalePlanAndMergeTests
{
    private static readonly ScaleMapOptions Options = new() { TileSize = 64, Stride = 32, MinValidFraction = 0.5 };

    private static WorkManifest Plan(IReadOnlyList<string> inputs, string root, int? blockTiles, ScaleMapOptions? options = null) =>
        ScalePlanner.Plan(inputs, root, "feature-test", ShardRunner.RecipeSha256(new FeatureModel("B2", "B3", "B4")), 64, options ?? Options, blockTiles);

    [Fact]
    public void Plan_is_byte_stable_and_blocks_tile_the_grid_on_the_stride()
    {
        using var dir = new TempDir();
        var input = dir.File("in.tif");
        PythonOracle.Run(EmbeddingMapperTests.MakeRaster, input, "500", "333");
        var a = Plan([input], dir.File("out"), 4).ToJson();
        var b = Plan([input], dir.File("out"), 4).ToJson();
        Assert.Equal(a, b);
        File.WriteAllBytes(dir.File("m.json"), a);
        var m = WorkManifest.Load(dir.File("m.json"));
        Assert.Equal(a, m.ToJson());
        // 500 x 333, tile 64, stride 32: 14 x 9 tiles; blocks of 4 x 4 tiles: 4 x 3 = 12 units.
        Assert.Equal(12, m.Units.Count);
        var grid = new Inference.Geo.Tiling.TileGrid(500, 333, 64, 32);
        var covered = new HashSet<(int, int)>();
        foreach (var u in m.Units)
        {
            var w = u.Window!.Value;
            Assert.Equal(0, w.X % 32);
            Assert.Equal(0, w.Y % 32);
            var block = new Inference.Geo.Tiling.TileGrid(w.Width, w.Height, 64, 32);
            for (int r = 0; r < block.Rows; r++)
                for (int c = 0; c < block.Columns; c++)
                    Assert.True(covered.Add((w.Y / 32 + r, w.X / 32 + c)), "blocks overlap");
        }
        Assert.Equal(grid.Rows * grid.Columns, covered.Count);
    }

    [Fact]
    public void Plan_reads_stac_item_collections_with_relative_hrefs_and_object_urls()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("items.json"), """
            {"type":"FeatureCollection","features":[
              {"type":"Feature","id":"S2A_32TMT_20230704","assets":{"thumb":{"href":"t.png","type":"image/png"},"stack":{"href":"scenes/a.tif","type":"image/tiff; application=geotiff"}}},
              {"type":"Feature","id":"S2B_32TMT_20230709","assets":{"stack":{"href":"s3://bucket/b.tif","type":"image/tiff"}}}]}
            """);
        var m = Plan([dir.File("items.json")], "s3://out/run", null);
        Assert.Equal([Path.Combine(dir.Path, "scenes", "a.tif"), "/vsis3/bucket/b.tif"], m.Units.Select(u => u.Input));
        Assert.Equal(["u000000-S2A_32TMT_20230704", "u000001-S2B_32TMT_20230709"], m.Units.Select(u => u.Key));
        Assert.Equal("/vsis3/out/run", m.OutputRoot);
        File.WriteAllText(dir.File("bad.json"), """{"features":[{"id":"x","assets":{"a":{"href":"a.png","type":"image/png"}}}]}""");
        Assert.Contains("no GeoTIFF asset", Assert.Throws<ArgumentException>(() => Plan([dir.File("bad.json")], "o", null)).Message);
    }

    [Fact]
    public void An_mgrs_tile_list_keeps_the_scenes_of_those_tiles_and_refuses_tiles_without_a_scene()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("items.json"), """
            {"type":"FeatureCollection","features":[
              {"type":"Feature","id":"item-a","properties":{"s2:mgrs_tile":"32TMT"},"assets":{"s":{"href":"a.tif","type":"image/tiff"}}},
              {"type":"Feature","id":"item-b","properties":{"mgrs:utm_zone":31,"mgrs:latitude_band":"U","mgrs:grid_square":"ES"},"assets":{"s":{"href":"b.tif","type":"image/tiff"}}},
              {"type":"Feature","id":"S2B_MSIL2A_20230709T103629_N0509_R008_T32TNT_20230709T140003","assets":{"s":{"href":"c.tif","type":"image/tiff"}}},
              {"type":"Feature","id":"no-tile","assets":{"s":{"href":"d.tif","type":"image/tiff"}}}]}
            """);
        WorkManifest Keep(params string[] tiles) =>
            ScalePlanner.Plan([dir.File("items.json")], "o", "m", "r", 64, Options, mgrsTiles: tiles);
        Assert.Equal([dir.File("a.tif"), dir.File("c.tif")], Keep("T32TNT", "32tmt").Units.Select(u => u.Input));
        Assert.Equal([dir.File("b.tif")], Keep("31UES").Units.Select(u => u.Input));
        Assert.Equal(4, ScalePlanner.Plan([dir.File("items.json")], "o", "m", "r", 64, Options).Units.Count);
        Assert.Contains("31UFS matches no input scene", Assert.Throws<ArgumentException>(() => Keep("31UES", "31UFS")).Message);
        Assert.Contains("is not an MGRS tile id", Assert.Throws<ArgumentException>(() => Keep("99XYZ")).Message);
        Assert.Contains("is empty", Assert.Throws<ArgumentException>(() => Keep()).Message);
        File.WriteAllText(dir.File("tiles.txt"), "# wanted\n31UES\n\n32TMT\n");
        Assert.Equal(["31UES", "32TMT"], ScalePlanner.ParseTileList(dir.File("tiles.txt")));
        Assert.Equal(["31UES", "32TMT"], ScalePlanner.ParseTileList("31UES, 32TMT"));
        Assert.Null(ScalePlanner.ParseTileList(null));
        Assert.Equal("31UES", ScalePlanner.TileInName("S2A_T31UES_20230704_stack"));
        Assert.Null(ScalePlanner.TileInName("scene_2023"));
        Assert.Equal("mgrs_tile=31UES/unit=u000003-S2A_T31UES_20230704/part-0.parquet",
            ProductMerger.PartitionPath(new WorkUnit(3, "u000003-S2A_T31UES_20230704", "x.tif", null)));
        Assert.Equal("mgrs_tile=__HIVE_DEFAULT_PARTITION__/unit=u000000-scene/part-0.parquet",
            ProductMerger.PartitionPath(new WorkUnit(0, "u000000-scene", "x.tif", null)));
    }

    [Fact]
    public void Plan_and_load_refuse_what_they_cannot_honour()
    {
        using var dir = new TempDir();
        var input = dir.File("in.tif");
        PythonOracle.Run(EmbeddingMapperTests.MakeRaster, input, "200", "200");
        Assert.Contains("stride no larger than the tile", Assert.Throws<ArgumentException>(() => Plan([input], "o", 2, Options with { Stride = 80 })).Message);
        Assert.Contains("--dtype", Assert.Throws<ArgumentException>(() => Plan([input], "o", 2, Options with { RasterType = Inference.Geo.Outputs.EmbeddingRasterType.Int8 })).Message);
        Assert.Contains("does not exist", Assert.Throws<FileNotFoundException>(() => Plan([dir.File("none.tif")], "o", null)).Message);
        var json = Encoding.UTF8.GetString(Plan([input], "o", 2).ToJson()).Replace("\"min_valid\": 0.5", "\"min_valid\": 0.1", StringComparison.Ordinal);
        File.WriteAllText(dir.File("edited.json"), json);
        Assert.Contains("options_sha256", Assert.Throws<InvalidDataException>(() => WorkManifest.Load(dir.File("edited.json"))).Message);
        File.WriteAllText(dir.File("other.json"), "{\"a\":1}");
        Assert.Contains("not an ssl4eco manifest", Assert.Throws<InvalidDataException>(() => WorkManifest.Load(dir.File("other.json"))).Message);
    }

    [Fact]
    public async Task Shards_run_side_by_side_and_twice_merge_to_exactly_the_single_run()
    {
        using var dir = new TempDir();
        var input = dir.File("in.tif");
        PythonOracle.Run(EmbeddingMapperTests.MakeRaster, input, "500", "333");
        var single = await EmbeddingMapper.RunAsync(new MapRequest
        {
            InputPath = input, OutputPrefix = dir.File("single"), Formats = ["cog", "geoparquet"], TileSize = 64, Stride = 32,
        }, new FeatureModel("B2", "B3", "B4"));
        var manifest = Plan([input], dir.File("out"), 4);
        // Three shards at once, and shard 1 a second time at the same moment (same work folder: the unit locks serialise it).
        var results = await Task.WhenAll(new[] { 0, 1, 2, 1 }.Select(i => Task.Run(() =>
            ShardRunner.RunAsync(manifest, new ShardSpec(i, 3), new FeatureModel("B2", "B3", "B4"), dir.File("work"), new MapRequest { InputPath = "x", OutputPrefix = "x" }))));
        Assert.Equal(12, results.Take(3).Sum(r => r.Owned));
        Assert.Equal(4, results[1].Mapped + results[3].Mapped);
        Assert.Equal(4, results[1].Skipped + results[3].Skipped);
        var hashes = Directory.GetFiles(dir.File("out/units")).ToDictionary(f => f, f => GdalVsi.Sha256(f));
        // A rerun skips every verified unit and changes nothing.
        var again = await ShardRunner.RunAsync(manifest, new ShardSpec(0, 1), new FeatureModel("B2", "B3", "B4"), dir.File("work"));
        Assert.Equal((12, 0, 12), (again.Owned, again.Mapped, again.Skipped));
        Assert.Equal(hashes, Directory.GetFiles(dir.File("out/units")).ToDictionary(f => f, f => GdalVsi.Sha256(f)));
        Assert.Empty(Directory.GetFileSystemEntries(dir.File("work")));

        var merged = await ProductMerger.MergeAsync(manifest, null, dir.File("work"), cog: true);
        Assert.Equal("True True True True", PythonOracle.Run(CompareRasters, dir.File("single.tif"), merged.Vrt, merged.Cog!).Trim());
        var expected = await TableRows.ReadAsync([dir.File("single.parquet")]);
        var actual = await TableRows.ReadAsync(Directory.GetFiles(merged.ParquetRoot, "*.parquet", SearchOption.AllDirectories));
        Assert.Equal(single.Progress.Embedded, expected.Count);
        Assert.Equal(expected, actual);
        // Hive-style by MGRS tile, then unit: 'in.tif' names no tile, so every unit lies under the hive null partition.
        Assert.Equal(["mgrs_tile=__HIVE_DEFAULT_PARTITION__"], Directory.GetDirectories(merged.ParquetRoot).Select(Path.GetFileName));
        Assert.Equal(12, Directory.GetDirectories(Path.Combine(merged.ParquetRoot, "mgrs_tile=__HIVE_DEFAULT_PARTITION__")).Count(d => Path.GetFileName(d).StartsWith("unit=u0000", StringComparison.Ordinal)));
        using var collection = System.Text.Json.JsonDocument.Parse(File.ReadAllText(merged.Collection));
        Assert.Equal(9, collection.RootElement.GetProperty("summaries").GetProperty("raster:bands").GetArrayLength());
        Assert.Equal(manifest.RecipeSha256, collection.RootElement.GetProperty("summaries").GetProperty("ssl4eco:recipe_sha256").GetString());
        Assert.Equal("1.0.0", collection.RootElement.GetProperty("geoparquet:geo").GetProperty("version").GetString());
    }

    [Fact]
    public async Task A_damaged_unit_is_redone_and_merge_refuses_missing_units()
    {
        using var dir = new TempDir();
        var input = dir.File("in.tif");
        PythonOracle.Run(EmbeddingMapperTests.MakeRaster, input, "200", "200");
        var manifest = Plan([input], dir.File("out"), 3);
        Assert.Equal(4, manifest.Units.Count);
        await ShardRunner.RunAsync(manifest, new ShardSpec(0, 2), new FeatureModel("B2", "B3", "B4"), dir.File("work"));
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => ProductMerger.MergeAsync(manifest, null, dir.File("work")));
        Assert.Contains("2 of 4 units are not done", error.Message);
        Assert.Contains("shard k mod n", error.Message);
        var tif = manifest.UnitPath(manifest.Units[0], ".tif");
        var good = File.ReadAllBytes(tif);
        File.WriteAllBytes(tif, good.Take(good.Length / 2).ToArray());
        var rerun = await ShardRunner.RunAsync(manifest, new ShardSpec(0, 2), new FeatureModel("B2", "B3", "B4"), dir.File("work"));
        Assert.Equal((1, 1), (rerun.Mapped, rerun.Skipped));
        Assert.Equal(good, File.ReadAllBytes(tif));
        // Another model (other recipe) is refused before any work.
        var other = new FeatureModel("B2", "B3", "B4") { Weights = "feedbeef" };
        Assert.Contains("not the one the manifest was planned with",
            (await Assert.ThrowsAsync<ArgumentException>(() => ShardRunner.RunAsync(manifest, new ShardSpec(1, 2), other, dir.File("work")))).Message);
    }

    [Fact]
    public async Task Overlapping_scenes_follow_first_in_manifest_in_raster_and_table()
    {
        using var dir = new TempDir();
        PythonOracle.Run(EmbeddingMapperTests.MakeRaster, dir.File("in.tif"), "200", "200");
        // A = columns 0..127, B = columns 64..191 of the same grid, B's values changed so their embeddings differ where they overlap.
        PythonOracle.Run("""
from osgeo import gdal
import sys
src = sys.argv[1]
gdal.Translate(sys.argv[2], src, srcWin=[0, 0, 128, 200])
b = gdal.Translate(sys.argv[3], src, srcWin=[64, 0, 128, 200])
for i in range(1, 4):
    band = b.GetRasterBand(i); a = band.ReadAsArray(); a[a > 0] = a[a > 0] // 2 + 1; band.WriteArray(a)
b = None
""", dir.File("in.tif"), dir.File("a.tif"), dir.File("b.tif"));
        var options = Options with { Stride = 64 };
        foreach (var (order, name) in new[] { (new[] { "a.tif", "b.tif" }, "ab"), (new[] { "b.tif", "a.tif" }, "ba") })
        {
            var m = Plan(order.Select(dir.File).ToList(), dir.File(name), null, options);
            await ShardRunner.RunAsync(m, new ShardSpec(0, 1), new FeatureModel("B2", "B3", "B4"), dir.File("work"));
            var merged = await ProductMerger.MergeAsync(m, null, dir.File("work"));
            // Mosaic: 3 tile columns (0, 64, 128 px); column 1 is covered by both scenes.
            var check = PythonOracle.Run("""
from osgeo import gdal
import numpy as np, sys
v = gdal.Open(sys.argv[1]).ReadAsArray(); a = gdal.Open(sys.argv[2]).ReadAsArray(); b = gdal.Open(sys.argv[3]).ReadAsArray()
print(v.shape[2], np.array_equal(v[:, :, 1], a[:, :, 1]), np.array_equal(v[:, :, 1], b[:, :, 0]), np.array_equal(v[:, :, 0], a[:, :, 0]), np.array_equal(v[:, :, 2], b[:, :, 1]))
""", merged.Vrt, m.UnitPath(m.Units.Single(u => u.Input.EndsWith("a.tif", StringComparison.Ordinal)), ".tif"), m.UnitPath(m.Units.Single(u => u.Input.EndsWith("b.tif", StringComparison.Ordinal)), ".tif")).Trim();
            Assert.Equal(name == "ab" ? "3 True False True True" : "3 False True True True", check);
            var rows = await TableRows.ReadAsync(Directory.GetFiles(merged.ParquetRoot, "*.parquet", SearchOption.AllDirectories));
            Assert.Equal(rows.Count, rows.Select(r => (r.Row, r.Col)).Distinct().Count());
            Assert.Equal(merged.Rows, rows.Count);
        }
    }

    private const string CompareRasters = """
from osgeo import gdal
import numpy as np, sys
a = gdal.Open(sys.argv[1])
out = []
for f in sys.argv[2:]:
    b = gdal.Open(f)
    out.append(a.GetGeoTransform() == b.GetGeoTransform() and a.GetProjection() == b.GetProjection() and np.array_equal(a.ReadAsArray(), b.ReadAsArray()))
out.append(gdal.Open(sys.argv[3]).GetDriver().ShortName == 'GTiff' and 'COG' in (gdal.Open(sys.argv[3]).GetMetadata('IMAGE_STRUCTURE').get('LAYOUT', '')))
out.append(a.RasterCount == gdal.Open(sys.argv[2]).RasterCount)
print(' '.join(str(x) for x in out))
""";
}


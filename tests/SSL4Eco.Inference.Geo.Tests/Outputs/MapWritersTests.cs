using SSL4Eco.Inference.Geo.Outputs;
using SSL4Eco.Inference.Geo.Pipeline;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Inference.Geo.Tests.Outputs;

/// <summary>The writers' registry: one writer per <see cref="MapOutputs"/> flag, found by extension, writing exactly the files it declares.</summary>
public class MapWritersTests
{
    [Fact]
    public void Every_output_flag_has_one_registered_writer_named_after_it_and_every_writer_a_flag()
    {
        var flags = Enum.GetValues<MapOutputs>().Where(f => f != MapOutputs.None && f != MapOutputs.All).ToList();
        Assert.Equal(flags.Select(f => f.ToString().ToLowerInvariant()).Order(), MapWriters.All.Select(w => w.Format).Order());
        Assert.Equal(MapWriters.All.Count, MapWriters.All.Select(w => w.Format).Distinct().Count());
        Assert.Equal(MapWriters.All.Sum(w => w.Extensions.Count), MapWriters.All.SelectMany(w => w.Extensions).Distinct().Count());
        Assert.Same(MapWriters.All[0], MapWriters.ForFormat("COG"));
        Assert.Null(MapWriters.ForFormat("zarr"));
    }

    [Theory]
    [InlineData("m.tif", MapOutputs.Cog)]
    [InlineData("m.TIFF", MapOutputs.Cog)]
    [InlineData("m.parquet", MapOutputs.GeoParquet)]
    [InlineData("m.npy", MapOutputs.Npy)]
    public void The_output_extension_picks_the_format_and_the_prefix_drops_it(string file, MapOutputs expected)
    {
        using var dir = new TempDir();
        var (prefix, outputs) = MapInputs.Output(dir.File(file));
        Assert.Equal(expected, outputs);
        Assert.Equal(dir.File("m"), prefix);
    }

    [Fact]
    public void An_unknown_output_extension_is_refused_naming_the_known_ones()
    {
        var e = Assert.Throws<ArgumentException>(() => MapInputs.Output("m.png"));
        Assert.Contains("'.png'", e.Message);
        Assert.Contains("use .tif, .parquet or .npy", e.Message);
    }

    [Fact]
    public async Task A_run_writes_exactly_the_files_the_writers_declare_each_typed_once()
    {
        using var dir = new TempDir();
        var input = dir.File("in.tif");
        PythonOracle.Run(Pipeline.EmbeddingMapperTests.MakeRaster, input, "130", "70");
        var request = new MapRequest { InputPath = input, OutputPrefix = dir.File("m"), Outputs = MapOutputs.All, RasterType = EmbeddingRasterType.Int8 };
        var result = await EmbeddingMapper.RunAsync(request, new Pipeline.FeatureModel("B2", "B3", "B4"));
        var declared = EmbeddingMapper.OutputsOf(request).Files.Where(f => f != SSL4Eco.Inference.Files.OutputLock.PathFor(request.OutputPrefix)).Order(StringComparer.Ordinal);
        Assert.Equal(declared, result.Outputs.Select(o => o.Path).Order(StringComparer.Ordinal));
        Assert.All(result.Outputs, o => Assert.True(File.Exists(o.Path), o.Path));
        Assert.Equal(["cog", "cog", "npy", "npy", "npy", "geoparquet"], result.Outputs.Select(o => o.Format));
        Assert.Equal(dir.File("m.tif"), Assert.Single(result.Outputs, o => o.Role == MapOutputRole.EmbeddingRaster).Path);
        Assert.Equal(dir.File("m.scale.tif"), Assert.Single(result.Outputs, o => o.Role == MapOutputRole.Scale).Path);
        Assert.Equal(dir.File("m.tif"), MapInputs.EmbeddingRaster(result.Outputs));
        Assert.Throws<InvalidOperationException>(() => MapInputs.EmbeddingRaster(result.Outputs.Where(o => o.Format != "cog")));
    }
}

using SSL4Eco.Inference.Geo.Outputs;
using SSL4Eco.Inference.Geo.Pipeline;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Inference.Geo.Tests.Outputs;

/// <summary>
/// The writers' registry: every <see cref="IMapWriter"/> of the library is discovered (so adding a format touches only its
/// writer's file), requestable by name and by extension, and writes exactly the files it declares.
/// </summary>
public class MapWritersTests
{
    /// <summary>Every writer type of the library, found independently of the registry.</summary>
    private static readonly List<Type> WriterTypes = [.. typeof(MapWriters).Assembly.GetTypes().Where(t => typeof(IMapWriter).IsAssignableFrom(t) && !t.IsInterface && !t.IsAbstract)];

    [Fact]
    public void The_registry_holds_exactly_one_instance_of_every_writer_type_of_the_library_in_write_order()
    {
        Assert.Equal(WriterTypes.Select(t => t.FullName).Order(), MapWriters.All.Select(w => w.GetType().FullName).Order());
        Assert.Equal(["cog", "npy", "geoparquet"], MapWriters.All.Select(w => w.Format));
        Assert.Equal(MapWriters.All.Select(w => w.Format), MapRequest.KnownFormats);
        Assert.Equal(MapWriters.All.Select(w => w.Order).Order(), MapWriters.All.Select(w => w.Order));
        Assert.Same(MapWriters.All[0], MapWriters.ForFormat("COG"));
        Assert.Null(MapWriters.ForFormat("zarr"));
    }

    [Fact]
    public void Every_format_is_requestable_by_name_in_any_case_and_by_each_of_its_extensions()
    {
        using var dir = new TempDir();
        foreach (var writer in MapWriters.All)
        {
            foreach (var name in new[] { writer.Format, writer.Format.ToUpperInvariant() })
            {
                var request = new MapRequest { InputPath = "in.tif", OutputPrefix = dir.File("m"), Formats = [name] };
                request.Validate();
                Assert.Same(writer, Assert.Single(MapPlan.WritersFor(request.Formats)));
            }
            foreach (var ext in writer.Extensions.Concat(writer.Extensions.Select(e => e.ToUpperInvariant())))
            {
                var (prefix, format) = MapInputs.Output(dir.File("m" + ext));
                Assert.Equal(writer.Format, format);
                Assert.Equal(dir.File("m"), prefix);
            }
        }
    }

    [Theory]
    [InlineData("m.tif", "cog")]
    [InlineData("m.TIFF", "cog")]
    [InlineData("m.parquet", "geoparquet")]
    [InlineData("m.npy", "npy")]
    public void The_output_extension_picks_the_format_and_the_prefix_drops_it(string file, string expected)
    {
        using var dir = new TempDir();
        var (prefix, format) = MapInputs.Output(dir.File(file));
        Assert.Equal(expected, format);
        Assert.Equal(dir.File("m"), prefix);
    }

    [Fact]
    public void An_unknown_format_name_is_refused_naming_it_and_the_known_ones()
    {
        var request = new MapRequest { InputPath = "in.tif", OutputPrefix = "m", Formats = ["cog", "zarr"] };
        var e = Assert.Throws<ArgumentException>(request.Validate);
        Assert.Contains("'zarr'", e.Message);
        Assert.Contains("known formats: cog, npy, geoparquet", e.Message);
        Assert.Throws<ArgumentException>((request with { Formats = null! }).Validate);
    }

    [Fact]
    public void No_format_asks_for_no_writer_and_is_valid()
    {
        var request = new MapRequest { InputPath = "in.tif", OutputPrefix = "m", Formats = [] };
        request.Validate();
        Assert.Empty(MapPlan.WritersFor(request.Formats));
        Assert.Equal(["cog"], new MapRequest { InputPath = "in.tif", OutputPrefix = "m" }.Formats);
    }

    [Fact]
    public void Discovery_skips_types_it_cannot_instantiate_and_orders_by_Order()
    {
        var found = MapWriters.Discover([typeof(PlantedB), typeof(string), typeof(PlantedAbstract), typeof(PlantedNoDefaultConstructor), typeof(PlantedA), typeof(IMapWriter)]);
        Assert.Equal(["a", "b"], found.Select(w => w.Format));
    }

    [Fact]
    public void A_duplicate_format_name_fails_discovery_naming_both_writers_and_the_name()
    {
        var e = Assert.Throws<InvalidOperationException>(() => MapWriters.Discover([typeof(PlantedA), typeof(PlantedUpperA)]));
        Assert.Contains("PlantedA and PlantedUpperA", e.Message);
        Assert.Contains("format name 'a'", e.Message);
    }

    [Fact]
    public void A_duplicate_extension_fails_discovery_naming_both_writers_and_the_extension()
    {
        var e = Assert.Throws<InvalidOperationException>(() => MapWriters.Discover([typeof(CogMapWriter), typeof(PlantedTif)]));
        Assert.Contains("CogMapWriter and PlantedTif", e.Message);
        Assert.Contains("extension '.tif'", e.Message);
    }

    private abstract class PlantedWriter(string format, int order, params string[] extensions) : IMapWriter
    {
        public string Format => format;
        public int Order => order;
        public IReadOnlyList<string> Extensions => extensions;
        public IReadOnlyList<string> FilesFor(string prefix, EmbeddingRasterType rasterType) => [prefix + Extensions[0]];
        public Task<IReadOnlyList<MapOutput>> WriteAsync(string prefix, EmbeddingMap map, MapWriteOptions options, CancellationToken cancellationToken) => throw new NotSupportedException();
    }

    private sealed class PlantedA() : PlantedWriter("a", 5, ".a");
    private sealed class PlantedB() : PlantedWriter("b", 7, ".b");
    private sealed class PlantedUpperA() : PlantedWriter("A", 9, ".upper");
    private sealed class PlantedTif() : PlantedWriter("tif2", 9, ".TIF");
    private abstract class PlantedAbstract() : PlantedWriter("abstract", 0, ".abs");
    private sealed class PlantedNoDefaultConstructor(string name) : PlantedWriter(name, 0, ".nodef");

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
        var request = new MapRequest { InputPath = input, OutputPrefix = dir.File("m"), Formats = MapRequest.KnownFormats, RasterType = EmbeddingRasterType.Int8 };
        var result = await EmbeddingMapper.RunAsync(request, new Pipeline.FeatureModel("B2", "B3", "B4"));
        var declared = EmbeddingMapper.OutputsOf(request).Files.Where(f => f != SSL4Eco.Inference.Files.OutputLock.PathFor(request.OutputPrefix)).Order(StringComparer.Ordinal);
        Assert.Equal(declared, result.Outputs.Select(o => o.Path).Order(StringComparer.Ordinal));
        Assert.All(result.Outputs, o => Assert.True(File.Exists(o.Path), o.Path));
        Assert.Equal(["cog", "cog", "npy", "npy", "npy", "geoparquet"], result.Outputs.Select(o => o.Format));
        foreach (var writer in MapWriters.All)
            Assert.Equal(writer.FilesFor(request.OutputPrefix, request.RasterType), result.Outputs.Where(o => o.Format == writer.Format).Select(o => o.Path));
        Assert.Equal(dir.File("m.tif"), Assert.Single(result.Outputs, o => o.Role == MapOutputRole.EmbeddingRaster).Path);
        Assert.Equal(dir.File("m.scale.tif"), Assert.Single(result.Outputs, o => o.Role == MapOutputRole.Scale).Path);
        Assert.Equal(dir.File("m.tif"), MapInputs.EmbeddingRaster(result.Outputs));
        Assert.Throws<InvalidOperationException>(() => MapInputs.EmbeddingRaster(result.Outputs.Where(o => o.Format != "cog")));
    }
}

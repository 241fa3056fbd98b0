using BenchmarkDotNet.Attributes;
using SSL4Eco.Inference.Embedding;
using SSL4Eco.Gdal;
using SSL4Eco.Inference.Geo.Pipeline;
using SSL4Eco.Inference.Models;
using SSL4Eco.Inference.Preprocessing;

namespace SSL4Eco.Benchmarks.Geo;

/// <summary>
/// End-to-end map throughput (read → validity/fill → EmbedBatch → resume state → COG) against model-only throughput on the
/// same patches, per tile (OperationsPerInvoke = tiles). The model is a cheap stand-in (per-band means) so the numbers show
/// the pipeline's own overhead; swap in the ONNX encoder to measure a real run.
/// </summary>
[MemoryDiagnoser]
public class MapPipelineBenchmarks
{
    private const int Size = 1024, Tile = 128, Tiles = (Size / Tile) * (Size / Tile);
    private string _dir = "";
    private string _input = "";
    private MeanModel _model = null!;
    private List<Patch> _patches = null!;

    [Params(1, 2)]
    public int Readers { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _dir = Path.Combine(Path.GetTempPath(), "ssl4eco-bench-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
        _input = Path.Combine(_dir, "in.tif");
        using (var ds = GdalDataset.Create("GTiff", _input, Size, Size, 13, GdalDataType.UInt16,
                   new Dictionary<string, string> { ["TILED"] = "YES", ["COMPRESS"] = "DEFLATE" }))
        {
            ds.GeoTransform = new GeoTransform(600000, 10, 0, 5100000, 0, -10);
            var rng = new Random(1);
            var data = new ushort[Size * Size * 13];
            for (int i = 0; i < data.Length; i++) data[i] = (ushort)rng.Next(1, 5000);
            ds.Write(new PixelWindow(0, 0, Size, Size), data);
        }
        _model = new MeanModel();
        _patches = Enumerable.Range(0, Tiles).Select(_ => new Patch(_model.Contract.Bands, Tile, Tile, new float[13 * Tile * Tile])).ToList();
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_dir, true);

    [Benchmark(OperationsPerInvoke = Tiles)]
    public Task<MapResult> EndToEnd() => EmbeddingMapper.RunAsync(new MapRequest
    {
        InputPath = _input, OutputPrefix = Path.Combine(_dir, "out"), TileSize = Tile, Resume = false, ReaderCount = Readers,
    }, _model);

    [Benchmark(OperationsPerInvoke = Tiles, Baseline = true)]
    public float[] ModelOnly()
    {
        float[] last = [];
        for (int i = 0; i < Tiles; i += 16) last = _model.EmbedBatch(_patches.GetRange(i, Math.Min(16, Tiles - i)));
        return last;
    }

    private sealed class MeanModel : IEmbeddingModel
    {
        public ModelContract Contract { get; } = new()
        {
            Bands = ["B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B11", "B12", "NDVI"],
            Scaling = new InputScaling(10000), Spatial = SpatialPolicy.BilinearResize, InputSize = Tile, EmbeddingDim = 13,
        };

        public int BatchSize => 16;

        public float[] EmbedBatch(IReadOnlyList<Patch> patches, CancellationToken cancellationToken = default)
        {
            var r = new float[patches.Count * 13];
            for (int p = 0; p < patches.Count; p++)
                for (int b = 0; b < 13; b++)
                    r[p * 13 + b] = System.Numerics.Tensors.TensorPrimitives.Sum(patches[p].Band(b)) / (Tile * Tile);
            return r;
        }
    }
}

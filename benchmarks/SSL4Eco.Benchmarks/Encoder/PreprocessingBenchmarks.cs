using BenchmarkDotNet.Attributes;
using SSL4Eco.Inference.Models;
using SSL4Eco.Inference.Preprocessing;

namespace SSL4Eco.Benchmarks.Encoder;

/// <summary>Cost of preprocessing one patch into the 9×224² model input, per spatial case.</summary>
[MemoryDiagnoser]
public class PreprocessingBenchmarks
{
    private PatchPreprocessor _crop = null!;
    private PatchPreprocessor _resize = null!;
    private Patch _p256 = null!;
    private Patch _p100 = null!;
    private float[] _dst = null!;

    [GlobalSetup]
    public void Setup()
    {
        var contract = BenchmarkModels.Contract;
        _crop = new PatchPreprocessor(contract);
        _resize = new PatchPreprocessor(contract with { Spatial = SpatialPolicy.BilinearResize });
        string[] bands = ["B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B11", "B12"];
        var rng = new Random(5);
        Patch Make(int s)
        {
            var d = new float[bands.Length * s * s];
            for (int i = 0; i < d.Length; i++) d[i] = rng.Next(100, 5000);
            return new Patch(bands, s, s, d);
        }
        _p256 = Make(256);
        _p100 = Make(100);
        _dst = new float[_crop.ValuesPerPatch];
    }

    /// <summary>256² patch, NDVI derived, centre crop to 224 (the official path).</summary>
    [Benchmark(Baseline = true)]
    public void CenterCrop256() => _crop.Preprocess(_p256, _dst);

    /// <summary>100² patch, NDVI derived, bicubic upscale to 224.</summary>
    [Benchmark]
    public void BicubicUpscale100() => _crop.Preprocess(_p100, _dst);

    /// <summary>256² patch, NDVI derived, bilinear resize to 224 (TorchGeo path).</summary>
    [Benchmark]
    public void BilinearResize256() => _resize.Preprocess(_p256, _dst);
}

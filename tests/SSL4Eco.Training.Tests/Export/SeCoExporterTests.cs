using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using SSL4Eco.Inference.Arrays;
using SSL4Eco.Inference.Checkpoints;
using SSL4Eco.Inference.Models;
using SSL4Eco.Inference.Tests.Oracle;
using SSL4Eco.Training.Export;
using SSL4Eco.Training.Tests.Isolation;
using SSL4Eco.Training.Tests.Trainer;
using SSL4Eco.Training.Trainer;

namespace SSL4Eco.Training.Tests.Export;

/// <summary>A run folder with a checkpoint after two training steps.</summary>
public sealed class TrainedRunFixture : IDisposable
{
    public TrainedRunFixture()
    {
        Data = new TinyDatasetFixture();
        Isolated.Run(typeof(TrainedRunFixture), nameof(Train), Data.Dir.Path, Run.Path);
    }

    internal static void Train(string[] args)
    {
        Isolated.Step("2 training steps");
        new SeCoTrainer(TinyDatasetFixture.Options(args[0], args[1], 2)).Fit();
    }

    public TinyDatasetFixture Data { get; }
    public TempDir Run { get; } = new();
    public string Checkpoint => Path.Combine(Run.Path, SeCoTrainer.CheckpointFolder);

    public void Dispose() { Run.Dispose(); Data.Dispose(); }
}

public sealed class SeCoExporterTests : IClassFixture<TrainedRunFixture>
{
    private readonly TrainedRunFixture _run;
    public SeCoExporterTests(TrainedRunFixture run) => _run = run;

    private static float[] Input(int n, int c, int s, int seed)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, n * c * s * s).Select(_ => (float)(r.NextDouble() * 10)).ToArray();
    }

    [Fact]
    public void LightningCheckpointLoadsInPyTorchAndGivesTheSameEmbedding() => Isolated.Run(typeof(SeCoExporterTests), nameof(LightningInPyTorch), _run.Checkpoint);

    internal static void LightningInPyTorch(string[] args)
    {
        using var dir = new TempDir();
        using var exporter = SeCoExporter.Open(args[0]);
        exporter.WriteLightningCheckpoint(dir.File("model.ckpt"));
        var x = Input(2, 9, 32, 1);
        NpyFile.Write(dir.File("x.npy"), x, 2, 9, 32, 32);
        var expected = exporter.Embed(x, 2, 9, 32, 32);
        var output = PythonOracle.Run("""
import sys, json, numpy as np, torch, torch.nn as nn
import resnet_fixture
torch.set_num_threads(2)
d = sys.argv[1]
ck = torch.load(d + '/model.ckpt', map_location='cpu')
sd = ck['state_dict']
r = resnet_fixture.build(ck['hyper_parameters']['n_channels'])
enc = nn.Sequential(*list(r.children())[:-1], nn.Flatten())
enc.load_state_dict({k[len('encoder_q.'):]: v for k, v in sd.items() if k.startswith('encoder_q.')}, strict=True)
enc.eval()
with torch.no_grad(): y = enc(torch.from_numpy(np.load(d + '/x.npy')))
np.save(d + '/y.npy', y.numpy())
print(json.dumps({'queue': list(sd['queue'].shape), 'ptr_dtype': str(sd['queue_ptr'].dtype), 'step': ck['global_step'],
  'heads': list(sd['heads_q.2.2.weight'].shape), 'k': list(sd['encoder_k.7.2.bn3.running_var'].shape), 'nbt': int(sd['encoder_q.1.num_batches_tracked'])}))
""", dir.Path);
        var json = System.Text.Json.JsonDocument.Parse(output).RootElement;
        Assert.Equal("[3,128,16]", json.GetProperty("queue").GetRawText().Replace(" ", ""));
        Assert.Equal("torch.int64", json.GetProperty("ptr_dtype").GetString());
        Assert.Equal(2, json.GetProperty("step").GetInt64());
        Assert.Equal(2, json.GetProperty("nbt").GetInt64());
        Assert.Equal("[128,2048]", json.GetProperty("heads").GetRawText().Replace(" ", ""));
        var actual = NpyFile.ReadSingle(dir.File("y.npy")).Data;
        Assert.True(Cosine(expected, actual) >= 0.99999, $"cosine {Cosine(expected, actual)}");
    }

    [Fact]
    public void LightningCheckpointRoundTripsThroughTheCheckpointReader() => Isolated.Run(typeof(SeCoExporterTests), nameof(LightningRoundTrip), _run.Checkpoint);

    internal static void LightningRoundTrip(string[] args)
    {
        using var dir = new TempDir();
        using var exporter = SeCoExporter.Open(args[0]);
        exporter.WriteLightningCheckpoint(dir.File("model.ckpt"));
        var read = CheckpointLayouts.ReadEncoder(dir.File("model.ckpt"));
        var original = exporter.EncoderWeights();
        Assert.Equal(CheckpointLayout.LightningSeCo, read.Layout);
        foreach (var (name, t) in original.Tensors) Assert.Equal(t.Values, read.Weights[name].Values);
    }

    [Fact]
    public void OnnxExportMatchesTorchSharpAndCarriesTheContract() => Isolated.Run(typeof(SeCoExporterTests), nameof(OnnxMatches), _run.Checkpoint);

    internal static void OnnxMatches(string[] args)
    {
        using var dir = new TempDir();
        using var exporter = SeCoExporter.Open(args[0]);
        exporter.WriteOnnx(dir.File("enc.onnx"));
        var x = Input(2, 9, 32, 2);
        var expected = exporter.Embed(x, 2, 9, 32, 32);
        using var session = new InferenceSession(dir.File("enc.onnx"));
        string inputName = session.InputMetadata.Keys.First();
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(inputName, new DenseTensor<float>(x, [2, 9, 32, 32]))]);
        var actual = results.First().AsEnumerable<float>().ToArray();
        Assert.True(Cosine(expected, actual) >= 0.99999, $"cosine {Cosine(expected, actual)}");
        var contract = ModelContract.FromMetadata(session.ModelMetadata.CustomMetadataMap);
        Assert.Equal(["B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "NDVI"], contract.Bands);
        Assert.Equal(255, contract.Scaling.Divisor);
        Assert.Equal(32, contract.InputSize);

        // The inference library runs the exported model on a raw SSL4Eco-layout patch (what 'ssl4eco embed' does):
        // 13 bands by name, NDVI present, DN/255, centre crop 40 -> 32 (offset 4), equal to TorchSharp on the same crop.
        string[] bands = ["B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B11", "B12", "NDVI"];
        var rng = new Random(5);
        var raw = Enumerable.Range(0, 13 * 40 * 40).Select(_ => (float)rng.Next(100, 5000)).ToArray();
        using var encoder = SSL4Eco.Inference.Embedding.SeCoEcoEncoder.Open(dir.File("enc.onnx"));
        var embedded = encoder.Embed(new SSL4Eco.Inference.Preprocessing.Patch(bands, 40, 40, raw));
        int[] pick = [1, 2, 3, 4, 5, 6, 7, 8, 12];
        var crop = new float[9 * 32 * 32];
        for (int c = 0; c < 9; c++)
            for (int y = 0; y < 32; y++)
                for (int xx = 0; xx < 32; xx++)
                    crop[(c * 32 + y) * 32 + xx] = raw[(pick[c] * 40 + y + 4) * 40 + xx + 4] / 255f;
        var reference = exporter.Embed(crop, 1, 9, 32, 32);
        Assert.True(Cosine(reference, embedded) >= 0.99999, $"encoder vs TorchSharp cosine {Cosine(reference, embedded)}");
    }

    [Fact]
    public void OpeningAFolderWithoutStateNamesIt() => Isolated.Run(typeof(SeCoExporterTests), nameof(OpenWithoutState));

    internal static void OpenWithoutState(string[] args)
    {
        using var dir = new TempDir();
        var e = Assert.Throws<InvalidDataException>(() => SeCoExporter.Open(dir.Path));
        Assert.Contains("state.json", e.Message);
    }

    private static double Cosine(float[] a, float[] b)
    {
        double ab = 0, aa = 0, bb = 0;
        for (int i = 0; i < a.Length; i++) { ab += a[i] * (double)b[i]; aa += a[i] * (double)a[i]; bb += b[i] * (double)b[i]; }
        return ab / Math.Sqrt(aa * bb);
    }
}

public sealed class InitFromCheckpointTests : IClassFixture<TrainedRunFixture>
{
    private readonly TrainedRunFixture _run;
    public InitFromCheckpointTests(TrainedRunFixture run) => _run = run;

    [Fact]
    public void InitLoadsAReleasedLayoutCheckpointIntoTheEncoders() =>
        Isolated.Run(typeof(InitFromCheckpointTests), nameof(InitLoads), _run.Data.Dir.Path, _run.Checkpoint);

    internal static void InitLoads(string[] args)
    {
        using var dir = new TempDir();
        using (var exporter = SeCoExporter.Open(args[1])) exporter.WriteLightningCheckpoint(dir.File("init.ckpt"));
        var source = CheckpointLayouts.ReadEncoder(dir.File("init.ckpt")).Weights;
        var run = Path.Combine(dir.Path, "run");
        Isolated.Step("1 step from --init");
        new SeCoTrainer(TinyDatasetFixture.Options(args[0], run, 1) with { InitCheckpoint = dir.File("init.ckpt"), LearningRate = 1e-12, WeightDecay = 0 }).Fit();
        using var after = SeCoExporter.Open(Path.Combine(run, SeCoTrainer.CheckpointFolder));
        var w = after.EncoderWeights();
        foreach (var name in new[] { "conv1.weight", "layer2.0.downsample.0.weight", "layer4.2.conv3.weight" })
            for (int i = 0; i < w[name].Values.Length; i++) Assert.Equal(source[name].Values[i], w[name].Values[i], 1e-6f);
    }

    [Fact]
    public void InitWithAnotherChannelCountNamesBoth() =>
        Isolated.Run(typeof(InitFromCheckpointTests), nameof(InitOtherChannels), _run.Data.Dir.Path, _run.Checkpoint);

    internal static void InitOtherChannels(string[] args)
    {
        using var dir = new TempDir();
        using (var exporter = SeCoExporter.Open(args[1])) exporter.WriteLightningCheckpoint(dir.File("init.ckpt"));
        var options = TinyDatasetFixture.Options(args[0], Path.Combine(dir.Path, "run"), 1) with
        {
            InitCheckpoint = dir.File("init.ckpt"),
            Data = new SSL4Eco.Training.Data.DatasetOptions { ModelBands = ["B2", "B3", "B4"] },
        };
        var e = Assert.Throws<InvalidDataException>(() => new SeCoTrainer(options).Fit());
        Assert.Contains("9 input channels", e.Message);
        Assert.Contains("give 3", e.Message);
    }
}

using SSL4Eco.Inference.Tests.Oracle;
using SSL4Eco.Training.Augmentation;
using SSL4Eco.Training.Data;
using SSL4Eco.Training.Models;
using SSL4Eco.Training.Tests.Isolation;
using SSL4Eco.Training.Trainer;

namespace SSL4Eco.Training.Tests.Trainer;

/// <summary>Shared tiny synthetic dataset for trainer tests (generated once).</summary>
public sealed class TinyDatasetFixture : IDisposable
{
    public TinyDatasetFixture()
    {
        SyntheticSsl4EcoDataset.Generate(Dir.Path, locations: 16, size: 48, seed: 3);
    }

    public TempDir Dir { get; } = new();

    public TrainingOptions Options(string output, long maxSteps) => Options(Dir.Path, output, maxSteps);

    public static TrainingOptions Options(string data, string output, long maxSteps) => new()
    {
        DataDirectory = data,
        OutputDirectory = output,
        BatchSize = 8,
        ImageSize = 32,
        MaxSteps = maxSteps,
        Model = new SeCoModelOptions { QueueSize = 16 },
        Data = new DatasetOptions { Workers = 2 },
        CheckpointEvery = 2,
        Threads = 2,
        Device = "cpu",
        Seed = 11,
    };

    public void Dispose() => Dir.Dispose();
}

public sealed class SeCoTrainerTests : IClassFixture<TinyDatasetFixture>
{
    private readonly TinyDatasetFixture _data;
    public SeCoTrainerTests(TinyDatasetFixture data) => _data = data;

    [Fact]
    public void ResumeContinuesExactly() => Isolated.Run(typeof(SeCoTrainerTests), nameof(Resume), _data.Dir.Path);

    internal static void Resume(string[] args)
    {
        using var a = new TempDir();
        using var b = new TempDir();
        Isolated.Step("4 steps");
        var full = new SeCoTrainer(TinyDatasetFixture.Options(args[0], a.Path, 4)).Fit();
        Isolated.Step("2 steps");
        var first = new SeCoTrainer(TinyDatasetFixture.Options(args[0], b.Path, 2)).Fit();
        Isolated.Step("resume to 4 steps");
        var rest = new SeCoTrainer(TinyDatasetFixture.Options(args[0], b.Path, 4) with { Resume = true }).Fit();
        Assert.Equal(4, full.Steps);
        Assert.Equal(4, rest.Steps);
        Assert.Equal(full.Losses, first.Losses.Concat(rest.Losses));
        Assert.Equal(5, File.ReadAllLines(Path.Combine(b.Path, "log.csv")).Length);
        Assert.True(File.Exists(Path.Combine(b.Path, "loss.png")));
    }

    [Fact]
    public void ResumeWithoutCheckpointNamesTheFolder() => Isolated.Run(typeof(SeCoTrainerTests), nameof(ResumeWithoutCheckpoint), _data.Dir.Path);

    internal static void ResumeWithoutCheckpoint(string[] args)
    {
        using var a = new TempDir();
        var e = Assert.Throws<InvalidDataException>(() => new SeCoTrainer(TinyDatasetFixture.Options(args[0], a.Path, 2) with { Resume = true }).Fit());
        Assert.Contains("checkpoint", e.Message);
    }

    [Fact]
    public void QueueMustBeAMultipleOfTheBatch()
    {
        var e = Assert.Throws<ArgumentException>(() => new SeCoTrainer(_data.Options("x", 1) with { Model = new SeCoModelOptions { QueueSize = 12 } }));
        Assert.Contains("multiple", e.Message);
    }
}

public sealed class SeCoTrainerLossTests : IClassFixture<TinyDatasetFixture>
{
    private readonly TinyDatasetFixture _data;
    public SeCoTrainerLossTests(TinyDatasetFixture data) => _data = data;

    [Fact]
    public void LossFallsOnSyntheticData() => Isolated.Run(typeof(SeCoTrainerLossTests), nameof(LossFalls), _data.Dir.Path);

    internal static void LossFalls(string[] args)
    {
        using var a = new TempDir();
        using var data = new TempDir();
        SyntheticSsl4EcoDataset.Generate(data.Path, locations: 64, size: 48, seed: 5);
        Isolated.Step("100 steps");
        var run = new SeCoTrainer(TinyDatasetFixture.Options(args[0], a.Path, 100) with
        {
            DataDirectory = data.Path, CheckpointEvery = 100,
            Model = new SeCoModelOptions { QueueSize = 16, Momentum = 0.99 },
            // A smoke configuration that learns within a CI minute: mild crops, no photometric augmentation.
            Data = new DatasetOptions { Workers = 2, Augmentation = new AugmentationOptions { CropScale = (0.8, 1), ColorJitterProbability = 0, GrayscaleProbability = 0, BlurProbability = 0 } },
        }).Fit();
        // Skip the first 10 steps, while the queue still holds its random initial vectors (easy negatives).
        double head = run.Losses.Skip(10).Take(20).Average(), tail = run.Losses.TakeLast(20).Average();
        Assert.True(tail < head * 0.95, $"loss did not fall: steps 11-30 {head:F3}, last 20 {tail:F3}: {string.Join(" ", run.Losses.Select(l => l.ToString("F2")))}");
    }
}

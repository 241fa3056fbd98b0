using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SSL4Eco.Inference.Checkpoints;
using SSL4Eco.Training.Data;
using SSL4Eco.Training.Models;
using SSL4Eco.Training.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace SSL4Eco.Training.Trainer;

/// <summary>Every hyper-parameter of a SeCo training run; defaults are the paper's recipe (SPEC "Training recipe").</summary>
/// <remarks>Immutable record; thread-safe.</remarks>
public sealed record TrainingOptions
{
    /// <summary>Dataset root (holding <c>imgs/</c>).</summary>
    public required string DataDirectory { get; init; }
    /// <summary>Run folder: <c>checkpoint/</c>, <c>log.csv</c>, <c>loss.png</c>.</summary>
    public required string OutputDirectory { get; init; }
    /// <summary>Epochs.</summary>
    public int Epochs { get; init; } = 100;
    /// <summary>Optional cap on the total number of steps (for smoke runs and benchmarks).</summary>
    public long? MaxSteps { get; init; }
    /// <summary>Batch size.</summary>
    public int BatchSize { get; init; } = 256;
    /// <summary>Crop size (model input side).</summary>
    public int ImageSize { get; init; } = 224;
    /// <summary>SGD learning rate (constant).</summary>
    public double LearningRate { get; init; } = 0.03;
    /// <summary>SGD momentum.</summary>
    public double SgdMomentum { get; init; } = 0.9;
    /// <summary>SGD weight decay.</summary>
    public double WeightDecay { get; init; } = 1e-4;
    /// <summary>Model options (queue size, key momentum, temperature, embedding dim, subspaces); its input channel count is taken from the bands.</summary>
    public SeCoModelOptions Model { get; init; } = new();
    /// <summary>Dataset options (bands, scaling, augmentations, weights CSV, workers); its crop size is taken from <see cref="ImageSize"/>.</summary>
    public DatasetOptions Data { get; init; } = new();
    /// <summary>Seed of model initialisation, data order and augmentations.</summary>
    public ulong Seed { get; init; }
    /// <summary>Write a checkpoint every this many steps (and at the end).</summary>
    public int CheckpointEvery { get; init; } = 1000;
    /// <summary>Continue from <c>OutputDirectory/checkpoint</c>.</summary>
    public bool Resume { get; init; }
    /// <summary>Initialise both encoders from a released checkpoint (.ckpt/.pth).</summary>
    public string? InitCheckpoint { get; init; }
    /// <summary>Torch device ("cpu", "cuda", "cuda:1"); null = CUDA when available.</summary>
    public string? Device { get; init; }
    /// <summary>Torch intra-op threads; null keeps torch's default.</summary>
    public int? Threads { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid value.</summary>
    public void Validate()
    {
        if (Epochs < 1) throw new ArgumentException($"Epochs must be ≥ 1, got {Epochs}.");
        if (BatchSize < 1) throw new ArgumentException($"Batch size must be ≥ 1, got {BatchSize}.");
        if (ImageSize < 32) throw new ArgumentException($"Image size must be ≥ 32, got {ImageSize}.");
        if (!(LearningRate > 0)) throw new ArgumentException($"Learning rate must be > 0, got {LearningRate}.");
        if (CheckpointEvery < 1) throw new ArgumentException($"Checkpoint interval must be ≥ 1 step, got {CheckpointEvery}.");
        if (Model.QueueSize % BatchSize != 0) throw new ArgumentException($"The queue size {Model.QueueSize} must be a multiple of the batch size {BatchSize}.");
        Model.Validate();
    }
}

/// <summary>Progress of a run.</summary>
/// <param name="Step">Steps done.</param>
/// <param name="TotalSteps">Steps the run will do.</param>
/// <param name="Epoch">Current epoch (0-based).</param>
/// <param name="Loss">Loss of the last step.</param>
/// <param name="StepsPerSecond">Throughput since the run (or resume) started.</param>
/// <param name="Eta">Estimated time to finish.</param>
/// <remarks>Immutable; thread-safe.</remarks>
public readonly record struct TrainingProgress(long Step, long TotalSteps, int Epoch, double Loss, double StepsPerSecond, TimeSpan Eta);

/// <summary>What a run did.</summary>
/// <param name="Steps">Total steps in the run folder's checkpoint.</param>
/// <param name="Losses">Loss of each step done in this call.</param>
/// <param name="CheckpointDirectory">The final checkpoint folder.</param>
/// <remarks>Immutable; thread-safe.</remarks>
public sealed record TrainingResult(long Steps, IReadOnlyList<double> Losses, string CheckpointDirectory);

/// <summary>
/// Trains SeCo on an SSL4Eco-layout dataset: SGD on the query encoder and heads, constant learning rate, atomic
/// checkpoints (model, optimizer, queues, data RNG state, step) every N steps, exact resume, CSV log and a loss
/// curve (PNG).
/// </summary>
/// <remarks>Not thread-safe: one <see cref="Fit"/> at a time per instance.</remarks>
public sealed class SeCoTrainer
{
    /// <summary>Name of the checkpoint folder inside the run folder.</summary>
    public const string CheckpointFolder = "checkpoint";
    private readonly ILogger _logger;

    /// <summary>Creates a trainer.</summary>
    public SeCoTrainer(TrainingOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>The options.</summary>
    public TrainingOptions Options { get; }

    /// <summary>Runs (or resumes) training until the epochs or <see cref="TrainingOptions.MaxSteps"/> are done.</summary>
    /// <exception cref="InvalidDataException">The dataset or a checkpoint is unusable (the message names it).</exception>
    public TrainingResult Fit(IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var o = Options;
        if (o.Threads is int t) torch.set_num_threads(t);
        TorchBackend.EnsureConfigured();
        var dataOptions = o.Data with { Augmentation = o.Data.Augmentation with { CropSize = o.ImageSize } };
        var dataset = Ssl4EcoDataset.Open(o.DataDirectory, dataOptions, _logger);
        int stepsPerEpoch = dataset.StepsPerEpoch(o.BatchSize);
        if (stepsPerEpoch == 0) throw new InvalidDataException($"The dataset has {dataset.Locations.Count} locations, fewer than one batch of {o.BatchSize}.");
        long total = (long)stepsPerEpoch * o.Epochs;
        if (o.MaxSteps is long max) total = Math.Min(total, max);

        var device = TorchDevice.Select(o.Device);
        torch.manual_seed(unchecked((long)o.Seed));
        var modelOptions = o.Model with { InputChannels = dataset.Channels };
        using var model = new SeCoModel(modelOptions);
        Directory.CreateDirectory(o.OutputDirectory);
        string ckptDir = Path.Combine(o.OutputDirectory, CheckpointFolder);
        if (o.InitCheckpoint is { } init && !o.Resume) InitFrom(model, init);
        model.to(device);
        model.train();
        using var sgd = new MomentumSgd(model.TrainableParameters(), o.LearningRate, o.SgdMomentum, o.WeightDecay);
        long step = 0;
        double secondsBefore = 0;
        if (o.Resume)
        {
            (step, secondsBefore) = TrainingCheckpoint.Load(ckptDir, model, sgd, o, dataset.Channels);
            _logger.LogInformation("Resumed from {Dir} at step {Step}.", ckptDir, step);
        }
        var log = new TrainingLog(Path.Combine(o.OutputDirectory, "log.csv"), step);
        var losses = new List<double>();
        var sw = Stopwatch.StartNew();
        long startStep = step;
        var view = new long[] { o.BatchSize, dataset.Channels, o.ImageSize, o.ImageSize };
        while (step < total)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int epoch = (int)(step / stepsPerEpoch), inEpoch = (int)(step % stepsPerEpoch);
            var batch = dataset.LoadBatch(o.Seed, epoch, inEpoch, o.BatchSize, cancellationToken);
            double loss;
            float[] acc;
            using (var scope = NewDisposeScope())
            {
                var q = tensor(batch.Query, view).to(device);
                var keys = batch.Keys.Select(k => tensor(k, view).to(device)).ToArray();
                sgd.ZeroGrad();
                var (l, a) = model.Forward(q, keys);
                l.backward();
                sgd.Step();
                loss = l.item<float>();
                acc = a;
            }
            if (!double.IsFinite(loss)) throw new InvalidOperationException($"The loss became {loss} at step {step + 1}; lower the learning rate.");
            step++;
            losses.Add(loss);
            log.Append(step, epoch, loss, acc, secondsBefore + sw.Elapsed.TotalSeconds);
            double rate = (step - startStep) / Math.Max(sw.Elapsed.TotalSeconds, 1e-9);
            progress?.Report(new TrainingProgress(step, total, epoch, loss, rate, TimeSpan.FromSeconds((total - step) / Math.Max(rate, 1e-9))));
            if (step % o.CheckpointEvery == 0 || step == total)
            {
                TrainingCheckpoint.Save(ckptDir, model, sgd, o, step, dataset.Channels, secondsBefore + sw.Elapsed.TotalSeconds);
                log.Flush();
                TrainingLog.PlotLoss(log.Path, Path.Combine(o.OutputDirectory, "loss.png"));
            }
        }
        log.Flush();
        return new TrainingResult(step, losses, ckptDir);
    }

    private static void InitFrom(SeCoModel model, string path)
    {
        var ckpt = CheckpointLayouts.ReadEncoder(path);
        if (ckpt.InputChannels != model.Options.InputChannels)
            throw new InvalidDataException($"The initial checkpoint '{path}' has {ckpt.InputChannels} input channels (conv1.weight {ckpt.Weights["conv1.weight"].ShapeText}) but the training bands give {model.Options.InputChannels}; choose matching bands.");
        model.QueryEncoder.Load(ckpt.Weights);
        model.KeyEncoder.Load(ckpt.Weights);
    }
}

using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Logging;
using SSL4Eco.Inference.Checkpoints;
using SSL4Eco.Training.Data;
using SSL4Eco.Training.Export;
using SSL4Eco.Training.Models;
using SSL4Eco.Training.Native;
using SSL4Eco.Training.Trainer;

namespace SSL4Eco.Training.Cli;

/// <summary>The <c>ssl4eco-train</c> command line: <c>fit</c>, <c>export</c>, <c>synthetic</c>.</summary>
internal static class Program
{
    private static int Main(string[] args) => BuildRoot().Parse(args).Invoke();

    internal static RootCommand BuildRoot()
    {
        var root = new RootCommand("SSL4Eco SeCo-Eco pretraining with TorchSharp: train, resume and export.");
        root.Subcommands.Add(FitCommand());
        root.Subcommands.Add(ExportCommand());
        root.Subcommands.Add(SyntheticCommand());
        root.Subcommands.Add(SelfCheckCommand());
        return root;
    }

    private static Command FitCommand()
    {
        var defaults = new TrainingOptions { DataDirectory = "", OutputDirectory = "" };
        var data = new Option<DirectoryInfo>("--data") { Description = "Dataset root holding imgs/{index:06d}/{YYYYMMDD}_{tile}.tif.", Required = true };
        var output = new Option<DirectoryInfo>("--output") { Description = "Run folder (checkpoint/, log.csv, loss.png).", Required = true };
        var epochs = new Option<int>("--epochs") { Description = "Epochs.", DefaultValueFactory = _ => defaults.Epochs };
        var batch = new Option<int>("--batch-size") { Description = "Batch size.", DefaultValueFactory = _ => defaults.BatchSize };
        var size = new Option<int>("--image-size") { Description = "Crop size (model input side).", DefaultValueFactory = _ => defaults.ImageSize };
        var init = new Option<FileInfo?>("--init") { Description = "Initialise both encoders from a released checkpoint (.ckpt/.pth)." };
        var resume = new Option<bool>("--resume") { Description = "Continue from OUTPUT/checkpoint." };
        var lr = new Option<double>("--lr") { Description = "SGD learning rate (constant).", DefaultValueFactory = _ => defaults.LearningRate };
        var sgdMomentum = new Option<double>("--sgd-momentum") { Description = "SGD momentum.", DefaultValueFactory = _ => defaults.SgdMomentum };
        var wd = new Option<double>("--weight-decay") { Description = "SGD weight decay.", DefaultValueFactory = _ => defaults.WeightDecay };
        var queue = new Option<int>("--queue-size") { Description = "Negatives per queue (a multiple of the batch size).", DefaultValueFactory = _ => defaults.Model.QueueSize };
        var keyMomentum = new Option<double>("--key-momentum") { Description = "Momentum of the key encoder.", DefaultValueFactory = _ => defaults.Model.Momentum };
        var temperature = new Option<double>("--temperature") { Description = "InfoNCE temperature.", DefaultValueFactory = _ => defaults.Model.Temperature };
        var embDim = new Option<int>("--emb-dim") { Description = "Projection head output size.", DefaultValueFactory = _ => defaults.Model.EmbeddingDim };
        var seed = new Option<ulong>("--seed") { Description = "Seed of initialisation, data order and augmentations.", DefaultValueFactory = _ => 0UL };
        var every = new Option<int>("--checkpoint-every") { Description = "Checkpoint every N steps.", DefaultValueFactory = _ => defaults.CheckpointEvery };
        var maxSteps = new Option<long?>("--max-steps") { Description = "Stop after this many steps in total." };
        var device = new Option<string?>("--device") { Description = "cpu, cuda or cuda:N (default: cuda when available)." };
        var threads = new Option<int?>("--threads") { Description = "Torch CPU threads." };
        var workers = new Option<int>("--workers") { Description = "Data loading threads.", DefaultValueFactory = _ => Environment.ProcessorCount };
        var bands = new Option<string>("--bands") { Description = "Model bands by name, comma-separated.", DefaultValueFactory = _ => string.Join(',', defaults.Data.ModelBands) };
        var divisor = new Option<double>("--scaling-divisor") { Description = "Divide DN by this after cropping (official: 255).", DefaultValueFactory = _ => defaults.Data.ScalingDivisor };
        var weights = new Option<FileInfo?>("--sampling-weights") { Description = "CSV of index,weight for weighted sampling." };
        var mkldnn = new Option<string?>("--mkldnn")
        {
            Description = "libtorch's oneDNN (mkldnn) convolutions on the CPU: on, off or auto (default: SSL4ECO_MKLDNN, else auto: " +
                "off on CPUs where they are known to crash, and off when a one-step self-check run before training crashes with them on).",
        };
        var cmd = new Command("fit", "Train SeCo on an SSL4Eco-layout dataset.")
        {
            data, output, epochs, batch, size, init, resume, lr, sgdMomentum, wd, queue, keyMomentum, temperature, embDim, seed, every,
            maxSteps, device, threads, workers, bands, divisor, weights, mkldnn,
        };
        cmd.SetAction(p => Run(() =>
        {
            var mode = p.GetValue(mkldnn) is { } m
                ? TorchBackend.ParseMode(m) ?? throw new ArgumentException($"--mkldnn '{m}' is not one of on, off, auto.")
                : TorchBackend.ModeFromEnvironment();
            var options = new TrainingOptions
            {
                DataDirectory = p.GetValue(data)!.FullName,
                OutputDirectory = p.GetValue(output)!.FullName,
                Epochs = p.GetValue(epochs), BatchSize = p.GetValue(batch), ImageSize = p.GetValue(size),
                InitCheckpoint = p.GetValue(init)?.FullName, Resume = p.GetValue(resume),
                LearningRate = p.GetValue(lr), SgdMomentum = p.GetValue(sgdMomentum), WeightDecay = p.GetValue(wd),
                Model = new SeCoModelOptions
                {
                    QueueSize = p.GetValue(queue), Momentum = p.GetValue(keyMomentum), Temperature = p.GetValue(temperature), EmbeddingDim = p.GetValue(embDim),
                },
                Data = new DatasetOptions
                {
                    Workers = p.GetValue(workers), ScalingDivisor = p.GetValue(divisor), SamplingWeightsCsv = p.GetValue(weights)?.FullName,
                    ModelBands = p.GetValue(bands)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries),
                },
                Seed = p.GetValue(seed), CheckpointEvery = p.GetValue(every), MaxSteps = p.GetValue(maxSteps),
                Device = p.GetValue(device), Threads = p.GetValue(threads),
            };
            if (TorchDevice.Select(options.Device).type == TorchSharp.DeviceType.CPU)
                SelfCheck.ChooseAndApply(mode, options.Data.ModelBands.Count, options.ImageSize, options.Threads);
            else
                TorchBackend.Apply(mode);
            using var cts = Cancellation();
            var result = new SeCoTrainer(options, new StderrLogger()).Fit(new ConsoleProgress(), cts.Token);
            Console.Error.WriteLine();
            Console.WriteLine($"Trained {result.Steps} steps; checkpoint: {result.CheckpointDirectory}");
        }));
        return cmd;
    }

    private static Command ExportCommand()
    {
        var checkpoint = new Argument<DirectoryInfo>("checkpoint") { Description = "A training checkpoint folder (RUN_DIR/checkpoint)." };
        var onnx = new Option<FileInfo>("--onnx") { Description = "Write the query encoder as ONNX here.", Required = true };
        var pytorch = new Option<FileInfo?>("--pytorch") { Description = "Also write a PyTorch checkpoint in the official Lightning layout." };
        var cmd = new Command("export", "Export a training checkpoint to ONNX (and optionally a PyTorch .ckpt).") { checkpoint, onnx, pytorch };
        cmd.SetAction(p => Run(() =>
        {
            using var exporter = SeCoExporter.Open(p.GetValue(checkpoint)!.FullName);
            exporter.WriteOnnx(p.GetValue(onnx)!.FullName);
            Console.WriteLine($"Wrote {p.GetValue(onnx)!.FullName}");
            if (p.GetValue(pytorch) is { } pt)
            {
                exporter.WriteLightningCheckpoint(pt.FullName);
                Console.WriteLine($"Wrote {pt.FullName}");
            }
        }));
        return cmd;
    }

    private static Command SyntheticCommand()
    {
        var output = new Option<DirectoryInfo>("--output") { Description = "Dataset root to create.", Required = true };
        var locations = new Option<int>("--locations") { Description = "Number of locations.", DefaultValueFactory = _ => 64 };
        var size = new Option<int>("--size") { Description = "Image side in pixels.", DefaultValueFactory = _ => 256 };
        var seed = new Option<ulong>("--seed") { Description = "Seed.", DefaultValueFactory = _ => 0UL };
        var cmd = new Command("synthetic", "Write a synthetic dataset in the SSL4Eco layout (13-band uint16 GeoTIFFs).") { output, locations, size, seed };
        cmd.SetAction(p => Run(() =>
        {
            SyntheticSsl4EcoDataset.Generate(p.GetValue(output)!.FullName, p.GetValue(locations), p.GetValue(size), p.GetValue(seed));
            Console.WriteLine($"Wrote {p.GetValue(locations)} locations under {p.GetValue(output)!.FullName}");
        }));
        return cmd;
    }

    /// <summary>Hidden: the child side of <see cref="SelfCheck"/>.</summary>
    private static Command SelfCheckCommand()
    {
        var mkldnn = new Option<string>("--mkldnn") { Required = true };
        var channels = new Option<int>("--channels") { Required = true };
        var size = new Option<int>("--image-size") { Required = true };
        var threads = new Option<int?>("--threads");
        var cmd = new Command(SelfCheck.CommandName, "One training-shaped step on throwaway data (run by 'fit' in a child process).")
        {
            mkldnn, channels, size, threads,
        };
        cmd.Hidden = true;
        cmd.SetAction(p => Run(() => SelfCheck.RunInChild(
            TorchBackend.ParseMode(p.GetValue(mkldnn)) == MkldnnMode.On, p.GetValue(channels), p.GetValue(size), p.GetValue(threads))));
        return cmd;
    }

    private static CancellationTokenSource Cancellation()
    {
        var cts = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); };
        return cts;
    }

    private static int Run(Action action)
    {
        try { action(); return 0; }
        catch (OperationCanceledException) { Console.Error.WriteLine("Cancelled; the last checkpoint is kept."); return 130; }
        catch (Exception e) when (e is InvalidDataException or ArgumentException or IOException or CheckpointFormatException or InvalidOperationException)
        {
            Console.Error.WriteLine("error: " + e.Message);
            return 1;
        }
    }

    private sealed class ConsoleProgress : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress p) =>
            Console.Error.Write(string.Create(CultureInfo.InvariantCulture,
                $"\rstep {p.Step}/{p.TotalSteps}  epoch {p.Epoch}  loss {p.Loss:F4}  {p.StepsPerSecond:F2} steps/s  ETA {p.Eta:d\\.hh\\:mm\\:ss}   "));
    }

    private sealed class StderrLogger : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel)) Console.Error.WriteLine($"\n{logLevel}: {formatter(state, exception)}");
        }
    }
}

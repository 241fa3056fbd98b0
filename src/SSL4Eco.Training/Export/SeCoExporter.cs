using SSL4Eco.Inference.Files;
using System.Globalization;
using SSL4Eco.Inference.Checkpoints;
using SSL4Eco.Inference.Models;
using SSL4Eco.Inference.Onnx;
using SSL4Eco.Training.Models;
using SSL4Eco.Training.Trainer;
using static TorchSharp.torch;

namespace SSL4Eco.Training.Export;

/// <summary>
/// Exports a training checkpoint folder (written by <see cref="SeCoTrainer"/>): the query encoder as ONNX with the
/// model contract in its metadata (as <c>ssl4eco convert</c> writes it), and the whole model as a PyTorch checkpoint in
/// the official Lightning layout (<c>state_dict</c> with <c>encoder_q.0</c> = conv1, <c>encoder_q.1</c> = bn1,
/// <c>encoder_q.4..7</c> = layer1..4, the same for <c>encoder_k</c>, <c>heads_q/k</c>, <c>queue</c>, <c>queue_ptr</c>,
/// plus <c>hyper_parameters</c>, <c>epoch</c>, <c>global_step</c>), which <c>torch.load</c> and the SSL4Eco code read.
/// </summary>
/// <remarks>Not thread-safe: holds a TorchSharp model; dispose it.</remarks>
public sealed class SeCoExporter : IDisposable
{
    private readonly SeCoModel _model;
    private readonly System.Text.Json.Nodes.JsonObject _state;

    private SeCoExporter(SeCoModel model, System.Text.Json.Nodes.JsonObject state, string dir)
    {
        _model = model; _state = state; CheckpointDirectory = dir;
    }

    /// <summary>The checkpoint folder.</summary>
    public string CheckpointDirectory { get; }

    /// <summary>
    /// The model's input contract: bands, DN scaling and input size from the run, the rest from the SeCo-Eco contract
    /// (<see cref="SSL4Eco.Training.Data.DatasetOptions.TrainedContract"/>: the official centre-crop/bicubic policy).
    /// </summary>
    public ModelContract Contract => SSL4Eco.Training.Data.DatasetOptions.TrainedContract(
        _state["bands"]!.AsArray().Select(b => b!.GetValue<string>()).ToArray(),
        _state["scaling_divisor"]!.GetValue<double>(),
        _state["image_size"]!.GetValue<int>()) with
    {
        EmbeddingDim = ResNet50Weights.OutputDim,
        Version = "step-" + _state["step"]!.GetValue<long>().ToString(CultureInfo.InvariantCulture),
        Source = Path.GetFullPath(CheckpointDirectory),
    };

    /// <summary>Opens a checkpoint folder.</summary>
    /// <exception cref="InvalidDataException">The folder is not a training checkpoint.</exception>
    public static SeCoExporter Open(string checkpointDirectory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(checkpointDirectory);
        if (!Directory.Exists(checkpointDirectory)) throw new InvalidDataException($"The checkpoint folder '{checkpointDirectory}' does not exist.");
        var state = TrainingCheckpoint.ReadState(checkpointDirectory);
        var options = new SeCoModelOptions
        {
            InputChannels = state["channels"]!.GetValue<int>(),
            QueueSize = state["queue_size"]!.GetValue<int>(),
            EmbeddingDim = state["embedding_dim"]!.GetValue<int>(),
            Subspaces = state["subspaces"]!.GetValue<int>(),
            Momentum = state["key_momentum"]!.GetValue<double>(),
            Temperature = state["temperature"]!.GetValue<double>(),
        };
        var model = new SeCoModel(options);
        try { model.load(Path.Combine(checkpointDirectory, "model.bin")); }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            model.Dispose();
            throw new InvalidDataException($"Cannot load '{Path.Combine(checkpointDirectory, "model.bin")}': {e.Message}", e);
        }
        model.eval();
        return new SeCoExporter(model, state, checkpointDirectory);
    }

    /// <summary>The query encoder's weights (torchvision names).</summary>
    public ResNet50Weights EncoderWeights() => _model.QueryEncoder.ToWeights();

    /// <summary>Writes the query encoder as ONNX (atomic: a temporary file renamed on success).</summary>
    public void WriteOnnx(string path, CancellationToken cancellationToken = default) =>
        ResNet50OnnxExporter.Write(EncoderWeights(), Contract, path, null, cancellationToken);

    /// <summary>Writes the model as a PyTorch checkpoint in the official Lightning layout (atomic).</summary>
    public void WriteLightningCheckpoint(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var tensors = new List<NamedTensor>();
        foreach (var (name, t) in _model.state_dict())
        {
            using var c = t.detach().cpu().contiguous();
            var shape = c.shape.Select(d => (int)d).ToArray();
            string official = OfficialName(name);
            tensors.Add(c.dtype == ScalarType.Int64
                ? new NamedTensor(official, shape, Int64: c.data<long>().ToArray())
                : new NamedTensor(official, shape, Float32: c.to(ScalarType.Float32).data<float>().ToArray()));
        }
        long step = _state["step"]!.GetValue<long>();
        var hp = new Dictionary<string, object?>
        {
            ["arch"] = "resnet50",
            ["n_channels"] = _state["channels"]!.GetValue<int>(),
            ["bands"] = string.Join(",", Contract.Bands),
            ["moco_dim"] = _state["embedding_dim"]!.GetValue<int>(),
            ["moco_k"] = _state["queue_size"]!.GetValue<int>(),
            ["moco_m"] = _state["key_momentum"]!.GetValue<double>(),
            ["moco_t"] = _state["temperature"]!.GetValue<double>(),
            ["emb_spaces"] = _state["subspaces"]!.GetValue<int>(),
            ["lr"] = _state["lr"]!.GetValue<double>(),
            ["momentum"] = _state["sgd_momentum"]!.GetValue<double>(),
            ["weight_decay"] = _state["weight_decay"]!.GetValue<double>(),
            ["batch_size"] = _state["batch_size"]!.GetValue<int>(),
            ["image_size"] = _state["image_size"]!.GetValue<int>(),
            ["scaling_divisor"] = _state["scaling_divisor"]!.GetValue<double>(),
        };
        var extra = new Dictionary<string, object?>
        {
            ["epoch"] = 0,
            ["global_step"] = step,
            ["pytorch-lightning_version"] = "1.9.5",
            ["hyper_parameters"] = hp,
        };
        AtomicFile.Write(path, f => TorchCheckpointWriter.Write(f, "archive", tensors, extra));
    }

    /// <summary>Maps our module names to the official Lightning ones (encoder children by index).</summary>
    internal static string OfficialName(string name)
    {
        foreach (var enc in new[] { "encoder_q.", "encoder_k." })
        {
            if (!name.StartsWith(enc, StringComparison.Ordinal)) continue;
            string rest = name[enc.Length..];
            string mapped = rest.StartsWith("conv1.", StringComparison.Ordinal) ? "0." + rest[6..]
                : rest.StartsWith("bn1.", StringComparison.Ordinal) ? "1." + rest[4..]
                : rest.StartsWith("layer", StringComparison.Ordinal) ? (3 + (rest[5] - '0')).ToString(CultureInfo.InvariantCulture) + rest[6..]
                : throw new InvalidOperationException($"Unexpected encoder tensor '{name}'.");
            return enc + mapped;
        }
        return name;
    }

    /// <summary>Runs the query encoder (eval mode) on a [N, C, H, W] batch and returns [N, 2048] (for parity checks).</summary>
    public float[] Embed(float[] batch, int n, int channels, int height, int width)
    {
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        var x = tensor(batch, [n, channels, height, width]);
        return _model.QueryEncoder.forward(x).data<float>().ToArray();
    }

    /// <inheritdoc />
    public void Dispose() => _model.Dispose();
}

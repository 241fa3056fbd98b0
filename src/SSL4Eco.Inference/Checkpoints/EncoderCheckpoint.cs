using System.Globalization;
using System.Text.RegularExpressions;

namespace SSL4Eco.Inference.Checkpoints;

/// <summary>The key layout a ResNet-50 encoder was found in.</summary>
public enum CheckpointLayout
{
    /// <summary>Official SSL4Eco Lightning checkpoint: <c>encoder_q.0</c> = conv1, <c>encoder_q.1</c> = bn1, <c>encoder_q.4..7</c> = layer1..4.</summary>
    LightningSeCo,
    /// <summary>MoCo-style: torchvision names after a <c>encoder_q.</c> prefix.</summary>
    MoCoEncoderQ,
    /// <summary>Plain torchvision/timm state dict (TorchGeo rehosts): <c>conv1</c>, <c>bn1</c>, <c>layer1..4</c>; <c>fc.*</c> ignored.</summary>
    PlainStateDict,
}

/// <summary>A ResNet-50 encoder read from a checkpoint, with what the checkpoint says about how it was trained.</summary>
/// <param name="Weights">The encoder weights under torchvision names.</param>
/// <param name="Layout">The layout recognised.</param>
/// <param name="HyperParameters">Training hyper-parameters (Lightning <c>hyper_parameters</c>), empty when absent. Values are pickle values (see <see cref="PickleTuple"/>).</param>
/// <param name="Epoch">The <c>epoch</c> entry, when present.</param>
/// <param name="GlobalStep">The <c>global_step</c> entry, when present.</param>
/// <param name="Sha256">Lower-case hex SHA-256 of the checkpoint file.</param>
/// <remarks>Immutable; thread-safe.</remarks>
public sealed record EncoderCheckpoint(
    ResNet50Weights Weights,
    CheckpointLayout Layout,
    IReadOnlyDictionary<string, object?> HyperParameters,
    long? Epoch,
    long? GlobalStep,
    string Sha256)
{
    /// <summary>Number of input channels (from <c>conv1.weight</c>).</summary>
    public int InputChannels => Weights.InputChannels;
}

/// <summary>Recognises the checkpoint layouts of SSL4Eco, TorchGeo and MoCo and maps them to torchvision ResNet-50 names.</summary>
/// <remarks>Stateless; thread-safe. Reading executes no Python code (see <see cref="PyTorchCheckpoint"/>).</remarks>
public static partial class CheckpointLayouts
{
    /// <summary>Reads a checkpoint file and extracts its ResNet-50 encoder.</summary>
    /// <exception cref="CheckpointFormatException">The file is malformed, no layout is recognised, or tensors are missing or mis-shaped (the message lists them).</exception>
    public static EncoderCheckpoint ReadEncoder(string path, CheckpointReadOptions? options = null)
    {
        options ??= CheckpointReadOptions.Default;
        if (!options.ComputeSha256) options = options with { ComputeSha256 = true };
        using var doc = PyTorchCheckpoint.Load(path, options);
        return ReadEncoder(doc);
    }

    /// <summary>Extracts the ResNet-50 encoder of a loaded checkpoint.</summary>
    /// <exception cref="CheckpointFormatException">No layout is recognised, or tensors are missing or mis-shaped (the message lists them).</exception>
    internal static EncoderCheckpoint ReadEncoder(CheckpointDocument document)
    {
        ArgumentNullException.ThrowIfNull(document);
        var root = document.Root as PickleDict
            ?? throw new CheckpointFormatException($"Checkpoint root is a {document.Root?.GetType().Name ?? "None"}, not a dict; expected a state dict or a dict with 'state_dict'/'model'.");
        var state = FindStateDict(root);
        var (layout, mapped) = Map(state);
        var weights = new ResNet50Weights(mapped.ToDictionary(kv => kv.Key, kv => kv.Value.ToTensorData()));
        return new EncoderCheckpoint(weights, layout, HyperParameters(root), AsLong(root.GetOrNull("epoch")),
            AsLong(root.GetOrNull("global_step")), document.Sha256 ?? "");
    }

    /// <summary>The tensor dictionary of a checkpoint root: <c>state_dict</c>, <c>model</c>, <c>model_state_dict</c> or the root itself.</summary>
    internal static Dictionary<string, CheckpointTensor> FindStateDict(PickleDict root)
    {
        foreach (var key in new[] { "state_dict", "model", "model_state_dict", "net" })
            if (root.GetOrNull(key) is PickleDict inner && inner.Values.Any(v => v is CheckpointTensor))
                return Tensors(inner);
        if (root.Values.Any(v => v is CheckpointTensor)) return Tensors(root);
        throw new CheckpointFormatException("Checkpoint holds no state dict: neither 'state_dict', 'model' nor the root maps names to tensors. Keys found: " +
            string.Join(", ", root.Keys.Take(20)) + ".");
    }

    private static Dictionary<string, CheckpointTensor> Tensors(PickleDict d)
    {
        var r = new Dictionary<string, CheckpointTensor>(StringComparer.Ordinal);
        foreach (var kv in d)
            if (kv.Key is string k && kv.Value is CheckpointTensor t) r[k.StartsWith("module.", StringComparison.Ordinal) ? k["module.".Length..] : k] = t;
        return r;
    }

    [GeneratedRegex(@"^encoder_q\.(\d+)\.(.+)$")]
    private static partial Regex SequentialName();

    /// <summary>Detects the layout and returns the encoder tensors under torchvision names (<c>num_batches_tracked</c> and <c>fc</c> dropped).</summary>
    internal static (CheckpointLayout Layout, Dictionary<string, CheckpointTensor> Tensors) Map(IReadOnlyDictionary<string, CheckpointTensor> state)
    {
        var result = new Dictionary<string, CheckpointTensor>(StringComparer.Ordinal);
        CheckpointLayout layout;
        if (state.ContainsKey("encoder_q.0.weight"))
        {
            layout = CheckpointLayout.LightningSeCo;
            foreach (var (k, t) in state)
            {
                var m = SequentialName().Match(k);
                if (!m.Success) continue;
                int idx = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
                string? prefix = idx switch { 0 => "conv1", 1 => "bn1", >= 4 and <= 7 => $"layer{idx - 3}", _ => null };
                if (prefix is null) continue;
                result[prefix + "." + m.Groups[2].Value] = t;
            }
        }
        else if (state.ContainsKey("encoder_q.conv1.weight"))
        {
            layout = CheckpointLayout.MoCoEncoderQ;
            foreach (var (k, t) in state)
                if (k.StartsWith("encoder_q.", StringComparison.Ordinal)) result[k["encoder_q.".Length..]] = t;
        }
        else if (state.ContainsKey("conv1.weight"))
        {
            layout = CheckpointLayout.PlainStateDict;
            foreach (var (k, t) in state) result[k] = t;
        }
        else
        {
            throw new CheckpointFormatException("No ResNet-50 layout recognised: the state dict has neither 'encoder_q.0.weight' (SSL4Eco Lightning), " +
                "'encoder_q.conv1.weight' (MoCo) nor 'conv1.weight' (torchvision/TorchGeo). First keys: " + string.Join(", ", state.Keys.Take(12)) + ".");
        }
        foreach (var k in result.Keys.Where(k => k.EndsWith(".num_batches_tracked", StringComparison.Ordinal) || k.StartsWith("fc.", StringComparison.Ordinal)).ToList())
            result.Remove(k);
        return (layout, result);
    }

    /// <summary>Lightning <c>hyper_parameters</c> (a dict, <c>AttributeDict</c> or <c>argparse.Namespace</c>) as string-keyed entries.</summary>
    internal static IReadOnlyDictionary<string, object?> HyperParameters(PickleDict root)
    {
        var hp = root.GetOrNull("hyper_parameters") ?? root.GetOrNull("hparams") ?? root.GetOrNull("args");
        var result = new Dictionary<string, object?>(StringComparer.Ordinal);
        void AddAll(PickleDict d)
        {
            foreach (var kv in d)
            {
                if (kv.Key is not string k) continue;
                if (kv.Value is PickleObject { Module: "argparse", Name: "Namespace" } ns) AddAll(ns.Attributes());
                else result[k] = kv.Value;
            }
        }
        switch (hp)
        {
            case PickleDict d: AddAll(d); break;
            case PickleObject o: AddAll(o.Attributes()); break;
        }
        return result;
    }

    private static long? AsLong(object? v) => v switch
    {
        long l => l,
        CheckpointTensor { ElementCount: 1 } t => (long)t.ToScalar(),
        _ => null,
    };
}

using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using SSL4Eco.Training.Models;

namespace SSL4Eco.Training.Trainer;

/// <summary>
/// A training checkpoint folder: <c>model.bin</c> (TorchSharp format: encoders, heads, BatchNorm statistics, queues,
/// queue pointers), <c>optimizer.bin</c> (SGD momentum buffers) and <c>state.json</c> (step, seed, the data RNG
/// state and the hyper-parameters). Written to a temporary folder that replaces the old one only when complete.
/// </summary>
internal static class TrainingCheckpoint
{
    public static void Save(string dir, SeCoModel model, MomentumSgd sgd, TrainingOptions o, long step, int channels, double seconds)
    {
        string parent = Path.GetDirectoryName(Path.GetFullPath(dir))!;
        string tmp = Path.Combine(parent, $".{Path.GetFileName(dir)}.tmp-{Environment.ProcessId}");
        if (Directory.Exists(tmp)) Directory.Delete(tmp, true);
        Directory.CreateDirectory(tmp);
        model.save(Path.Combine(tmp, "model.bin"));
        using (var f = File.Create(Path.Combine(tmp, "optimizer.bin"))) { sgd.Save(f); f.Flush(true); }
        var state = new JsonObject
        {
            ["format"] = "ssl4eco-train-checkpoint/1",
            ["step"] = step,
            ["seconds"] = seconds,
            ["seed"] = o.Seed.ToString(CultureInfo.InvariantCulture),
            ["rng"] = new JsonObject { ["kind"] = "splitmix64, derived from (seed, epoch, step, sample)", ["next_step"] = step },
            ["channels"] = channels,
            ["bands"] = new JsonArray(o.Data.ModelBands.Select(b => (JsonNode)b).ToArray()),
            ["scaling_divisor"] = o.Data.ScalingDivisor,
            ["image_size"] = o.ImageSize,
            ["batch_size"] = o.BatchSize,
            ["lr"] = o.LearningRate, ["sgd_momentum"] = o.SgdMomentum, ["weight_decay"] = o.WeightDecay,
            ["queue_size"] = o.Model.QueueSize, ["key_momentum"] = o.Model.Momentum, ["temperature"] = o.Model.Temperature,
            ["embedding_dim"] = o.Model.EmbeddingDim, ["subspaces"] = o.Model.Subspaces, ["epochs"] = o.Epochs,
        };
        File.WriteAllText(Path.Combine(tmp, "state.json"), state.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        string old = Path.Combine(parent, $".{Path.GetFileName(dir)}.old-{Environment.ProcessId}");
        if (Directory.Exists(old)) Directory.Delete(old, true);
        if (Directory.Exists(dir)) Directory.Move(dir, old);
        Directory.Move(tmp, dir);
        if (Directory.Exists(old)) Directory.Delete(old, true);
    }

    public static JsonObject ReadState(string dir)
    {
        string path = Path.Combine(dir, "state.json");
        if (!File.Exists(path)) throw new InvalidDataException($"'{dir}' is not a training checkpoint: state.json is missing.");
        return JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new InvalidDataException($"'{path}' is not a JSON object.");
    }

    public static (long Step, double Seconds) Load(string dir, SeCoModel model, MomentumSgd sgd, TrainingOptions o, int channels)
    {
        if (!Directory.Exists(dir)) throw new InvalidDataException($"Cannot resume: no checkpoint folder '{dir}'.");
        var state = ReadState(dir);
        int savedChannels = state["channels"]!.GetValue<int>();
        if (savedChannels != channels) throw new InvalidDataException($"Cannot resume: the checkpoint has {savedChannels} input channels, the data {channels}.");
        int savedBatch = state["batch_size"]!.GetValue<int>();
        if (savedBatch != o.BatchSize) throw new InvalidDataException($"Cannot resume: the checkpoint was trained with batch size {savedBatch}, this run asks for {o.BatchSize}.");
        model.load(Path.Combine(dir, "model.bin"));
        using (var f = File.OpenRead(Path.Combine(dir, "optimizer.bin"))) sgd.Load(f);
        return (state["step"]!.GetValue<long>(), state["seconds"]?.GetValue<double>() ?? 0);
    }
}

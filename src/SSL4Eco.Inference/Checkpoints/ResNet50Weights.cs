namespace SSL4Eco.Inference.Checkpoints;

/// <summary>
/// The weights of a torchvision ResNet-50 encoder (no <c>fc</c>), keyed by torchvision parameter/buffer names:
/// <c>conv1.weight</c>, <c>bn1.{weight,bias,running_mean,running_var}</c>,
/// <c>layer{1..4}.{block}.{conv1,bn1,conv2,bn2,conv3,bn3}.*</c> and <c>layer{l}.0.downsample.{0,1}.*</c>.
/// <c>num_batches_tracked</c> buffers are not kept. Every checkpoint layout is mapped to these names.
/// </summary>
/// <remarks>Immutable after construction; thread-safe for reading.</remarks>
public sealed class ResNet50Weights
{
    /// <summary>Blocks per stage of ResNet-50.</summary>
    public static readonly IReadOnlyList<int> BlocksPerStage = [3, 4, 6, 3];

    /// <summary>Width of the last stage's output (the embedding length).</summary>
    public const int OutputDim = 2048;

    /// <summary>
    /// Creates the weights after checking every expected name and shape and that every value is finite (and every running
    /// variance non-negative); throws <see cref="CheckpointFormatException"/> listing missing, unexpected and mis-shaped
    /// tensors, or naming the tensor with a NaN/∞ or negative variance.
    /// </summary>
    public ResNet50Weights(IReadOnlyDictionary<string, TensorData> tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        if (!tensors.TryGetValue("conv1.weight", out var c1) || c1.Shape.Length != 4)
            throw new CheckpointFormatException("Not a ResNet-50 state: 'conv1.weight' (a 4-d tensor) is missing.");
        InputChannels = c1.Shape[1];
        var expected = ExpectedShapes(InputChannels);
        var missing = expected.Keys.Where(k => !tensors.ContainsKey(k)).ToList();
        var unexpected = tensors.Keys.Where(k => !expected.ContainsKey(k)).ToList();
        var wrong = expected.Where(kv => tensors.TryGetValue(kv.Key, out var t) && !t.Shape.SequenceEqual(kv.Value))
            .Select(kv => $"{kv.Key}: expected [{string.Join(", ", kv.Value)}], got {tensors[kv.Key].ShapeText}").ToList();
        if (missing.Count + unexpected.Count + wrong.Count > 0)
        {
            static string List(string title, List<string> items) => items.Count == 0 ? "" :
                $" {title} ({items.Count}): {string.Join(", ", items.Take(12))}{(items.Count > 12 ? ", ..." : "")}.";
            throw new CheckpointFormatException("The tensors do not form a ResNet-50 encoder." +
                List("Missing", missing) + List("Unexpected", unexpected) + List("Wrong shape", wrong));
        }
        foreach (var name in expected.Keys)
        {
            // Non-finite weights (or a negative running variance, whose square root is NaN) make every embedding NaN.
            var v = tensors[name].Values;
            int bad = IndexOfNonFinite(v);
            if (bad >= 0)
                throw new CheckpointFormatException($"Tensor '{name}' holds {v[bad]} at index {bad}: the checkpoint has non-finite weights (a diverged or corrupt training run) and would give NaN embeddings.");
            if (name.EndsWith(".running_var", StringComparison.Ordinal) && Array.FindIndex(v, x => x < 0) is int neg and >= 0)
                throw new CheckpointFormatException($"Tensor '{name}' holds the negative variance {v[neg]} at index {neg}: the checkpoint is corrupt and would give NaN embeddings.");
        }
        Tensors = expected.Keys.ToDictionary(k => k, k => tensors[k]);
    }

    private static int IndexOfNonFinite(float[] values)
    {
        for (int i = 0; i < values.Length; i++) if (!float.IsFinite(values[i])) return i;
        return -1;
    }

    /// <summary>Number of input channels, from <c>conv1.weight</c>.</summary>
    public int InputChannels { get; }

    /// <summary>All tensors by torchvision name (exactly the names of <see cref="ExpectedShapes"/>).</summary>
    public IReadOnlyDictionary<string, TensorData> Tensors { get; }

    /// <summary>Indexer by torchvision name.</summary>
    public TensorData this[string name] => Tensors[name];

    /// <summary>Every tensor name of a ResNet-50 encoder with its shape, in torchvision's order.</summary>
    public static IReadOnlyDictionary<string, int[]> ExpectedShapes(int inputChannels)
    {
        if (inputChannels <= 0) throw new ArgumentOutOfRangeException(nameof(inputChannels));
        var d = new Dictionary<string, int[]>();
        void Bn(string p, int c) { foreach (var s in new[] { "weight", "bias", "running_mean", "running_var" }) d[$"{p}.{s}"] = [c]; }
        d["conv1.weight"] = [64, inputChannels, 7, 7];
        Bn("bn1", 64);
        int inC = 64;
        for (int stage = 0; stage < 4; stage++)
        {
            int width = 64 << stage, outC = width * 4;
            for (int b = 0; b < BlocksPerStage[stage]; b++)
            {
                string p = $"layer{stage + 1}.{b}";
                int blockIn = b == 0 ? inC : outC;
                d[$"{p}.conv1.weight"] = [width, blockIn, 1, 1]; Bn($"{p}.bn1", width);
                d[$"{p}.conv2.weight"] = [width, width, 3, 3]; Bn($"{p}.bn2", width);
                d[$"{p}.conv3.weight"] = [outC, width, 1, 1]; Bn($"{p}.bn3", outC);
                if (b == 0) { d[$"{p}.downsample.0.weight"] = [outC, blockIn, 1, 1]; Bn($"{p}.downsample.1", outC); }
            }
            inC = outC;
        }
        return d;
    }
}

/// <summary>Thrown when a checkpoint is truncated, corrupt, or does not hold the expected tensors. The message names the problem.</summary>
public sealed class CheckpointFormatException : Exception
{
    /// <summary>Creates the exception.</summary>
    public CheckpointFormatException(string message, Exception? inner = null) : base(message, inner) { }
}

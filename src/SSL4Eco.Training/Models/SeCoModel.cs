using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace SSL4Eco.Training.Models;

/// <summary>Hyper-parameters of the SeCo model; defaults are the paper's (ssl4eco <c>pretrain_seco_3heads.py</c>).</summary>
/// <remarks>Immutable record; thread-safe.</remarks>
public sealed record SeCoModelOptions
{
    /// <summary>Input channels of the encoder (9 for SeCo-Eco).</summary>
    public int InputChannels { get; init; } = 9;

    /// <summary>Output length of each projection head (MoCo <c>dim</c>).</summary>
    public int EmbeddingDim { get; init; } = 128;

    /// <summary>Negatives per queue (MoCo <c>K</c>); a multiple of the batch size.</summary>
    public int QueueSize { get; init; } = 65536;

    /// <summary>Momentum of the key encoder update.</summary>
    public double Momentum { get; init; } = 0.999;

    /// <summary>Softmax temperature of the InfoNCE logits.</summary>
    public double Temperature { get; init; } = 0.2;

    /// <summary>Number of embedding subspaces (projection heads and queues).</summary>
    public int Subspaces { get; init; } = 3;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid value.</summary>
    public void Validate()
    {
        if (InputChannels < 1) throw new ArgumentException($"InputChannels must be ≥ 1, got {InputChannels}.");
        if (EmbeddingDim < 1) throw new ArgumentException($"EmbeddingDim must be ≥ 1, got {EmbeddingDim}.");
        if (QueueSize < 1) throw new ArgumentException($"QueueSize must be ≥ 1, got {QueueSize}.");
        if (!(Momentum >= 0 && Momentum <= 1)) throw new ArgumentException($"Momentum must be in [0, 1], got {Momentum}.");
        if (!(Temperature > 0)) throw new ArgumentException($"Temperature must be > 0, got {Temperature}.");
        if (Subspaces < 1) throw new ArgumentException($"Subspaces must be ≥ 1, got {Subspaces}.");
    }
}

/// <summary>
/// The SeCo (MoCo-v2 with several embedding subspaces) model of SSL4Eco: query encoder and heads trained by SGD,
/// momentum key encoder and heads, one normalised queue of negatives per subspace. Submodule and buffer names follow
/// the official Lightning module (<c>encoder_q</c>, <c>encoder_k</c>, <c>heads_q.{i}.{0,2}</c>, <c>heads_k</c>,
/// <c>queue</c> [S, D, K], <c>queue_ptr</c> [S, 1]), except that the encoders use torchvision's names.
/// </summary>
/// <remarks>Not thread-safe; one training loop owns an instance. Dispose to free native memory.</remarks>
public sealed class SeCoModel : Module
{
#pragma warning disable IDE0044
    private readonly ResNet50Encoder encoder_q, encoder_k;
    private readonly ModuleList<Sequential> heads_q, heads_k;
#pragma warning restore IDE0044
    private readonly Tensor queue, queue_ptr;

    /// <summary>Creates the model with torchvision/PyTorch initialisation from torch's current RNG; keys start as copies of the queries.</summary>
    public SeCoModel(SeCoModelOptions options) : base("SeCoModel")
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        encoder_q = new ResNet50Encoder(options.InputChannels);
        encoder_k = new ResNet50Encoder(options.InputChannels);
        heads_q = new ModuleList<Sequential>(Enumerable.Range(0, options.Subspaces).Select(_ => Head(options.EmbeddingDim)).ToArray());
        heads_k = new ModuleList<Sequential>(Enumerable.Range(0, options.Subspaces).Select(_ => Head(options.EmbeddingDim)).ToArray());
        queue = functional.normalize(randn(options.Subspaces, options.EmbeddingDim, options.QueueSize), dim: 1);
        queue_ptr = zeros(options.Subspaces, 1, dtype: ScalarType.Int64);
        register_buffer("queue", queue);
        register_buffer("queue_ptr", queue_ptr);
        RegisterComponents();
        using var _ = no_grad();
        foreach (var (q, k) in KeyPairs()) { k.copy_(q); k.requires_grad_(false); }
    }

    private static Sequential Head(int dim) =>
        Sequential(("0", Linear(2048, 2048)), ("1", ReLU()), ("2", Linear(2048, dim)));

    /// <summary>The options the model was built with.</summary>
    public SeCoModelOptions Options { get; }

    /// <summary>The query encoder (the one that is exported).</summary>
    public ResNet50Encoder QueryEncoder => encoder_q;

    /// <summary>The momentum (key) encoder.</summary>
    public ResNet50Encoder KeyEncoder => encoder_k;

    /// <summary>The negatives queues, [subspaces, dim, K].</summary>
    public Tensor Queue => queue;

    /// <summary>Parameters trained by SGD: the query encoder and the query heads.</summary>
    public IEnumerable<Parameter> TrainableParameters() => encoder_q.parameters().Concat(heads_q.parameters());

    private IEnumerable<(Parameter Q, Parameter K)> KeyPairs() =>
        encoder_q.parameters().Zip(encoder_k.parameters()).Concat(heads_q.parameters().Zip(heads_k.parameters()));

    /// <summary>Updates the key encoder and heads: <c>k = k·m + q·(1 − m)</c>.</summary>
    internal void MomentumUpdate()
    {
        using var _ = no_grad();
        double m = Options.Momentum;
        foreach (var (q, k) in KeyPairs()) k.mul_(m).add_(q, alpha: 1 - m);
    }

    /// <summary>
    /// One SeCo forward pass as in the official module: momentum update, query embedding, key embeddings (no
    /// gradient), per subspace the InfoNCE cross-entropy against its queue (subspaces ≥ 1 also against the other
    /// keys of the same sample projected by that head), then enqueue of each subspace's positives.
    /// Returns the summed loss (with gradient to the query side) and the top-1 accuracy per subspace.
    /// </summary>
    /// <param name="query">Query views [N, C, H, W].</param>
    /// <param name="keys">One key view batch per subspace, each [N, C, H, W].</param>
    internal (Tensor Loss, float[] Accuracy) Forward(Tensor query, IReadOnlyList<Tensor> keys)
    {
        int s = Options.Subspaces;
        if (keys.Count != s) throw new ArgumentException($"Expected {s} key batches, got {keys.Count}.", nameof(keys));
        long n = query.shape[0];
        if (Options.QueueSize % n != 0)
            throw new ArgumentException($"The queue size {Options.QueueSize} is not a multiple of the batch size {n}.");
        MomentumUpdate();
        using var scope = NewDisposeScope();
        var vq = encoder_q.forward(query);
        var vk = new Tensor[s];
        using (no_grad())
        {
            for (int j = 0; j < s; j++) vk[j] = encoder_k.forward(keys[j]);
        }
        Tensor? total = null;
        var acc = new float[s];
        var target = zeros(n, dtype: ScalarType.Int64, device: query.device);
        for (int i = 0; i < s; i++)
        {
            var zq = functional.normalize(heads_q[i].forward(vq), dim: 1);
            var zk = new Tensor[s];
            using (no_grad())
            {
                for (int j = 0; j < s; j++) zk[j] = functional.normalize(heads_k[i].forward(vk[j]), dim: 1);
            }
            var neg = queue[i].clone().detach();
            if (i > 0) neg = cat([neg, .. Enumerable.Range(0, s).Where(j => j != i).Select(j => zk[j].t())], 1);
            var lpos = (zq * zk[i]).sum(1, keepdim: true);
            var lneg = zq.mm(neg);
            var logits = cat([lpos, lneg], 1) / Options.Temperature;
            var li = functional.cross_entropy(logits, target);
            total = total is null ? li : total + li;
            using (no_grad())
            {
                acc[i] = logits.argmax(1).eq(0).to(ScalarType.Float32).mean().item<float>();
                Enqueue(zk[i], i);
            }
        }
        return (total!.MoveToOuterDisposeScope(), acc);
    }

    private void Enqueue(Tensor keys, int subspace)
    {
        long n = keys.shape[0];
        long ptr = queue_ptr[subspace, 0].item<long>();
        queue[subspace, TensorIndex.Colon, TensorIndex.Slice(ptr, ptr + n)] = keys.t();
        queue_ptr[subspace, 0] = (ptr + n) % Options.QueueSize;
    }
}

/// <summary>Chooses the torch device: CUDA when available, else CPU.</summary>
/// <remarks>Static and thread-safe.</remarks>
public static class TorchDevice
{
    /// <summary>Returns <c>cuda</c> when a CUDA device is available, else <c>cpu</c>; <paramref name="requested"/> (e.g. "cpu", "cuda:1") overrides.</summary>
    public static Device Select(string? requested = null)
    {
        if (!string.IsNullOrWhiteSpace(requested)) return new Device(requested);
        return cuda.is_available() ? CUDA : CPU;
    }
}

using static TorchSharp.torch;

namespace SSL4Eco.Training.Trainer;

/// <summary>
/// PyTorch's SGD (momentum, no dampening, no Nesterov, L2 weight decay added to the gradient): <c>d = g + wd·p;
/// b = d</c> on the first step, else <c>b = μ·b + d</c>; <c>p −= lr·b</c>. Its momentum buffers are saved and restored
/// with checkpoints so that a resumed run continues exactly.
/// </summary>
internal sealed class MomentumSgd : IDisposable
{
    private readonly IReadOnlyList<TorchSharp.Modules.Parameter> _params;
    private readonly Tensor?[] _buffers;

    public MomentumSgd(IEnumerable<TorchSharp.Modules.Parameter> parameters, double lr, double momentum, double weightDecay)
    {
        _params = parameters.ToList();
        _buffers = new Tensor?[_params.Count];
        (LearningRate, Momentum, WeightDecay) = (lr, momentum, weightDecay);
    }

    public double LearningRate { get; }
    public double Momentum { get; }
    public double WeightDecay { get; }

    public void ZeroGrad()
    {
        foreach (var p in _params) p.grad?.zero_();
    }

    public void Step()
    {
        using var _ = no_grad();
        for (int i = 0; i < _params.Count; i++)
        {
            var p = _params[i];
            if (p.grad is not { } g) continue;
            using var d = WeightDecay != 0 ? g.add(p, alpha: WeightDecay) : g.clone();
            if (_buffers[i] is null) _buffers[i] = d.clone().DetachFromDisposeScope();
            else _buffers[i]!.mul_(Momentum).add_(d);
            p.add_(_buffers[i]!, alpha: -LearningRate);
        }
    }

    /// <summary>Writes the momentum buffers (count, then per parameter a presence flag and the float values).</summary>
    public void Save(Stream stream)
    {
        using var w = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        w.Write(_buffers.Length);
        foreach (var b in _buffers)
        {
            w.Write(b is not null);
            if (b is null) continue;
            using var c = b.cpu().contiguous();
            var values = c.data<float>().ToArray();
            w.Write(values.Length);
            var bytes = new byte[values.Length * 4];
            Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
            w.Write(bytes);
        }
    }

    public void Load(Stream stream)
    {
        using var r = new BinaryReader(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        int n = r.ReadInt32();
        if (n != _buffers.Length) throw new InvalidDataException($"The optimizer state holds {n} buffers but the model has {_buffers.Length} trainable parameters.");
        for (int i = 0; i < n; i++)
        {
            _buffers[i]?.Dispose();
            _buffers[i] = null;
            if (!r.ReadBoolean()) continue;
            int len = r.ReadInt32();
            if (len != _params[i].numel()) throw new InvalidDataException($"Optimizer buffer {i} holds {len} values, the parameter {_params[i].numel()}.");
            var values = new float[len];
            Buffer.BlockCopy(r.ReadBytes(len * 4), 0, values, 0, len * 4);
            _buffers[i] = tensor(values, _params[i].shape).to(_params[i].device).DetachFromDisposeScope();
        }
    }

    public void Dispose()
    {
        foreach (var b in _buffers) b?.Dispose();
    }
}

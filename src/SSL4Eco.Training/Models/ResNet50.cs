using SSL4Eco.Inference.Checkpoints;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace SSL4Eco.Training.Models;

/// <summary>
/// torchvision's ResNet-50 encoder (bottleneck v1.5, stride on the 3×3 convolution) without <c>fc</c>: conv1, bn1,
/// ReLU, max-pool, layer1..layer4, global average pool and flatten, giving a 2048-d embedding. Parameter and buffer
/// names are torchvision's (<c>conv1.weight</c>, <c>layer1.0.downsample.0.weight</c>, …), so
/// <see cref="ResNet50Weights"/> maps one-to-one. Any number of input channels.
/// </summary>
/// <remarks>Not thread-safe: a module holds mutable parameters and BatchNorm statistics; use one instance per thread.</remarks>
public sealed class ResNet50Encoder : Module<Tensor, Tensor>
{
#pragma warning disable IDE0044 // TorchSharp registers components by field name.
    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly Sequential layer1, layer2, layer3, layer4;
#pragma warning restore IDE0044

    /// <summary>Creates the encoder with torchvision's initialisation (Kaiming-normal fan-out for convolutions, BatchNorm weight 1 and bias 0).</summary>
    /// <param name="inputChannels">Number of input channels (9 for SeCo-Eco, 13 for the full SSL4Eco stack).</param>
    public ResNet50Encoder(int inputChannels) : base("ResNet50Encoder")
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inputChannels, 1);
        InputChannels = inputChannels;
        conv1 = Conv2d(inputChannels, 64, 7, stride: 2, padding: 3, bias: false);
        bn1 = BatchNorm2d(64);
        int inC = 64;
        var layers = new Sequential[4];
        for (int stage = 0; stage < 4; stage++)
        {
            int width = 64 << stage, stride = stage == 0 ? 1 : 2;
            var blocks = new List<(string, Module<Tensor, Tensor>)>();
            for (int b = 0; b < ResNet50Weights.BlocksPerStage[stage]; b++)
            {
                blocks.Add((b.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    new Bottleneck(b == 0 ? inC : width * 4, width, b == 0 ? stride : 1, b == 0)));
            }
            layers[stage] = Sequential(blocks);
            inC = width * 4;
        }
        (layer1, layer2, layer3, layer4) = (layers[0], layers[1], layers[2], layers[3]);
        RegisterComponents();
        using var _ = no_grad();
        foreach (var (name, p) in named_parameters())
        {
            if (p.dim() == 4) init.kaiming_normal_(p, mode: init.FanInOut.FanOut, nonlinearity: init.NonlinearityType.ReLU);
            else if (name.EndsWith(".weight", StringComparison.Ordinal)) p.fill_(1);
            else p.zero_();
        }
    }

    /// <summary>Number of input channels.</summary>
    public int InputChannels { get; }

    /// <summary>Maps <c>[N, C, H, W]</c> to the <c>[N, 2048]</c> embedding.</summary>
    public override Tensor forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        var x = functional.relu(bn1.forward(conv1.forward(input)));
        x = functional.max_pool2d(x, 3, 2, 1);
        x = layer4.forward(layer3.forward(layer2.forward(layer1.forward(x))));
        return functional.adaptive_avg_pool2d(x, 1).flatten(1).MoveToOuterDisposeScope();
    }

    /// <summary>Copies weights (torchvision names) into this encoder; throws <see cref="ArgumentException"/> when the channel count differs.</summary>
    public void Load(ResNet50Weights weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        if (weights.InputChannels != InputChannels)
            throw new ArgumentException($"The weights have {weights.InputChannels} input channels (conv1.weight {weights["conv1.weight"].ShapeText}) but the encoder has {InputChannels}.", nameof(weights));
        using var _ = no_grad();
        foreach (var (name, t) in state_dict())
        {
            if (name.EndsWith("num_batches_tracked", StringComparison.Ordinal)) continue;
            var src = weights[name];
            using var v = tensor(src.Values, src.Shape.Select(d => (long)d).ToArray());
            t.copy_(v);
        }
    }

    /// <summary>Copies this encoder's weights out (torchvision names, no <c>num_batches_tracked</c>).</summary>
    public ResNet50Weights ToWeights()
    {
        var d = new Dictionary<string, TensorData>();
        foreach (var (name, t) in state_dict())
        {
            if (name.EndsWith("num_batches_tracked", StringComparison.Ordinal)) continue;
            d[name] = TensorInterop.ToTensorData(t);
        }
        return new ResNet50Weights(d);
    }
}

/// <summary>torchvision's ResNet bottleneck block (expansion 4, stride on conv2).</summary>
internal sealed class Bottleneck : Module<Tensor, Tensor>
{
#pragma warning disable IDE0044
    private readonly Conv2d conv1, conv2, conv3;
    private readonly BatchNorm2d bn1, bn2, bn3;
    private readonly Sequential? downsample;
#pragma warning restore IDE0044

    public Bottleneck(int inC, int width, int stride, bool project) : base("Bottleneck")
    {
        conv1 = Conv2d(inC, width, 1, bias: false);
        bn1 = BatchNorm2d(width);
        conv2 = Conv2d(width, width, 3, stride: stride, padding: 1, bias: false);
        bn2 = BatchNorm2d(width);
        conv3 = Conv2d(width, width * 4, 1, bias: false);
        bn3 = BatchNorm2d(width * 4);
        if (project) downsample = Sequential(("0", Conv2d(inC, width * 4, 1, stride: stride, bias: false)), ("1", BatchNorm2d(width * 4)));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = functional.relu(bn1.forward(conv1.forward(x)));
        y = functional.relu(bn2.forward(conv2.forward(y)));
        y = bn3.forward(conv3.forward(y));
        var identity = downsample is null ? x : downsample.forward(x);
        return functional.relu(y + identity).MoveToOuterDisposeScope();
    }
}

/// <summary>Conversions between TorchSharp tensors and <see cref="TensorData"/>.</summary>
internal static class TensorInterop
{
    public static TensorData ToTensorData(Tensor t)
    {
        using var c = t.detach().to(ScalarType.Float32).cpu().contiguous();
        return new TensorData(c.shape.Select(d => (int)d).ToArray(), c.data<float>().ToArray());
    }

    public static Tensor FromTensorData(TensorData d) => tensor(d.Values, d.Shape.Select(x => (long)x).ToArray());
}

using SSL4Eco.Inference.Arrays;
using SSL4Eco.Inference.Tests.Oracle;
using SSL4Eco.Training.Models;
using SSL4Eco.Training.Native;
using SSL4Eco.Training.Tests.Isolation;
using TorchSharp;
using static TorchSharp.torch;

namespace SSL4Eco.Training.Tests.Models;

/// <summary>Cross-checks one SeCo step (momentum update, 3-subspace InfoNCE loss, gradient, queue update) against Debian PyTorch 1.13.</summary>
public sealed class SeCoLossOracleTests
{
    private const string Script = """
import json, os, sys
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F
import resnet_fixture
torch.set_num_threads(2)
# The same convolution path as the TorchSharp side: oneDNN off when SSL4ECO_MKLDNN=off (issue #9).
torch.backends.mkldnn.enabled = os.environ.get('SSL4ECO_MKLDNN', 'auto').lower() not in ('off', '0', 'false')
d = sys.argv[1]
meta = json.load(open(os.path.join(d, 'meta.json')))
C, S, T, m = meta['channels'], meta['subspaces'], meta['temperature'], meta['momentum']
def load(name): return torch.from_numpy(np.load(os.path.join(d, name + '.npy')))
def encoder(): return resnet_fixture.build(C)  # weights loaded below; train() set below
def head(): return nn.Sequential(nn.Linear(2048, 2048), nn.ReLU(), nn.Linear(2048, meta['dim']))
enc_q, enc_k = encoder(), encoder()
hq = nn.ModuleList([head() for _ in range(S)]); hk = nn.ModuleList([head() for _ in range(S)])
for prefix, mod in [('encoder_q.', enc_q), ('encoder_k.', enc_k), ('heads_q.', hq), ('heads_k.', hk)]:
    sd = {k[len(prefix):]: load(k) for k in meta['names'] if k.startswith(prefix)}
    missing, unexpected = mod.load_state_dict(sd, strict=False)
    assert not unexpected and all(k.endswith('num_batches_tracked') for k in missing), (missing, unexpected)
queue = load('queue').clone(); ptr = load('queue_ptr').clone()
q = load('x_q'); keys = [load('x_k%d' % j) for j in range(S)]
for mod in (enc_q, enc_k, hq, hk): mod.train()
with torch.no_grad():
    for a, b in [(enc_q, enc_k), (hq, hk)]:
        for pq, pk in zip(a.parameters(), b.parameters()): pk.copy_(pk * m + pq * (1 - m))
def step(queue, ptr):
    vq = enc_q(q)
    with torch.no_grad(): vk = [enc_k(x) for x in keys]
    loss = 0
    n = q.shape[0]
    for i in range(S):
        zq = F.normalize(hq[i](vq), dim=1)
        with torch.no_grad(): zk = [F.normalize(hk[i](v), dim=1) for v in vk]
        neg = queue[i].clone()
        if i > 0: neg = torch.cat([neg] + [zk[j].T for j in range(S) if j != i], dim=1)
        logits = torch.cat([(zq * zk[i]).sum(1, keepdim=True), zq @ neg], dim=1) / T
        loss = loss + F.cross_entropy(logits, torch.zeros(n, dtype=torch.long))
        p = int(ptr[i, 0]); queue[i, :, p:p + n] = zk[i].T; ptr[i, 0] = (p + n) % queue.shape[2]
    loss.backward()
    return loss
queue0, ptr0 = queue.clone(), ptr.clone()
loss = step(queue, ptr)
np.save(os.path.join(d, 'py_queue.npy'), queue.numpy())
np.save(os.path.join(d, 'py_grad_conv1.npy'), enc_q.conv1.weight.grad.numpy())
np.save(os.path.join(d, 'py_k_conv1.npy'), enc_k.conv1.weight.detach().numpy())
# PyTorch's own spread: the same step through the other convolution path (oneDNN on <-> off). conv1's gradient, 50
# layers of train-mode BatchNorm deep on random weights, moves by a few percent with the summation order alone.
torch.backends.mkldnn.enabled = not torch.backends.mkldnn.enabled
for prm in list(enc_q.parameters()) + list(hq.parameters()): prm.grad = None
step(queue0, ptr0)
np.save(os.path.join(d, 'py_grad_conv1_other_path.npy'), enc_q.conv1.weight.grad.numpy())
print(json.dumps({'loss': float(loss)}))
""";

    [Fact]
    public void OneStepMatchesPyTorch() => Isolated.Run(typeof(SeCoLossOracleTests), nameof(OneStep));

    internal static void OneStep(string[] args)
    {
        torch.set_num_threads(2);
        TorchBackend.EnsureConfigured();
        Isolated.Step($"SeCo step (oneDNN convolutions {(TorchBackend.MkldnnEnabled ? "on" : "off")})");
        using var dir = new TempDir();
        torch.manual_seed(7);
        var options = new SeCoModelOptions { InputChannels = 5, QueueSize = 8, Temperature = 0.2, Momentum = 0.99 };
        using var model = new SeCoModel(options);
        model.train();
        using (no_grad())
        {
            // Make the key side differ from the query side so the momentum update matters.
            foreach (var (name, p) in model.named_parameters())
                if (name.StartsWith("encoder_k.", StringComparison.Ordinal) || name.StartsWith("heads_k.", StringComparison.Ordinal))
                    p.add_(randn_like(p) * 0.01);
        }
        var names = new List<string>();
        foreach (var (name, t) in model.state_dict())
        {
            names.Add(name);
            using var c = t.cpu().contiguous();
            var shape = c.shape.Select(x => (int)x).ToArray();
            if (c.dtype == ScalarType.Int64) NpyFile.Write(dir.File(name + ".npy"), c.data<long>().ToArray(), shape);
            else NpyFile.Write(dir.File(name + ".npy"), c.data<float>().ToArray(), shape);
        }
        var q = randn(8, 5, 64, 64);
        var keys = Enumerable.Range(0, 3).Select(_ => randn(8, 5, 64, 64)).ToArray();
        NpyFile.Write(dir.File("x_q.npy"), q.data<float>().ToArray(), 8, 5, 64, 64);
        for (int j = 0; j < 3; j++) NpyFile.Write(dir.File($"x_k{j}.npy"), keys[j].data<float>().ToArray(), 8, 5, 64, 64);
        File.WriteAllText(dir.File("meta.json"), System.Text.Json.JsonSerializer.Serialize(new
        {
            channels = 5, subspaces = 3, temperature = 0.2, momentum = 0.99, dim = 128, names,
        }));

        var (loss, _) = model.Forward(q, keys);
        Isolated.Step("backward");
        loss.backward();
        Isolated.Step("PyTorch oracle");
        var py = System.Text.Json.JsonDocument.Parse(PythonOracle.Run(Script, dir.Path)).RootElement.GetProperty("loss").GetDouble();

        Assert.Equal(py, loss.item<float>(), Math.Abs(py) * 1e-4);
        AssertClose(NpyFile.ReadSingle(dir.File("py_queue.npy")).Data, model.Queue.data<float>().ToArray(), 1e-3f);
        var named = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        var pyGrad = NpyFile.ReadSingle(dir.File("py_grad_conv1.npy")).Data;
        var ourGrad = named["encoder_q.conv1.weight"].grad!.data<float>().ToArray();
        if (TorchBackend.MkldnnEnabled)
        {
            // Same convolution path on both sides (oneDNN): equal to 1e-3 of the largest entry.
            AssertClose(pyGrad, ourGrad, 1e-3f);
        }
        else
        {
            // ATen's own kernels (oneDNN off): libtorch 2.10 and PyTorch 1.13 sum in different orders, and conv1's
            // gradient amplifies that through 50 BatchNorm layers; PyTorch's own two paths differ by a few percent. Ours
            // must lie within twice PyTorch's on/off spread of PyTorch (and the loss above within 1e-4 regardless).
            var other = NpyFile.ReadSingle(dir.File("py_grad_conv1_other_path.npy")).Data;
            float spread = pyGrad.Zip(other, (a, b) => MathF.Abs(a - b)).Max(), scale = pyGrad.Max(MathF.Abs);
            Isolated.Step($"conv1 gradient with oneDNN off: PyTorch on/off spread {spread / scale:E2} of the largest entry");
            AssertClose(pyGrad, ourGrad, MathF.Max(1e-3f, 2 * spread / scale));
        }
        AssertClose(NpyFile.ReadSingle(dir.File("py_k_conv1.npy")).Data, named["encoder_k.conv1.weight"].data<float>().ToArray(), 1e-5f);
    }

    private static void AssertClose(float[] expected, float[] actual, float relTol)
    {
        Assert.Equal(expected.Length, actual.Length);
        float scale = expected.Max(MathF.Abs), worst = 0;
        for (int i = 0; i < expected.Length; i++) worst = MathF.Max(worst, MathF.Abs(expected[i] - actual[i]));
        Assert.True(worst <= relTol * scale, $"max abs difference {worst} exceeds {relTol} x {scale}");
    }
}

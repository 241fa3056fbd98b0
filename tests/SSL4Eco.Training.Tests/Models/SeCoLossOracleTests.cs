using SSL4Eco.Inference.Arrays;
using SSL4Eco.Inference.Tests.Oracle;
using SSL4Eco.Training.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace SSL4Eco.Training.Tests.Models;

/// <summary>Cross-checks one SeCo step (momentum update, 3-subspace InfoNCE loss, gradient, queue update) against Debian PyTorch 1.13.</summary>
public sealed class SeCoLossOracleTests
{
    private const string Script = """
import json, os, sys
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F, torchvision
torch.set_num_threads(2)
d = sys.argv[1]
meta = json.load(open(os.path.join(d, 'meta.json')))
C, S, T, m = meta['channels'], meta['subspaces'], meta['temperature'], meta['momentum']
def load(name): return torch.from_numpy(np.load(os.path.join(d, name + '.npy')))
def encoder():
    e = torchvision.models.resnet50()
    e.conv1 = nn.Conv2d(C, 64, 7, 2, 3, bias=False)
    e.fc = nn.Identity()
    return e
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
np.save(os.path.join(d, 'py_queue.npy'), queue.numpy())
np.save(os.path.join(d, 'py_grad_conv1.npy'), enc_q.conv1.weight.grad.numpy())
np.save(os.path.join(d, 'py_k_conv1.npy'), enc_k.conv1.weight.detach().numpy())
print(json.dumps({'loss': float(loss)}))
""";

    [Fact]
    public void OneStepMatchesPyTorch()
    {
        torch.set_num_threads(2);
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
        loss.backward();
        var py = System.Text.Json.JsonDocument.Parse(PythonOracle.Run(Script, dir.Path)).RootElement.GetProperty("loss").GetDouble();

        Assert.Equal(py, loss.item<float>(), Math.Abs(py) * 1e-4);
        AssertClose(NpyFile.ReadSingle(dir.File("py_queue.npy")).Data, model.Queue.data<float>().ToArray(), 1e-3f);
        var named = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        AssertClose(NpyFile.ReadSingle(dir.File("py_grad_conv1.npy")).Data, named["encoder_q.conv1.weight"].grad!.data<float>().ToArray(), 1e-3f);
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

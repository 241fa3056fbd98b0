using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Cli.Tests.Commands;

/// <summary>
/// Writes, once, with Debian's python3-torch: an official-layout Lightning checkpoint (9 channels, random weights and
/// BatchNorm statistics) and PyTorch's embeddings of the bundled sample patches preprocessed as SPEC.md says
/// (GDAL read, bands [1..8, 12] of the 13-band file, DN/255, centre crop 256→224).
/// </summary>
public sealed class CliModelFixture : IDisposable
{
    public TempDir Dir { get; } = new();

    public CliModelFixture()
    {
        PythonOracle.Run(Script, Dir.Path, Repo.Samples);
    }

    public string Checkpoint => Dir.File("seco-eco-test.ckpt");

    public string ExpectedEmbeddings => Dir.File("expected.npy");

    public void Dispose() => Dir.Dispose();

    private const string Script = """
import torch, torchvision, numpy as np, sys, os, argparse, collections
from osgeo import gdal
torch.set_num_threads(2)
out, samples = sys.argv[1], sys.argv[2]
g = torch.Generator().manual_seed(3)
m = torchvision.models.resnet50()
m.conv1 = torch.nn.Conv2d(9, 64, 7, 2, 3, bias=False)
with torch.no_grad():
    for p in m.parameters():
        p.copy_(torch.randn(p.shape, generator=g) * (1.0 / max(1, p[0].numel())) ** 0.5)
    for mod in m.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.running_mean.copy_(torch.rand(mod.num_features, generator=g) - 0.5)
            mod.running_var.copy_(torch.rand(mod.num_features, generator=g) + 0.5)
m.fc = torch.nn.Identity()
m.eval()
enc = torch.nn.Sequential(*list(m.children())[:-1])
sd = collections.OrderedDict(('encoder_q.' + k, v) for k, v in enc.state_dict().items())
torch.save({'epoch': 99, 'global_step': 1, 'state_dict': sd, 'hyper_parameters': vars(argparse.Namespace(n_channels=9))},
           os.path.join(out, 'seco-eco-test.ckpt'))
rows = []
for name in ('patch_000.tif', 'patch_001.tif'):
    arr = gdal.Open(os.path.join(samples, 'patches', name)).ReadAsArray().astype(np.float32)
    x = torch.from_numpy(arr[[1, 2, 3, 4, 5, 6, 7, 8, 12]] / np.float32(255.0))[None, :, 16:240, 16:240]
    with torch.no_grad():
        rows.append(m(x.contiguous()).numpy()[0])
np.save(os.path.join(out, 'expected.npy'), np.stack(rows).astype(np.float32))
""";
}

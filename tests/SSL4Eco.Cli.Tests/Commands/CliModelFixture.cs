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

    // The model is resnet_fixture's (tests/SSL4Eco.TestSupport/python); benchmarks/gpu/make_ckpt.py builds the same one.
    private const string Script = """
import torch, numpy as np, sys, os
from osgeo import gdal
import resnet_fixture
torch.set_num_threads(2)
out, samples = sys.argv[1], sys.argv[2]
m = resnet_fixture.build(9, torch.Generator().manual_seed(3), init='scaled-normal', gain=1.0, bn='running')
resnet_fixture.save(m, os.path.join(out, 'seco-eco-test.ckpt'), layout='official')
rows = []
for name in ('patch_000.tif', 'patch_001.tif'):
    arr = gdal.Open(os.path.join(samples, 'patches', name)).ReadAsArray().astype(np.float32)
    x = torch.from_numpy(arr[[1, 2, 3, 4, 5, 6, 7, 8, 12]] / np.float32(255.0))[None, :, 16:240, 16:240]
    with torch.no_grad():
        rows.append(m(x.contiguous()).numpy()[0])
np.save(os.path.join(out, 'expected.npy'), np.stack(rows).astype(np.float32))
""";
}

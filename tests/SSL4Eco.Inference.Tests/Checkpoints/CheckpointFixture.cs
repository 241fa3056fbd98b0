using System.Text.Json;
using SSL4Eco.Inference.Tests.Oracle;

namespace SSL4Eco.Inference.Tests.Checkpoints;

/// <summary>Shares one <see cref="CheckpointFixture"/> across the checkpoint test classes.</summary>
[CollectionDefinition(Name)]
public sealed class CheckpointCollection : ICollectionFixture<CheckpointFixture>
{
    public const string Name = "PyTorch checkpoints";
}

/// <summary>Writes the test checkpoints once with Debian's python3-torch and dumps their tensors to .npy.</summary>
public sealed class CheckpointFixture : IDisposable
{
    public TempDir Dir { get; } = new();

    public CheckpointFixture()
    {
        var stdout = PythonOracle.Run(Script, Dir.Path);
        Hashes = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')).ToDictionary(p => p[0], p => p[1]);
    }

    /// <summary>SHA-256 by file name, computed by python's hashlib.</summary>
    public IReadOnlyDictionary<string, string> Hashes { get; }

    public string File(string name) => Dir.File(name);

    public string[] Names(string file) => JsonSerializer.Deserialize<string[]>(System.IO.File.ReadAllText(Dir.File(file)))!;

    public void Dispose() => Dir.Dispose();

    private const string Script = """
import torch, numpy as np, json, os, sys, collections, argparse, types, copy, hashlib
import resnet_fixture
torch.set_num_threads(2)
out = sys.argv[1]
P = lambda n: os.path.join(out, n)
g = torch.Generator().manual_seed(0)

# ---------- generic values: dtypes, views, shared storages, nested python values ----------
base = torch.randn(4, 5, 6, generator=g)
t = collections.OrderedDict()
t['f32'] = base
t['f64'] = torch.randn(3, 4, generator=g, dtype=torch.float64)
t['f16'] = torch.randn(2, 7, generator=g).half()
t['bf16'] = torch.randn(5, 3, generator=g).bfloat16()
t['i64'] = torch.arange(-6, 6, dtype=torch.int64).reshape(3, 4)
t['i32'] = torch.arange(-3, 9, dtype=torch.int32).reshape(4, 3)
t['i16'] = torch.arange(-300, 300, 50, dtype=torch.int16)
t['i8'] = torch.arange(-100, 100, 17, dtype=torch.int8)
t['u8'] = torch.arange(0, 250, 13, dtype=torch.uint8)
t['bool'] = torch.tensor([True, False, True, True])
t['transposed'] = base.transpose(0, 2)
t['sliced'] = base[1:3, ::2, 1:]
t['scalar'] = torch.tensor(3.25)
t['empty'] = torch.zeros(0, 3)
t['expanded'] = torch.randn(3, 1, generator=g).expand(3, 4)
t['param'] = torch.nn.Parameter(torch.randn(2, 3, generator=g))
t['half_view'] = torch.randn(6, 4, generator=g).half()[::2, 1:]
names = list(t.keys())
for k, v in t.items():
    np.save(P('t_' + k + '.npy'), v.detach().float().contiguous().numpy())
json.dump(names, open(P('generic_names.json'), 'w'))
obj = {'tensors': t,
       'values': [1, 2.5, 'x', None, True, False, 2**70, -3, b'\x00\xffab', -(2**63), bytearray(b'\x01\x80z'), 'ünï'],
       'tuple': (1, (2, 'three')), 'set': {1, 2, 3}, 'frozen': frozenset(['a']),
       'od': collections.OrderedDict([('b', 1), ('a', 2)]), 'ns': argparse.Namespace(bands='B9', n_channels=9)}
torch.save(obj, P('generic_p2.pt'))
torch.save(obj, P('generic_p4.pt'), pickle_protocol=4)
torch.save(obj, P('generic_p5.pt'), pickle_protocol=5)
torch.save(obj, P('generic_legacy.pt'), _use_new_zipfile_serialization=False)

# ---------- a pickle that would run a shell command under torch.load(weights_only=False) ----------
class Evil:
    def __reduce__(self):
        return (os.system, ('touch ' + P('pwned'),))
torch.save({'w': torch.ones(2), 'evil': Evil()}, P('evil.pt'))

# ---------- fake lightning module for AttributeDict ----------
for m in ['pytorch_lightning', 'pytorch_lightning.utilities', 'pytorch_lightning.utilities.parsing']:
    sys.modules[m] = types.ModuleType(m)
class AttributeDict(dict):
    pass
AttributeDict.__module__ = 'pytorch_lightning.utilities.parsing'
AttributeDict.__qualname__ = 'AttributeDict'
sys.modules['pytorch_lightning.utilities.parsing'].AttributeDict = AttributeDict
class Callback:
    def __init__(self): self.best = 0.5; self.mode = 'min'

def resnet(ch):
    return resnet_fixture.build(ch, g, bn='running-affine')  # fc = Identity: no fc keys

def dump_encoder(m, name):
    sd = {k: v for k, v in m.state_dict().items() if not k.startswith('fc.') and not k.endswith('num_batches_tracked')}
    json.dump(list(sd.keys()), open(P(name + '_names.json'), 'w'))
    np.save(P(name + '.npy'), np.concatenate([v.float().reshape(-1).numpy() for v in sd.values()]))

# ---------- official-like Lightning SeCo checkpoint ----------
q = resnet(9)
seq_q = torch.nn.Sequential(*list(q.children())[:-1])   # conv1,bn1,relu,maxpool,layer1..4,avgpool
seq_k = copy.deepcopy(seq_q)
heads = lambda: torch.nn.ModuleList([torch.nn.Sequential(torch.nn.Linear(2048, 16), torch.nn.ReLU(), torch.nn.Linear(16, 8)) for _ in range(3)])
sd = collections.OrderedDict()
for k, v in seq_q.state_dict().items(): sd['encoder_q.' + k] = v
for k, v in seq_k.state_dict().items(): sd['encoder_k.' + k] = v
for k, v in heads().state_dict().items(): sd['heads_q.' + k] = v
for k, v in heads().state_dict().items(): sd['heads_k.' + k] = v
sd['queue'] = torch.randn(3, 8, 64, generator=g)
sd['queue_ptr'] = torch.zeros(3, 1, dtype=torch.long)
opt = torch.optim.SGD([torch.nn.Parameter(torch.randn(4))], lr=0.03, momentum=0.9)
opt.state_dict()
ckpt = {'epoch': 99, 'global_step': 123456, 'pytorch-lightning_version': '1.9.5',
        'state_dict': sd, 'loops': {'fit_loop': {'np_scalar': np.float64(1.5)}},
        'callbacks': {'ModelCheckpoint': Callback()},
        'optimizer_states': [opt.state_dict()], 'lr_schedulers': [],
        'hyper_parameters': AttributeDict(bands='B9', n_channels=9, base_encoder='resnet50', emb_dim=128,
                                          args=argparse.Namespace(data_dir='/data/ssl4eco', batch_size=256))}
torch.save(ckpt, P('lightning.ckpt'))
dump_encoder(q, 'lightning')

# ---------- TorchGeo-style plain state dict, 12 channels, fc present ----------
tg = resnet(12)
resnet_fixture.save(tg, P('torchgeo.pth'), layout='torchgeo')
dump_encoder(tg, 'torchgeo')

# ---------- MoCo-style encoder_q. prefix inside a 'model' wrapper, legacy format ----------
mo = resnet(9)
msd = collections.OrderedDict(('encoder_q.' + k, v) for k, v in resnet_fixture.state(mo, 'torchgeo').items())  # fc kept, as MoCo's
msd['queue'] = torch.randn(8, 16, generator=g)
torch.save({'model': msd, 'epoch': 3}, P('moco_legacy.pth'), _use_new_zipfile_serialization=False)
dump_encoder(mo, 'moco')

# ---------- broken: a key missing, an extra key, one wrong shape (stride-0 tensors keep it small) ----------
shapes = {k: v.shape for k, v in resnet_fixture.state(tg, 'torchgeo').items()}
bad = collections.OrderedDict((k, torch.zeros(1).expand(*s) if len(s) else torch.zeros(())) for k, s in shapes.items())
del bad['layer4.2.bn3.weight']
bad['extra.weight'] = torch.zeros(2)
bad['layer2.0.conv2.weight'] = torch.zeros(1).expand(3, 3, 3, 3)
torch.save(bad, P('broken.pth'))

for f in ['lightning.ckpt', 'torchgeo.pth', 'generic_p2.pt']:
    print(f, hashlib.sha256(open(P(f), 'rb').read()).hexdigest())
""";
}

#!/usr/bin/env python3
"""The random torchvision ResNet-50 that tests and benchmarks build as a PyTorch reference (one script, parameterised).

As a module (tests run with this folder on PYTHONPATH, see PythonOracle):
    import resnet_fixture as rf
    m = rf.build(9, generator=g, init='scaled-normal', gain=1.0, bn='running')   # eval mode, fc = Identity
    rf.save(m, path, layout='official')

As a command (benchmarks/gpu/make_ckpt.py, .ci/packages):
    resnet_fixture.py OUT [--in-channels 9] [--seed S] [--init torchvision|scaled-normal] [--gain 1.0]
                          [--bn torchvision|running|running-affine|wide] [--layout official|torchvision|torchgeo]

Parameters (the same draws in the same order as the scripts this file replaced, so the same parameters give the same
bytes):
  in_channels  conv1's input channels (9: SSL4Eco's official model, 12: TorchGeo's rehost, 13: all bands).
  generator    the torch.Generator every draw below uses; None: torch's global generator. On the command line --seed S
               seeds both torch's global generator and the generator (no --seed: unseeded, different on every run).
  init         'torchvision': torchvision's initialisation, conv1 included (Kaiming normal, fan_out, as torchvision
               initialises its convolutions); 'scaled-normal': every parameter ~ N(0, gain / fan_in), fan_in being the
               element count of one output row (1 for a 1-D parameter).
  bn           BatchNorm statistics, per module in model order: 'torchvision' leaves them (mean 0, var 1, weight 1,
               bias 0); 'running': running_mean ~ U(-0.5, 0.5), running_var ~ U(0.5, 1.5); 'running-affine': those and
               weight ~ U(0.5, 1.5), bias ~ U(-0.2, 0.2); 'wide': weight ~ U(0.5, 1.5), bias ~ N(0, 0.2),
               running_mean ~ N(0, 0.5), running_var ~ U(0.5, 4) (wide enough that BatchNorm folding is exercised).
  layout       'official': SSL4Eco's Lightning checkpoint, {'epoch': 99, 'global_step': 1, 'state_dict':
               'encoder_q.N.*' keys of Sequential(conv1, bn1, relu, maxpool, layer1..4, avgpool), 'hyper_parameters':
               {'n_channels': C}}; 'torchvision': the model's state dict (no fc); 'torchgeo': that with a zero
               1000-class fc, as TorchGeo's rehosted weights carry.
"""
import argparse, collections, sys
import torch, torchvision

INITS = ('torchvision', 'scaled-normal')
BNS = ('torchvision', 'running', 'running-affine', 'wide')
LAYOUTS = ('official', 'torchvision', 'torchgeo')


def build(in_channels=9, generator=None, init='torchvision', gain=1.0, bn='torchvision'):
    """A torchvision ResNet-50 with an in_channels conv1 and fc = Identity, in eval mode (see the module's doc)."""
    if init not in INITS: raise ValueError(f'init {init!r}: expected one of {INITS}')
    if bn not in BNS: raise ValueError(f'bn {bn!r}: expected one of {BNS}')
    g = generator
    m = torchvision.models.resnet50()
    m.conv1 = torch.nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False)
    if init == 'torchvision':
        torch.nn.init.kaiming_normal_(m.conv1.weight, mode='fan_out', nonlinearity='relu')
    with torch.no_grad():
        if init == 'scaled-normal':
            for p in m.parameters():
                p.copy_(torch.randn(p.shape, generator=g) * (gain / max(1, p[0].numel())) ** 0.5)
        for mod in m.modules():
            if not isinstance(mod, torch.nn.BatchNorm2d) or bn == 'torchvision':
                continue
            if bn == 'wide':
                mod.weight.uniform_(0.5, 1.5, generator=g)
                mod.bias.normal_(0.0, 0.2, generator=g)
                mod.running_mean.normal_(0.0, 0.5, generator=g)
                mod.running_var.uniform_(0.5, 4.0, generator=g)
                continue
            mod.running_mean.copy_(torch.rand(mod.num_features, generator=g) - 0.5)
            mod.running_var.copy_(torch.rand(mod.num_features, generator=g) + 0.5)
            if bn == 'running-affine':
                mod.weight.copy_(torch.rand(mod.num_features, generator=g) + 0.5)
                mod.bias.copy_(torch.rand(mod.num_features, generator=g) * 0.4 - 0.2)
    m.fc = torch.nn.Identity()
    return m.eval()


def encoder_state(m, prefix='encoder_q.'):
    """The official layout's keys: prefix + Sequential(conv1, bn1, relu, maxpool, layer1..4, avgpool) names."""
    enc = torch.nn.Sequential(*list(m.children())[:-1])
    return collections.OrderedDict((prefix + k, v) for k, v in enc.state_dict().items())


def state(m, layout):
    """What save() writes for the layout (see the module's doc)."""
    if layout == 'official':
        return {'epoch': 99, 'global_step': 1, 'state_dict': encoder_state(m),
                'hyper_parameters': vars(argparse.Namespace(n_channels=m.conv1.in_channels))}
    if layout == 'torchvision':
        return m.state_dict()
    if layout == 'torchgeo':
        sd = m.state_dict()
        sd['fc.weight'] = torch.zeros(1000, 2048); sd['fc.bias'] = torch.zeros(1000)
        return sd
    raise ValueError(f'layout {layout!r}: expected one of {LAYOUTS}')


def save(m, path, layout='official'):
    torch.save(state(m, layout), path)


def main(argv=None):
    ap = argparse.ArgumentParser(description='Writes a random torchvision ResNet-50 checkpoint (see the module doc).')
    ap.add_argument('out')
    ap.add_argument('--in-channels', type=int, default=9)
    ap.add_argument('--seed', type=int)
    ap.add_argument('--init', choices=INITS, default='torchvision')
    ap.add_argument('--gain', type=float, default=1.0)
    ap.add_argument('--bn', choices=BNS, default='torchvision')
    ap.add_argument('--layout', choices=LAYOUTS, default='official')
    a = ap.parse_args(argv)
    g = None
    if a.seed is not None:
        torch.manual_seed(a.seed)
        g = torch.Generator().manual_seed(a.seed)
    torch.set_num_threads(2)
    save(build(a.in_channels, g, a.init, a.gain, a.bn), a.out, a.layout)
    return 0


if __name__ == '__main__':
    sys.exit(main())

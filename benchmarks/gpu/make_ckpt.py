#!/usr/bin/env python3
"""make_ckpt.py OUT.ckpt: a seeded SeCo-Eco-shaped checkpoint in the official Lightning layout ('encoder_q.N.*' keys of a
torchvision ResNet-50 with a 9-channel conv1), random weights with batch-norm statistics that keep activations O(1).
The same weights go to OUT.ckpt.torchvision.pth (torchvision names, fc = Identity) for torch_bench.py."""
import argparse, collections, sys
import torch, torchvision

def build():
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
    return m.eval()

def main():
    if len(sys.argv) != 2:
        sys.exit('usage: make_ckpt.py OUT.ckpt')
    out = sys.argv[1]
    m = build()
    enc = torch.nn.Sequential(*list(m.children())[:-1])
    sd = collections.OrderedDict(('encoder_q.' + k, v.contiguous()) for k, v in enc.state_dict().items())
    torch.save({'epoch': 99, 'global_step': 1, 'state_dict': sd, 'hyper_parameters': vars(argparse.Namespace(n_channels=9))}, out)
    torch.save({k: v for k, v in m.state_dict().items()}, out + '.torchvision.pth')
    print(f'wrote {out} and {out}.torchvision.pth')

if __name__ == '__main__':
    main()

#!/usr/bin/env python3
"""make_ckpt.py OUT.ckpt: a seeded SeCo-Eco-shaped checkpoint in the official Lightning layout ('encoder_q.N.*' keys of a
torchvision ResNet-50 with a 9-channel conv1), random weights with batch-norm statistics that keep activations O(1): the
CLI tests' model (tests/SSL4Eco.Cli.Tests/Commands/CliModelFixture.cs), built by the tests' one ResNet fixture script
(tests/SSL4Eco.TestSupport/python/resnet_fixture.py) with the same parameters.
The same weights go to OUT.ckpt.torchvision.pth (torchvision names, fc = Identity) for torch_bench.py."""
import os, sys
import torch

sys.dont_write_bytecode = True  # no __pycache__ in the tests' folder
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'tests', 'SSL4Eco.TestSupport', 'python'))
import resnet_fixture  # noqa: E402


def build():
    return resnet_fixture.build(9, torch.Generator().manual_seed(3), init='scaled-normal', gain=1.0, bn='running')


def main():
    if len(sys.argv) != 2:
        sys.exit('usage: make_ckpt.py OUT.ckpt')
    out = sys.argv[1]
    m = build()
    resnet_fixture.save(m, out, layout='official')
    torch.save({k: v for k, v in m.state_dict().items()}, out + '.torchvision.pth')
    print(f'wrote {out} and {out}.torchvision.pth')


if __name__ == '__main__':
    main()

"""The SeCo-Eco-shaped ResNet-50 (9 input bands, 2048-d pooled output) in Debian's PyTorch 1.13, eager or 'best'
(torch.jit.trace + freeze + optimize_for_inference, channels-last), with 2 intra-op threads like our 2-core runs."""
import torch, torchvision

torch.set_num_threads(2)


def encoder():
    m = torchvision.models.resnet50()
    m.conv1 = torch.nn.Conv2d(9, 64, 7, 2, 3, bias=False)
    m.fc = torch.nn.Identity()
    return m.eval()


def best(model, batch):
    """Traced, frozen and optimised for inference on a channels-last example of the given batch size."""
    model = model.to(memory_format=torch.channels_last)
    example = torch.rand(batch, 9, 224, 224).contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        traced = torch.jit.trace(model, example)
        return torch.jit.optimize_for_inference(torch.jit.freeze(traced))


def run(model, x, channels_last):
    with torch.no_grad():
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return model(x)

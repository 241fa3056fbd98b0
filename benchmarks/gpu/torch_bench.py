#!/usr/bin/env python3
"""torch_bench.py CKPT OUTDIR [--device auto|cuda|cpu] [--batches 1,8,32,64,128] [--seconds 1]

PyTorch's side of benchmarks/gpu: the torchvision ResNet-50 of CKPT.torchvision.pth on the patches the library embedded
(OUTDIR/patches_u16.npy, uint16 [N, 12, 256, 256], bands B1..B12 of L2A), preprocessed as the 'seco-eco' contract
(B2..B8A and NDVI from B4/B8 with the uint16 truncation, centre crop 224 at offset 16, DN / 255):
  * parity: strict fp32 (TF32 off) embeddings against the library's CPU-provider embeddings (OUTDIR/emb_lib_cpu.npy);
  * images/s (median of 3 repeats, CUDA events) per batch: fp32 channels-last + cudnn.benchmark (TF32 off), fp16 and bf16
    autocast channels-last on preprocessed input already on the device, and end to end: uint16 patches from pinned host
    memory, preprocessing on the device, fp16 autocast.
On a machine without CUDA it runs the fp32 rows on the CPU and says so; rows that need CUDA print 'not available'.
Every result is one JSON line, all collected in OUTDIR/torch_results.json."""
import argparse, json, math, os, statistics, sys, time
import numpy as np
import torch, torchvision

RAW = ['B1', 'B2', 'B3', 'B4', 'B5', 'B6', 'B7', 'B8', 'B8A', 'B9', 'B11', 'B12']
DIRECT = [RAW.index(b) for b in ['B2', 'B3', 'B4', 'B5', 'B6', 'B7', 'B8', 'B8A']]
RED, NIR = RAW.index('B4'), RAW.index('B8')
OFF, CROP = 16, 224
RESULTS = []

def record(out, obj):
    RESULTS.append(obj)
    print(json.dumps(obj), flush=True)
    with open(os.path.join(out, 'torch_results.json.tmp'), 'w') as f:
        json.dump(RESULTS, f, indent=1)
    os.replace(os.path.join(out, 'torch_results.json.tmp'), os.path.join(out, 'torch_results.json'))

def preprocess(u16):
    """uint16 [N,12,H,W] tensor (any device) -> float32 [N,9,224,224], as the library's host preprocessing."""
    x = u16[:, :, OFF:OFF + CROP, OFF:OFF + CROP].float()
    red, nir = x[:, RED:RED + 1], x[:, NIR:NIR + 1]
    ndvi = ((nir - red) / (nir + red + 1e-5)).clamp_min(0) * 10000
    ndvi = ndvi.clamp_max(65535).trunc()
    return torch.cat([x[:, DIRECT], ndvi], 1) / 255.0

def set_tf32(on):
    try:
        torch.backends.cudnn.allow_tf32 = on
        torch.backends.cuda.matmul.allow_tf32 = on
    except Exception:
        pass

def timeit(fn, bs, dev, seconds):
    sync = torch.cuda.synchronize if dev.type == 'cuda' else (lambda: None)
    for _ in range(3):
        fn()
    sync()
    t = time.perf_counter(); fn(); sync()
    iters = max(3, int(math.ceil(seconds / max(time.perf_counter() - t, 1e-6))))
    reps = []
    for _ in range(3):
        t = time.perf_counter()
        for _ in range(iters):
            fn()
        sync()
        reps.append(iters * bs / (time.perf_counter() - t))
    return statistics.median(reps), reps, iters

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('ckpt'); ap.add_argument('out')
    ap.add_argument('--device', default='auto'); ap.add_argument('--batches', default='1,8,32,64,128')
    ap.add_argument('--seconds', type=float, default=1.0)
    a = ap.parse_args()
    cuda = torch.cuda.is_available() and a.device != 'cpu'
    if a.device == 'cuda' and not cuda:
        sys.exit('--device cuda: torch sees no CUDA device')
    dev = torch.device('cuda' if cuda else 'cpu')
    record(a.out, {'kind': 'env', 'torch': torch.__version__, 'device': str(dev),
                   'gpu': torch.cuda.get_device_name(0) if cuda else None,
                   'note': None if cuda else 'NO GPU PRESENT: PyTorch runs on the CPU; fp16/bf16/end-to-end GPU rows are not available'})
    m = torchvision.models.resnet50(); m.conv1 = torch.nn.Conv2d(9, 64, 7, 2, 3, bias=False); m.fc = torch.nn.Identity()
    m.load_state_dict(torch.load(a.ckpt + '.torchvision.pth', map_location='cpu')); m.eval()
    u16 = np.load(os.path.join(a.out, 'patches_u16.npy'))
    n = u16.shape[0]
    batches = [int(b) for b in a.batches.split(',')]
    maxb = max(batches)
    x16 = torch.from_numpy(u16.astype(np.int32)).to(torch.int32)  # torch 1.13 has no uint16 tensors: int32 holds them exactly
    # parity: strict fp32 against the library (CPU provider)
    set_tf32(False)
    m = m.to(dev)
    with torch.inference_mode():
        emb = torch.cat([m(preprocess(x16[s:s + 32].to(dev))).float().cpu() for s in range(0, n, 32)]).numpy()
    np.save(os.path.join(a.out, 'emb_torch.npy'), emb)
    ref_path = os.path.join(a.out, 'emb_lib_cpu.npy')
    if os.path.exists(ref_path):
        ref = np.load(ref_path).astype(np.float64); e = emb.astype(np.float64)
        cos = (e * ref).sum(1) / np.sqrt((e * e).sum(1) * (ref * ref).sum(1))
        rel = np.sqrt(((e - ref) ** 2).sum(1) / (ref * ref).sum(1))
        record(a.out, {'kind': 'parity', 'name': 'pytorch fp32 (TF32 off)', 'against': 'library CPU provider', 'cos_min': float(cos.min()), 'rel_l2_max': float(rel.max())})
    rep = torch.cat([x16] * int(math.ceil(maxb / n)))[:maxb]
    pre = preprocess(rep).to(dev)
    if cuda:
        torch.backends.cudnn.benchmark = True
    mcl = m.to(memory_format=torch.channels_last)
    rows = [('pytorch fp32 channels-last', 'fp32', None, False), ('pytorch fp16 autocast channels-last', 'fp16', torch.float16, False),
            ('pytorch bf16 autocast channels-last', 'bf16', torch.bfloat16, False), ('pytorch end to end from uint16', 'fp16', torch.float16, True)]
    pinned = rep.pin_memory() if cuda else rep
    for name, prec, dtype, e2e in rows:
        if dtype is not None and not cuda:
            record(a.out, {'kind': 'throughput', 'name': name, 'precision': prec, 'status': 'not available: no GPU present'})
            continue
        for b in batches:
            xb = pre[:b].contiguous(memory_format=torch.channels_last)
            def run():
                with torch.inference_mode(), torch.autocast(dev.type, dtype=dtype, enabled=dtype is not None):
                    if e2e:
                        mcl(preprocess(pinned[:b].to(dev, non_blocking=True)).contiguous(memory_format=torch.channels_last))
                    else:
                        mcl(xb)
            med, reps, iters = timeit(run, b, dev, a.seconds)
            record(a.out, {'kind': 'throughput', 'name': name, 'precision': prec, 'batch': b, 'images_per_s': round(med, 2),
                           'repeats': [round(r, 2) for r in reps], 'iters_per_repeat': iters, 'device': str(dev)})

if __name__ == '__main__':
    main()

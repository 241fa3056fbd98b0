"""PyTorch side of compare-pytorch.sh: writes the shared 9-band 224² batch (uniform DN/255-like values, seed 7) and
prints tab-separated 'images/s  NAME  BATCH  VALUE' rows for eager and best settings (median of timed runs).
Usage: torch_compare.py BATCH_NPY BATCHES SECONDS"""
import sys, time
import numpy as np
import torch
from torch_models import encoder, best, run

path, batches, seconds = sys.argv[1], [int(b) for b in sys.argv[2].split(',')], float(sys.argv[3])
data = np.random.default_rng(7).random((max(batches), 9, 224, 224), dtype=np.float32) * np.float32(16)
np.save(path, data)


def median(once):
    once(); once()
    times, start = [], time.perf_counter()
    while len(times) < 5 or time.perf_counter() - start < seconds:
        t = time.perf_counter(); once(); times.append(time.perf_counter() - t)
    return sorted(times)[len(times) // 2]


torch.manual_seed(0)
eager = encoder()
for b in batches:
    x = torch.from_numpy(data[:b].copy())
    print(f'images/s\tpytorch-eager\t{b}\t{b / median(lambda: run(eager, x, False)):.2f}', flush=True)
    fast = best(encoder(), b)
    print(f'images/s\tpytorch-best\t{b}\t{b / median(lambda: run(fast, x, True)):.2f}', flush=True)

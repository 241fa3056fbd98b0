"""PyTorch on the same patch files as 'ssl4eco embed': GDAL read, bands B2..B8A + NDVI of SSL4Eco's 13-band layout,
centre crop 224 (offset round((n - 224) / 2)), DN / 255, best-settings encoder; images/s = 256 / (t288 - t32).
Usage: torch_embed_files.py FOLDER BATCH   Prints one Markdown table row (without the outer pipes)."""
import glob, sys, time
import numpy as np
import torch
from osgeo import gdal
from torch_models import encoder, best, run

folder, batch = sys.argv[1], int(sys.argv[2])
files = sorted(glob.glob(folder + '/*.tif'))
model = best(encoder(), batch)
BANDS = [2, 3, 4, 5, 6, 7, 8, 9, 13]


def read(path):
    ds = gdal.Open(path)
    a = ds.ReadAsArray(band_list=BANDS).astype(np.float32)
    h, w = a.shape[1:]
    y, x = round((h - 224) / 2), round((w - 224) / 2)
    return a[:, y:y + 224, x:x + 224] / np.float32(255)


def embed(paths):
    t = time.perf_counter()
    for s in range(0, len(paths), batch):
        x = torch.from_numpy(np.stack([read(p) for p in paths[s:s + batch]]))
        run(model, x, True)
    return time.perf_counter() - t


embed(files[:32])  # warm-up (page cache, first-run costs)
t32, t288 = embed(files[:32]), embed(files[:288])
print(f'PyTorch {torch.__version__} on the same files (GDAL read + crop, jit trace + freeze + optimize_for_inference, channels-last, 2 threads) | {t32:.2f} s | {t288:.2f} s | **{256 / (t288 - t32):.1f}**')

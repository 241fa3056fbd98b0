#!/usr/bin/env bash
# 'ssl4eco embed' over patch files end to end (issue #12): 288 GeoTIFF patches like SSL4Eco's (13-band uint16, 256-300 px,
# no band descriptions = SSL4Eco's layout, uncompressed), images/s with start-up removed by differencing a 288-file and a
# 32-file run, for this tree's CLI and (optionally) another build of it, and in the same run PyTorch reading the same
# files (GDAL) and embedding them (torch.jit.trace + freeze + optimize_for_inference, channels-last, 2 threads).
# Usage: bash benchmarks/embed-throughput.sh [BEFORE_COMMIT] [BATCH=8]
#   BEFORE_COMMIT: also build and time the CLI of that commit (git archive into $TMPDIR) for a before/after pair.
# Writes benchmarks/results/embed-throughput.md.
set -euo pipefail
cd "$(dirname "$0")/.."
before=${1:-}; batch=${2:-8}; work=${TMPDIR:-/tmp}/ssl4eco-embed-bench; mkdir -p "$work/p" benchmarks/results
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
command -v /usr/bin/time >/dev/null || { echo "needs GNU time (apt-get install time)"; exit 1; }
if [ "$(ls "$work/p" | wc -l)" != 288 ]; then
  /usr/bin/python3 - "$work/p" <<'PY'
import sys, numpy as np
from osgeo import gdal
rng = np.random.default_rng(12)
for k in range(288):
    h, w = (int(v) for v in rng.integers(256, 301, size=2))
    ds = gdal.GetDriverByName('GTiff').Create(f'{sys.argv[1]}/patch{k:03d}.tif', w, h, 13, gdal.GDT_UInt16)
    fields = rng.integers(200, 4000, size=(13, (h + 15) // 16, (w + 15) // 16)).astype(np.uint16)
    data = np.kron(fields, np.ones((1, 16, 16), np.uint16))[:, :h, :w] + rng.integers(0, 60, size=(13, h, w), dtype=np.uint16)
    ds.WriteRaster(0, 0, w, h, data.tobytes()); ds = None
PY
fi
dotnet build -c Release benchmarks/SSL4Eco.Benchmarks >/dev/null
dotnet build -c Release src/SSL4Eco.Cli >/dev/null
dotnet run -c Release --no-build --project benchmarks/SSL4Eco.Benchmarks -- write-model "$work/model.onnx"
clis=("after:src/SSL4Eco.Cli/bin/Release/net10.0/ssl4eco.dll")
if [ -n "$before" ]; then
  rm -rf "$work/before" && mkdir -p "$work/before" && git archive "$before" | tar -x -C "$work/before"
  dotnet build -c Release "$work/before/src/SSL4Eco.Cli" >/dev/null
  clis=("before ($before):$work/before/src/SSL4Eco.Cli/bin/Release/net10.0/ssl4eco.dll" "${clis[@]}")
fi
files=("$work"/p/*.tif)
run() { # dll count -> "seconds cpu%"
  /usr/bin/time -f '%e %P' dotnet "$1" embed "${files[@]:0:$2}" -m "$work/model.onnx" -o "$work/out-$2.npy" --batch-size "$batch" 2>&1 >/dev/null | tail -1
}
rows=""
for entry in "${clis[@]}"; do
  name=${entry%%:*}; dll=${entry#*:}
  run "$dll" 32 >/dev/null # warm the page cache and the model's first-run costs
  read -r t32 c32 < <(run "$dll" 32); read -r t288 c288 < <(run "$dll" 288)
  rate=$(awk -v a="$t288" -v b="$t32" 'BEGIN { printf "%.1f", 256 / (a - b) }')
  rows+="| ssl4eco embed, $name | $t32 s ($c32) | $t288 s ($c288) | **$rate** |"$'\n'
  cp "$work/out-288.npy" "$work/out-288-${name%% *}.npy"
done
same=""
if [ -n "$before" ]; then
  cmp -s "$work/out-288-before.npy" "$work/out-288-after.npy" && same="The before and after outputs (288 × 2048 float32 .npy) are byte-identical." \
    || same="**The before and after outputs differ.**"
fi
torch=$(/usr/bin/python3 benchmarks/python/torch_embed_files.py "$work/p" "$batch")
{
  echo "# 'ssl4eco embed' over patch files vs PyTorch on the same files"
  echo
  echo "Measured $(date -u +%F) with \`bash benchmarks/embed-throughput.sh $before $batch\` on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), load average $load_before before the run and $(cut -d' ' -f1-3 /proc/loadavg) after (a shared machine: other builds and tests ran alongside), Release, batch $batch, SeCo-Eco-shaped ResNet-50 (9 bands, 224², random weights); 288 GeoTIFF patches, 13-band uint16, 256-300 px, uncompressed. Images/s = 256 / (t288 - t32): start-up (runtime, model load) removed by differencing. CPU % from GNU time."
  echo
  echo "| Run | 32 files | 288 files | images/s |"
  echo "|---|---|---|---|"
  printf '%s' "$rows"
  echo "| $torch |"
  echo
  echo "$same"
} > benchmarks/results/embed-throughput.md
cat benchmarks/results/embed-throughput.md

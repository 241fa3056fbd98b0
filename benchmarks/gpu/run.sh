#!/usr/bin/env bash
# benchmarks/gpu/run.sh [OUTDIR]: the GPU benchmark in one command (see README.md).
# On a CUDA machine: the library (CUDA provider: host preprocessing, preprocessed input, preprocessing in the graph; fp32, and
# fp16 when the library can convert) and PyTorch (fp32/fp16/bf16 channels-last, end to end from uint16) on the same patches:
# images/s per batch size, ratios and parity. Without a GPU: the same code paths with the CPU provider, saying so plainly.
# Environment (optional): PYTHON (a python3 with torch + torchvision), BATCHES (default 1,8,32,64,128 with a GPU, 1,4 without),
# BENCH_SECONDS (per timed repeat; 2 with a GPU, 0.5 without), PATCHES (64 / 4), THREADS (CPU intra-op threads, 0 = default),
# GPUBENCH_APP (a folder holding a published GpuBench, e.g. extracted from pack.sh's parts), GPUBENCH_PARTS (a folder of
# pack.sh parts to extract first), PROVIDER (auto|cuda|cpu).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-${OUT:-/tmp/ssl4eco-gpu-bench}}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
LOG=$OUT/run.log
: > "$LOG"
say() { echo "$@" | tee -a "$LOG"; }

GPU=0
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1 && [ -n "$(nvidia-smi -L 2>/dev/null)" ]; then GPU=1; fi
if [ $GPU = 1 ]; then
  say "GPU present: $(nvidia-smi -L | head -4 | tr '\n' ';')"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | tee -a "$LOG"
  BATCHES=${BATCHES:-1,8,32,64,128}; SECS=${BENCH_SECONDS:-2}; PATCHES=${PATCHES:-64}
else
  say "NO GPU PRESENT (nvidia-smi is missing or lists no device): running the benchmark's code paths with the CPU execution provider; the numbers are CPU numbers."
  BATCHES=${BATCHES:-1,4}; SECS=${BENCH_SECONDS:-0.5}; PATCHES=${PATCHES:-4}
fi

# python with torch
PY=${PYTHON:-}
if [ -z "$PY" ]; then
  for c in python3 /opt/torch/.venv/bin/python3 /usr/bin/python3; do
    if command -v "$c" >/dev/null 2>&1 && "$c" -c 'import torch, torchvision, numpy' >/dev/null 2>&1; then PY=$(command -v "$c"); break; fi
  done
fi
[ -n "$PY" ] || { say "error: no python3 with torch, torchvision and numpy found; set PYTHON."; exit 2; }
say "python: $PY ($("$PY" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)' 2>&1))"

# the library's app: given, extracted from pack.sh's parts, or built here
if [ -z "${GPUBENCH_APP:-}" ] && [ -n "${GPUBENCH_PARTS:-}" ]; then
  GPUBENCH_APP=${GPUBENCH_WORK:-/tmp/gpubench}/app
  if [ ! -x "$GPUBENCH_APP/GpuBench" ]; then
    mkdir -p "$(dirname "$GPUBENCH_APP")"
    (cd "$GPUBENCH_PARTS" && sha256sum -c SHA256SUMS >/dev/null) || { say "error: the parts in $GPUBENCH_PARTS do not match their SHA256SUMS; copy them again."; exit 3; }
    cat "$GPUBENCH_PARTS"/part[0-9][0-9] | tar -C "$(dirname "$GPUBENCH_APP")" -xJ || { say "error: extracting the parts failed."; exit 3; }
  fi
fi
if [ -n "${GPUBENCH_APP:-}" ]; then
  APP=("$GPUBENCH_APP/GpuBench")
  # The CUDA provider dlopens CUDA 13 / cuDNN 9: find them in python's nvidia-* packages when not on the library path.
  dirs=$("$PY" - <<'PY'
import glob, os, site, sysconfig
roots = set(site.getsitepackages()) | {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
print(":".join(sorted({os.path.dirname(p) for r in roots for p in glob.glob(os.path.join(r, "nvidia", "**", "lib*.so*"), recursive=True)})))
PY
)
  [ -n "$dirs" ] && export LD_LIBRARY_PATH="$dirs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
else
  GPUFLAG=false; [ $GPU = 1 ] && GPUFLAG=true
  say "building GpuBench (-p:Gpu=$GPUFLAG)"
  dotnet build "$HERE/GpuBench/GpuBench.csproj" -c Release -p:Gpu=$GPUFLAG -o "$OUT/app" >>"$LOG" 2>&1 || { say "error: building GpuBench failed (see $LOG)."; exit 4; }
  APP=(dotnet "$OUT/app/GpuBench.dll")
fi

CKPT=$OUT/seco-eco_synthetic.ckpt
"$PY" "$HERE/make_ckpt.py" "$CKPT" 2>&1 | tee -a "$LOG" || { say "error: make_ckpt.py failed."; exit 5; }
say "== library ($(date -u +%FT%TZ))"
"${APP[@]}" --checkpoint "$CKPT" --out "$OUT" --provider "${PROVIDER:-auto}" --batches "$BATCHES" --seconds "$SECS" --patches "$PATCHES" --threads "${THREADS:-0}" 2>&1 | tee -a "$LOG"
RC_LIB=${PIPESTATUS[0]}
say "== pytorch ($(date -u +%FT%TZ))"
"$PY" "$HERE/torch_bench.py" "$CKPT" "$OUT" --batches "$BATCHES" --seconds "$SECS" 2>&1 | tee -a "$LOG"
RC_TORCH=${PIPESTATUS[0]}
say "== summary"
"$PY" "$HERE/summarize.py" "$OUT" 2>&1 | tee "$OUT/summary.txt" | tee -a "$LOG"
say "library exit $RC_LIB, pytorch exit $RC_TORCH; results in $OUT (summary.txt, dotnet_results.json, torch_results.json, run.log)"
[ "$RC_LIB" = 0 ] && [ "$RC_TORCH" = 0 ]
